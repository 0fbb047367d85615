//! The SQL of checkout: the order row written before its stock is reserved, its lines, the counts behind the caps
//! on unpaid orders, and the conditional update that opens it for payment.

use sqlx::AnyConnection;
use tokshop_platform::{
    ServiceResult,
    db::{Backend, Db},
    error::is_unique_violation,
};
use tokshop_proto::identity::Address;

use crate::{
    Tx,
    order::rules::{PENDING_PAYMENT, RESERVING},
    pricing::{PricedLine, Totals},
};

/// A checkout's order as first written (`reserving`), before its stock is reserved and it is priced.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub id: &'a str,
    pub buyer_id: &'a str,
    pub seller_id: &'a str,
    pub request_id: &'a str,
    pub fingerprint: &'a str,
    pub currency: &'a str,
    pub address: &'a Address,
    pub claimed_coupon_id: &'a str,
    pub coupon_code: &'a str,
    pub expected_total: i64,
    pub created_at_ms: i64,
}

/// Writes a checkout's order as `reserving`, invisible to everyone. False when the buyer's request id is taken
/// (a concurrent run of the same checkout); the transaction must then be dropped.
pub async fn insert_reserving(tx: &mut Tx, order: &NewOrder<'_>) -> ServiceResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO orders (id, buyer_id, seller_id, status, request_id, fingerprint, currency, address_id, \
         ship_recipient, ship_phone, ship_line1, ship_line2, ship_city, ship_region, ship_postal_code, \
         ship_country, claimed_coupon_id, coupon_code, expected_total, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)",
    )
    .bind(order.id)
    .bind(order.buyer_id)
    .bind(order.seller_id)
    .bind(RESERVING)
    .bind(order.request_id)
    .bind(order.fingerprint)
    .bind(order.currency);
    let inserted = super::bind_shipping(inserted, order.address)
        .bind(order.claimed_coupon_id)
        .bind(order.coupon_code)
        .bind(order.expected_total)
        .bind(order.created_at_ms)
        .execute(&mut **tx)
        .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(err) if is_unique_violation(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Replaces the order's lines with `lines`.
pub async fn write_lines(tx: &mut Tx, order_id: &str, lines: &[PricedLine]) -> ServiceResult<()> {
    sqlx::query("DELETE FROM order_lines WHERE order_id = $1")
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
    for line in lines {
        sqlx::query(
            "INSERT INTO order_lines (order_id, variant_id, product_id, category_id, title, sku, quantity, \
             unit_price, discount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(order_id)
        .bind(&line.variant_id)
        .bind(&line.product_id)
        .bind(&line.category_id)
        .bind(&line.title)
        .bind(&line.sku)
        .bind(line.quantity)
        .bind(line.unit_price)
        .bind(line.discount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Deletes a checkout that reserved nothing, if it is still `reserving`.
pub async fn delete_reserving(db: &Db, id: &str) -> ServiceResult<()> {
    sqlx::query("DELETE FROM orders WHERE id = $1 AND status = $2")
        .bind(id)
        .bind(RESERVING)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The total the checkout was approved at (`-1` when it bound none).
pub async fn expected_total(db: &Db, id: &str) -> ServiceResult<i64> {
    let (expected,): (i64,) = sqlx::query_as("SELECT expected_total FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?;
    Ok(expected)
}

/// Makes one buyer's checkouts open one at a time until `tx` ends. SQLite needs nothing: its write transactions
/// run one at a time already.
pub async fn serialize_buyer(tx: &mut Tx, backend: Backend, buyer_id: &str) -> ServiceResult<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(buyer_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The buyer's orders waiting for payment, other than `except`.
pub async fn unpaid_orders(
    conn: &mut AnyConnection,
    buyer_id: &str,
    except: &str,
) -> ServiceResult<i64> {
    let (open,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM orders WHERE buyer_id = $1 AND status = $2 AND id <> $3",
    )
    .bind(buyer_id)
    .bind(PENDING_PAYMENT)
    .bind(except)
    .fetch_one(conn)
    .await?;
    Ok(open)
}

/// The units of `variant_id` in the buyer's orders waiting for payment, other than `except`.
pub async fn unpaid_units(
    conn: &mut AnyConnection,
    buyer_id: &str,
    except: &str,
    variant_id: &str,
) -> ServiceResult<i64> {
    let (held,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l JOIN orders o \
         ON o.id = l.order_id WHERE o.buyer_id = $1 AND o.status = $2 AND o.id <> $3 AND l.variant_id = $4",
    )
    .bind(buyer_id)
    .bind(PENDING_PAYMENT)
    .bind(except)
    .bind(variant_id)
    .fetch_one(conn)
    .await?;
    Ok(held)
}

/// Opens a `reserving` checkout as `pending_payment` with its totals, until `expires_at_ms`. False when it is no
/// longer `reserving`. The update also locks the row, so of concurrent retries one opens it.
pub async fn open_checkout(
    tx: &mut Tx,
    id: &str,
    totals: &Totals,
    expires_at_ms: i64,
    now: i64,
) -> ServiceResult<bool> {
    let opened = sqlx::query(
        "UPDATE orders SET status = $2, subtotal = $3, discount = $4, shipping_fee = $5, total = $6, \
         expires_at_ms = $7, updated_at_ms = $8 WHERE id = $1 AND status = $9",
    )
    .bind(id)
    .bind(PENDING_PAYMENT)
    .bind(totals.subtotal)
    .bind(totals.discount)
    .bind(totals.shipping_fee)
    .bind(totals.total)
    .bind(expires_at_ms)
    .bind(now)
    .bind(RESERVING)
    .execute(&mut **tx)
    .await?;
    Ok(opened.rows_affected() == 1)
}
