//! The read-through cache on a real Redis (TOKSHOP_TEST_REDIS_URL): two handles stand for two replicas sharing
//! entries, an invalidation through one is seen by the other, a load that raced an invalidation (in memory, or on
//! the other replica) is not stored, and with Redis unreachable every read loads and an invalidation reports the
//! failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokshop_platform::{
    cache::Cache,
    config::{CacheSettings, RedisSettings, Secret},
    redis::Redis,
};

async fn replica(settings: &RedisSettings) -> Cache<String> {
    let redis = Redis::connect(settings).await.unwrap().unwrap();
    Cache::new("products", &CacheSettings::default(), Some(redis))
}

/// Loads `value` for `key`, counting the call.
async fn load(
    cache: &Cache<String>,
    loads: &AtomicUsize,
    key: &str,
    value: &str,
) -> Option<String> {
    cache
        .get_or_load(key, || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(Some(value.to_owned()))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn replicas_share_entries_and_invalidations() {
    let Some(settings) = tokshop_platform::testing::redis().await else {
        return;
    };
    let (a, b) = (replica(&settings).await, replica(&settings).await);
    let loads = AtomicUsize::new(0);
    assert_eq!(load(&a, &loads, "p1", "v1").await.as_deref(), Some("v1"));
    assert_eq!(load(&b, &loads, "p1", "other").await.as_deref(), Some("v1"));
    assert_eq!(loads.load(Ordering::SeqCst), 1, "B read what A stored");

    a.invalidate(&["p1".to_owned()]).await.unwrap();
    assert_eq!(load(&b, &loads, "p1", "v2").await.as_deref(), Some("v2"));
    assert_eq!(load(&a, &loads, "p1", "v3").await.as_deref(), Some("v2"));
    assert_eq!(loads.load(Ordering::SeqCst), 2);

    // Batches: one cached, one missing, one that does not exist.
    let keys: Vec<String> = ["p1", "p2", "p3"].map(String::from).to_vec();
    let got = b
        .get_many_or_load(&keys, |missing| async move {
            assert_eq!(missing, ["p2", "p3"]);
            Ok(vec![("p2".to_owned(), "w2".to_owned())])
        })
        .await
        .unwrap();
    assert_eq!((got["p1"].as_str(), got["p2"].as_str()), ("v2", "w2"));
    assert_eq!(got.len(), 2);
    let cached = a
        .get_many_or_load(&keys[..2], |missing| async move {
            panic!("{missing:?} should have been cached")
        })
        .await
        .unwrap();
    assert_eq!(cached.len(), 2);
}

/// `reader` loads the old row; `writer` (the same replica, or another) invalidates after its write committed;
/// then the load finishes. Its value goes to its caller only: the next read through `writer` loads anew.
async fn a_load_overtaken_by_an_invalidation_is_not_stored(
    reader: &Cache<String>,
    writer: &Cache<String>,
) {
    let started = Arc::new(tokio::sync::Notify::new());
    let finish = Arc::new(tokio::sync::Notify::new());
    let loading = {
        let reader = reader.clone();
        let (started, finish) = (started.clone(), finish.clone());
        tokio::spawn(async move {
            reader
                .get_or_load("p", || async move {
                    started.notify_one();
                    finish.notified().await;
                    Ok(Some("old".to_owned()))
                })
                .await
        })
    };
    started.notified().await;
    writer.invalidate(&["p".to_owned()]).await.unwrap();
    finish.notify_one();
    assert_eq!(loading.await.unwrap().unwrap().as_deref(), Some("old"));
    let loads = AtomicUsize::new(0);
    assert_eq!(
        load(writer, &loads, "p", "new").await.as_deref(),
        Some("new")
    );
    assert_eq!(
        loads.load(Ordering::SeqCst),
        1,
        "the old value was not stored"
    );
}

#[tokio::test]
async fn in_memory_a_load_overtaken_by_an_invalidation_is_not_stored() {
    let cache = Cache::new("products", &CacheSettings::default(), None);
    a_load_overtaken_by_an_invalidation_is_not_stored(&cache, &cache).await;
}

#[tokio::test]
async fn a_load_overtaken_by_another_replicas_invalidation_is_not_stored() {
    let Some(settings) = tokshop_platform::testing::redis().await else {
        return;
    };
    let (a, b) = (replica(&settings).await, replica(&settings).await);
    a_load_overtaken_by_an_invalidation_is_not_stored(&b, &a).await;
}

/// Nothing listens where the cache points: every read loads (quickly), and an invalidation says it failed.
#[tokio::test]
async fn with_redis_unreachable_reads_load_and_invalidations_fail() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let settings = RedisSettings {
        url: Some(Secret::new(format!("redis://{addr}"))),
        timeout_ms: 200,
        ..RedisSettings::default()
    };
    let cache = replica(&settings).await;
    let loads = AtomicUsize::new(0);
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert_eq!(load(&cache, &loads, "p", "db").await.as_deref(), Some("db"));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 20);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "reads did not wait on Redis: {:?}",
        started.elapsed()
    );
    assert!(cache.invalidate(&["p".to_owned()]).await.is_err());
}
