//! All SQL of orders: order rows and their lines, ownership (a viewer's orders are found by a query that names
//! them, never loaded and compared), keyset-paged lists, the conditional updates that move an order between
//! states, the events recorded with them, and the sweeper's queries. Checkout's own statements are in
//! `store/checkout.rs`, returns' in `store/returns.rs`.

mod checkout;
mod returns;

use sqlx::{AnyConnection, FromRow};
use tokshop_platform::address::PostalAddress;
use tokshop_platform::{ServiceError, ServiceResult, db::Db, events, page::Cursor, time::now_ms};
use tokshop_proto::identity::Address;

use super::{
    OrderEvent,
    rules::{
        CANCELLED, COMPLETED, DELIVERED, FAILED, PAID, PENDING_PAYMENT, RESERVING, SHIPPED, Viewer,
    },
};
use crate::Tx;

pub use checkout::*;
pub use returns::*;

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
    /// The shipping address, from the `ship_*` columns.
    #[sqlx(flatten)]
    pub ship: PostalAddress,
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

#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub order: OrderRow,
    pub lines: Vec<LineRow>,
}

const ORDER_COLUMNS: &str = "id, buyer_id, seller_id, status, fingerprint, currency, subtotal, discount, \
     shipping_fee, total, refunded, address_id, ship_recipient AS recipient, ship_phone AS phone, \
     ship_line1 AS line1, ship_line2 AS line2, ship_city AS city, ship_region AS region, \
     ship_postal_code AS postal_code, ship_country AS country, claimed_coupon_id, coupon_code, tracking_number, carrier, \
     cancel_reason, payment_id, created_at_ms, updated_at_ms, expires_at_ms, paid_at_ms, shipped_at_ms, \
     delivered_at_ms, completed_at_ms, cancelled_at_ms";

const SELECT_ORDER: &str =
    const_format::concatcp!("SELECT ", ORDER_COLUMNS, " FROM orders WHERE id = $1");
const SELECT_BY_REQUEST: &str = const_format::concatcp!(
    "SELECT ",
    ORDER_COLUMNS,
    " FROM orders WHERE buyer_id = $1 AND request_id = $2"
);
/// An order as its buyer, or its seller, may see it: theirs, and past checkout (not `reserving` or `failed`).
const SELECT_FOR_BUYER: &str = const_format::concatcp!(
    "SELECT ",
    ORDER_COLUMNS,
    " FROM orders WHERE id = $1 AND buyer_id = $2 AND status NOT IN ($3, $4)"
);
const SELECT_FOR_SELLER: &str = const_format::concatcp!(
    "SELECT ",
    ORDER_COLUMNS,
    " FROM orders WHERE id = $1 AND seller_id = $2 AND status NOT IN ($3, $4)"
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

/// The orders with their lines, in the same order.
pub async fn with_lines(
    conn: &mut AnyConnection,
    orders: Vec<OrderRow>,
) -> ServiceResult<Vec<OrderRecord>> {
    let mut records = Vec::with_capacity(orders.len());
    for order in orders {
        let lines = lines(conn, &order.id).await?;
        records.push(OrderRecord { order, lines });
    }
    Ok(records)
}

async fn one_with_lines(
    conn: &mut AnyConnection,
    order: Option<OrderRow>,
) -> ServiceResult<Option<OrderRecord>> {
    let Some(order) = order else { return Ok(None) };
    let lines = lines(conn, &order.id).await?;
    Ok(Some(OrderRecord { order, lines }))
}

/// The order, whoever owns it and whatever its state: for the service's own steps, never for a caller.
pub async fn load(conn: &mut AnyConnection, id: &str) -> ServiceResult<Option<OrderRecord>> {
    let order = sqlx::query_as::<_, OrderRow>(SELECT_ORDER)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    one_with_lines(conn, order).await
}

/// The order a buyer's checkout request made, if any.
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
    one_with_lines(conn, order).await
}

/// The order if it is the viewer's: another user's order, or one still in checkout, is simply not found.
pub async fn load_for(
    conn: &mut AnyConnection,
    id: &str,
    viewer: Viewer<'_>,
) -> ServiceResult<OrderRecord> {
    let (sql, user) = match viewer {
        Viewer::Buyer(user) => (SELECT_FOR_BUYER, user),
        Viewer::Seller(user) => (SELECT_FOR_SELLER, user),
    };
    let order = sqlx::query_as::<_, OrderRow>(sql)
        .bind(id)
        .bind(user)
        .bind(RESERVING)
        .bind(FAILED)
        .fetch_optional(&mut *conn)
        .await?;
    one_with_lines(conn, order)
        .await?
        .ok_or(ServiceError::not_found("order"))
}

/// The viewer's orders after `after`, newest first, optionally of one status: `limit + 1` rows at most, so the
/// caller can tell whether another page follows.
pub async fn list(
    conn: &mut AnyConnection,
    viewer: Viewer<'_>,
    status: Option<&str>,
    after: &Cursor,
    limit: i64,
) -> ServiceResult<Vec<OrderRow>> {
    let (owner, user) = match viewer {
        Viewer::Buyer(user) => ("buyer_id", user),
        Viewer::Seller(user) => ("seller_id", user),
    };
    // Two fixed statements (buyer or seller); every value is bound.
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE {owner} = $1 AND status NOT IN ($6, $7) \
         AND ($2 = '' OR status = $2) \
         AND (created_at_ms < $3 OR (created_at_ms = $3 AND ($4 = '' OR id < $4))) \
         ORDER BY created_at_ms DESC, id DESC LIMIT $5"
    );
    Ok(sqlx::query_as::<_, OrderRow>(sqlx::AssertSqlSafe(sql))
        .bind(user)
        .bind(status.unwrap_or(""))
        .bind(after.at_ms)
        .bind(&after.id)
        .bind(limit + 1)
        .bind(RESERVING)
        .bind(FAILED)
        .fetch_all(&mut *conn)
        .await?)
}

/// Moves the order from one of `from` to `to` if it is still in one of them, setting `<to>_at_ms` where the
/// table has one. False when it is in another state (another transaction moved it first, say).
pub async fn transition(tx: &mut Tx, id: &str, from: &[&str], to: &str) -> ServiceResult<bool> {
    let stamp = match to {
        PAID => ", paid_at_ms = $3",
        SHIPPED => ", shipped_at_ms = $3",
        DELIVERED => ", delivered_at_ms = $3",
        COMPLETED => ", completed_at_ms = $3",
        CANCELLED => ", cancelled_at_ms = $3",
        _ => "",
    };
    let from_list = tokshop_platform::page::placeholders(4, from.len());
    // The statement varies only in the timestamp column and the number of states; every value is bound.
    let sql = format!(
        "UPDATE orders SET status = $2, updated_at_ms = $3{stamp} WHERE id = $1 AND status IN ({from_list})"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(to)
        .bind(now_ms());
    for state in from {
        query = query.bind(*state);
    }
    let done = query.execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

/// Records `order.<name>` for the order as it now stands in `tx`.
pub async fn record_event(tx: &mut Tx, name: &str, id: &str, reason: &str) -> ServiceResult<()> {
    let record = load(tx, id)
        .await?
        .ok_or(ServiceError::not_found("order"))?;
    let payload = OrderEvent::of(&record, reason);
    events::record(tx, &format!("order.{name}"), id, &payload).await?;
    Ok(())
}

pub async fn set_cancel_reason(tx: &mut Tx, id: &str, reason: &str) -> ServiceResult<()> {
    sqlx::query("UPDATE orders SET cancel_reason = $2 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_tracking(
    tx: &mut Tx,
    id: &str,
    tracking_number: &str,
    carrier: &str,
) -> ServiceResult<()> {
    sqlx::query("UPDATE orders SET tracking_number = $2, carrier = $3 WHERE id = $1")
        .bind(id)
        .bind(tracking_number)
        .bind(carrier)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Binds the address book entry's id and fields, in the order of the columns `address_id, ship_recipient, ship_phone,
/// ship_line1, ship_line2, ship_city, ship_region, ship_postal_code, ship_country`.
pub(super) fn bind_shipping<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    address: &'q Address,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(&address.id)
        .bind(&address.recipient)
        .bind(&address.phone)
        .bind(&address.line1)
        .bind(&address.line2)
        .bind(&address.city)
        .bind(&address.region)
        .bind(&address.postal_code)
        .bind(&address.country)
}

/// Snapshots `address` as the shipping address of the buyer's order while it is in one of `states`. False when
/// no order of the buyer's with that id is in one of them.
pub async fn change_address(
    tx: &mut Tx,
    id: &str,
    buyer_id: &str,
    address: &Address,
    states: [&str; 2],
) -> ServiceResult<bool> {
    let changed = sqlx::query(
        "UPDATE orders SET address_id = $3, ship_recipient = $4, ship_phone = $5, ship_line1 = $6, \
         ship_line2 = $7, ship_city = $8, ship_region = $9, ship_postal_code = $10, ship_country = $11, \
         updated_at_ms = $12 WHERE id = $1 AND buyer_id = $2 AND status IN ($13, $14)",
    )
    .bind(id)
    .bind(buyer_id);
    let changed = bind_shipping(changed, address)
        .bind(now_ms())
        .bind(states[0])
        .bind(states[1])
        .execute(&mut **tx)
        .await?;
    Ok(changed.rows_affected() == 1)
}

/// Moves the buyer's order to `paid` under `payment_id` if it is waiting for payment and not past its expiry.
/// The update locks the order: a concurrent payer waits here and then finds it paid.
pub async fn claim_for_payment(
    tx: &mut Tx,
    id: &str,
    buyer_id: &str,
    payment_id: &str,
    now: i64,
) -> ServiceResult<bool> {
    let claimed = sqlx::query(
        "UPDATE orders SET status = $3, paid_at_ms = $4, updated_at_ms = $4, payment_id = $5 \
         WHERE id = $1 AND buyer_id = $2 AND status = $6 AND expires_at_ms > $4",
    )
    .bind(id)
    .bind(buyer_id)
    .bind(PAID)
    .bind(now)
    .bind(payment_id)
    .bind(PENDING_PAYMENT)
    .execute(&mut **tx)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Undoes [`claim_for_payment`] after a declined charge: the order waits for payment again.
pub async fn release_payment_claim(tx: &mut Tx, id: &str, now: i64) -> ServiceResult<()> {
    sqlx::query(
        "UPDATE orders SET status = $2, paid_at_ms = 0, payment_id = '', updated_at_ms = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(PENDING_PAYMENT)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn add_refunded(tx: &mut Tx, id: &str, amount: i64) -> ServiceResult<()> {
    sqlx::query("UPDATE orders SET refunded = refunded + $2 WHERE id = $1")
        .bind(id)
        .bind(amount)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ids of the orders `sql` selects: in `status`, due by `before`, oldest first, at most `limit`.
async fn due(
    db: &Db,
    sql: &'static str,
    status: &str,
    before: i64,
    limit: i64,
) -> ServiceResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(sql)
        .bind(status)
        .bind(before)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Unpaid orders whose time ran out by `now`.
pub async fn expired_unpaid(db: &Db, now: i64, limit: i64) -> ServiceResult<Vec<String>> {
    let sql = "SELECT id FROM orders WHERE status = $1 AND expires_at_ms <= $2 ORDER BY expires_at_ms LIMIT $3";
    due(db, sql, PENDING_PAYMENT, now, limit).await
}

/// Checkouts still `reserving` that were started by `before`.
pub async fn stuck_reserving(db: &Db, before: i64, limit: i64) -> ServiceResult<Vec<String>> {
    let sql = "SELECT id FROM orders WHERE status = $1 AND created_at_ms <= $2 ORDER BY created_at_ms LIMIT $3";
    due(db, sql, RESERVING, before, limit).await
}

/// Orders delivered by `before`.
pub async fn delivered_before(db: &Db, before: i64, limit: i64) -> ServiceResult<Vec<String>> {
    let sql = "SELECT id FROM orders WHERE status = $1 AND delivered_at_ms <= $2 ORDER BY delivered_at_ms LIMIT $3";
    due(db, sql, DELIVERED, before, limit).await
}
