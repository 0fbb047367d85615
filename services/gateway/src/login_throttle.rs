//! Password guessing is slowed per account and per client address: after `login_failures_per_account` wrong
//! passwords for one login name, or `login_failures_per_ip` from one address, within `login_failure_window_secs`,
//! sign-ins are refused with 429 and Retry-After until that window ends, before any password is hashed. A success
//! clears the account's count (not the address's: an attacker's own account must not wash their address clean).
//!
//! With `redis.url` the counts that decide live in Redis, shared by every replica; this process keeps its own too,
//! and decides by them while Redis fails or is slow (per replica, never open, never closed).

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use tokshop_platform::{config::GatewaySettings, redis::Redis};

use crate::redis_limits::SharedLoginCounts;

/// Forget expired entries once this many are tracked; past it the oldest windows go first.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// The account a login name counts against: "Alice " and "alice" are one.
fn account(login: &str) -> String {
    login.trim().to_lowercase()
}

pub struct LoginThrottle {
    local: ProcessCounts,
    shared: Option<SharedLoginCounts>,
}

impl LoginThrottle {
    /// `None` when both limits are 0 (throttling off).
    pub fn from_settings(settings: &GatewaySettings, redis: Option<Redis>) -> Option<Self> {
        let local = ProcessCounts::from_settings(settings)?;
        let shared = redis.map(|redis| {
            SharedLoginCounts::new(
                redis,
                local.per_account,
                local.per_address,
                local.window.as_secs(),
            )
        });
        Some(Self { local, shared })
    }

    /// `Err(seconds)` to wait when this login name or address has used up its failures.
    pub async fn check(&self, login: &str, address: IpAddr) -> Result<(), u64> {
        if let Some(shared) = &self.shared
            && let Ok(verdict) = shared.check(&account(login), address).await
        {
            return verdict;
        }
        self.local.check(login, address)
    }

    /// Counts a wrong password for this login name and address.
    pub async fn failed(&self, login: &str, address: IpAddr) {
        self.local.failed(login, address);
        if let Some(shared) = &self.shared {
            // Unavailable: already logged, and this process has counted it.
            let _ = shared.failed(&account(login), address).await;
        }
    }

    /// A correct password: the account starts afresh.
    pub async fn succeeded(&self, login: &str) {
        self.local.succeeded(login);
        if let Some(shared) = &self.shared {
            let _ = shared.succeeded(&account(login)).await;
        }
    }
}

/// The counts in this process's memory.
#[derive(Debug)]
struct ProcessCounts {
    per_account: u32,
    per_address: u32,
    window: Duration,
    windows: Mutex<HashMap<Key, Window>>,
}

impl ProcessCounts {
    fn from_settings(settings: &GatewaySettings) -> Option<Self> {
        (settings.login_failures_per_account > 0 || settings.login_failures_per_ip > 0).then(|| {
            Self {
                per_account: settings.login_failures_per_account,
                per_address: settings.login_failures_per_ip,
                window: Duration::from_secs(settings.login_failure_window_secs.max(1)),
                windows: Mutex::default(),
            }
        })
    }

    /// The two counts a sign-in touches, each with its limit.
    fn keys(&self, login: &str, address: IpAddr) -> [(Key, u32); 2] {
        [
            (Key::Account(account(login)), self.per_account),
            (Key::Address(address), self.per_address),
        ]
    }

    fn check(&self, login: &str, address: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for (key, limit) in self.keys(login, address) {
            if limit == 0 {
                continue;
            }
            if let Some(window) = windows.get(&key)
                && window.failures >= limit
            {
                let ends = window.started + self.window;
                wait = wait.max(ends.saturating_duration_since(now));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        }
    }

    fn failed(&self, login: &str, address: IpAddr) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_TRACKED {
            self.prune(&mut windows, now);
        }
        for (key, _) in self.keys(login, address) {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(window.started) >= self.window {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures += 1;
        }
    }

    fn succeeded(&self, login: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        windows.remove(&Key::Account(account(login)));
    }

    fn prune(&self, windows: &mut HashMap<Key, Window>, now: Instant) {
        windows.retain(|_, w| now.duration_since(w.started) < self.window);
        if windows.len() >= MAX_TRACKED {
            let mut starts: Vec<Instant> = windows.values().map(|w| w.started).collect();
            starts.sort_unstable();
            let cutoff = starts[starts.len() / 2];
            windows.retain(|_, w| w.started > cutoff);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_account: u32, per_ip: u32) -> ProcessCounts {
        ProcessCounts::from_settings(&GatewaySettings {
            login_failures_per_account: per_account,
            login_failures_per_ip: per_ip,
            login_failure_window_secs: 60,
            ..GatewaySettings::default()
        })
        .unwrap()
    }

    #[test]
    fn an_account_locks_after_its_failures_whatever_the_address() {
        let t = throttle(3, 100);
        for n in 0..3u8 {
            assert!(t.check("Alice", IpAddr::from([10, 0, 0, n])).is_ok());
            t.failed("Alice", IpAddr::from([10, 0, 0, n]));
        }
        let wait = t.check(" alice ", IpAddr::from([10, 9, 9, 9])).unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        assert!(t.check("bob", IpAddr::from([10, 9, 9, 9])).is_ok());
    }

    #[test]
    fn an_address_locks_after_its_failures_whatever_the_account() {
        let t = throttle(100, 4);
        let attacker = IpAddr::from([203, 0, 113, 1]);
        for n in 0..4 {
            t.failed(&format!("user{n}"), attacker);
        }
        assert!(t.check("someone_else", attacker).is_err());
        assert!(
            t.check("someone_else", IpAddr::from([203, 0, 113, 2]))
                .is_ok()
        );
    }

    #[test]
    fn success_clears_the_account_not_the_address() {
        let t = throttle(2, 3);
        let ip = IpAddr::from([198, 51, 100, 1]);
        t.failed("carol", ip);
        t.succeeded("carol");
        t.failed("carol", ip);
        assert!(
            t.check("carol", ip).is_ok(),
            "one failure since the success"
        );
        t.failed("dave", ip);
        assert!(
            t.check("erin", ip).is_err(),
            "three failures from the address"
        );
    }

    #[test]
    fn zero_disables_a_limit() {
        assert!(
            LoginThrottle::from_settings(
                &GatewaySettings {
                    login_failures_per_account: 0,
                    login_failures_per_ip: 0,
                    ..GatewaySettings::default()
                },
                None
            )
            .is_none()
        );
        let t = throttle(0, 2);
        t.failed("frank", IpAddr::from([1, 1, 1, 1]));
        assert!(t.check("frank", IpAddr::from([2, 2, 2, 2])).is_ok());
    }
}
