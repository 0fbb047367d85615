//! Events on a real Kafka-protocol broker (TOKSHOP_TEST_KAFKA_BROKERS, default 127.0.0.1:9092): the relay
//! publishes committed events, each handler consumes in its own group and applies every event exactly once, also
//! when its consumer dies mid-stream, and an event a handler keeps failing on lands on the dead-letter topic, from
//! which it can be replayed. Each test uses its own topic prefix, so tests share one broker.
//!
//! Without a broker the tests say so and pass, except under CI (`CI` set), where a missing broker is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokshop_platform::{
    config::KafkaSettings,
    db::Db,
    events::{self, Event, EventBus, EventHandler, Relay, kafka::Kafka},
    testing::TestDb,
};

fn settings() -> KafkaSettings {
    KafkaSettings {
        topic_prefix: format!("test{}", uuid::Uuid::now_v7().simple()),
        partitions: 3,
        max_attempts: 3,
        retry_backoff_ms: 20,
        ..KafkaSettings::default()
    }
}

/// Applies each event once (`first_delivery` in the applying transaction) by adding it to `applied`, in the
/// order applied per aggregate; fails every time on an event whose payload says `poison` while `poisoned` holds.
struct Ledger {
    db: Db,
    applied: Mutex<HashMap<String, Vec<i64>>>,
    poisoned: AtomicBool,
}

impl Ledger {
    async fn new(db: &Db) -> Arc<Self> {
        sqlx::raw_sql("CREATE TABLE applied (event_id TEXT PRIMARY KEY, aggregate_id TEXT NOT NULL, n BIGINT NOT NULL)")
            .execute(db.pool())
            .await
            .unwrap();
        Arc::new(Self {
            db: db.clone(),
            applied: Mutex::new(HashMap::new()),
            poisoned: AtomicBool::new(true),
        })
    }

    async fn stored(&self) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM applied")
            .fetch_one(self.db.pool())
            .await
            .unwrap();
        n
    }
}

#[async_trait::async_trait]
impl EventHandler for Ledger {
    fn name(&self) -> &'static str {
        "test.ledger"
    }

    fn wants(&self, topic: &str) -> bool {
        topic.starts_with("order.")
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        if event.payload["poison"] == json!(true) && self.poisoned.load(Ordering::SeqCst) {
            anyhow::bail!("the ledger refuses {}", event.id);
        }
        let n = event.payload["n"].as_i64().unwrap_or_default();
        let mut tx = self.db.begin_write().await?;
        if events::first_delivery(&mut tx, self.name(), &event.id).await? {
            sqlx::query("INSERT INTO applied (event_id, aggregate_id, n) VALUES ($1, $2, $3)")
                .bind(&event.id)
                .bind(&event.aggregate_id)
                .bind(n)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            self.applied
                .lock()
                .unwrap()
                .entry(event.aggregate_id.clone())
                .or_default()
                .push(n);
        }
        Ok(())
    }
}

/// Records `count` events round-robin over `aggregates` orders, numbered in the order recorded.
async fn record(db: &Db, aggregates: usize, count: usize, first: i64) {
    for i in 0..count {
        let mut tx = db.begin_write().await.unwrap();
        let n = first + i as i64;
        events::record(
            &mut tx,
            "order.paid",
            &format!("ord_{}", i % aggregates),
            &json!({ "n": n }),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

async fn wait_for(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_event_is_applied_once_in_order_per_aggregate_even_across_a_consumer_crash() {
    let Some(brokers) = tokshop_platform::testing::kafka_brokers().await else {
        return;
    };
    let test = TestDb::sqlite().await.unwrap();
    let db = test.db.clone();
    events::migrate(&db).await.unwrap();
    let ledger = Ledger::new(&db).await;
    let kafka = Arc::new(Kafka::connect(&settings(), &brokers).await.unwrap());

    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    tasks.spawn(Relay::new(db.clone(), kafka.clone()).run(shutdown.clone()));
    record(&db, 5, 60, 0).await;

    // A consumer that dies part-way: its task is dropped mid-stream, uncommitted offsets and all.
    let first = CancellationToken::new();
    let consumer = tokio::spawn(kafka.clone().consume(ledger.clone(), first.clone()));
    wait_for("some events applied", 60, async || {
        ledger.stored().await >= 10
    })
    .await;
    consumer.abort();
    let _ = consumer.await;
    record(&db, 5, 60, 60).await;

    // Its replacement joins the same group, picks up from the last commit and sees redeliveries.
    tasks.spawn(kafka.clone().consume(ledger.clone(), shutdown.clone()));
    wait_for("all 120 events applied", 90, async || {
        ledger.stored().await == 120
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ledger.stored().await, 120, "no event is applied twice");
    let applied = ledger.applied.lock().unwrap().clone();
    for (aggregate, ns) in &applied {
        let mut sorted = ns.clone();
        sorted.sort_unstable();
        assert_eq!(
            ns, &sorted,
            "{aggregate}'s events applied in the order recorded"
        );
    }
    let unpublished: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE published_at_ms IS NULL")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(unpublished.0, 0);

    shutdown.cancel();
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    test.finish().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_a_handler_keeps_failing_on_is_parked_then_replayed() {
    let Some(brokers) = tokshop_platform::testing::kafka_brokers().await else {
        return;
    };
    let test = TestDb::sqlite().await.unwrap();
    let db = test.db.clone();
    events::migrate(&db).await.unwrap();
    let ledger = Ledger::new(&db).await;
    let settings = settings();
    let kafka = Arc::new(Kafka::connect(&settings, &brokers).await.unwrap());
    let poison = Event {
        id: "evt_poison".into(),
        topic: "order.paid".into(),
        aggregate_id: "ord_x".into(),
        payload: json!({ "n": 1, "poison": true }),
        occurred_at_ms: 0,
    };
    kafka.publish(&poison).await.unwrap();
    let fine = Event {
        id: "evt_fine".into(),
        payload: json!({ "n": 2 }),
        ..poison.clone()
    };
    kafka.publish(&fine).await.unwrap();

    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(kafka.clone().consume(ledger.clone(), shutdown.clone()));
    // The failing event does not hold up the one behind it.
    wait_for("the healthy event applied", 60, async || {
        ledger.stored().await == 1
    })
    .await;
    let letters = kafka.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0].letter;
    assert_eq!(letter.event, poison);
    assert_eq!(letter.consumer, "test.ledger");
    assert_eq!(letter.attempts, settings.max_attempts);
    assert!(
        letter.error.contains("the ledger refuses evt_poison"),
        "{}",
        letter.error
    );
    assert!(!letters[0].replayed);

    // Fixed: the replay puts it back on its stream, it is applied, and the letter counts as replayed.
    ledger.poisoned.store(false, Ordering::SeqCst);
    let replayed = kafka.replay().await.unwrap();
    assert_eq!(replayed.len(), 1);
    wait_for("the replayed event applied", 60, async || {
        ledger.stored().await == 2
    })
    .await;
    let again = kafka.dead_letters().await.unwrap();
    assert!(again.iter().all(|s| s.replayed), "{again:?}");
    assert!(
        kafka.replay().await.unwrap().is_empty(),
        "a letter is replayed once"
    );

    shutdown.cancel();
    consumer.await.unwrap().unwrap();
    test.finish().await.unwrap();
}
