//! Everything that happens to an order after checkout: cancellation (with stock, coupon and refund), address
//! changes, shipping, delivery, completion, returns, and the sweeper that expires unpaid orders and completes
//! delivered ones. Every move is a conditional update in one transaction with its refund and its event, so a
//! race or a retry can apply it at most once.

use sqlx::FromRow;
use tokshop_platform::{
    ServiceError, ServiceResult, check_len,
    config::OrderSettings,
    db::Db,
    ids::new_id,
    limits::orders::{MAX_CARRIER, MAX_LINES, MAX_RETURN_REASON, MAX_TRACKING_NUMBER},
    time::now_ms,
};
use tokshop_proto::{identity::Address, order as pb};

use crate::{
    coupons,
    orders::{
        self, CANCELLED, COMPLETED, DELIVERED, FAILED, OrderRecord, PAID, PENDING_PAYMENT,
        RESERVING, SHIPPED, Tx, Viewer,
    },
    payments::{self, Providers},
    pricing,
};

/// How long a checkout may sit between its order row and its stock reservation before it is abandoned.
const RESERVING_TIMEOUT_MS: i64 = 120_000;
/// Most orders one sweep handles of each kind; the next sweep takes the rest.
const SWEEP_BATCH: i64 = 100;

async fn reload(tx: &mut Tx, id: &str) -> ServiceResult<OrderRecord> {
    orders::load(tx, id)
        .await?
        .ok_or(ServiceError::not_found("order"))
}

/// Cancels an unpaid order and gives its coupon back; false when it was no longer unpaid. Its stock is
/// released by the `order.cancelled` event.
async fn cancel_unpaid(tx: &mut Tx, id: &str, reason: &str) -> ServiceResult<bool> {
    if !orders::transition(tx, id, &[PENDING_PAYMENT], CANCELLED).await? {
        return Ok(false);
    }
    set_cancel_reason(tx, id, reason).await?;
    coupons::give_back(tx, id).await?;
    orders::record_event(tx, "cancelled", id, reason).await?;
    Ok(true)
}

async fn set_cancel_reason(tx: &mut Tx, id: &str, reason: &str) -> ServiceResult<()> {
    sqlx::query("UPDATE orders SET cancel_reason = $2 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Cancels from pending_payment (coupon back) or paid (full refund to the original method); stock goes back
/// either way. Shipped or later orders cannot be cancelled.
pub async fn cancel(
    db: &Db,
    providers: &Providers,
    id: &str,
    viewer: Viewer<'_>,
) -> ServiceResult<OrderRecord> {
    let reason = match viewer {
        Viewer::Buyer(_) => "buyer",
        Viewer::Seller(_) => "seller",
    };
    let mut tx = db.begin_write().await?;
    let record = orders::load_for(&mut tx, id, viewer).await?;
    let done = match record.order.status.as_str() {
        PENDING_PAYMENT => cancel_unpaid(&mut tx, id, reason).await?,
        PAID if orders::transition(&mut tx, id, &[PAID], CANCELLED).await? => {
            set_cancel_reason(&mut tx, id, reason).await?;
            let total = record.order.total;
            payments::refund(&mut tx, providers, &record.order, total, "cancellation").await?;
            orders::record_event(&mut tx, "cancelled", id, reason).await?;
            true
        }
        _ => false,
    };
    if !done {
        let current = reload(&mut tx, id).await?;
        return Err(orders::wrong_state(&current.order, "cancelled"));
    }
    let record = reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(record)
}

/// Snapshots `address` as the order's shipping address, until the order ships.
pub async fn change_address(
    db: &Db,
    id: &str,
    buyer_id: &str,
    address: &Address,
) -> ServiceResult<OrderRecord> {
    let mut tx = db.begin_write().await?;
    let record = orders::load_for(&mut tx, id, Viewer::Buyer(buyer_id)).await?;
    let changed = sqlx::query(
        "UPDATE orders SET address_id = $2, ship_recipient = $3, ship_phone = $4, ship_line1 = $5, \
         ship_line2 = $6, ship_city = $7, ship_region = $8, ship_postal_code = $9, ship_country = $10, \
         updated_at_ms = $11 WHERE id = $1 AND status IN ($12, $13)",
    )
    .bind(id)
    .bind(&address.id)
    .bind(&address.recipient)
    .bind(&address.phone)
    .bind(&address.line1)
    .bind(&address.line2)
    .bind(&address.city)
    .bind(&address.region)
    .bind(&address.postal_code)
    .bind(&address.country)
    .bind(now_ms())
    .bind(PENDING_PAYMENT)
    .bind(PAID)
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(orders::wrong_state(&record.order, "given a new address"));
    }
    orders::record_event(&mut tx, "address_changed", id, "").await?;
    let record = reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(record)
}

/// Moves an order the viewer may act on from one of `from` to `to`, recording `order.<to>`.
pub async fn advance(
    db: &Db,
    id: &str,
    viewer: Viewer<'_>,
    from: &[&str],
    to: &str,
    action: &str,
) -> ServiceResult<OrderRecord> {
    let mut tx = db.begin_write().await?;
    let record = orders::load_for(&mut tx, id, viewer).await?;
    if !orders::transition(&mut tx, id, from, to).await? {
        return Err(orders::wrong_state(&record.order, action));
    }
    orders::record_event(&mut tx, to, id, "").await?;
    let record = reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(record)
}

/// Seller: paid -> shipped with the carrier's tracking number.
pub async fn ship(
    db: &Db,
    id: &str,
    seller_id: &str,
    tracking_number: &str,
    carrier: &str,
) -> ServiceResult<OrderRecord> {
    let tracking_number = tracking_number.trim();
    let carrier = carrier.trim();
    check_len("tracking_number", tracking_number, 1, MAX_TRACKING_NUMBER)?;
    check_len("carrier", carrier, 0, MAX_CARRIER)?;
    let mut tx = db.begin_write().await?;
    let record = orders::load_for(&mut tx, id, Viewer::Seller(seller_id)).await?;
    if !orders::transition(&mut tx, id, &[PAID], SHIPPED).await? {
        return Err(orders::wrong_state(&record.order, "shipped"));
    }
    sqlx::query("UPDATE orders SET tracking_number = $2, carrier = $3 WHERE id = $1")
        .bind(id)
        .bind(tracking_number)
        .bind(carrier)
        .execute(&mut *tx)
        .await?;
    orders::record_event(&mut tx, "shipped", id, "").await?;
    let record = reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(record)
}

#[derive(Debug, Clone, FromRow)]
struct ReturnRow {
    id: String,
    order_id: String,
    status: String,
    amount: i64,
    reason: String,
    refund_id: String,
    created_at_ms: i64,
    decided_at_ms: i64,
}

async fn return_message(
    tx: &mut sqlx::AnyConnection,
    row: ReturnRow,
    currency: &str,
) -> ServiceResult<pb::ReturnRequest> {
    let lines: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT variant_id, quantity, amount FROM order_return_lines WHERE return_id = $1 ORDER BY variant_id",
    )
    .bind(&row.id)
    .fetch_all(tx)
    .await?;
    Ok(pb::ReturnRequest {
        id: row.id,
        order_id: row.order_id,
        status: row.status,
        lines: lines
            .into_iter()
            .map(|(variant_id, quantity, amount)| pb::ReturnLine {
                variant_id,
                quantity,
                amount: orders::money(amount, currency),
            })
            .collect(),
        amount: orders::money(row.amount, currency),
        reason: row.reason,
        refund_id: row.refund_id,
        created_at_ms: row.created_at_ms,
        decided_at_ms: row.decided_at_ms,
    })
}

const RETURN_COLUMNS: &str =
    "id, order_id, status, amount, reason, refund_id, created_at_ms, decided_at_ms";

/// Buyer: asks to return some units of a delivered order. Units already returned, or asked for in a return
/// still undecided, cannot be asked for again.
pub async fn request_return(
    db: &Db,
    buyer_id: &str,
    req: &pb::RequestReturnRequest,
) -> ServiceResult<pb::ReturnRequest> {
    let reason = req.reason.trim();
    check_len("reason", reason, 1, MAX_RETURN_REASON)?;
    if req.lines.is_empty() {
        return Err(ServiceError::invalid(
            "lines",
            "choose at least one line to return",
        ));
    }
    if req.lines.len() > MAX_LINES {
        return Err(ServiceError::invalid(
            "lines",
            format!("an order has at most {MAX_LINES} lines to return"),
        ));
    }
    let mut tx = db.begin_write().await?;
    let record = orders::load_for(&mut tx, req.order_id.trim(), Viewer::Buyer(buyer_id)).await?;
    if record.order.status != DELIVERED {
        return Err(orders::wrong_state(
            &record.order,
            "returned (only delivered orders can be)",
        ));
    }
    let order_id = record.order.id.clone();
    let mut planned = Vec::new();
    for (i, choice) in req.lines.iter().enumerate() {
        crate::checkout::check_quantity(format!("lines[{i}].quantity"), choice.quantity)?;
        let line = record
            .lines
            .iter()
            .find(|l| l.variant_id == choice.variant_id.trim())
            .ok_or_else(|| {
                ServiceError::invalid(format!("lines[{i}].variant_id"), "not a line of this order")
            })?;
        if planned
            .iter()
            .any(|(v, _, _): &(String, i64, i64)| *v == line.variant_id)
        {
            return Err(ServiceError::invalid(
                format!("lines[{i}].variant_id"),
                "each line may appear once",
            ));
        }
        let (pending,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_return_lines l \
             JOIN order_returns r ON r.id = l.return_id WHERE r.order_id = $1 AND r.status = 'requested' \
             AND l.variant_id = $2",
        )
        .bind(&order_id)
        .bind(&line.variant_id)
        .fetch_one(&mut *tx)
        .await?;
        let left = line.quantity - line.returned_quantity - pending;
        if choice.quantity > left {
            return Err(ServiceError::invalid(
                format!("lines[{i}].quantity"),
                format!("only {left} unit(s) of this line can still be returned"),
            ));
        }
        // Priced now as if the earlier pending returns were accepted first.
        let pending_amount = pricing::return_amount(
            line.quantity,
            line.paid(),
            line.returned_quantity,
            line.refunded,
            pending,
        );
        let (returned_before, refunded_before) = if pending > 0 {
            (
                line.returned_quantity + pending,
                line.refunded + pending_amount,
            )
        } else {
            (line.returned_quantity, line.refunded)
        };
        let amount = pricing::return_amount(
            line.quantity,
            line.paid(),
            returned_before,
            refunded_before,
            choice.quantity,
        );
        planned.push((line.variant_id.clone(), choice.quantity, amount));
    }
    let id = new_id("ret");
    let total: i64 = planned.iter().map(|(_, _, a)| a).sum();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO order_returns (id, order_id, status, amount, reason, created_at_ms) \
         VALUES ($1, $2, 'requested', $3, $4, $5)",
    )
    .bind(&id)
    .bind(&order_id)
    .bind(total)
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for (variant_id, quantity, amount) in &planned {
        sqlx::query(
            "INSERT INTO order_return_lines (return_id, variant_id, quantity, amount) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(variant_id)
        .bind(quantity)
        .bind(amount)
        .execute(&mut *tx)
        .await?;
    }
    orders::record_event(&mut tx, "return_requested", &order_id, &id).await?;
    let row = load_return(&mut tx, &id).await?;
    let message = return_message(&mut tx, row, &record.order.currency).await?;
    tx.commit().await?;
    Ok(message)
}

async fn load_return(tx: &mut Tx, id: &str) -> ServiceResult<ReturnRow> {
    let sql = const_format::concatcp!(
        "SELECT ",
        RETURN_COLUMNS,
        " FROM order_returns WHERE id = $1"
    );
    sqlx::query_as::<_, ReturnRow>(sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ServiceError::not_found("return"))
}

/// Seller: accepts a return (refunding its amount to the original method) or rejects it.
pub async fn decide_return(
    db: &Db,
    providers: &Providers,
    seller_id: &str,
    return_id: &str,
    accept: bool,
) -> ServiceResult<pb::ReturnRequest> {
    let mut tx = db.begin_write().await?;
    let row = load_return(&mut tx, return_id.trim()).await?;
    let record = orders::load_for(&mut tx, &row.order_id, Viewer::Seller(seller_id))
        .await
        .map_err(|_| ServiceError::not_found("return"))?;
    let status = if accept { "accepted" } else { "rejected" };
    let decided = sqlx::query(
        "UPDATE order_returns SET status = $2, decided_at_ms = $3 WHERE id = $1 AND status = 'requested'",
    )
    .bind(&row.id)
    .bind(status)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if decided.rows_affected() != 1 {
        return Err(ServiceError::conflict_on(
            "return_decided",
            "return_id",
            format!("this return was already {}", row.status),
        ));
    }
    if accept {
        let lines: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT variant_id, quantity, amount FROM order_return_lines WHERE return_id = $1",
        )
        .bind(&row.id)
        .fetch_all(&mut *tx)
        .await?;
        for (variant_id, quantity, amount) in &lines {
            sqlx::query(
                "UPDATE order_lines SET returned_quantity = returned_quantity + $3, refunded = refunded + $4 \
                 WHERE order_id = $1 AND variant_id = $2",
            )
            .bind(&row.order_id)
            .bind(variant_id)
            .bind(quantity)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        }
        if row.amount > 0 {
            let refund_id =
                payments::refund(&mut tx, providers, &record.order, row.amount, "return").await?;
            sqlx::query("UPDATE order_returns SET refund_id = $2 WHERE id = $1")
                .bind(&row.id)
                .bind(&refund_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    let topic = if accept {
        "return_accepted"
    } else {
        "return_rejected"
    };
    orders::record_event(&mut tx, topic, &row.order_id, &row.id).await?;
    let row = load_return(&mut tx, &row.id).await?;
    let message = return_message(&mut tx, row, &record.order.currency).await?;
    tx.commit().await?;
    Ok(message)
}

pub async fn list_returns(
    db: &Db,
    order_id: &str,
    viewer: Viewer<'_>,
) -> ServiceResult<Vec<pb::ReturnRequest>> {
    let mut conn = db.pool().acquire().await?;
    let record = orders::load_for(&mut conn, order_id.trim(), viewer).await?;
    let sql = const_format::concatcp!(
        "SELECT ",
        RETURN_COLUMNS,
        " FROM order_returns WHERE order_id = $1 ORDER BY created_at_ms, id"
    );
    let rows = sqlx::query_as::<_, ReturnRow>(sql)
        .bind(&record.order.id)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(return_message(&mut conn, row, &record.order.currency).await?);
    }
    Ok(out)
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: usize,
    pub abandoned: usize,
    pub completed: usize,
}

async fn due(db: &Db, sql: &'static str, status: &str, before: i64) -> ServiceResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(sql)
        .bind(status)
        .bind(before)
        .bind(SWEEP_BATCH)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// One pass of the sweeper: expires unpaid orders past their time, abandons stuck checkouts, completes orders
/// delivered long enough ago. Each order moves in its own transaction with a conditional update, so sweeps
/// that overlap (or a restart mid-way) never act twice.
pub async fn sweep(db: &Db, settings: &OrderSettings) -> ServiceResult<Swept> {
    let now = now_ms();
    let mut swept = Swept::default();
    let by_expiry = "SELECT id FROM orders WHERE status = $1 AND expires_at_ms <= $2 ORDER BY expires_at_ms LIMIT $3";
    for id in due(db, by_expiry, PENDING_PAYMENT, now).await? {
        let mut tx = db.begin_write().await?;
        if cancel_unpaid(&mut tx, &id, "expired").await? {
            swept.expired += 1;
        }
        tx.commit().await?;
    }
    let by_creation = "SELECT id FROM orders WHERE status = $1 AND created_at_ms <= $2 ORDER BY created_at_ms LIMIT $3";
    for id in due(db, by_creation, RESERVING, now - RESERVING_TIMEOUT_MS).await? {
        let mut tx = db.begin_write().await?;
        if orders::transition(&mut tx, &id, &[RESERVING], FAILED).await? {
            orders::record_event(&mut tx, "checkout_failed", &id, "timeout").await?;
            swept.abandoned += 1;
        }
        tx.commit().await?;
    }
    let by_delivery = "SELECT id FROM orders WHERE status = $1 AND delivered_at_ms <= $2 ORDER BY delivered_at_ms LIMIT $3";
    let delivered_before = now - settings.auto_complete_secs.saturating_mul(1000);
    for id in due(db, by_delivery, DELIVERED, delivered_before).await? {
        let mut tx = db.begin_write().await?;
        if orders::transition(&mut tx, &id, &[DELIVERED], COMPLETED).await? {
            orders::record_event(&mut tx, COMPLETED, &id, "auto").await?;
            swept.completed += 1;
        }
        tx.commit().await?;
    }
    Ok(swept)
}
