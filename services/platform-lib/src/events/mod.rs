//! Domain events: the transactional outbox, the bus events are relayed to, and idempotent consumption.
//!
//! A service records an event with [`record`] inside the transaction that makes the change, so an event exists
//! exactly when its change committed. The [`Relay`] publishes unpublished events in order and marks them
//! published only after the bus accepted them: delivery is at least once. Consumers make it exactly once in
//! effect by calling [`first_delivery`] in the transaction that applies the event.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::{Any, FromRow, Transaction};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    ServiceResult,
    db::{Backend, Db, Migrations},
    ids::new_id,
    migrations,
    time::now_ms,
};

/// The outbox and processed-events tables, shared by every service that writes to this database.
pub const MIGRATIONS: Migrations = migrations!(1 => "0001_outbox");

/// Creates the event tables if missing; every service that records or consumes events calls it at start-up.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    db.migrate("platform", &MIGRATIONS).await
}

/// A fact that happened: `order.paid` about `ord_...`, with a JSON payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub topic: String,
    pub aggregate_id: String,
    pub payload: serde_json::Value,
    pub occurred_at_ms: i64,
}

/// Records an event in the outbox inside `tx`: it will be published if and only if `tx` commits.
pub async fn record(
    tx: &mut Transaction<'static, Any>,
    topic: &str,
    aggregate_id: &str,
    payload: &impl Serialize,
) -> ServiceResult<String> {
    let id = new_id("evt");
    let payload = serde_json::to_string(payload).context("encoding event payload")?;
    sqlx::query(
        "INSERT INTO outbox (id, topic, aggregate_id, payload, occurred_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(topic)
    .bind(aggregate_id)
    .bind(payload)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Marks `event_id` as handled by `consumer` inside `tx`. False means it was handled before: skip the effect.
pub async fn first_delivery(
    tx: &mut Transaction<'static, Any>,
    consumer: &str,
    event_id: &str,
) -> ServiceResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, processed_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (consumer, event_id) DO NOTHING",
    )
    .bind(consumer)
    .bind(event_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Something that reacts to events. Handlers must be idempotent (see [`first_delivery`]).
#[async_trait::async_trait]
pub trait EventHandler: Send + Sync {
    /// The consumer name, unique per handler: the dedupe key in `processed_events`.
    fn name(&self) -> &'static str;
    /// Whether this handler wants events of `topic`.
    fn wants(&self, topic: &str) -> bool;
    async fn handle(&self, event: &Event) -> anyhow::Result<()>;
}

/// Where the relay hands events. `publish` returns only once the event is safely handed over.
#[async_trait::async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, event: &Event) -> anyhow::Result<()>;
}

/// The embedded bus: delivers each event to every interested handler before `publish` returns, so an event
/// the relay marks published has been handled; a crash in between only causes a redelivery.
#[derive(Clone, Default)]
pub struct InProcessBus {
    handlers: Arc<RwLock<Vec<Arc<dyn EventHandler>>>>,
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn subscribe(&self, handler: Arc<dyn EventHandler>) {
        if let Ok(mut handlers) = self.handlers.write() {
            handlers.push(handler);
        }
    }
}

#[async_trait::async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, event: &Event) -> anyhow::Result<()> {
        let handlers: Vec<Arc<dyn EventHandler>> = match self.handlers.read() {
            Ok(handlers) => handlers
                .iter()
                .filter(|h| h.wants(&event.topic))
                .cloned()
                .collect(),
            Err(_) => anyhow::bail!("event handler registry is poisoned"),
        };
        for handler in handlers {
            handler.handle(event).await.with_context(|| {
                format!("{} handling {} {}", handler.name(), event.topic, event.id)
            })?;
        }
        Ok(())
    }
}

#[derive(Debug, FromRow)]
struct OutboxRow {
    seq: i64,
    id: String,
    topic: String,
    aggregate_id: String,
    payload: String,
    occurred_at_ms: i64,
}

/// Most events published in one pass.
const BATCH: i64 = 100;
/// Advisory lock key that lets one relay at a time work a PostgreSQL outbox.
const RELAY_LOCK: i64 = 7_460_697;

/// Publishes committed events from the outbox to the bus, oldest first.
pub struct Relay {
    db: Db,
    bus: Arc<dyn EventBus>,
    wake: Arc<Notify>,
    poll: Duration,
    /// Topic prefixes this relay publishes (`order.`); empty means every topic.
    prefixes: Vec<String>,
}

impl Relay {
    pub fn new(db: Db, bus: Arc<dyn EventBus>) -> Self {
        Self {
            db,
            bus,
            wake: Arc::new(Notify::new()),
            poll: Duration::from_millis(250),
            prefixes: Vec::new(),
        }
    }

    /// Publishes only topics starting with one of `prefixes`: the events whose consumers this process runs.
    /// Parts sharing one database each relay their own events, so none is published to a bus without its
    /// consumers.
    pub fn only(mut self, prefixes: &[&str]) -> Self {
        self.prefixes = prefixes.iter().map(|p| format!("{p}%")).collect();
        self
    }

    /// A handle that makes the relay look at the outbox now rather than at its next poll.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Relays until `shutdown`. A failing publish is retried with growing pauses; events stay in order and
    /// none is skipped.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = self.poll;
        loop {
            let pause = match self.pass().await {
                Ok(published) if published > 0 => {
                    backoff = self.poll;
                    continue;
                }
                Ok(_) => self.poll,
                Err(err) => {
                    tracing::error!(error = ?err, "event relay pass failed; will retry");
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    backoff
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Publishes one batch of unpublished events in order; returns how many were published.
    pub async fn pass(&self) -> anyhow::Result<usize> {
        let mut conn = self
            .db
            .pool()
            .acquire()
            .await
            .context("acquiring a relay connection")?;
        if self.db.backend() == Backend::Postgres {
            let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                .bind(RELAY_LOCK)
                .fetch_one(&mut *conn)
                .await?;
            if !locked {
                return Ok(0);
            }
        }
        let result = self.publish_batch(&mut conn).await;
        if self.db.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(RELAY_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    async fn publish_batch(
        &self,
        conn: &mut sqlx::pool::PoolConnection<Any>,
    ) -> anyhow::Result<usize> {
        let filter: Vec<String> = (0..self.prefixes.len())
            .map(|i| format!("topic LIKE ${}", i + 2))
            .collect();
        let filter = if filter.is_empty() {
            String::new()
        } else {
            format!(" AND ({})", filter.join(" OR "))
        };
        // Only numbered placeholders are spliced in; the prefixes are bound.
        let sql = format!(
            "SELECT seq, id, topic, aggregate_id, payload, occurred_at_ms FROM outbox \
             WHERE published_at_ms IS NULL{filter} ORDER BY seq LIMIT $1"
        );
        let mut query = sqlx::query_as::<_, OutboxRow>(sqlx::AssertSqlSafe(sql)).bind(BATCH);
        for prefix in &self.prefixes {
            query = query.bind(prefix);
        }
        let rows = query
            .fetch_all(&mut **conn)
            .await
            .context("reading the outbox")?;
        let mut published = 0;
        for row in rows {
            let event = Event {
                payload: serde_json::from_str(&row.payload)
                    .context("decoding an outbox payload")?,
                id: row.id,
                topic: row.topic,
                aggregate_id: row.aggregate_id,
                occurred_at_ms: row.occurred_at_ms,
            };
            if let Err(err) = self.bus.publish(&event).await {
                sqlx::query("UPDATE outbox SET attempts = attempts + 1 WHERE seq = $1")
                    .bind(row.seq)
                    .execute(&mut **conn)
                    .await?;
                return Err(err.context(format!("publishing {} {}", event.topic, event.id)));
            }
            sqlx::query(
                "UPDATE outbox SET published_at_ms = $2, attempts = attempts + 1 WHERE seq = $1",
            )
            .bind(row.seq)
            .bind(now_ms())
            .execute(&mut **conn)
            .await?;
            published += 1;
        }
        Ok(published)
    }
}
