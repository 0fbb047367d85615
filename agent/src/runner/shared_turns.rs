//! The per-user turn limits (turns per minute, turns at once) counted in Redis (`redis.url`), so they hold over
//! every gateway replica. One atomic script checks and charges both counts; a running turn is a member of a sorted
//! set scored by when its hold runs out, so a replica that dies mid-turn gives its slots back on its own. Keys hold
//! only a verified user id. Any error is `Unavailable`, and the caller counts in its own process instead.

use tokshop_platform::redis::{Redis, Script, Unavailable, cmd};

/// KEYS[1]: the user's running turns (member: a slot id, score: when its hold runs out, ms); KEYS[2]: their turns
/// started in the last minute (member: a slot id, score: when it started, ms). ARGV: the slot id, the limit on
/// turns at once, the limit per minute (0: none) and the hold in ms. Returns {0, 0} when admitted (and charged),
/// {1, turns running} at the limit on turns at once, {2, ms until a minute's slot frees} at the per-minute limit.
const ADMIT: &str = r"
if #KEYS ~= 2 or #ARGV ~= 4 then
  return redis.error_reply('admit: two keys; slot, concurrent, per minute, hold')
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local concurrent = tonumber(ARGV[2])
local per_minute = tonumber(ARGV[3])
local hold = tonumber(ARGV[4])
if not concurrent or not per_minute or not hold or hold < 1 then
  return redis.error_reply('admit: limits and hold must be numbers, the hold positive')
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 60000)
if concurrent > 0 then
  local running = redis.call('ZCARD', KEYS[1])
  if running >= concurrent then
    return {1, running}
  end
end
if per_minute > 0 and redis.call('ZCARD', KEYS[2]) >= per_minute then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, math.max(tonumber(oldest[2]) + 60000 - now, 1)}
end
if concurrent > 0 then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], hold)
end
if per_minute > 0 then
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], 60000)
end
return {0, 0}
";

/// Why a turn was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// At the limit on turns at once, with this many running.
    Concurrent(u32),
    /// At the per-minute limit: milliseconds until the oldest turn of the minute leaves it.
    PerMinute(u64),
}

/// The per-user turn counts every replica shares.
#[derive(Clone)]
pub struct SharedTurns {
    redis: Redis,
    admit: Script,
}

/// A turn charged in Redis; [`SharedTurns::release`] gives its running slot back.
#[derive(Debug)]
pub struct SharedSlot {
    running_key: String,
    id: String,
}

impl SharedTurns {
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            admit: Script::new(ADMIT),
        }
    }

    /// Checks `user_id`'s turns against `concurrent` and `per_minute` (0: no limit) and charges one more if both
    /// allow it. `hold_ms`: how long the slot counts as running should it never be released.
    pub async fn admit(
        &self,
        user_id: &str,
        concurrent: u32,
        per_minute: u32,
        hold_ms: u64,
    ) -> Result<Result<SharedSlot, Refusal>, Unavailable> {
        let slot = self.new_slot(user_id);
        let started_key = self.redis.key(&["agent", "started", user_id]);
        let mut invocation = self.admit.prepare_invoke();
        invocation
            .key(&slot.running_key)
            .key(started_key)
            .arg(&slot.id)
            .arg(concurrent)
            .arg(per_minute)
            .arg(hold_ms.max(1));
        let (verdict, value): (i64, i64) = match self.redis.invoke(&invocation).await {
            Ok(answer) => answer,
            Err(Unavailable) => {
                // The script may have run and charged the slot: give it back once Redis answers.
                let turns = self.clone();
                tokio::spawn(async move { turns.release_with_retries(&slot).await });
                return Err(Unavailable);
            }
        };
        let value = u64::try_from(value).unwrap_or(0);
        Ok(match verdict {
            0 => Ok(slot),
            1 => Err(Refusal::Concurrent(
                u32::try_from(value).unwrap_or(u32::MAX),
            )),
            2 => Err(Refusal::PerMinute(value)),
            _ => return Err(Unavailable),
        })
    }

    /// The turn ended: its running slot is free at once on every replica (its minute still counts).
    pub async fn release(&self, slot: &SharedSlot) -> Result<(), Unavailable> {
        self.redis
            .query::<i64>(cmd("ZREM").arg(&slot.running_key).arg(&slot.id))
            .await
            .map(drop)
    }

    /// [`SharedTurns::release`], tried again after growing pauses (1, 2, 4, 8 s: past the link's rest after a
    /// failure) while Redis does not answer, so a blip does not keep the user's slot taken until its hold runs
    /// out. True once released.
    pub async fn release_with_retries(&self, slot: &SharedSlot) -> bool {
        for pause in [0, 1, 2, 4, 8] {
            if pause > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(pause * 1100)).await;
            }
            if self.release(slot).await.is_ok() {
                return true;
            }
        }
        false
    }

    /// A new slot in `user_id`'s set of running turns.
    fn new_slot(&self, user_id: &str) -> SharedSlot {
        SharedSlot {
            running_key: self.redis.key(&["agent", "running", user_id]),
            id: tokshop_platform::ids::new_id("slot"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn replica(settings: &tokshop_platform::config::RedisSettings) -> SharedTurns {
        SharedTurns::new(Redis::connect(settings).await.unwrap().unwrap())
    }

    #[tokio::test]
    async fn turns_at_once_count_over_replicas_until_released_or_expired() {
        let Some(settings) = tokshop_platform::testing::redis().await else {
            return;
        };
        let (a, b) = (replica(&settings).await, replica(&settings).await);
        let first = a.admit("usr_ann", 2, 0, 60_000).await.unwrap().unwrap();
        let second = b.admit("usr_ann", 2, 0, 60_000).await.unwrap().unwrap();
        assert_eq!(
            a.admit("usr_ann", 2, 0, 60_000).await.unwrap().unwrap_err(),
            Refusal::Concurrent(2)
        );
        // Another user is not affected.
        b.admit("usr_bob", 2, 0, 60_000).await.unwrap().unwrap();

        // Released on one replica, free on the other at once.
        a.release(&first).await.unwrap();
        let third = b.admit("usr_ann", 2, 0, 60_000).await.unwrap().unwrap();
        b.release(&second).await.unwrap();
        b.release(&third).await.unwrap();

        // A slot whose replica died (never released) stops counting when its hold runs out.
        let _lost = a.admit("usr_cy", 1, 0, 300).await.unwrap().unwrap();
        assert!(a.admit("usr_cy", 1, 0, 300).await.unwrap().is_err());
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        b.admit("usr_cy", 1, 0, 300).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn turns_per_minute_count_over_replicas_and_a_refusal_charges_nothing() {
        let Some(settings) = tokshop_platform::testing::redis().await else {
            return;
        };
        let (a, b) = (replica(&settings).await, replica(&settings).await);
        let one = a.admit("usr_ann", 0, 2, 60_000).await.unwrap().unwrap();
        a.release(&one).await.unwrap();
        b.admit("usr_ann", 0, 2, 60_000).await.unwrap().unwrap();
        for replica in [&a, &b, &a] {
            match replica.admit("usr_ann", 0, 2, 60_000).await.unwrap() {
                Err(Refusal::PerMinute(ms)) => assert!((1..=60_000).contains(&ms), "{ms}"),
                other => panic!("{other:?}"),
            }
        }
        // The refusals left the minute's count at two: the keys hold two members and the user id, nothing else.
        let redis = Redis::connect(&settings).await.unwrap().unwrap();
        let started = redis.key(&["agent", "started", "usr_ann"]);
        let count: i64 = redis.query(cmd("ZCARD").arg(&started)).await.unwrap();
        assert_eq!(count, 2);
        let ttl: i64 = redis.query(cmd("PTTL").arg(&started)).await.unwrap();
        assert!((1..=60_000).contains(&ttl), "{ttl}");
    }
}
