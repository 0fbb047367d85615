//! The outbox, relay and idempotent consumers on a real SQLite file and a real PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokshop_platform::{
    db::{Backend, Db},
    events::{self, Event, EventHandler, InProcessBus, Relay},
    testing::TestDb,
};

/// A fresh database with the event tables and a `tallies` table for the test consumer's effect.
async fn database(postgres: bool) -> TestDb {
    let test = TestDb::new(if postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    })
    .await
    .unwrap();
    events::migrate(&test.db).await.unwrap();
    sqlx::raw_sql("CREATE TABLE tallies (topic TEXT PRIMARY KEY, n BIGINT NOT NULL)")
        .execute(test.db.pool())
        .await
        .unwrap();
    test
}

/// Counts each topic once per event id in `tallies`; remembers every delivery; fails the first `fail` times.
struct Tally {
    db: Db,
    deliveries: Mutex<Vec<String>>,
    fail: AtomicUsize,
}

impl Tally {
    fn new(db: &Db) -> Arc<Self> {
        Arc::new(Self {
            db: db.clone(),
            deliveries: Mutex::new(Vec::new()),
            fail: AtomicUsize::new(0),
        })
    }
}

#[async_trait::async_trait]
impl EventHandler for Tally {
    fn name(&self) -> &'static str {
        "tally"
    }

    fn wants(&self, topic: &str) -> bool {
        topic.starts_with("order.")
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        self.deliveries.lock().unwrap().push(event.id.clone());
        if self.fail.load(Ordering::SeqCst) > 0 {
            self.fail.fetch_sub(1, Ordering::SeqCst);
            anyhow::bail!("consumer is down");
        }
        let mut tx = self.db.begin_write().await?;
        if events::first_delivery(&mut tx, self.name(), &event.id).await? {
            sqlx::query(
                "INSERT INTO tallies (topic, n) VALUES ($1, 1) ON CONFLICT (topic) DO UPDATE SET n = tallies.n + 1",
            )
            .bind(&event.topic)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn tally(db: &Db, topic: &str) -> i64 {
    sqlx::query_as::<_, (i64,)>("SELECT n FROM tallies WHERE topic = $1")
        .bind(topic)
        .fetch_optional(db.pool())
        .await
        .unwrap()
        .map_or(0, |(n,)| n)
}

async fn record(db: &Db, topic: &str, commit: bool) -> String {
    let mut tx = db.begin_write().await.unwrap();
    let id = events::record(&mut tx, topic, "ord_1", &json!({"total": 5990}))
        .await
        .unwrap();
    if commit {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
    id
}

async fn outbox_publishes_committed_events_once_in_order(postgres: bool) {
    let test = database(postgres).await;
    let db = test.db.clone();
    let handler = Tally::new(&db);
    let bus = InProcessBus::new();
    bus.subscribe(handler.clone());
    let relay = Relay::new(db.clone(), Arc::new(bus));

    let first = record(&db, "order.created", true).await;
    let rolled_back = record(&db, "order.created", false).await;
    let second = record(&db, "order.paid", true).await;
    record(&db, "user.registered", true).await;

    assert_eq!(
        relay.pass().await.unwrap(),
        3,
        "the rolled-back event does not exist"
    );
    assert_eq!(
        *handler.deliveries.lock().unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert!(!handler.deliveries.lock().unwrap().contains(&rolled_back));
    assert_eq!(
        relay.pass().await.unwrap(),
        0,
        "published events are not sent again"
    );

    // A consumer that fails holds the event back (nothing skipped, order kept), then gets it again.
    handler.fail.store(2, Ordering::SeqCst);
    let third = record(&db, "order.created", true).await;
    let fourth = record(&db, "order.paid", true).await;
    assert!(relay.pass().await.is_err());
    assert!(relay.pass().await.is_err());
    assert_eq!(relay.pass().await.unwrap(), 2);
    let deliveries = handler.deliveries.lock().unwrap().clone();
    assert_eq!(
        &deliveries[2..],
        [third.clone(), third.clone(), third, fourth]
    );
    assert_eq!(tally(&db, "order.created").await, 2);
    assert_eq!(tally(&db, "order.paid").await, 2);

    // Redelivering an already handled event changes nothing.
    let again = Event {
        id: first,
        topic: "order.created".into(),
        aggregate_id: "ord_1".into(),
        payload: json!({}),
        occurred_at_ms: 0,
    };
    handler.handle(&again).await.unwrap();
    assert_eq!(tally(&db, "order.created").await, 2);
    drop(db);
    test.finish().await.unwrap();
}

async fn concurrent_redeliveries_apply_once(postgres: bool) {
    let test = database(postgres).await;
    let db = test.db.clone();
    let handler = Tally::new(&db);
    let event = Event {
        id: "evt_same".into(),
        topic: "order.paid".into(),
        aggregate_id: "ord_9".into(),
        payload: json!({}),
        occurred_at_ms: 0,
    };
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let (handler, event) = (handler.clone(), event.clone());
            tokio::spawn(async move { handler.handle(&event).await })
        })
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    assert_eq!(tally(&db, "order.paid").await, 1);
    drop(db);
    test.finish().await.unwrap();
}

async fn running_relay_delivers_promptly_and_stops(postgres: bool) {
    let test = database(postgres).await;
    let db = test.db.clone();
    let handler = Tally::new(&db);
    let bus = InProcessBus::new();
    bus.subscribe(handler.clone());
    let relay = Relay::new(db.clone(), Arc::new(bus));
    let waker = relay.waker();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(relay.run(shutdown.clone()));
    for _ in 0..5 {
        record(&db, "order.shipped", true).await;
    }
    waker.notify_one();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tally(&db, "order.shipped").await < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "relay did not deliver"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    task.await.unwrap().unwrap();
    drop(db);
    test.finish().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_outbox_publishes_committed_events_once_in_order() {
    outbox_publishes_committed_events_once_in_order(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outbox_publishes_committed_events_once_in_order() {
    outbox_publishes_committed_events_once_in_order(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_redeliveries_apply_once() {
    concurrent_redeliveries_apply_once(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_redeliveries_apply_once() {
    concurrent_redeliveries_apply_once(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_running_relay_delivers_promptly_and_stops() {
    running_relay_delivers_promptly_and_stops(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_running_relay_delivers_promptly_and_stops() {
    running_relay_delivers_promptly_and_stops(true).await;
}
