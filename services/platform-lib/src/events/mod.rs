//! Domain events: the transactional outbox, the bus events are relayed to, and idempotent consumption.
//!
//! A service records an event with [`record`] inside the transaction that makes the change, so an event exists
//! exactly when its change committed. The [`Relay`] publishes unpublished events in order and marks them
//! published only after the bus accepted them: delivery is at least once. Consumers make it exactly once in
//! effect by calling [`first_delivery`] in the transaction that applies the event.

use std::sync::{Arc, RwLock};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};
use tokio_util::sync::CancellationToken;

use crate::{
    ServiceResult,
    config::Settings,
    db::{Db, Migrations},
    ids::new_id,
    migrations,
    time::now_ms,
};

#[cfg(feature = "kafka")]
pub mod kafka;
mod relay;

pub use relay::Relay;

/// The streams events travel on, one per kind of aggregate: an event's topic starts with its stream (`order.paid`).
/// With Kafka each stream is a topic.
pub const STREAMS: &[&str] = &["catalog", "order", "payment", "refund", "social"];

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

    #[cfg(feature = "kafka")]
    fn handlers(&self) -> Vec<Arc<dyn EventHandler>> {
        self.handlers.read().map(|h| h.clone()).unwrap_or_default()
    }
}

/// This process's bus: where its relay publishes and where its services subscribe their handlers. In-process by
/// default (the relay hands each event to the handlers directly); with `kafka.brokers` set, the relay publishes to
/// Kafka and each handler consumes in its own consumer group (see [`kafka`]).
#[derive(Clone, Default)]
pub struct Bus {
    local: InProcessBus,
    #[cfg(feature = "kafka")]
    kafka: Option<Arc<kafka::Kafka>>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.on_kafka() {
            "Bus(kafka)"
        } else {
            "Bus(in-process)"
        })
    }
}

impl Bus {
    /// The bus `settings` choose: Kafka when `kafka.brokers` is set, else in-process.
    pub async fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.kafka.brokers {
            None => Ok(Self::default()),
            #[cfg(feature = "kafka")]
            Some(brokers) => Ok(Self {
                local: InProcessBus::new(),
                kafka: Some(Arc::new(
                    kafka::Kafka::connect(&settings.kafka, brokers).await?,
                )),
            }),
            #[cfg(not(feature = "kafka"))]
            Some(_) => anyhow::bail!(
                "kafka.brokers (TOKSHOP_KAFKA_BROKERS) is set, but this build has no Kafka support: \
                 build tokshop with `--features kafka`"
            ),
        }
    }

    /// Whether events travel on Kafka.
    pub fn on_kafka(&self) -> bool {
        #[cfg(feature = "kafka")]
        return self.kafka.is_some();
        #[cfg(not(feature = "kafka"))]
        return false;
    }

    /// Adds a handler of this process's events.
    pub fn subscribe(&self, handler: Arc<dyn EventHandler>) {
        self.local.subscribe(handler);
    }

    /// Where the relay publishes.
    pub fn publisher(&self) -> Arc<dyn EventBus> {
        #[cfg(feature = "kafka")]
        if let Some(kafka) = &self.kafka {
            return kafka.clone();
        }
        Arc::new(self.local.clone())
    }

    /// Starts consuming for every handler subscribed so far, until `shutdown`: on Kafka, one consumer task per
    /// handler; in-process there is nothing to start (the relay delivers).
    pub fn consume(
        &self,
        tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>,
        shutdown: &CancellationToken,
    ) {
        #[cfg(feature = "kafka")]
        if let Some(kafka) = &self.kafka {
            for handler in self.local.handlers() {
                tasks.spawn(kafka.clone().consume(handler, shutdown.clone()));
            }
        }
        #[cfg(not(feature = "kafka"))]
        let _ = (tasks, shutdown);
    }

    /// The Kafka connection, when events travel on Kafka.
    #[cfg(feature = "kafka")]
    pub fn kafka(&self) -> Option<&Arc<kafka::Kafka>> {
        self.kafka.as_ref()
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
