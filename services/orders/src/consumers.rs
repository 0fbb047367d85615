//! What the order service does with its own events once they are committed: give reserved stock back when an
//! order is cancelled or a checkout fails, and keep the catalog's per-product sales counts. Both calls are
//! idempotent on the catalog's side (a release happens once; sales are recorded once per event id), so the
//! relay's at-least-once delivery is exactly-once in effect.

use std::collections::BTreeMap;

use anyhow::Context;
use tokshop_platform::events::{Event, EventHandler};

use crate::{clients::Clients, order::OrderEvent};

pub struct StockReleaser {
    pub clients: Clients,
}

#[async_trait::async_trait]
impl EventHandler for StockReleaser {
    fn name(&self) -> &'static str {
        "orders.release_stock"
    }

    fn wants(&self, topic: &str) -> bool {
        matches!(topic, "order.cancelled" | "order.checkout_failed")
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        self.clients
            .release(&event.aggregate_id)
            .await
            .with_context(|| format!("releasing the stock of {}", event.aggregate_id))
    }
}

pub struct SalesCounter {
    pub clients: Clients,
}

#[async_trait::async_trait]
impl EventHandler for SalesCounter {
    fn name(&self) -> &'static str {
        "orders.sales_counts"
    }

    fn wants(&self, topic: &str) -> bool {
        matches!(topic, "order.paid" | "order.cancelled")
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let order: OrderEvent =
            serde_json::from_value(event.payload.clone()).context("decoding an order event")?;
        let sign = match event.topic.as_str() {
            "order.paid" => 1,
            // Only a cancellation after payment takes back units that were counted as sold.
            _ if order.was_paid => -1,
            _ => return Ok(()),
        };
        let mut per_product: BTreeMap<String, i64> = BTreeMap::new();
        for line in &order.lines {
            *per_product.entry(line.product_id.clone()).or_default() += sign * line.quantity;
        }
        self.clients
            .record_sales(&event.id, per_product.into_iter().collect())
            .await
    }
}
