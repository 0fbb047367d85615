//! Orders: checkout from the cart or explicit items, the states an order moves through until it is completed or
//! cancelled, returns, and the sweeper that expires unpaid orders and completes delivered ones.
//!
//! `api` is the tonic surface, `rules` the decisions (states and steps, who is looking, caps, returns), `store`
//! all SQL. The flows that run the decisions and the SQL in transactions are `checkout` (cart to
//! `pending_payment`), `lifecycle` (every move after that, and the sweep) and `returns`.

mod api;
mod checkout;
pub(crate) mod lifecycle;
pub(crate) mod returns;
pub(crate) mod rules;
pub(crate) mod store;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use api::OrderApi;
pub use lifecycle::{Swept, sweep};
pub use rules::Viewer;
use store::OrderRecord;

/// The payload of every `order.*` event: enough for consumers to act without calling back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderEvent {
    pub order_id: String,
    pub buyer_id: String,
    pub seller_id: String,
    pub status: String,
    pub total: i64,
    pub currency: String,
    /// For `order.cancelled`: whether it had been paid (and so counted as sold).
    pub was_paid: bool,
    pub reason: String,
    pub lines: Vec<EventLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventLine {
    pub variant_id: String,
    pub product_id: String,
    pub quantity: i64,
}

impl OrderEvent {
    /// The event about the order as `record` shows it.
    pub fn of(record: &OrderRecord, reason: &str) -> Self {
        let order = &record.order;
        Self {
            order_id: order.id.clone(),
            buyer_id: order.buyer_id.clone(),
            seller_id: order.seller_id.clone(),
            status: order.status.clone(),
            total: order.total,
            currency: order.currency.clone(),
            was_paid: order.paid_at_ms > 0,
            reason: reason.to_owned(),
            lines: record
                .lines
                .iter()
                .map(|l| EventLine {
                    variant_id: l.variant_id.clone(),
                    product_id: l.product_id.clone(),
                    quantity: l.quantity,
                })
                .collect(),
        }
    }
}
