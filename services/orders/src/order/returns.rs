//! Returns: the buyer asks to return some units of a delivered order; the seller accepts (refunding their share
//! of what was paid to the original method) or rejects. Units already returned, or asked for in a return still
//! undecided, cannot be asked for again.

use tokshop_platform::{
    ServiceError, ServiceResult, check_len,
    db::Db,
    ids::new_id,
    limits::orders::{MAX_LINES, MAX_RETURN_REASON},
    time::now_ms,
};
use tokshop_proto::order as pb;

use super::{
    rules::{self, ACCEPTED, DELIVERED, REJECTED, Viewer},
    store::{self, ReturnRecord},
};
use crate::payment;

/// A return and the currency of its order, in which its amounts are.
pub type Priced<T> = (T, String);

/// Buyer: asks to return some units of a delivered order of theirs.
pub async fn request(
    db: &Db,
    buyer_id: &str,
    req: &pb::RequestReturnRequest,
) -> ServiceResult<Priced<ReturnRecord>> {
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
    let record = store::load_for(&mut tx, req.order_id.trim(), Viewer::Buyer(buyer_id)).await?;
    if record.order.status != DELIVERED {
        return Err(rules::wrong_state(
            &record.order,
            "returned (only delivered orders can be)",
        ));
    }
    let order_id = record.order.id.clone();
    let pending = store::pending_return_units(&mut tx, &order_id).await?;
    let chosen: Vec<(&str, i64)> = req
        .lines
        .iter()
        .map(|l| (l.variant_id.trim(), l.quantity))
        .collect();
    let planned = rules::plan_return(&record.lines, &chosen, &pending)?;
    let id = new_id("ret");
    store::insert_return(&mut tx, &id, &order_id, reason, &planned, now_ms()).await?;
    store::record_event(&mut tx, "return_requested", &order_id, &id).await?;
    let made = store::load_return(&mut tx, &id)
        .await?
        .ok_or(ServiceError::not_found("return"))?;
    tx.commit().await?;
    Ok((made, record.order.currency))
}

/// Seller: accepts a return of one of their orders (refunding its amount to the original method) or rejects it.
pub async fn decide(
    db: &Db,
    providers: &payment::Providers,
    seller_id: &str,
    return_id: &str,
    accept: bool,
) -> ServiceResult<Priced<ReturnRecord>> {
    let mut tx = db.begin_write().await?;
    let asked = store::return_for_seller(&mut tx, return_id.trim(), seller_id)
        .await?
        .ok_or(ServiceError::not_found("return"))?;
    let row = &asked.row;
    let order = store::load(&mut tx, &row.order_id)
        .await?
        .ok_or(ServiceError::not_found("return"))?
        .order;
    let status = if accept { ACCEPTED } else { REJECTED };
    if !store::decide_return(&mut tx, &row.id, status, now_ms()).await? {
        return Err(ServiceError::conflict_on(
            "return_decided",
            "return_id",
            format!("this return was already {}", row.status),
        ));
    }
    if accept {
        store::mark_returned(&mut tx, &row.order_id, &asked.lines).await?;
        if row.amount > 0 {
            let refund_id =
                payment::refund(&mut tx, providers, &order, row.amount, "return").await?;
            store::set_return_refund(&mut tx, &row.id, &refund_id).await?;
        }
    }
    let topic = if accept {
        "return_accepted"
    } else {
        "return_rejected"
    };
    store::record_event(&mut tx, topic, &row.order_id, &row.id).await?;
    let decided = store::load_return(&mut tx, &row.id)
        .await?
        .ok_or(ServiceError::not_found("return"))?;
    tx.commit().await?;
    Ok((decided, order.currency))
}

/// The returns of an order the viewer may see, oldest first.
pub async fn list(
    db: &Db,
    order_id: &str,
    viewer: Viewer<'_>,
) -> ServiceResult<Priced<Vec<ReturnRecord>>> {
    let mut conn = db.pool().acquire().await?;
    let record = store::load_for(&mut conn, order_id.trim(), viewer).await?;
    let returns = store::returns_of(&mut conn, &record.order.id).await?;
    Ok((returns, record.order.currency))
}
