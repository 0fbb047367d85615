//! Orders as tools show them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::{catalog, order as pb};

use crate::view::{self, TITLE_CHARS, money, seller_label, seller_text, status_name};

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

/// An order: its state, at most [`ITEMS_SHOWN`] of its lines, and its amounts; optional parts appear only when
/// they apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Order {
    pub id: String,
    /// `pending_payment`, `paid`, `shipped`, `delivered`, `completed` or `cancelled`.
    pub status: String,
    pub items: Vec<OrderItem>,
    /// Lines after those shown (`get_order` with `from` shows them).
    #[serde(skip_serializing_if = "view::is_zero")]
    pub more_items: usize,
    pub subtotal: String,
    pub shipping_fee: String,
    pub total: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunded: Option<String>,
    /// As the seller wrote it, enveloped and flagged only when it reads like instructions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// When an unpaid order is cancelled automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

/// Most lines one order answer shows, so that it stays within the result budget (1,500 tokens) however many
/// lines the order has (up to 100) and however long their titles.
pub const ITEMS_SHOWN: usize = 8;

impl Order {
    pub fn of(o: &pb::Order) -> Self {
        Self::from_item(o, 0)
    }

    /// The order showing its lines from the `from`-th on (0 for the first).
    pub fn from_item(o: &pb::Order, from: usize) -> Self {
        let (shown, more_items) = view::window(&o.lines, from, ITEMS_SHOWN);
        let items = shown
            .iter()
            .map(|l| OrderItem {
                variant_id: l.variant_id.clone(),
                title: seller_text(&l.title, TITLE_CHARS),
                sku: seller_label(&l.sku),
                quantity: l.quantity,
                price: money(l.unit_price.as_ref()),
            })
            .collect();
        Self {
            id: o.id.clone(),
            status: status_name(o.status()),
            items,
            more_items,
            subtotal: money(o.subtotal.as_ref()),
            shipping_fee: money(o.shipping_fee.as_ref()),
            total: money(o.total.as_ref()),
            discount: positive(&o.discount),
            refunded: positive(&o.refunded),
            tracking_number: (!o.tracking_number.is_empty())
                .then(|| seller_label(&o.tracking_number)),
            expires_at_ms: (o.expires_at_ms > 0).then_some(o.expires_at_ms),
        }
    }
}

/// An amount shown only when there is some.
fn positive(m: &Option<catalog::Money>) -> Option<String> {
    m.as_ref()
        .is_some_and(|m| m.amount_minor > 0)
        .then(|| money(m.as_ref()))
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

/// An order as lists show it: what it is and where it stands; `get_order` has its lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OrderSummary {
    pub id: String,
    pub status: String,
    /// The first line's title, as data.
    pub first_item: String,
    /// Units over all its lines.
    pub units: i64,
    pub total: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunded: Option<String>,
    /// As the seller wrote it, enveloped and flagged only when it reads like instructions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

/// Longest first-line title a list shows: enough to tell orders apart.
const LISTED_TITLE_CHARS: usize = 60;

impl OrderSummary {
    pub fn of(o: &pb::Order) -> Self {
        Self {
            id: o.id.clone(),
            status: status_name(o.status()),
            first_item: o
                .lines
                .first()
                .map(|l| seller_text(&l.title, LISTED_TITLE_CHARS))
                .unwrap_or_default(),
            units: o.lines.iter().map(|l| l.quantity).sum(),
            total: money(o.total.as_ref()),
            refunded: positive(&o.refunded),
            tracking_number: (!o.tracking_number.is_empty())
                .then(|| seller_label(&o.tracking_number)),
        }
    }
}

/// `list_orders`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OrderList {
    pub orders: Vec<OrderSummary>,
}
