//! The outbox relay: publishes committed events to the bus, oldest first, at least once.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use sqlx::{Any, FromRow};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Event, EventBus};
use crate::{
    db::{Backend, Db},
    time::now_ms,
};

#[derive(Debug, FromRow)]
struct OutboxRow {
    seq: i64,
    id: String,
    topic: String,
    aggregate_id: String,
    payload: String,
    occurred_at_ms: i64,
}

/// How often the relay gauges are refreshed.
const MEASURE_EVERY: Duration = Duration::from_secs(1);
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
        let mut measured = tokio::time::Instant::now() - MEASURE_EVERY;
        loop {
            if measured.elapsed() >= MEASURE_EVERY {
                measured = tokio::time::Instant::now();
                if let Err(err) = self.measure().await {
                    tracing::warn!(error = ?err, "measuring the outbox failed");
                }
            }
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

    /// ` AND (topic LIKE $first OR ...)` for this relay's prefixes, bound from placeholder `first` on; empty for
    /// every topic. Only numbered placeholders are spliced into SQL; the prefixes are bound.
    fn topic_filter(&self, first: usize) -> String {
        let filter: Vec<String> = (0..self.prefixes.len())
            .map(|i| format!("topic LIKE ${}", i + first))
            .collect();
        if filter.is_empty() {
            String::new()
        } else {
            format!(" AND ({})", filter.join(" OR "))
        }
    }

    /// Sets the relay gauges: how many of this relay's events wait, and how old the oldest is.
    async fn measure(&self) -> anyhow::Result<()> {
        let Some(metrics) = crate::metrics::events() else {
            return Ok(());
        };
        let sql = format!(
            "SELECT COUNT(*), COALESCE(MIN(occurred_at_ms), 0) FROM outbox WHERE published_at_ms IS NULL{}",
            self.topic_filter(1)
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql));
        for prefix in &self.prefixes {
            query = query.bind(prefix);
        }
        let (pending, oldest) = query.fetch_one(self.db.pool()).await?;
        let label = if self.prefixes.is_empty() {
            "all".to_owned()
        } else {
            self.prefixes.join(",").replace('%', "")
        };
        metrics
            .relay_pending
            .with_label_values(&[&label])
            .set(pending);
        let lag = if pending == 0 {
            0
        } else {
            (now_ms() - oldest).max(0)
        };
        metrics
            .relay_lag_seconds
            .with_label_values(&[&label])
            .set(lag as f64 / 1000.0);
        Ok(())
    }

    async fn publish_batch(
        &self,
        conn: &mut sqlx::pool::PoolConnection<Any>,
    ) -> anyhow::Result<usize> {
        let filter = self.topic_filter(2);
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
