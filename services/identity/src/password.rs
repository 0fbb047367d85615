//! Password hashing with argon2id (default parameters: 19 MiB, 2 passes), off the async threads, at most half
//! the cores at a time: a flood of sign-ins or sign-ups queues here instead of taking every core (and 19 MiB per
//! hash) from the rest of the shop. A hash that cannot start within [`QUEUE_WAIT`] is refused as a retryable 503.

use std::{sync::LazyLock, time::Duration};

use anyhow::Context;
use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use tokio::sync::Semaphore;
use tokshop_platform::{ServiceError, ServiceResult};

/// Longest a hash waits for its turn.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// One permit per hash that may run now.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(permits()));

/// Half the cores, at least one.
fn permits() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2))
}

/// Runs `work` on the blocking pool once a hashing permit is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    let permit = tokio::time::timeout(QUEUE_WAIT, HASHING.acquire())
        .await
        .map_err(|_| ServiceError::unavailable("password hashing", "queue wait exceeded"))?
        .map_err(|e| ServiceError::Internal(e.into()))?;
    let result = tokio::task::spawn_blocking(work)
        .await
        .context("password hashing task")?;
    drop(permit);
    Ok(result)
}

/// A PHC string (`$argon2id$v=19$...`) for `password` with a fresh random salt.
pub async fn hash(password: String) -> ServiceResult<String> {
    bounded(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
    .map_err(ServiceError::Internal)
}

/// True when `password` matches the stored PHC string. A malformed stored hash never matches.
pub async fn verify(password: String, stored: String) -> ServiceResult<bool> {
    bounded(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
}

/// A valid hash of a password nobody knows, verified against when a login names no user, so that a wrong
/// username takes as long as a wrong password and does not reveal which accounts exist.
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$dG9rc2hvcGRlY295c2FsdA$0E2mxkbS0TnsPt5Ly8vJ7h2q0cMFl1QmUZ6Nkvq7Wmo";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash("correct horse".into()).await.unwrap();
        let b = hash("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salts differ");
        assert!(verify("correct horse".into(), a.clone()).await.unwrap());
        assert!(!verify("wrong horse".into(), a).await.unwrap());
        assert!(
            !verify("anything".into(), "not a hash".into())
                .await
                .unwrap()
        );
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_permits() {
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..4 * permits())
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(bounded(move || {
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let most = most.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            most >= 1 && most <= permits(),
            "{most} at once, {} permits",
            permits()
        );
    }
}
