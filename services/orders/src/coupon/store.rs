//! All SQL of coupons: the sellers' coupons and the shoppers' claims. Claims and uses are conditional updates, so
//! their counts stay exact under concurrency.

use sqlx::{AnyConnection, FromRow};
use tokshop_platform::{ServiceResult, db::Db, error::is_unique_violation};

use super::rules::{AVAILABLE, USED};
use crate::Tx;

#[derive(Debug, Clone, FromRow)]
pub struct CouponRow {
    pub id: String,
    pub seller_id: String,
    pub code: String,
    pub title: String,
    pub amount_off: i64,
    pub percent_off: i64,
    pub currency: String,
    pub min_spend: i64,
    pub scope: String,
    pub scope_id: String,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub total_quantity: i64,
    pub per_user_limit: i64,
    pub claimed: i64,
    pub used: i64,
    pub created_at_ms: i64,
}

/// One shopper's claim of a coupon.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedRow {
    pub id: String,
    pub coupon_id: String,
    pub status: String,
    pub order_id: Option<String>,
    pub claimed_at_ms: i64,
}

const COUPON_COLUMNS: &str = "id, seller_id, code, title, amount_off, percent_off, currency, min_spend, scope, \
     scope_id, valid_from_ms, valid_until_ms, total_quantity, per_user_limit, claimed, used, created_at_ms";

pub async fn load(conn: &mut AnyConnection, id: &str) -> ServiceResult<Option<CouponRow>> {
    let sql = const_format::concatcp!("SELECT ", COUPON_COLUMNS, " FROM coupons WHERE id = $1");
    Ok(sqlx::query_as::<_, CouponRow>(sql)
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Writes a new coupon; false when the seller already has one with its code.
pub async fn insert(db: &Db, row: &CouponRow) -> ServiceResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO coupons (id, seller_id, code, title, amount_off, percent_off, currency, min_spend, scope, \
         scope_id, valid_from_ms, valid_until_ms, total_quantity, per_user_limit, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&row.id)
    .bind(&row.seller_id)
    .bind(&row.code)
    .bind(&row.title)
    .bind(row.amount_off)
    .bind(row.percent_off)
    .bind(&row.currency)
    .bind(row.min_spend)
    .bind(&row.scope)
    .bind(&row.scope_id)
    .bind(row.valid_from_ms)
    .bind(row.valid_until_ms)
    .bind(row.total_quantity)
    .bind(row.per_user_limit)
    .bind(row.created_at_ms)
    .execute(db.pool())
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(err) if is_unique_violation(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// The seller's coupons valid at `now` with units left to claim, newest first (at most 100).
pub async fn claimable(db: &Db, seller_id: &str, now: i64) -> ServiceResult<Vec<CouponRow>> {
    let sql = const_format::concatcp!(
        "SELECT ",
        COUPON_COLUMNS,
        " FROM coupons WHERE seller_id = $1 AND valid_from_ms <= $2 AND valid_until_ms > $2 \
         AND claimed < total_quantity ORDER BY created_at_ms DESC, id DESC LIMIT 100"
    );
    Ok(sqlx::query_as::<_, CouponRow>(sql)
        .bind(seller_id)
        .bind(now)
        .fetch_all(db.pool())
        .await?)
}

/// Every coupon of the seller, newest first (at most 500).
pub async fn of_seller(db: &Db, seller_id: &str) -> ServiceResult<Vec<CouponRow>> {
    let sql = const_format::concatcp!(
        "SELECT ",
        COUPON_COLUMNS,
        " FROM coupons WHERE seller_id = $1 ORDER BY created_at_ms DESC, id DESC LIMIT 500"
    );
    Ok(sqlx::query_as::<_, CouponRow>(sql)
        .bind(seller_id)
        .fetch_all(db.pool())
        .await?)
}

/// Takes one unit of the coupon if it is valid at `now` and not sold out; false otherwise. It also locks the
/// coupon row, so concurrent claims of it queue behind this transaction.
pub async fn take_unit(tx: &mut Tx, coupon_id: &str, now: i64) -> ServiceResult<bool> {
    let took = sqlx::query(
        "UPDATE coupons SET claimed = claimed + 1 WHERE id = $1 AND claimed < total_quantity \
         AND valid_from_ms <= $2 AND valid_until_ms > $2",
    )
    .bind(coupon_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(took.rows_affected() == 1)
}

/// How many times the user has claimed the coupon.
pub async fn claims_of(tx: &mut Tx, coupon_id: &str, user_id: &str) -> ServiceResult<i64> {
    let (mine,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM claimed_coupons WHERE coupon_id = $1 AND user_id = $2",
    )
    .bind(coupon_id)
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(mine)
}

pub async fn insert_claim(
    tx: &mut Tx,
    id: &str,
    coupon_id: &str,
    user_id: &str,
    now: i64,
) -> ServiceResult<()> {
    sqlx::query(
        "INSERT INTO claimed_coupons (id, coupon_id, user_id, status, claimed_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(coupon_id)
    .bind(user_id)
    .bind(AVAILABLE)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The user's claims, newest first (at most 200).
pub async fn claims_by(db: &Db, user_id: &str) -> ServiceResult<Vec<ClaimedRow>> {
    Ok(sqlx::query_as::<_, ClaimedRow>(
        "SELECT id, coupon_id, status, order_id, claimed_at_ms FROM claimed_coupons WHERE user_id = $1 \
         ORDER BY claimed_at_ms DESC, id DESC LIMIT 200",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?)
}

/// One of the user's claims as (coupon id, status); another user's claim is not found.
pub async fn claim_of(
    conn: &mut AnyConnection,
    user_id: &str,
    claimed_id: &str,
) -> ServiceResult<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT coupon_id, status FROM claimed_coupons WHERE id = $1 AND user_id = $2",
    )
    .bind(claimed_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

/// Marks the user's claimed coupon used by `order_id`, once: false when it was used (or not available) already.
pub async fn use_for_order(
    tx: &mut Tx,
    user_id: &str,
    claimed_id: &str,
    order_id: &str,
    now: i64,
) -> ServiceResult<bool> {
    let taken = sqlx::query(
        "UPDATE claimed_coupons SET status = $4, order_id = $3, used_at_ms = $5 \
         WHERE id = $1 AND user_id = $2 AND status = $6",
    )
    .bind(claimed_id)
    .bind(user_id)
    .bind(order_id)
    .bind(USED)
    .bind(now)
    .bind(AVAILABLE)
    .execute(&mut **tx)
    .await?;
    if taken.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE coupons SET used = used + 1 WHERE id = (SELECT coupon_id FROM claimed_coupons WHERE id = $1)",
    )
    .bind(claimed_id)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Gives back the coupon `order_id` used, if any; a second call finds nothing to give back.
pub async fn give_back(tx: &mut Tx, order_id: &str) -> ServiceResult<()> {
    let used: Option<(String, String)> = sqlx::query_as(
        "SELECT id, coupon_id FROM claimed_coupons WHERE order_id = $1 AND status = $2",
    )
    .bind(order_id)
    .bind(USED)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((claimed_id, coupon_id)) = used else {
        return Ok(());
    };
    let freed = sqlx::query(
        "UPDATE claimed_coupons SET status = $2, order_id = NULL, used_at_ms = NULL WHERE id = $1 AND status = $3",
    )
    .bind(&claimed_id)
    .bind(AVAILABLE)
    .bind(USED)
    .execute(&mut **tx)
    .await?;
    if freed.rows_affected() == 1 {
        sqlx::query("UPDATE coupons SET used = used - 1 WHERE id = $1")
            .bind(&coupon_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
