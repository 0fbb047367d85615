//! Stock reservations: every line's stock is taken in one transaction with a conditional decrement
//! (`stock = stock - n WHERE stock >= n`), or none is. Idempotent by the caller's reservation id; released once.

use std::collections::BTreeMap;

use sqlx::{Any, FromRow, Transaction};
use tokshop_platform::{
    ServiceError, ServiceResult, db::Db, error::is_unique_violation, time::now_ms,
};

/// Most lines in one reservation, and most units of one variant.
pub const MAX_LINES: usize = 100;
pub const MAX_QUANTITY: i64 = 999;

#[derive(Debug, Clone, FromRow)]
pub struct ReservedLineRow {
    pub variant_id: String,
    pub product_id: String,
    pub seller_id: String,
    pub title: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub currency: String,
}

#[derive(Debug, Clone)]
pub struct ReservationRecord {
    pub id: String,
    pub state: String,
    pub created_at_ms: i64,
    pub lines: Vec<ReservedLineRow>,
}

type Tx = Transaction<'static, Any>;

/// Requested lines merged by variant, in variant order (a fixed lock order, so concurrent reservations of the
/// same variants cannot deadlock).
pub fn merge_lines(lines: &[(String, i64)]) -> ServiceResult<Vec<(String, i64)>> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(ServiceError::invalid(
            "lines",
            format!("1 to {MAX_LINES} lines"),
        ));
    }
    let mut merged: BTreeMap<String, i64> = BTreeMap::new();
    for (i, (variant, quantity)) in lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(quantity) {
            return Err(ServiceError::invalid(
                format!("lines[{i}].quantity"),
                format!("quantity must be 1 to {MAX_QUANTITY}"),
            ));
        }
        *merged.entry(variant.trim().to_owned()).or_default() += quantity;
    }
    Ok(merged.into_iter().collect())
}

async fn load(tx: &mut Tx, id: &str) -> ServiceResult<Option<ReservationRecord>> {
    let head: Option<(String, i64)> =
        sqlx::query_as("SELECT state, created_at_ms FROM stock_reservations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((state, created_at_ms)) = head else {
        return Ok(None);
    };
    let lines = sqlx::query_as::<_, ReservedLineRow>(
        "SELECT r.variant_id, v.product_id, p.seller_id, p.title, v.sku, r.quantity, r.unit_price, r.currency \
         FROM reservation_lines r JOIN variants v ON v.id = r.variant_id JOIN products p ON p.id = v.product_id \
         WHERE r.reservation_id = $1 ORDER BY r.variant_id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some(ReservationRecord {
        id: id.to_owned(),
        state,
        created_at_ms,
        lines,
    }))
}

/// The reservation already made under `id`, if it asked for exactly `lines`; a 409 if it asked for others.
fn same_request(
    existing: ReservationRecord,
    lines: &[(String, i64)],
) -> ServiceResult<ReservationRecord> {
    let stored: Vec<(String, i64)> = existing
        .lines
        .iter()
        .map(|l| (l.variant_id.clone(), l.quantity))
        .collect();
    if stored == lines {
        Ok(existing)
    } else {
        Err(ServiceError::conflict_on(
            "reservation_conflict",
            "reservation_id",
            "this reservation id was already used for other lines",
        ))
    }
}

pub async fn reserve(
    db: &Db,
    id: &str,
    lines: &[(String, i64)],
) -> ServiceResult<ReservationRecord> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    if let Some(existing) = load(&mut tx, id).await? {
        return same_request(existing, lines);
    }
    let inserted = sqlx::query(
        "INSERT INTO stock_reservations (id, state, created_at_ms, updated_at_ms) VALUES ($1, 'held', $2, $2)",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(err) if is_unique_violation(&err) => {
            // A concurrent call with the same id won; ours rolls back and answers with theirs.
            drop(tx);
            let mut tx = db.begin_write().await?;
            let existing = load(&mut tx, id)
                .await?
                .ok_or(ServiceError::not_found("reservation"))?;
            return same_request(existing, lines);
        }
        Err(err) => return Err(err.into()),
    }
    for (i, (variant_id, quantity)) in lines.iter().enumerate() {
        let price: Option<(i64, String)> = sqlx::query_as(
            "SELECT v.price_minor, p.currency FROM variants v JOIN products p ON p.id = v.product_id \
             WHERE v.id = $1 AND v.listed = 1 AND p.listed = 1",
        )
        .bind(variant_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((unit_price, currency)) = price else {
            return Err(ServiceError::conflict_on(
                "variant_unavailable",
                format!("lines[{i}].variant_id"),
                format!("variant {variant_id} is not for sale"),
            ));
        };
        let taken = sqlx::query(
            "UPDATE variants SET stock = stock - $2, updated_at_ms = $3 WHERE id = $1 AND stock >= $2",
        )
        .bind(variant_id)
        .bind(quantity)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            let (available,): (i64,) = sqlx::query_as("SELECT stock FROM variants WHERE id = $1")
                .bind(variant_id)
                .fetch_one(&mut *tx)
                .await?;
            // Dropping the transaction rolls back every line taken so far.
            return Err(ServiceError::conflict_on(
                "out_of_stock",
                format!("lines[{i}].quantity"),
                format!("only {available} of variant {variant_id} in stock; {quantity} asked"),
            ));
        }
        sqlx::query(
            "INSERT INTO reservation_lines (reservation_id, variant_id, quantity, unit_price, currency) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(variant_id)
        .bind(quantity)
        .bind(unit_price)
        .bind(&currency)
        .execute(&mut *tx)
        .await?;
    }
    let record = load(&mut tx, id)
        .await?
        .ok_or(ServiceError::not_found("reservation"))?;
    tx.commit().await?;
    Ok(record)
}

/// Gives the stock back if the reservation is held; a released one stays as it is. Releasing an id never
/// reserved leaves a released, empty reservation behind, so a late reserve under that id cannot take stock.
pub async fn release(db: &Db, id: &str) -> ServiceResult<ReservationRecord> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO stock_reservations (id, state, created_at_ms, updated_at_ms) VALUES ($1, 'released', $2, $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let flipped = sqlx::query(
        "UPDATE stock_reservations SET state = 'released', updated_at_ms = $2 WHERE id = $1 AND state = 'held'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if flipped.rows_affected() == 1 {
        sqlx::query(
            "UPDATE variants SET stock = stock + (SELECT r.quantity FROM reservation_lines r \
             WHERE r.reservation_id = $1 AND r.variant_id = variants.id), updated_at_ms = $2 \
             WHERE id IN (SELECT variant_id FROM reservation_lines WHERE reservation_id = $1)",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let record = load(&mut tx, id)
        .await?
        .ok_or(ServiceError::not_found("reservation"))?;
    tx.commit().await?;
    Ok(record)
}

/// Adds each product's sold units (negative to take them back), once per event: a redelivery changes nothing.
pub async fn record_sales(db: &Db, event_id: &str, lines: &[(String, i64)]) -> ServiceResult<bool> {
    let mut tx = db.begin_write().await?;
    if !tokshop_platform::events::first_delivery(&mut tx, "catalog.sales", event_id).await? {
        return Ok(false);
    }
    for (product_id, quantity) in lines {
        sqlx::query("UPDATE products SET sold_count = sold_count + $2 WHERE id = $1")
            .bind(product_id)
            .bind(quantity)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests;
