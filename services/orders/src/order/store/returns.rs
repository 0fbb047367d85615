//! The SQL of returns: requests with their lines, the seller's decision, and what an accepted return marks on the
//! order's lines. A seller finds a return only through an order of theirs.

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};
use tokshop_platform::ServiceResult;

use crate::{
    Tx,
    order::rules::{FAILED, REQUESTED, RESERVING},
};

#[derive(Debug, Clone, FromRow)]
pub struct ReturnRow {
    pub id: String,
    pub order_id: String,
    pub status: String,
    pub amount: i64,
    pub reason: String,
    pub refund_id: String,
    pub created_at_ms: i64,
    pub decided_at_ms: i64,
}

/// Units of one order line in a return, and what they refund.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ReturnLine {
    pub variant_id: String,
    pub quantity: i64,
    pub amount: i64,
}

#[derive(Debug, Clone)]
pub struct ReturnRecord {
    pub row: ReturnRow,
    pub lines: Vec<ReturnLine>,
}

const RETURN_COLUMNS: &str =
    "id, order_id, status, amount, reason, refund_id, created_at_ms, decided_at_ms";

async fn return_lines(conn: &mut AnyConnection, return_id: &str) -> ServiceResult<Vec<ReturnLine>> {
    Ok(sqlx::query_as::<_, ReturnLine>(
        "SELECT variant_id, quantity, amount FROM order_return_lines WHERE return_id = $1 ORDER BY variant_id",
    )
    .bind(return_id)
    .fetch_all(conn)
    .await?)
}

/// The units of each line of the order asked for in returns still undecided.
pub async fn pending_return_units(
    conn: &mut AnyConnection,
    order_id: &str,
) -> ServiceResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT l.variant_id, CAST(SUM(l.quantity) AS BIGINT) FROM order_return_lines l \
         JOIN order_returns r ON r.id = l.return_id WHERE r.order_id = $1 AND r.status = $2 \
         GROUP BY l.variant_id",
    )
    .bind(order_id)
    .bind(REQUESTED)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Writes a requested return of `lines` with its total.
pub async fn insert_return(
    tx: &mut Tx,
    id: &str,
    order_id: &str,
    reason: &str,
    lines: &[ReturnLine],
    now: i64,
) -> ServiceResult<()> {
    let total: i64 = lines.iter().map(|l| l.amount).sum();
    sqlx::query(
        "INSERT INTO order_returns (id, order_id, status, amount, reason, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(order_id)
    .bind(REQUESTED)
    .bind(total)
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for line in lines {
        sqlx::query(
            "INSERT INTO order_return_lines (return_id, variant_id, quantity, amount) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&line.variant_id)
        .bind(line.quantity)
        .bind(line.amount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn load_return(
    conn: &mut AnyConnection,
    id: &str,
) -> ServiceResult<Option<ReturnRecord>> {
    let sql = const_format::concatcp!(
        "SELECT ",
        RETURN_COLUMNS,
        " FROM order_returns WHERE id = $1"
    );
    let row = sqlx::query_as::<_, ReturnRow>(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let lines = return_lines(conn, &row.id).await?;
    Ok(Some(ReturnRecord { row, lines }))
}

/// The return if it is of an order of `seller_id`'s; another seller's return is simply not found.
pub async fn return_for_seller(
    conn: &mut AnyConnection,
    id: &str,
    seller_id: &str,
) -> ServiceResult<Option<ReturnRecord>> {
    let row = sqlx::query_as::<_, ReturnRow>(
        "SELECT r.id, r.order_id, r.status, r.amount, r.reason, r.refund_id, r.created_at_ms, r.decided_at_ms \
         FROM order_returns r JOIN orders o ON o.id = r.order_id \
         WHERE r.id = $1 AND o.seller_id = $2 AND o.status NOT IN ($3, $4)",
    )
    .bind(id)
    .bind(seller_id)
    .bind(RESERVING)
    .bind(FAILED)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let lines = return_lines(conn, &row.id).await?;
    Ok(Some(ReturnRecord { row, lines }))
}

/// The order's returns, oldest first.
pub async fn returns_of(
    conn: &mut AnyConnection,
    order_id: &str,
) -> ServiceResult<Vec<ReturnRecord>> {
    let sql = const_format::concatcp!(
        "SELECT ",
        RETURN_COLUMNS,
        " FROM order_returns WHERE order_id = $1 ORDER BY created_at_ms, id"
    );
    let rows = sqlx::query_as::<_, ReturnRow>(sql)
        .bind(order_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let lines = return_lines(conn, &row.id).await?;
        out.push(ReturnRecord { row, lines });
    }
    Ok(out)
}

/// Decides a requested return as `status`; false when it was decided already.
pub async fn decide_return(tx: &mut Tx, id: &str, status: &str, now: i64) -> ServiceResult<bool> {
    let decided = sqlx::query(
        "UPDATE order_returns SET status = $2, decided_at_ms = $3 WHERE id = $1 AND status = $4",
    )
    .bind(id)
    .bind(status)
    .bind(now)
    .bind(REQUESTED)
    .execute(&mut **tx)
    .await?;
    Ok(decided.rows_affected() == 1)
}

/// Counts an accepted return's units and amounts as returned and refunded on the order's lines.
pub async fn mark_returned(tx: &mut Tx, order_id: &str, lines: &[ReturnLine]) -> ServiceResult<()> {
    for line in lines {
        sqlx::query(
            "UPDATE order_lines SET returned_quantity = returned_quantity + $3, refunded = refunded + $4 \
             WHERE order_id = $1 AND variant_id = $2",
        )
        .bind(order_id)
        .bind(&line.variant_id)
        .bind(line.quantity)
        .bind(line.amount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn set_return_refund(tx: &mut Tx, id: &str, refund_id: &str) -> ServiceResult<()> {
    sqlx::query("UPDATE order_returns SET refund_id = $2 WHERE id = $1")
        .bind(id)
        .bind(refund_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
