//! Per-client rate limiting keyed by the client's address (see `client_ip`), answering 429 with Retry-After.
//! Health, readiness and metrics endpoints are exempt so probes never get throttled.
//!
//! Without Redis the limit lives in this process (governor's GCRA). With `redis.url` the buckets live in Redis,
//! shared by every replica, and a signed-in user (a verified bearer token) also has a bucket of their own over
//! all their addresses. When Redis fails or is slow, this process limits on its own, with the same rates: the
//! limit falls back to per replica, never open and never closed.

use std::{
    hash::Hash,
    net::{IpAddr, Ipv4Addr},
};

use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};
use tokshop_platform::{auth::TokenKeys, config::Settings, redis::Redis};

use crate::{
    client_ip::ClientIp,
    error::ApiError,
    extract::verified_caller,
    redis_limits::{Rate, SharedBuckets},
};

const EXEMPT: &[&str] = &["/healthz", "/readyz", "/metrics"];
/// Forget idle clients once this many are tracked, so the map cannot grow without bound.
const RETAIN_ABOVE: usize = 10_000;

/// One rate per key, in this process's memory.
struct Limiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(rate: Rate) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(rate.per_second).allow_burst(rate.burst),
            ),
        }
    }

    /// `Ok` if `key` may proceed, else the seconds to wait.
    fn check(&self, key: &K) -> Result<(), u64> {
        if self.limiter.len() > RETAIN_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

pub struct RateLimits {
    clients: Option<Limiter<IpAddr>>,
    /// Per signed-in user; only with Redis configured.
    users: Option<Limiter<String>>,
    shared: Option<SharedBuckets>,
    keys: TokenKeys,
}

impl RateLimits {
    /// `None` when no limit is on (`gateway.rate_limit_per_second = 0`, and no per-user limit).
    pub fn new(settings: &Settings, keys: TokenKeys, redis: Option<Redis>) -> Option<Self> {
        let per_address = Rate::new(
            settings.gateway.rate_limit_per_second,
            settings.gateway.rate_limit_burst,
        );
        let per_user = redis.as_ref().and_then(|_| {
            Rate::new(
                settings.redis.user_rate_limit_per_second,
                settings.redis.user_rate_limit_burst,
            )
        });
        if per_address.is_none() && per_user.is_none() {
            return None;
        }
        Some(Self {
            clients: per_address.map(Limiter::new),
            users: per_user.map(Limiter::new),
            shared: redis.map(|redis| SharedBuckets::new(redis, per_address, per_user)),
            keys,
        })
    }

    /// `Ok` if this request may proceed, else the seconds to wait.
    async fn check(&self, client: IpAddr, user: Option<String>) -> Result<(), u64> {
        if let Some(shared) = &self.shared
            && let Ok(verdict) = shared.check(client, user.as_deref()).await
        {
            return verdict;
        }
        if let Some(clients) = &self.clients {
            clients.check(&client)?;
        }
        match (&self.users, user) {
            (Some(users), Some(user)) => users.check(&user),
            _ => Ok(()),
        }
    }
}

pub async fn limit<F, Fut>(limits: Option<&RateLimits>, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if let Some(limits) = limits
        && !EXEMPT.contains(&request.uri().path())
    {
        let client = request
            .extensions()
            .get::<ClientIp>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0);
        // Only a token that verifies names a user; anything else is limited by its address alone.
        let user = limits
            .users
            .as_ref()
            .and_then(|_| verified_caller(&limits.keys, request.headers()))
            .map(|principal| principal.user_id);
        if let Err(retry_after) = limits.check(client, user).await {
            return ApiError::rate_limited(retry_after).into_response();
        }
    }
    next(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_second: u32, burst: u32) -> Settings {
        let mut settings = Settings::default();
        settings.gateway.rate_limit_per_second = per_second;
        settings.gateway.rate_limit_burst = burst;
        settings
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(b"test-secret-test-secret-test-secret-0123", "tokshop", 900)
    }

    #[tokio::test]
    async fn burst_then_limited_per_client() {
        let limits = RateLimits::new(&settings(1, 2), keys(), None).unwrap();
        let a = IpAddr::from([10, 0, 0, 1]);
        assert!(limits.check(a, None).await.is_ok());
        assert!(limits.check(a, None).await.is_ok());
        assert!(limits.check(a, None).await.unwrap_err() >= 1);
        assert!(
            limits
                .check(IpAddr::from([10, 0, 0, 2]), None)
                .await
                .is_ok()
        );
    }

    #[test]
    fn zero_disables() {
        assert!(RateLimits::new(&settings(0, 100), keys(), None).is_none());
    }

    #[test]
    fn without_redis_there_is_no_user_limit() {
        let limits = RateLimits::new(&settings(50, 100), keys(), None).unwrap();
        assert!(limits.users.is_none() && limits.shared.is_none());
    }
}
