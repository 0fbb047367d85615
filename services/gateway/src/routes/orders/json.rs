//! The JSON of orders and returns, and the bodies and query of the order routes.

use serde::{Deserialize, Serialize};
use tokshop_platform::{address::PostalAddress, non_empty};
use tokshop_proto::order as pb;
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::{ApiError, ApiResult},
    shapes::{Money, money},
};

fn positive(ms: i64) -> Option<i64> {
    (ms > 0).then_some(ms)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub variant_id: String,
    pub product_id: String,
    pub title: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
    /// This line's share of the coupon discount.
    pub discount: Money,
    pub returned_quantity: i64,
}

/// The address an order ships to, copied from the buyer's address book entry `address_id`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShippingAddress {
    pub address_id: String,
    #[serde(flatten)]
    pub address: PostalAddress,
}

/// An order of one shop's items. Prices, discount, shipping and total are the server's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: String,
    pub buyer_id: String,
    pub seller_id: String,
    /// pending_payment, paid, shipped, delivered, completed or cancelled.
    pub status: String,
    pub lines: Vec<OrderLine>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping_fee: Money,
    pub total: Money,
    pub refunded: Money,
    pub address: ShippingAddress,
    pub claimed_coupon_id: Option<String>,
    pub coupon_code: Option<String>,
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    /// buyer, seller or expired, when cancelled.
    pub cancel_reason: Option<String>,
    pub payment_id: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// When an unpaid order is cancelled automatically; null once paid.
    pub expires_at_ms: Option<i64>,
    pub paid_at_ms: Option<i64>,
    pub shipped_at_ms: Option<i64>,
    pub delivered_at_ms: Option<i64>,
    pub completed_at_ms: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
}

fn status_name(status: pb::OrderStatus) -> String {
    status.label().unwrap_or("unspecified").to_owned()
}

impl From<pb::Order> for Order {
    fn from(o: pb::Order) -> Self {
        let address = o.address.clone().unwrap_or_default();
        Self {
            status: status_name(o.status()),
            id: o.id,
            buyer_id: o.buyer_id,
            seller_id: o.seller_id,
            lines: o
                .lines
                .into_iter()
                .map(|l| OrderLine {
                    variant_id: l.variant_id,
                    product_id: l.product_id,
                    title: l.title,
                    sku: l.sku,
                    quantity: l.quantity,
                    unit_price: money(l.unit_price),
                    line_total: money(l.line_total),
                    discount: money(l.discount),
                    returned_quantity: l.returned_quantity,
                })
                .collect(),
            subtotal: money(o.subtotal),
            discount: money(o.discount),
            shipping_fee: money(o.shipping_fee),
            total: money(o.total),
            refunded: money(o.refunded),
            address: ShippingAddress {
                address_id: address.address_id.clone(),
                address: address.into(),
            },
            claimed_coupon_id: non_empty(o.claimed_coupon_id),
            coupon_code: non_empty(o.coupon_code),
            tracking_number: non_empty(o.tracking_number),
            carrier: non_empty(o.carrier),
            cancel_reason: non_empty(o.cancel_reason),
            payment_id: non_empty(o.payment_id),
            created_at_ms: o.created_at_ms,
            updated_at_ms: o.updated_at_ms,
            expires_at_ms: positive(o.expires_at_ms),
            paid_at_ms: positive(o.paid_at_ms),
            shipped_at_ms: positive(o.shipped_at_ms),
            delivered_at_ms: positive(o.delivered_at_ms),
            completed_at_ms: positive(o.completed_at_ms),
            cancelled_at_ms: positive(o.cancelled_at_ms),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    /// Pass as `cursor` for the next page; null when there is nothing more.
    pub next_cursor: Option<String>,
}

impl From<pb::ListOrdersResponse> for OrderPage {
    fn from(page: pb::ListOrdersResponse) -> Self {
        Self {
            orders: page.orders.into_iter().map(Order::from).collect(),
            next_cursor: non_empty(page.next_cursor),
        }
    }
}

/// A variant and how many (1..=99).
/// A variant and how many of its units; each variant appears once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineChoice {
    #[schema(min_length = 1, max_length = 64)]
    pub variant_id: String,
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

/// What to buy: explicit `items`, or cart lines (`cart_variant_ids`, or the whole cart when both are absent).
/// Prices are never taken from the client.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CheckoutBody {
    #[serde(default)]
    #[schema(max_items = 100)]
    pub items: Vec<LineChoice>,
    #[serde(default)]
    #[schema(max_items = 100, min_length = 1, max_length = 64)]
    pub cart_variant_ids: Vec<String>,
    /// One of the buyer's addresses; the default address when absent.
    #[schema(max_length = 64)]
    pub address_id: Option<String>,
    /// A claimed coupon to apply.
    #[schema(max_length = 64)]
    pub claimed_coupon_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// pending_payment, paid, shipped, delivered, completed or cancelled.
    pub status: Option<String>,
    /// 1..=100, default 20.
    pub limit: Option<i32>,
    /// From a previous page's next_cursor.
    pub cursor: Option<String>,
}

impl ListParams {
    pub(super) fn request(self, as_seller: bool) -> ApiResult<pb::ListOrdersRequest> {
        let status = match self.status.as_deref() {
            None | Some("") => pb::OrderStatus::Unspecified,
            Some(name) => pb::OrderStatus::from_label(name).ok_or_else(|| {
                ApiError::invalid("status", format!("unknown order status {name:?}"))
            })?,
        };
        Ok(pb::ListOrdersRequest {
            status: status as i32,
            as_seller,
            limit: self.limit.unwrap_or(0),
            cursor: self.cursor.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChangeAddressBody {
    #[schema(min_length = 1, max_length = 64)]
    pub address_id: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ShipBody {
    #[schema(min_length = 1, max_length = 64)]
    pub tracking_number: String,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub carrier: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReturnBody {
    /// Lines of the order, each once, with how many units to return.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineChoice>,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReturnLine {
    pub variant_id: String,
    pub quantity: i64,
    pub amount: Money,
}

/// A return request: requested, then accepted (refunded) or rejected by the seller.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReturnRequest {
    pub id: String,
    pub order_id: String,
    pub status: String,
    pub lines: Vec<ReturnLine>,
    pub amount: Money,
    pub reason: String,
    pub refund_id: Option<String>,
    pub created_at_ms: i64,
    pub decided_at_ms: Option<i64>,
}

impl From<pb::ReturnRequest> for ReturnRequest {
    fn from(r: pb::ReturnRequest) -> Self {
        Self {
            id: r.id,
            order_id: r.order_id,
            status: r.status,
            lines: r
                .lines
                .into_iter()
                .map(|l| ReturnLine {
                    variant_id: l.variant_id,
                    quantity: l.quantity,
                    amount: money(l.amount),
                })
                .collect(),
            amount: money(r.amount),
            reason: r.reason,
            refund_id: non_empty(r.refund_id),
            created_at_ms: r.created_at_ms,
            decided_at_ms: positive(r.decided_at_ms),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReturnList {
    pub returns: Vec<ReturnRequest>,
}

impl From<pb::ListReturnsResponse> for ReturnList {
    fn from(list: pb::ListReturnsResponse) -> Self {
        Self {
            returns: list.returns.into_iter().map(ReturnRequest::from).collect(),
        }
    }
}

pub(super) fn choices(lines: Vec<LineChoice>) -> Vec<pb::LineChoice> {
    lines
        .into_iter()
        .map(|l| pb::LineChoice {
            variant_id: l.variant_id,
            quantity: l.quantity,
        })
        .collect()
}
