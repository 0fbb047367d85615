//! Password hashing with argon2id (default parameters: 19 MiB, 2 passes), off the async threads.

use anyhow::Context;
use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

/// A PHC string (`$argon2id$v=19$...`) for `password` with a fresh random salt.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await
    .context("password hashing task")?
}

/// True when `password` matches the stored PHC string. A malformed stored hash never matches.
pub async fn verify(password: String, stored: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .context("password verification task")
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
}
