//! The gateway's limits kept in Redis (`redis.url`), so every replica counts the same requests and failures: token
//! buckets per client address and per signed-in user, and wrong-password counts per account and per address.
//! Each check is one atomic script over at most two keys. Keys hold only an address, a verified user id or the
//! hash of a login name, never text a client chose. Any error is `Unavailable`, and the caller limits on its own.

use std::{net::IpAddr, num::NonZeroU32};

use tokshop_platform::redis::{Redis, Script, Unavailable, cmd};

/// Token buckets in their GCRA form (as governor's): a key holds the theoretical arrival time of the next request
/// in microseconds on the server's clock. KEYS: one or two buckets; ARGV: each one's emission interval (µs) and
/// burst. A request is allowed only if every bucket allows it, and only then is each one charged. Returns the
/// microseconds to wait, 0 when allowed. A key expires when its bucket is full again.
const BUCKETS: &str = r"
if #KEYS < 1 or #KEYS > 2 or #ARGV ~= 2 * #KEYS then
  return redis.error_reply('buckets: one or two keys, each with an interval and a burst')
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local wait = 0
local next_tat = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  if not interval or not burst or interval < 1 or burst < 1 then
    return redis.error_reply('buckets: interval and burst must be positive')
  end
  local tat = math.max(tonumber(redis.call('GET', KEYS[i])) or now, now)
  next_tat[i] = tat + interval
  local allowed_at = next_tat[i] - burst * interval
  if allowed_at > now then
    wait = math.max(wait, allowed_at - now)
  end
end
if wait > 0 then
  return wait
end
for i = 1, #KEYS do
  local ttl = math.ceil((next_tat[i] - now) / 1000)
  redis.call('SET', KEYS[i], string.format('%d', next_tat[i]), 'PX', string.format('%d', ttl))
end
return 0
";

/// KEYS: one or two failure counts; ARGV: each one's limit. Returns the milliseconds until the window of the
/// longest-locked count ends, 0 when none has reached its limit.
const LOGIN_CHECK: &str = r"
if #KEYS > 2 or #ARGV ~= #KEYS then
  return redis.error_reply('login check: each key with its limit')
end
local wait = 0
for i = 1, #KEYS do
  if (tonumber(redis.call('GET', KEYS[i])) or 0) >= tonumber(ARGV[i]) then
    wait = math.max(wait, redis.call('PTTL', KEYS[i]))
  end
end
return wait
";

/// KEYS: one or two failure counts; ARGV[1]: the window in milliseconds, which starts at a count's first failure.
const LOGIN_FAILED: &str = r"
if #KEYS > 2 or #ARGV ~= 1 then
  return redis.error_reply('login failure: one or two keys and the window')
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 or redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
end
return 0
";

/// A sustained rate and the burst above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    /// `None` when `per_second` is 0 (no limit); a burst of 0 is the rate itself.
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let per_second = NonZeroU32::new(per_second)?;
        Some(Self {
            per_second,
            burst: NonZeroU32::new(burst).unwrap_or(per_second),
        })
    }

    fn interval_micros(self) -> u64 {
        (1_000_000 / u64::from(self.per_second.get())).max(1)
    }
}

/// Whole seconds to wait, rounded up.
fn seconds(micros: u64) -> u64 {
    micros.div_ceil(1_000_000)
}

/// Request rates per client address and per signed-in user, shared by every replica.
pub struct SharedBuckets {
    redis: Redis,
    script: Script,
    per_address: Option<Rate>,
    per_user: Option<Rate>,
}

impl SharedBuckets {
    pub fn new(redis: Redis, per_address: Option<Rate>, per_user: Option<Rate>) -> Self {
        Self {
            redis,
            script: Script::new(BUCKETS),
            per_address,
            per_user,
        }
    }

    /// `Ok(Err(seconds))` when over a limit.
    pub async fn check(
        &self,
        client: IpAddr,
        user: Option<&str>,
    ) -> Result<Result<(), u64>, Unavailable> {
        let mut invocation = self.script.prepare_invoke();
        let mut keys = 0;
        let buckets = [
            self.per_address
                .map(|rate| (rate, self.redis.key(&["rate", "ip", &client.to_string()]))),
            self.per_user
                .zip(user)
                .map(|(rate, user)| (rate, self.redis.key(&["rate", "user", user]))),
        ];
        for (rate, key) in buckets.into_iter().flatten() {
            invocation
                .key(key)
                .arg(rate.interval_micros())
                .arg(rate.burst.get());
            keys += 1;
        }
        if keys == 0 {
            return Ok(Ok(()));
        }
        let wait: u64 = self.redis.invoke(&invocation).await?;
        Ok(if wait == 0 {
            Ok(())
        } else {
            Err(seconds(wait))
        })
    }
}

/// Wrong-password counts per account and per address, shared by every replica; the window is each count's expiry.
pub struct SharedLoginCounts {
    redis: Redis,
    check: Script,
    failed: Script,
    per_account: u32,
    per_address: u32,
    window_ms: u64,
}

impl SharedLoginCounts {
    pub fn new(redis: Redis, per_account: u32, per_address: u32, window_secs: u64) -> Self {
        Self {
            redis,
            check: Script::new(LOGIN_CHECK),
            failed: Script::new(LOGIN_FAILED),
            per_account,
            per_address,
            window_ms: window_secs.max(1).saturating_mul(1000),
        }
    }

    /// The account's key: a hash of the normalized login name, so its length and characters are ours.
    fn account_key(&self, account: &str) -> String {
        let hash = tokshop_platform::sha256_hex(&[account.as_bytes()]);
        self.redis.key(&["login", "account", &hash])
    }

    /// The counts a sign-in touches (those with a limit), each with its limit.
    fn counts(&self, account: &str, address: IpAddr) -> impl Iterator<Item = (String, u32)> {
        [
            (self.per_account > 0).then(|| (self.account_key(account), self.per_account)),
            (self.per_address > 0).then(|| {
                let key = self.redis.key(&["login", "ip", &address.to_string()]);
                (key, self.per_address)
            }),
        ]
        .into_iter()
        .flatten()
    }

    /// `Ok(Err(seconds))` when the account or the address has used up its failures.
    pub async fn check(
        &self,
        account: &str,
        address: IpAddr,
    ) -> Result<Result<(), u64>, Unavailable> {
        let mut invocation = self.check.prepare_invoke();
        for (key, limit) in self.counts(account, address) {
            invocation.key(key).arg(limit);
        }
        let wait_ms: i64 = self.redis.invoke(&invocation).await?;
        let wait_ms = u64::try_from(wait_ms).unwrap_or(0);
        Ok(if wait_ms == 0 {
            Ok(())
        } else {
            Err(wait_ms.div_ceil(1000))
        })
    }

    pub async fn failed(&self, account: &str, address: IpAddr) -> Result<(), Unavailable> {
        let mut invocation = self.failed.prepare_invoke();
        for (key, _) in self.counts(account, address) {
            invocation.key(key);
        }
        invocation.arg(self.window_ms);
        self.redis.invoke::<i64>(&invocation).await.map(drop)
    }

    pub async fn succeeded(&self, account: &str) -> Result<(), Unavailable> {
        let key = self.account_key(account);
        self.redis.query::<i64>(cmd("DEL").arg(key)).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::net::{TcpListener, TcpStream};
    use tokshop_platform::config::{RedisSettings, Secret};

    use super::*;

    /// One gateway's handle: its own connection, the shared keys.
    async fn replica(settings: &RedisSettings) -> Redis {
        Redis::connect(settings).await.unwrap().unwrap()
    }

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));

    #[tokio::test]
    async fn a_bucket_holds_across_replicas() {
        let Some(settings) = tokshop_platform::testing::redis().await else {
            return;
        };
        let rate = Rate::new(1, 4);
        let a = SharedBuckets::new(replica(&settings).await, rate, None);
        let b = SharedBuckets::new(replica(&settings).await, rate, None);
        for buckets in [&a, &a, &b, &b] {
            assert_eq!(buckets.check(CLIENT, None).await, Ok(Ok(())));
        }
        assert_eq!(a.check(CLIENT, None).await, Ok(Err(1)));
        assert_eq!(b.check(CLIENT, None).await, Ok(Err(1)));
        let other = IpAddr::from([203, 0, 113, 8]);
        assert_eq!(b.check(other, None).await, Ok(Ok(())));

        // The key holds an integer and goes away once the bucket would be full again (4 s at 1 a second).
        let redis = replica(&settings).await;
        let key = redis.key(&["rate", "ip", &CLIENT.to_string()]);
        let tat: String = redis.query(cmd("GET").arg(&key)).await.unwrap();
        assert!(tat.parse::<u64>().is_ok(), "{tat}");
        let ttl: i64 = redis.query(cmd("PTTL").arg(&key)).await.unwrap();
        assert!((3_000..=4_001).contains(&ttl), "{ttl}");
    }

    /// A user's bucket counts over all their addresses; a request one bucket refuses charges none.
    #[tokio::test]
    async fn a_user_is_limited_over_all_addresses() {
        let Some(settings) = tokshop_platform::testing::redis().await else {
            return;
        };
        let buckets =
            SharedBuckets::new(replica(&settings).await, Rate::new(1, 3), Rate::new(1, 2));
        let here = IpAddr::from([198, 51, 100, 1]);
        let there = IpAddr::from([198, 51, 100, 2]);
        assert_eq!(buckets.check(here, Some("user-1")).await, Ok(Ok(())));
        assert_eq!(buckets.check(there, Some("user-1")).await, Ok(Ok(())));
        assert_eq!(buckets.check(here, Some("user-1")).await, Ok(Err(1)));
        assert_eq!(buckets.check(here, Some("user-2")).await, Ok(Ok(())));
        // `here` spent two of its three (the refused request took nothing): one left.
        assert_eq!(buckets.check(here, None).await, Ok(Ok(())));
        assert_eq!(buckets.check(here, None).await, Ok(Err(1)));
    }

    #[tokio::test]
    async fn login_failures_count_across_replicas() {
        let Some(settings) = tokshop_platform::testing::redis().await else {
            return;
        };
        let a = SharedLoginCounts::new(replica(&settings).await, 3, 5, 120);
        let b = SharedLoginCounts::new(replica(&settings).await, 3, 5, 120);
        a.failed("alice", CLIENT).await.unwrap();
        a.failed("alice", IpAddr::from([10, 0, 0, 1]))
            .await
            .unwrap();
        assert_eq!(b.check("alice", CLIENT).await, Ok(Ok(())));
        b.failed("alice", IpAddr::from([10, 0, 0, 2]))
            .await
            .unwrap();
        for counts in [&a, &b] {
            let wait = counts.check("alice", IpAddr::from([10, 9, 9, 9])).await;
            assert!(matches!(wait, Ok(Err(119..=120))), "{wait:?}");
        }
        // A success clears the account on every replica; the address keeps its count.
        a.succeeded("alice").await.unwrap();
        assert_eq!(b.check("alice", CLIENT).await, Ok(Ok(())));
        // One failure from CLIENT so far; four more reach its five.
        for n in 0..4 {
            b.failed(&format!("victim{n}"), CLIENT).await.unwrap();
        }
        assert!(matches!(a.check("bob", CLIENT).await, Ok(Err(_))));

        // Keys hold a hash of the login name, never the name.
        let redis = replica(&settings).await;
        let keys: Vec<String> = redis
            .query(cmd("KEYS").arg(redis.key(&["*"])))
            .await
            .unwrap();
        assert!(
            !keys.is_empty() && keys.iter().all(|k| !k.contains("victim")),
            "{keys:?}"
        );
    }

    /// Redis down when the gateway starts: unavailable (the caller limits on its own); once it answers, shared
    /// again within a few seconds.
    #[tokio::test]
    async fn a_server_that_comes_back_is_used_again() {
        let Some(mut settings) = tokshop_platform::testing::redis().await else {
            return;
        };
        let upstream = settings.url.as_ref().unwrap().expose().to_owned();
        let authority_start = upstream.find("://").map_or(0, |i| i + 3);
        let rest = &upstream[authority_start..];
        let host_start = rest.rfind('@').map_or(0, |i| i + 1);
        let host_end = rest[host_start..]
            .find('/')
            .map_or(rest.len(), |i| host_start + i);
        let server = rest[host_start..host_end].to_owned();
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        settings.url = Some(Secret::new(format!(
            "{}{}{addr}{}",
            &upstream[..authority_start],
            &rest[..host_start],
            &rest[host_end..]
        )));
        settings.timeout_ms = 200;
        let buckets = SharedBuckets::new(replica(&settings).await, Rate::new(1, 1), None);
        assert_eq!(buckets.check(CLIENT, None).await, Err(Unavailable));

        let proxy = TcpListener::bind(addr).await.unwrap();
        let forwarding = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = proxy.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(server).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        let mut answered = None;
        for _ in 0..50 {
            if let Ok(verdict) = buckets.check(CLIENT, None).await {
                answered = Some(verdict);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(answered, Some(Ok(())), "shared again within 5 s");
        assert_eq!(buckets.check(CLIENT, None).await, Ok(Err(1)));
        forwarding.abort();
    }
}
