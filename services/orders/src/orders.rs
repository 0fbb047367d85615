//! Order rows: loading with ownership checks, listing with keyset cursors, conditional state transitions, and the
//! events each transition records in the same transaction.

use serde::{Deserialize, Serialize};
use sqlx::{Any, AnyConnection, FromRow, Transaction};
use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::{Principal, Role},
    events,
    time::now_ms,
};
use tokshop_proto::{catalog::Money, order as pb};

pub type Tx = Transaction<'static, Any>;

/// Internal states a caller never sees: a checkout between its row and its stock reservation, and one that
/// failed after reserving (its stock is released by the `order.checkout_failed` event).
pub const RESERVING: &str = "reserving";
pub const FAILED: &str = "failed";

pub const PENDING_PAYMENT: &str = "pending_payment";
pub const PAID: &str = "paid";
pub const SHIPPED: &str = "shipped";
pub const DELIVERED: &str = "delivered";
pub const COMPLETED: &str = "completed";
pub const CANCELLED: &str = "cancelled";

#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    pub id: String,
    pub buyer_id: String,
    pub seller_id: String,
    pub status: String,
    pub fingerprint: String,
    pub currency: String,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping_fee: i64,
    pub total: i64,
    pub refunded: i64,
    pub address_id: String,
    pub ship_recipient: String,
    pub ship_phone: String,
    pub ship_line1: String,
    pub ship_line2: String,
    pub ship_city: String,
    pub ship_region: String,
    pub ship_postal_code: String,
    pub ship_country: String,
    pub claimed_coupon_id: String,
    pub coupon_code: String,
    pub tracking_number: String,
    pub carrier: String,
    pub cancel_reason: String,
    pub payment_id: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub expires_at_ms: i64,
    pub paid_at_ms: i64,
    pub shipped_at_ms: i64,
    pub delivered_at_ms: i64,
    pub completed_at_ms: i64,
    pub cancelled_at_ms: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct LineRow {
    pub variant_id: String,
    pub product_id: String,
    pub category_id: String,
    pub title: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub returned_quantity: i64,
    pub refunded: i64,
}

impl LineRow {
    /// What the buyer paid for the whole line, after its share of the discount.
    pub fn paid(&self) -> i64 {
        self.unit_price * self.quantity - self.discount
    }
}

#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub order: OrderRow,
    pub lines: Vec<LineRow>,
}

/// Who is looking: the buyer, or a seller acting on orders of their products.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    Buyer(&'a str),
    Seller(&'a str),
}

impl<'a> Viewer<'a> {
    /// The caller as a buyer, or as a seller when `as_seller` (which needs the seller role).
    pub fn of(caller: &'a Principal, as_seller: bool) -> ServiceResult<Self> {
        if as_seller {
            caller.require(Role::Seller)?;
            Ok(Viewer::Seller(&caller.user_id))
        } else {
            Ok(Viewer::Buyer(&caller.user_id))
        }
    }

    pub fn may_see(&self, order: &OrderRow) -> bool {
        let visible = order.status != RESERVING && order.status != FAILED;
        visible
            && match self {
                Viewer::Buyer(user) => order.buyer_id == *user,
                Viewer::Seller(user) => order.seller_id == *user,
            }
    }
}

const ORDER_COLUMNS: &str = "id, buyer_id, seller_id, status, fingerprint, currency, subtotal, discount, \
     shipping_fee, total, refunded, address_id, ship_recipient, ship_phone, ship_line1, ship_line2, ship_city, \
     ship_region, ship_postal_code, ship_country, claimed_coupon_id, coupon_code, tracking_number, carrier, \
     cancel_reason, payment_id, created_at_ms, updated_at_ms, expires_at_ms, paid_at_ms, shipped_at_ms, \
     delivered_at_ms, completed_at_ms, cancelled_at_ms";

const SELECT_ORDER: &str =
    const_format::concatcp!("SELECT ", ORDER_COLUMNS, " FROM orders WHERE id = $1");
const SELECT_BY_REQUEST: &str = const_format::concatcp!(
    "SELECT ",
    ORDER_COLUMNS,
    " FROM orders WHERE buyer_id = $1 AND request_id = $2"
);

pub async fn lines(conn: &mut AnyConnection, order_id: &str) -> ServiceResult<Vec<LineRow>> {
    Ok(sqlx::query_as::<_, LineRow>(
        "SELECT variant_id, product_id, category_id, title, sku, quantity, unit_price, discount, \
         returned_quantity, refunded FROM order_lines WHERE order_id = $1 ORDER BY variant_id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?)
}

async fn with_lines(
    conn: &mut AnyConnection,
    order: Option<OrderRow>,
) -> ServiceResult<Option<OrderRecord>> {
    let Some(order) = order else { return Ok(None) };
    let lines = lines(conn, &order.id).await?;
    Ok(Some(OrderRecord { order, lines }))
}

/// The order, whoever owns it; callers check ownership with [`Viewer::may_see`].
pub async fn load(conn: &mut AnyConnection, id: &str) -> ServiceResult<Option<OrderRecord>> {
    let order = sqlx::query_as::<_, OrderRow>(SELECT_ORDER)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    with_lines(conn, order).await
}

pub async fn load_by_request(
    conn: &mut AnyConnection,
    buyer_id: &str,
    request_id: &str,
) -> ServiceResult<Option<OrderRecord>> {
    let order = sqlx::query_as::<_, OrderRow>(SELECT_BY_REQUEST)
        .bind(buyer_id)
        .bind(request_id)
        .fetch_optional(&mut *conn)
        .await?;
    with_lines(conn, order).await
}

/// The order if `viewer` may see it; another user's order is simply not found.
pub async fn load_for(
    conn: &mut AnyConnection,
    id: &str,
    viewer: Viewer<'_>,
) -> ServiceResult<OrderRecord> {
    load(conn, id)
        .await?
        .filter(|r| viewer.may_see(&r.order))
        .ok_or(ServiceError::not_found("order"))
}

/// One page of the viewer's orders, newest first, and the cursor of the next page.
pub async fn list(
    conn: &mut AnyConnection,
    viewer: Viewer<'_>,
    status: Option<&str>,
    limit: i64,
    cursor: Option<(i64, String)>,
) -> ServiceResult<(Vec<OrderRecord>, Option<(i64, String)>)> {
    let owner = match viewer {
        Viewer::Buyer(_) => "buyer_id",
        Viewer::Seller(_) => "seller_id",
    };
    let user = match viewer {
        Viewer::Buyer(u) | Viewer::Seller(u) => u,
    };
    let (cursor_ms, cursor_id) = cursor.unwrap_or((i64::MAX, String::new()));
    // Two fixed statements (buyer or seller); every value is bound.
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE {owner} = $1 AND status NOT IN ('{RESERVING}', '{FAILED}') \
         AND ($2 = '' OR status = $2) \
         AND (created_at_ms < $3 OR (created_at_ms = $3 AND ($4 = '' OR id < $4))) \
         ORDER BY created_at_ms DESC, id DESC LIMIT $5"
    );
    let rows = sqlx::query_as::<_, OrderRow>(sqlx::AssertSqlSafe(sql))
        .bind(user)
        .bind(status.unwrap_or(""))
        .bind(cursor_ms)
        .bind(&cursor_id)
        .bind(limit + 1)
        .fetch_all(&mut *conn)
        .await?;
    let more = rows.len() as i64 > limit;
    let mut records = Vec::with_capacity(rows.len());
    for order in rows.into_iter().take(limit as usize) {
        let lines = lines(conn, &order.id).await?;
        records.push(OrderRecord { order, lines });
    }
    let next = if more {
        records
            .last()
            .map(|r| (r.order.created_at_ms, r.order.id.clone()))
    } else {
        None
    };
    Ok((records, next))
}

/// The 409 for an order not in a state that allows `action`, naming the state it is in.
pub fn wrong_state(order: &OrderRow, action: &str) -> ServiceError {
    ServiceError::conflict_on(
        "invalid_order_state",
        "status",
        format!(
            "order {} is {}; it cannot be {action}",
            order.id, order.status
        ),
    )
}

/// Moves the order from one of `from` to `to` if it is still in one of them, setting `<to>_at_ms` where the
/// table has one. False when another transaction moved it first.
pub async fn transition(tx: &mut Tx, id: &str, from: &[&str], to: &str) -> ServiceResult<bool> {
    let stamp = match to {
        PAID => ", paid_at_ms = $3",
        SHIPPED => ", shipped_at_ms = $3",
        DELIVERED => ", delivered_at_ms = $3",
        COMPLETED => ", completed_at_ms = $3",
        CANCELLED => ", cancelled_at_ms = $3",
        _ => "",
    };
    let from_list: Vec<String> = from.iter().map(|s| format!("'{s}'")).collect();
    // Built from the state constants above only; the id and times are bound.
    let sql = format!(
        "UPDATE orders SET status = $2, updated_at_ms = $3{stamp} WHERE id = $1 AND status IN ({})",
        from_list.join(", ")
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(to)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

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

/// Records `order.<name>` for the order as it now stands in `tx`.
pub async fn record_event(tx: &mut Tx, name: &str, id: &str, reason: &str) -> ServiceResult<()> {
    let record = load(tx, id)
        .await?
        .ok_or(ServiceError::not_found("order"))?;
    let order = &record.order;
    let payload = OrderEvent {
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
    };
    events::record(tx, &format!("order.{name}"), id, &payload).await?;
    Ok(())
}

pub fn money(amount_minor: i64, currency: &str) -> Option<Money> {
    Some(Money {
        amount_minor,
        currency: currency.to_owned(),
    })
}

pub fn message(record: &OrderRecord) -> pb::Order {
    let o = &record.order;
    let cur = o.currency.as_str();
    pb::Order {
        id: o.id.clone(),
        buyer_id: o.buyer_id.clone(),
        seller_id: o.seller_id.clone(),
        status: pb::OrderStatus::from_label(&o.status).unwrap_or_default() as i32,
        lines: record
            .lines
            .iter()
            .map(|l| pb::OrderLine {
                variant_id: l.variant_id.clone(),
                product_id: l.product_id.clone(),
                title: l.title.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: money(l.unit_price, cur),
                line_total: money(l.unit_price * l.quantity, cur),
                discount: money(l.discount, cur),
                returned_quantity: l.returned_quantity,
            })
            .collect(),
        subtotal: money(o.subtotal, cur),
        discount: money(o.discount, cur),
        shipping_fee: money(o.shipping_fee, cur),
        total: money(o.total, cur),
        refunded: money(o.refunded, cur),
        address: Some(pb::ShippingAddress {
            recipient: o.ship_recipient.clone(),
            phone: o.ship_phone.clone(),
            line1: o.ship_line1.clone(),
            line2: o.ship_line2.clone(),
            city: o.ship_city.clone(),
            region: o.ship_region.clone(),
            postal_code: o.ship_postal_code.clone(),
            country: o.ship_country.clone(),
            address_id: o.address_id.clone(),
        }),
        claimed_coupon_id: o.claimed_coupon_id.clone(),
        coupon_code: o.coupon_code.clone(),
        tracking_number: o.tracking_number.clone(),
        carrier: o.carrier.clone(),
        cancel_reason: o.cancel_reason.clone(),
        created_at_ms: o.created_at_ms,
        updated_at_ms: o.updated_at_ms,
        expires_at_ms: if o.status == PENDING_PAYMENT {
            o.expires_at_ms
        } else {
            0
        },
        paid_at_ms: o.paid_at_ms,
        shipped_at_ms: o.shipped_at_ms,
        delivered_at_ms: o.delivered_at_ms,
        completed_at_ms: o.completed_at_ms,
        cancelled_at_ms: o.cancelled_at_ms,
        payment_id: o.payment_id.clone(),
    }
}
