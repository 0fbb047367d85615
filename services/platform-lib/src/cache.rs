//! A read-through cache for values that are read far more often than written (the catalog's products and
//! categories). One [`Cache`] holds one kind of value under string keys:
//!
//! - **where**: in Redis when the process has a [`Redis`] link, so every replica reads and invalidates the same
//!   entries; otherwise in this process's memory, bounded by `cache.local_capacity`. `cache.enabled = false` turns
//!   it off (every read loads).
//! - **freshness**: writers call [`Cache::invalidate`] once their change has committed; every entry also expires
//!   after `cache.ttl_seconds` (with a little jitter, so entries filled together do not expire together), which
//!   bounds how long an invalidation that was missed can leave a value stale.
//! - **no stale refill**: a load that raced an invalidation does not store what it read. Each key has a generation
//!   (in Redis a counter beside the value; in memory one per lock stripe) that an invalidation bumps; a fill is
//!   written only if the generation is still the one seen before the load began.
//! - **stampedes**: concurrent misses of one key in one process wait for a single load (one lock per stripe of
//!   keys), so an expired hot key costs one database read per replica, not one per request.
//! - **outages**: when Redis does not answer, reads load from the database (counted as `error`) and nothing waits
//!   on Redis (the link rests after a failure); an invalidation that could not reach Redis is an error for the
//!   caller to retry.
//!
//! Lookups are counted in `tokshop_cache_requests_total{cache, result}` (hit, miss, error).

use std::{
    collections::HashMap,
    hash::BuildHasher,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde::{Serialize, de::DeserializeOwned};

use crate::{
    ServiceResult,
    config::CacheSettings,
    metrics::count_cache,
    redis::{Redis, Script, Unavailable, cmd},
};

/// Lock stripes per cache: misses of keys in one stripe load one at a time.
const STRIPES: usize = 256;
/// Generation counters in Redis outlive the value they guard by this much, so a load that began just before
/// the value expired still sees the counter it read.
const GENERATION_GRACE: Duration = Duration::from_secs(60);

/// Stores `ARGV[2i]` under `KEYS[2i-1]` for `ARGV[1]` ms if `KEYS[2i]` (its generation) still reads `ARGV[2i-1]`
/// ('' for none). Returns how many were stored.
const FILL: &str = r"
local stored = 0
for i = 1, #KEYS / 2 do
  local seen = redis.call('GET', KEYS[2 * i]) or ''
  if seen == ARGV[2 * i] then
    redis.call('SET', KEYS[2 * i - 1], ARGV[2 * i + 1], 'PX', ARGV[1])
    stored = stored + 1
  end
end
return stored
";

/// Deletes each value `KEYS[2i-1]` and bumps its generation `KEYS[2i]`, which lives `ARGV[1]` ms.
const DROP: &str = r"
for i = 1, #KEYS / 2 do
  redis.call('INCR', KEYS[2 * i])
  redis.call('PEXPIRE', KEYS[2 * i], ARGV[1])
  redis.call('DEL', KEYS[2 * i - 1])
end
return #KEYS / 2
";

struct Scripts {
    fill: Script,
    drop: Script,
}

/// The scripts, hashed once.
fn scripts() -> &'static Scripts {
    static SCRIPTS: std::sync::OnceLock<Scripts> = std::sync::OnceLock::new();
    SCRIPTS.get_or_init(|| Scripts {
        fill: Script::new(FILL),
        drop: Script::new(DROP),
    })
}

/// A read-through cache of `T` under string keys; cheap to clone (clones share the entries).
pub struct Cache<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Cache<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Cache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = match &self.inner.store {
            Store::Off => "off",
            Store::Local(_) => "in-process",
            Store::Shared(_) => "redis",
        };
        write!(f, "Cache({}, {store})", self.inner.name)
    }
}

struct Inner<T> {
    name: &'static str,
    ttl: Duration,
    store: Store<T>,
    stripes: Box<[Stripe]>,
    hasher: std::collections::hash_map::RandomState,
}

enum Store<T> {
    Off,
    Local(Mutex<Local<T>>),
    Shared(Redis),
}

struct Local<T> {
    entries: HashMap<String, (Instant, T)>,
    capacity: usize,
}

#[derive(Default)]
struct Stripe {
    loading: tokio::sync::Mutex<()>,
    generation: AtomicU64,
}

/// A value loaded after a miss, with the generations of its key seen before the load began: Redis's (checked by
/// the fill script) and its stripe's in this process.
struct Fill<'v, T> {
    key: String,
    shared: String,
    local: u64,
    value: &'v T,
}

/// What a lookup found of one key: the value if cached, and (in Redis) the generation a fill must match.
struct Found<T> {
    value: Option<T>,
    generation: String,
}

impl<T> Cache<T>
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The cache `settings` describe: in `redis` when given, else in memory; off when disabled.
    pub fn new(name: &'static str, settings: &CacheSettings, redis: Option<Redis>) -> Self {
        let store = match (settings.enabled, redis) {
            (false, _) => Store::Off,
            (true, Some(redis)) => Store::Shared(redis),
            (true, None) => Store::Local(Mutex::new(Local {
                entries: HashMap::new(),
                capacity: settings.local_capacity.max(1),
            })),
        };
        Self {
            inner: Arc::new(Inner {
                name,
                ttl: Duration::from_secs(settings.ttl_seconds.max(1)),
                store,
                stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
                hasher: std::collections::hash_map::RandomState::new(),
            }),
        }
    }

    /// The value under `key`: from the cache, or from `load` (then stored, when it found one). `None` from `load`
    /// is not cached.
    pub async fn get_or_load<F, Fut>(&self, key: &str, load: F) -> ServiceResult<Option<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServiceResult<Option<T>>>,
    {
        if matches!(self.inner.store, Store::Off) {
            return load().await;
        }
        let first = self.lookup(&[key]).await.map(single);
        if let Ok(Found { value: Some(v), .. }) = first {
            self.count("hit", 1);
            return Ok(Some(v));
        }
        let stripe = self.stripe(key);
        let _loading = stripe.loading.lock().await;
        // Whoever held the stripe may just have stored it. After an outage, do not ask again.
        let again = match first {
            Ok(_) => self.lookup(&[key]).await.map(single),
            Err(unavailable) => Err(unavailable),
        };
        match again {
            Ok(Found { value: Some(v), .. }) => {
                self.count("hit", 1);
                Ok(Some(v))
            }
            Ok(Found { generation, .. }) => {
                self.count("miss", 1);
                let local = stripe.generation.load(Ordering::SeqCst);
                let value = load().await?;
                if let Some(value) = &value {
                    self.fill(vec![Fill {
                        key: key.to_owned(),
                        shared: generation,
                        local,
                        value,
                    }])
                    .await;
                }
                Ok(value)
            }
            Err(Unavailable) => {
                self.count("error", 1);
                load().await
            }
        }
    }

    /// The values under `keys` that exist: from the cache, and the rest from one call of `load` with the missing
    /// keys (each value it returns is then stored). Batches do not wait on each other's loads.
    pub async fn get_many_or_load<F, Fut>(
        &self,
        keys: &[String],
        load: F,
    ) -> ServiceResult<HashMap<String, T>>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = ServiceResult<Vec<(String, T)>>>,
    {
        if matches!(self.inner.store, Store::Off) {
            return Ok(load(keys.to_vec()).await?.into_iter().collect());
        }
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let found = match self.lookup(&refs).await {
            Ok(found) => found,
            Err(Unavailable) => {
                self.count("error", keys.len() as u64);
                return Ok(load(keys.to_vec()).await?.into_iter().collect());
            }
        };
        let mut values = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        let mut generations = HashMap::new();
        for (key, found) in keys.iter().zip(found) {
            match found.value {
                Some(value) => {
                    values.insert(key.clone(), value);
                }
                None => {
                    let local = self.stripe(key).generation.load(Ordering::SeqCst);
                    generations.insert(key.clone(), (found.generation, local));
                    missing.push(key.clone());
                }
            }
        }
        self.count("hit", values.len() as u64);
        if missing.is_empty() {
            return Ok(values);
        }
        self.count("miss", missing.len() as u64);
        let loaded = load(missing).await?;
        let mut fills = Vec::with_capacity(loaded.len());
        for (key, value) in &loaded {
            if let Some((shared, local)) = generations.remove(key) {
                fills.push(Fill {
                    key: key.clone(),
                    shared,
                    local,
                    value,
                });
            }
        }
        self.fill(fills).await;
        values.extend(loaded);
        Ok(values)
    }

    /// Forgets `keys` everywhere this cache lives. Call it after the change has committed. `Unavailable` means
    /// Redis did not take it: the old values live until they expire unless the caller tries again.
    pub async fn invalidate(&self, keys: &[String]) -> Result<(), Unavailable> {
        let bump = || {
            for key in keys {
                self.stripe(key).generation.fetch_add(1, Ordering::SeqCst);
            }
        };
        match &self.inner.store {
            Store::Off => Ok(()),
            Store::Local(local) => {
                // Under the lock a fill checks generations under: a load that raced this either stored first (and
                // is removed here) or sees the new generation (and stores nothing).
                let mut local = lock(local);
                bump();
                for key in keys {
                    local.entries.remove(key);
                }
                Ok(())
            }
            Store::Shared(redis) => {
                bump();
                if keys.is_empty() {
                    return Ok(());
                }
                let mut invocation = scripts().drop.prepare_invoke();
                for key in keys {
                    let (value, generation) = self.redis_keys(redis, key);
                    invocation.key(value).key(generation);
                }
                invocation.arg(millis(self.inner.ttl + GENERATION_GRACE));
                redis.invoke::<i64>(&invocation).await.map(drop)
            }
        }
    }

    async fn lookup(&self, keys: &[&str]) -> Result<Vec<Found<T>>, Unavailable> {
        match &self.inner.store {
            Store::Off => Ok(keys.iter().map(|_| absent()).collect()),
            Store::Local(local) => {
                let mut local = lock(local);
                let now = Instant::now();
                Ok(keys
                    .iter()
                    .map(|key| {
                        let value = match local.entries.get(*key) {
                            Some((expires, value)) if *expires > now => Some(value.clone()),
                            Some(_) => {
                                local.entries.remove(*key);
                                None
                            }
                            None => None,
                        };
                        Found {
                            value,
                            generation: String::new(),
                        }
                    })
                    .collect())
            }
            Store::Shared(redis) => {
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let mut mget = cmd("MGET");
                for key in keys {
                    let (value, generation) = self.redis_keys(redis, key);
                    mget.arg(value).arg(generation);
                }
                let replies: Vec<Option<Vec<u8>>> = redis.query(&mget).await?;
                Ok(replies
                    .chunks(2)
                    .map(|pair| Found {
                        value: pair[0].as_deref().and_then(|bytes| self.decode(bytes)),
                        generation: pair[1]
                            .as_deref()
                            .map(|g| String::from_utf8_lossy(g).into_owned())
                            .unwrap_or_default(),
                    })
                    .collect())
            }
        }
    }

    /// Stores each loaded value unless its key was invalidated since the load began (its generation moved).
    async fn fill(&self, mut fills: Vec<Fill<'_, T>>) {
        let unchanged = |fill: &Fill<'_, T>| {
            self.stripe(&fill.key).generation.load(Ordering::SeqCst) == fill.local
        };
        match &self.inner.store {
            Store::Off => {}
            Store::Local(local) => {
                // Checked under the lock an invalidation bumps generations under.
                let mut local = lock(local);
                fills.retain(unchanged);
                if fills.is_empty() {
                    return;
                }
                let now = Instant::now();
                if local.entries.len() + fills.len() > local.capacity {
                    local.entries.retain(|_, (expires, _)| *expires > now);
                }
                let room = local.capacity.saturating_sub(fills.len());
                if local.entries.len() > room {
                    // Still full of live entries: drop an arbitrary tenth (hash order) rather than refuse fills.
                    let excess = local.entries.len() - room + local.capacity / 10;
                    let victims: Vec<String> = local.entries.keys().take(excess).cloned().collect();
                    for victim in victims {
                        local.entries.remove(&victim);
                    }
                }
                for fill in fills {
                    let expires = now + self.jittered_ttl(&fill.key);
                    local
                        .entries
                        .insert(fill.key, (expires, fill.value.clone()));
                }
            }
            Store::Shared(redis) => {
                // This process's invalidations are seen here; every replica's, by the script (Redis generations).
                fills.retain(unchanged);
                if fills.is_empty() {
                    return;
                }
                let mut invocation = scripts().fill.prepare_invoke();
                invocation.arg(millis(self.jittered_ttl(&fills[0].key)));
                for Fill {
                    key,
                    shared: generation,
                    value,
                    ..
                } in &fills
                {
                    let Ok(encoded) = serde_json::to_vec(value) else {
                        continue;
                    };
                    let (value_key, generation_key) = self.redis_keys(redis, key);
                    invocation
                        .key(value_key)
                        .key(generation_key)
                        .arg(generation.as_str())
                        .arg(encoded);
                }
                // A fill that did not happen is only a later miss.
                let _ = redis.invoke::<i64>(&invocation).await;
            }
        }
    }

    fn decode(&self, bytes: &[u8]) -> Option<T> {
        match serde_json::from_slice(bytes) {
            Ok(value) => Some(value),
            Err(err) => {
                // Written by another version of tokshop: treat it as a miss and let the fill replace it.
                tracing::debug!(cache = self.inner.name, error = %err, "undecodable cache entry");
                None
            }
        }
    }

    fn redis_keys(&self, redis: &Redis, key: &str) -> (String, String) {
        (
            redis.key(&["cache", self.inner.name, key]),
            redis.key(&["cache", self.inner.name, key, "generation"]),
        )
    }

    fn stripe(&self, key: &str) -> &Stripe {
        let hash = self.hash(key);
        &self.inner.stripes[(hash % STRIPES as u64) as usize]
    }

    fn hash(&self, key: &str) -> u64 {
        self.inner.hasher.hash_one(key)
    }

    /// The TTL, less up to a tenth depending on the key, so entries filled together expire apart.
    fn jittered_ttl(&self, key: &str) -> Duration {
        let ttl = self.inner.ttl;
        let tenth = millis(ttl) / 10;
        if tenth == 0 {
            return ttl;
        }
        ttl - Duration::from_millis(self.hash(key) % tenth)
    }

    fn count(&self, result: &str, n: u64) {
        count_cache(self.inner.name, result, n);
    }
}

fn single<T>(mut found: Vec<Found<T>>) -> Found<T> {
    found.pop().unwrap_or_else(absent)
}

fn absent<T>() -> Found<T> {
    Found {
        value: None,
        generation: String::new(),
    }
}

fn lock<T>(local: &Mutex<Local<T>>) -> std::sync::MutexGuard<'_, Local<T>> {
    // A panic while holding the lock leaves at worst a missing or extra entry: keep going.
    local
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn local(ttl_seconds: u64, capacity: usize) -> Cache<String> {
        let settings = CacheSettings {
            enabled: true,
            ttl_seconds,
            local_capacity: capacity,
            ..CacheSettings::default()
        };
        Cache::new("test", &settings, None)
    }

    /// A loader that counts its calls and answers `value-<key>`.
    fn counted(
        loads: &Arc<AtomicUsize>,
        key: &str,
    ) -> impl Future<Output = ServiceResult<Option<String>>> + use<> {
        let loads = loads.clone();
        let value = format!("value-{key}");
        async move {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(Some(value))
        }
    }

    #[tokio::test]
    async fn loads_once_then_answers_from_memory_until_invalidated() {
        let cache = local(60, 100);
        let loads = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let got = cache.get_or_load("a", || counted(&loads, "a")).await;
            assert_eq!(got.unwrap().as_deref(), Some("value-a"));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        cache.invalidate(&["a".to_owned()]).await.unwrap();
        cache
            .get_or_load("a", || counted(&loads, "a"))
            .await
            .unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn nothing_found_is_not_cached_and_off_always_loads() {
        let cache = local(60, 100);
        let loads = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let loads = loads.clone();
            let got = cache
                .get_or_load("gone", || async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    Ok(None)
                })
                .await;
            assert_eq!(got.unwrap(), None);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 2);

        let off = Cache::<String>::new(
            "test",
            &CacheSettings {
                enabled: false,
                ..CacheSettings::default()
            },
            None,
        );
        for _ in 0..2 {
            off.get_or_load("a", || counted(&loads, "a")).await.unwrap();
        }
        assert_eq!(loads.load(Ordering::SeqCst), 4);
    }

    /// A hundred requests miss the same key at once: one load, everyone gets its value.
    #[tokio::test]
    async fn concurrent_misses_share_one_load() {
        let cache = local(60, 100);
        let loads = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let cache = cache.clone();
            let loads = loads.clone();
            tasks.spawn(async move {
                cache
                    .get_or_load("hot", || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(Some("value-hot".to_owned()))
                    })
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            assert_eq!(done.unwrap().unwrap().as_deref(), Some("value-hot"));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn entries_expire_and_memory_stays_within_capacity() {
        let cache = local(1, 10);
        let loads = Arc::new(AtomicUsize::new(0));
        cache
            .get_or_load("a", || counted(&loads, "a"))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        cache
            .get_or_load("a", || counted(&loads, "a"))
            .await
            .unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 2, "expired after the TTL");

        for i in 0..25 {
            let key = format!("k{i}");
            cache
                .get_or_load(&key, || counted(&loads, &key))
                .await
                .unwrap();
        }
        let Store::Local(store) = &cache.inner.store else {
            panic!("in memory")
        };
        let held = lock(store).entries.len();
        assert!(held <= 10, "{held} entries held, capacity 10");
    }

    #[tokio::test]
    async fn batches_load_only_what_is_missing() {
        let cache = local(60, 100);
        cache
            .get_or_load("a", || async { Ok(Some("value-a".to_owned())) })
            .await
            .unwrap();
        let keys: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let got = {
            let asked = asked.clone();
            cache
                .get_many_or_load(&keys, |missing| async move {
                    asked.lock().unwrap().extend(missing.clone());
                    // "c" does not exist.
                    Ok(missing
                        .into_iter()
                        .filter(|k| k != "c")
                        .map(|k| (k.clone(), format!("value-{k}")))
                        .collect())
                })
                .await
                .unwrap()
        };
        assert_eq!(*asked.lock().unwrap(), ["b", "c"]);
        assert_eq!(got.len(), 2);
        assert_eq!(got["b"], "value-b");
        let again = cache
            .get_many_or_load(&keys[..2], |missing| async move {
                panic!("{missing:?} should have been cached")
            })
            .await
            .unwrap();
        assert_eq!(again.len(), 2);
    }
}
