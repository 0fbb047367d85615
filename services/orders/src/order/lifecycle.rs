//! Everything that happens to an order after checkout except returns: cancellation (with stock, coupon and
//! refund), address changes, shipping, delivery, completion, and the sweeper that expires unpaid orders and
//! completes delivered ones. Every move is a conditional update in one transaction with its refund and its event,
//! so a race or a retry can apply it at most once.

use tokshop_platform::{
    ServiceError, ServiceResult, check_len,
    config::OrderSettings,
    db::Db,
    limits::{
        check_id,
        orders::{MAX_CARRIER, MAX_TRACKING_NUMBER},
    },
    time::now_ms,
};

use super::{
    rules::{
        self, ABANDON, ADDRESS_CHANGEABLE, AUTO_COMPLETE, CANCEL_PAID, CANCEL_UNPAID, PAID,
        PENDING_PAYMENT, SHIP, Step, Viewer,
    },
    store::{self, OrderRecord},
};
use crate::{Tx, clients::Clients, coupon, payment};

/// How long a checkout may sit between its order row and its stock reservation before it is abandoned.
const RESERVING_TIMEOUT_MS: i64 = 120_000;
/// Most orders one sweep handles of each kind; the next sweep takes the rest.
const SWEEP_BATCH: i64 = 100;

async fn reload(tx: &mut Tx, id: &str) -> ServiceResult<OrderRecord> {
    store::load(tx, id)
        .await?
        .ok_or(ServiceError::not_found("order"))
}

/// Cancels an unpaid order and gives its coupon back; false when it was no longer unpaid. Its stock is
/// released by the `order.cancelled` event.
async fn cancel_unpaid(tx: &mut Tx, id: &str, reason: &str) -> ServiceResult<bool> {
    if !store::transition(tx, id, CANCEL_UNPAID.from, CANCEL_UNPAID.to).await? {
        return Ok(false);
    }
    store::set_cancel_reason(tx, id, reason).await?;
    coupon::store::give_back(tx, id).await?;
    store::record_event(tx, "cancelled", id, reason).await?;
    Ok(true)
}

/// Cancels from pending_payment (coupon back) or paid (full refund to the original method); stock goes back
/// either way. Shipped or later orders cannot be cancelled.
pub async fn cancel(
    db: &Db,
    providers: &payment::Providers,
    id: &str,
    viewer: Viewer<'_>,
) -> ServiceResult<OrderRecord> {
    let reason = viewer.cancel_reason();
    let mut tx = db.begin_write().await?;
    let record = store::load_for(&mut tx, id, viewer).await?;
    let done = match record.order.status.as_str() {
        PENDING_PAYMENT => cancel_unpaid(&mut tx, id, reason).await?,
        PAID if store::transition(&mut tx, id, CANCEL_PAID.from, CANCEL_PAID.to).await? => {
            store::set_cancel_reason(&mut tx, id, reason).await?;
            let total = record.order.total;
            payment::refund(&mut tx, providers, &record.order, total, "cancellation").await?;
            store::record_event(&mut tx, "cancelled", id, reason).await?;
            true
        }
        _ => false,
    };
    if !done {
        let current = reload(&mut tx, id).await?;
        return Err(rules::wrong_state(&current.order, CANCEL_PAID.action));
    }
    let record = reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(record)
}

/// Buyer: ships the order to another of their addresses (`bearer` is their token, to read it), until it ships.
pub async fn change_address(
    db: &Db,
    clients: &Clients,
    bearer: &str,
    id: &str,
    buyer_id: &str,
    address_id: &str,
) -> ServiceResult<OrderRecord> {
    let address_id = address_id.trim();
    if address_id.is_empty() {
        return Err(ServiceError::invalid("address_id", "choose an address"));
    }
    check_id("address_id", address_id)?;
    const ACTION: &str = "given a new address";
    // Ownership and state first, so another user's order is a 404 and a shipped one a 409, whatever address is
    // given.
    let current = {
        let mut conn = db.pool().acquire().await?;
        store::load_for(&mut conn, id, Viewer::Buyer(buyer_id)).await?
    };
    if !ADDRESS_CHANGEABLE.contains(&current.order.status.as_str()) {
        return Err(rules::wrong_state(&current.order, ACTION));
    }
    let address = clients.address(bearer, address_id).await?;
    let mut tx = db.begin_write().await?;
    if !store::change_address(&mut tx, id, buyer_id, &address, ADDRESS_CHANGEABLE).await? {
        // Not the buyer's order (a 404), or it moved on meanwhile (a 409).
        let record = store::load_for(&mut tx, id, Viewer::Buyer(buyer_id)).await?;
        return Err(rules::wrong_state(&record.order, ACTION));
    }
    store::record_event(&mut tx, "address_changed", id, "").await?;
    let record = reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(record)
}

/// Takes `step` on an order the viewer may act on, recording `order.<to>`.
pub async fn advance(
    db: &Db,
    id: &str,
    viewer: Viewer<'_>,
    step: Step,
) -> ServiceResult<OrderRecord> {
    let mut tx = db.begin_write().await?;
    let record = store::load_for(&mut tx, id, viewer).await?;
    if !store::transition(&mut tx, id, step.from, step.to).await? {
        return Err(rules::wrong_state(&record.order, step.action));
    }
    store::record_event(&mut tx, step.to, id, "").await?;
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
    let record = store::load_for(&mut tx, id, Viewer::Seller(seller_id)).await?;
    if !store::transition(&mut tx, id, SHIP.from, SHIP.to).await? {
        return Err(rules::wrong_state(&record.order, SHIP.action));
    }
    store::set_tracking(&mut tx, id, tracking_number, carrier).await?;
    store::record_event(&mut tx, SHIP.to, id, "").await?;
    let record = reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(record)
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: usize,
    pub abandoned: usize,
    pub completed: usize,
}

/// One pass of the sweeper: expires unpaid orders past their time, abandons stuck checkouts, completes orders
/// delivered long enough ago. Each order moves in its own transaction with a conditional update, so sweeps
/// that overlap (or a restart mid-way) never act twice.
pub async fn sweep(db: &Db, settings: &OrderSettings) -> ServiceResult<Swept> {
    let now = now_ms();
    let mut swept = Swept::default();
    for id in store::expired_unpaid(db, now, SWEEP_BATCH).await? {
        let mut tx = db.begin_write().await?;
        if cancel_unpaid(&mut tx, &id, "expired").await? {
            swept.expired += 1;
        }
        tx.commit().await?;
    }
    let started_before = now - RESERVING_TIMEOUT_MS;
    for id in store::stuck_reserving(db, started_before, SWEEP_BATCH).await? {
        let mut tx = db.begin_write().await?;
        if store::transition(&mut tx, &id, ABANDON.from, ABANDON.to).await? {
            store::record_event(&mut tx, "checkout_failed", &id, "timeout").await?;
            swept.abandoned += 1;
        }
        tx.commit().await?;
    }
    let delivered_before = now - settings.auto_complete_secs.saturating_mul(1000);
    for id in store::delivered_before(db, delivered_before, SWEEP_BATCH).await? {
        let mut tx = db.begin_write().await?;
        if store::transition(&mut tx, &id, AUTO_COMPLETE.from, AUTO_COMPLETE.to).await? {
            store::record_event(&mut tx, AUTO_COMPLETE.to, &id, "auto").await?;
            swept.completed += 1;
        }
        tx.commit().await?;
    }
    Ok(swept)
}
