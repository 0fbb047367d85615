//! The link to Redis (`redis.url`) for state several processes share: one reconnecting connection, keys under the
//! configured prefix, every command bounded by `redis.timeout_ms`. A failed or slow command is `Unavailable`, and
//! for a moment after one no command is sent at all, so callers fall back to their own state at once instead of
//! waiting on Redis with every request. Outages are logged at most once a minute, and the recovery once.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use redis::{
    Client, FromRedisValue, RedisResult,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

pub use redis::{Cmd, Script, ScriptInvocation, cmd};

use crate::config::RedisSettings;

/// After a failure, commands are not tried again for this long.
const REST: Duration = Duration::from_secs(1);
/// An outage is logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Redis did not answer in time, or answered with an error; the caller uses its own state instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("redis is unavailable")]
pub struct Unavailable;

/// A cheap, clonable handle on the shared connection.
#[derive(Clone)]
pub struct Redis {
    client: Client,
    connection: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
    link: Arc<Link>,
}

/// What the handle remembers about recent failures, shared by its clones.
struct Link {
    since: Instant,
    /// Milliseconds after `since` before which no command is sent.
    resting_until: AtomicU64,
    /// Milliseconds after `since` of the last warning, plus one (0: never warned).
    warned_at: AtomicU64,
    down: AtomicBool,
}

impl Redis {
    /// `None` without `redis.url`. An unreachable server is not an error: the handle connects when it can, and is
    /// `Unavailable` until then. A malformed URL is.
    pub async fn connect(settings: &RedisSettings) -> anyhow::Result<Option<Self>> {
        let Some(url) = &settings.url else {
            return Ok(None);
        };
        let client = Client::open(url.expose()).context("parsing redis.url")?;
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // One attempt per command; the rest after a failure spaces them out.
            .set_number_of_retries(0);
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .context("setting up the redis connection")?;
        let redis = Self {
            client,
            connection,
            prefix: settings.key_prefix.as_str().into(),
            timeout,
            link: Arc::new(Link {
                since: Instant::now(),
                resting_until: AtomicU64::new(0),
                warned_at: AtomicU64::new(0),
                down: AtomicBool::new(false),
            }),
        };
        if redis.ping().await.is_ok() {
            tracing::info!(
                "redis reachable: rate limits, the catalog cache and message delivery are shared"
            );
        }
        Ok(Some(redis))
    }

    /// `<prefix>:<part>:<part>...`
    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.to_string();
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    pub async fn ping(&self) -> Result<(), Unavailable> {
        self.query::<String>(&cmd("PING")).await.map(drop)
    }

    /// Runs a script (EVALSHA, loading it once when the server does not know it).
    pub async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, Unavailable> {
        let mut connection = self.connection.clone();
        self.bounded(invocation.invoke_async(&mut connection)).await
    }

    pub async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, Unavailable> {
        let mut connection = self.connection.clone();
        self.bounded(command.query_async(&mut connection)).await
    }

    /// Publishes `payload` on `channel` (a [`Redis::key`]) to whoever listens now.
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), Unavailable> {
        self.query::<i64>(cmd("PUBLISH").arg(channel).arg(payload))
            .await
            .map(drop)
    }

    /// Hands every payload published on `channel` to `on_message` until `shutdown`, reconnecting after a failure
    /// with growing pauses (up to 5 s). What is published while the link is down is not delivered: use it as a
    /// doorbell beside a record that holds the truth, never as the record.
    pub async fn listen(
        &self,
        channel: String,
        on_message: impl Fn(&[u8]) + Send + 'static,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        use tokio_stream::StreamExt;
        let mut pause = Duration::from_millis(100);
        loop {
            let connected = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                RedisResult::Ok(pubsub)
            };
            let connected = tokio::select! {
                () = shutdown.cancelled() => return,
                connected = tokio::time::timeout(self.timeout.max(Duration::from_secs(1)), connected) => connected,
            };
            match connected {
                Ok(Ok(mut pubsub)) => {
                    pause = Duration::from_millis(100);
                    let mut messages = pubsub.on_message();
                    loop {
                        let message = tokio::select! {
                            () = shutdown.cancelled() => return,
                            message = messages.next() => message,
                        };
                        match message {
                            Some(message) => on_message(message.get_payload_bytes()),
                            None => break,
                        }
                    }
                    tracing::warn!(%channel, "redis subscription ended; resubscribing");
                }
                Ok(Err(err)) => tracing::debug!(%channel, error = %err, "redis subscribe failed"),
                Err(_) => tracing::debug!(%channel, "redis subscribe timed out"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    async fn bounded<T>(
        &self,
        command: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, Unavailable> {
        let link = &self.link;
        if link.now() < link.resting_until.load(Ordering::Relaxed) {
            return Err(Unavailable);
        }
        let error = match tokio::time::timeout(self.timeout, command).await {
            Ok(Ok(value)) => {
                if link.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis reachable again: shared state is back in use");
                }
                return Ok(value);
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        link.failed(&error);
        Err(Unavailable)
    }
}

impl Link {
    fn now(&self) -> u64 {
        u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn failed(&self, error: &str) {
        let now = self.now();
        self.resting_until
            .store(now.saturating_add(millis(REST)), Ordering::Relaxed);
        self.down.store(true, Ordering::Relaxed);
        let warned_at = self.warned_at.load(Ordering::Relaxed);
        let due = warned_at == 0 || now + 1 >= warned_at + millis(LOG_EVERY);
        if due
            && self
                .warned_at
                .compare_exchange(warned_at, now + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                %error,
                "redis unavailable: until it answers, each process limits on its own and reads from the database"
            );
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn settings(url: &str) -> RedisSettings {
        RedisSettings {
            url: Some(Secret::new(url)),
            timeout_ms: 100,
            ..RedisSettings::default()
        }
    }

    #[tokio::test]
    async fn no_url_no_redis() {
        assert!(
            Redis::connect(&RedisSettings::default())
                .await
                .unwrap()
                .is_none()
        );
        assert!(Redis::connect(&settings("not a url")).await.is_err());
    }

    /// A server that accepts connections and never answers: start-up and every command end at the timeout, and
    /// for a moment after a failure no command is sent at all.
    #[tokio::test]
    async fn a_silent_server_is_unavailable_within_the_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let started = Instant::now();
        let redis = Redis::connect(&settings(&format!("redis://{addr}")))
            .await
            .unwrap()
            .unwrap();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(90) && waited < Duration::from_millis(500),
            "start-up waits one timeout for its ping: {waited:?}"
        );
        let resting = Instant::now();
        assert_eq!(redis.ping().await, Err(Unavailable));
        assert!(resting.elapsed() < Duration::from_millis(20), "not tried");
        tokio::time::sleep(REST).await;
        let tried = Instant::now();
        assert_eq!(redis.ping().await, Err(Unavailable));
        assert!(tried.elapsed() < Duration::from_millis(500));
        held.abort();
    }

    #[tokio::test]
    async fn keys_sit_under_the_prefix() {
        let mut closed = settings("redis://127.0.0.1:1");
        closed.key_prefix = "shop-a".into();
        let redis = Redis::connect(&closed).await.unwrap().unwrap();
        assert_eq!(
            redis.key(&["rate", "ip", "10.0.0.1"]),
            "shop-a:rate:ip:10.0.0.1"
        );
    }
}
