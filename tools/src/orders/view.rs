//! Orders as tools show them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::{catalog, order as pb};

use crate::view::{TITLE_CHARS, money, seller_label, seller_text, status_name};

/// A line of an order at the price it was bought for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OrderItem {
    pub variant_id: String,
    /// The seller's title, as data.
    pub title: String,
    /// As the seller wrote it, enveloped and flagged only when it reads like instructions.
    pub sku: String,
    pub quantity: i64,
    /// The unit price paid.
    pub price: String,
}

/// An order: its state, lines and amounts; optional parts appear only when they apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Order {
    pub id: String,
    /// `pending_payment`, `paid`, `shipped`, `delivered`, `completed` or `cancelled`.
    pub status: String,
    pub items: Vec<OrderItem>,
    pub subtotal: String,
    pub shipping_fee: String,
    pub total: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunded: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// When an unpaid order is cancelled automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

impl Order {
    pub fn of(o: &pb::Order) -> Self {
        let items = o
            .lines
            .iter()
            .map(|l| OrderItem {
                variant_id: l.variant_id.clone(),
                title: seller_text(&l.title, TITLE_CHARS),
                sku: seller_label(&l.sku),
                quantity: l.quantity,
                price: money(l.unit_price.as_ref()),
            })
            .collect();
        let positive = |m: &Option<catalog::Money>| {
            m.as_ref()
                .is_some_and(|m| m.amount_minor > 0)
                .then(|| money(m.as_ref()))
        };
        Self {
            id: o.id.clone(),
            status: status_name(o.status()),
            items,
            subtotal: money(o.subtotal.as_ref()),
            shipping_fee: money(o.shipping_fee.as_ref()),
            total: money(o.total.as_ref()),
            discount: positive(&o.discount),
            refunded: positive(&o.refunded),
            tracking_number: (!o.tracking_number.is_empty()).then(|| o.tracking_number.clone()),
            expires_at_ms: (o.expires_at_ms > 0).then_some(o.expires_at_ms),
        }
    }
}

/// One order: `checkout`, `get_order`, `cancel_order`, `change_order_address`, `confirm_receipt`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OrderResult {
    pub order: Order,
}

impl OrderResult {
    pub fn of(order: &pb::Order) -> Self {
        Self {
            order: Order::of(order),
        }
    }
}

/// `list_orders`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OrderList {
    pub orders: Vec<Order>,
}
