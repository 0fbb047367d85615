//! Per-client rate limiting keyed by the client's address (see `client_ip`) (governor's GCRA), answering 429 with Retry-After.
//! Health, readiness and metrics endpoints are exempt so probes never get throttled.

use std::{
    net::{IpAddr, Ipv4Addr},
    num::NonZeroU32,
    sync::Arc,
};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};
use tokshop_platform::config::GatewaySettings;

use crate::{client_ip::ClientIp, error::ApiError};

const EXEMPT: &[&str] = &["/healthz", "/readyz", "/metrics"];
/// Forget idle clients once this many are tracked, so the map cannot grow without bound.
const RETAIN_ABOVE: usize = 10_000;

pub struct ClientLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl ClientLimiter {
    /// `None` when the limit is disabled (`rate_limit_per_second = 0`).
    pub fn from_settings(settings: &GatewaySettings) -> Option<Self> {
        let per_second = NonZeroU32::new(settings.rate_limit_per_second)?;
        let burst = NonZeroU32::new(settings.rate_limit_burst).unwrap_or(per_second);
        Some(Self {
            limiter: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            ),
        })
    }

    /// `Ok` if `client` may proceed, else the seconds to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        if self.limiter.len() > RETAIN_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

pub async fn limit(
    State(limiter): State<Option<Arc<ClientLimiter>>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limiter) = limiter
        && !EXEMPT.contains(&request.uri().path())
    {
        let client = request
            .extensions()
            .get::<ClientIp>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0);
        if let Err(retry_after) = limiter.check(client) {
            return ApiError::rate_limited(retry_after).into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_limited_per_client() {
        let settings = GatewaySettings {
            rate_limit_per_second: 1,
            rate_limit_burst: 2,
            ..GatewaySettings::default()
        };
        let limiter = ClientLimiter::from_settings(&settings).unwrap();
        let a = IpAddr::from([10, 0, 0, 1]);
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).unwrap_err() >= 1);
        assert!(limiter.check(IpAddr::from([10, 0, 0, 2])).is_ok());
    }

    #[test]
    fn zero_disables() {
        let settings = GatewaySettings {
            rate_limit_per_second: 0,
            ..GatewaySettings::default()
        };
        assert!(ClientLimiter::from_settings(&settings).is_none());
    }
}
