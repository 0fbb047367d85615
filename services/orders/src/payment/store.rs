//! All SQL of payments: payment attempts, saved cards, wallets, the sandbox provider's card vault and refunds.
//! The ledger's statements, and the read-only queries behind the ledger check, are in `store/ledger.rs`. Each
//! write takes the caller's transaction, so a payment and the order it pays commit together.

mod ledger;

use sqlx::{AnyConnection, FromRow};
use tokshop_platform::{ServiceResult, db::Db, error::is_unique_violation, events, time::now_ms};

use super::rules::{PROCESSING, PURPOSE_ORDER, PURPOSE_TOP_UP, SUCCEEDED};
use crate::Tx;

pub use ledger::*;

#[derive(Debug, Clone, FromRow)]
pub struct PaymentRow {
    pub id: String,
    pub user_id: String,
    pub fingerprint: String,
    pub purpose: String,
    pub order_id: String,
    pub method_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub failure_code: String,
    pub failure_message: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct MethodRow {
    pub id: String,
    pub user_id: String,
    pub provider_token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub removed: i64,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct RefundRow {
    pub id: String,
    pub order_id: String,
    pub payment_id: String,
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    pub status: String,
    pub created_at_ms: i64,
}

/// A payment attempt about to be opened (status `processing`).
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub request_id: &'a str,
    pub fingerprint: &'a str,
    pub purpose: &'a str,
    pub order_id: &'a str,
    pub method_id: &'a str,
    pub amount: i64,
    pub currency: &'a str,
}

const PAYMENT_COLUMNS: &str = "id, user_id, fingerprint, purpose, order_id, method_id, amount, \
     currency, status, failure_code, failure_message, created_at_ms";
const METHOD_COLUMNS: &str =
    "id, user_id, provider_token, brand, last4, exp_month, exp_year, removed, created_at_ms";
const REFUND_COLUMNS: &str =
    "id, order_id, payment_id, amount, currency, reason, status, created_at_ms";

/// One of the user's saved cards (removed ones included); another user's card is not found.
pub async fn method(
    conn: &mut AnyConnection,
    user_id: &str,
    id: &str,
) -> ServiceResult<Option<MethodRow>> {
    let sql = const_format::concatcp!(
        "SELECT ",
        METHOD_COLUMNS,
        " FROM payment_methods WHERE id = $1 AND user_id = $2"
    );
    Ok(sqlx::query_as::<_, MethodRow>(sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?)
}

/// The user's saved cards that are not removed, oldest first.
pub async fn methods(db: &Db, user_id: &str) -> ServiceResult<Vec<MethodRow>> {
    let sql = const_format::concatcp!(
        "SELECT ",
        METHOD_COLUMNS,
        " FROM payment_methods WHERE user_id = $1 AND removed = 0 ORDER BY created_at_ms, id"
    );
    Ok(sqlx::query_as::<_, MethodRow>(sql)
        .bind(user_id)
        .fetch_all(db.pool())
        .await?)
}

pub async fn count_methods(db: &Db, user_id: &str) -> ServiceResult<i64> {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM payment_methods WHERE user_id = $1 AND removed = 0")
            .bind(user_id)
            .fetch_one(db.pool())
            .await?;
    Ok(count)
}

pub async fn insert_method(tx: &mut Tx, row: &MethodRow) -> ServiceResult<()> {
    sqlx::query(
        "INSERT INTO payment_methods (id, user_id, provider_token, brand, last4, exp_month, exp_year, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&row.id)
    .bind(&row.user_id)
    .bind(&row.provider_token)
    .bind(&row.brand)
    .bind(&row.last4)
    .bind(row.exp_month)
    .bind(row.exp_year)
    .bind(row.created_at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes one of the user's cards; false when they have no such card (or it was removed already).
pub async fn remove_method(db: &Db, user_id: &str, id: &str) -> ServiceResult<bool> {
    let done = sqlx::query(
        "UPDATE payment_methods SET removed = 1 WHERE id = $1 AND user_id = $2 AND removed = 0",
    )
    .bind(id)
    .bind(user_id)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn payment_by_request(
    conn: &mut AnyConnection,
    user_id: &str,
    request_id: &str,
) -> ServiceResult<Option<PaymentRow>> {
    let sql = const_format::concatcp!(
        "SELECT ",
        PAYMENT_COLUMNS,
        " FROM payments WHERE user_id = $1 AND request_id = $2"
    );
    Ok(sqlx::query_as::<_, PaymentRow>(sql)
        .bind(user_id)
        .bind(request_id)
        .fetch_optional(conn)
        .await?)
}

/// Opens a payment attempt as `processing`. False when the user's request id is taken (by a concurrent attempt
/// that committed first); the transaction is then unusable on PostgreSQL and must be dropped.
pub async fn insert_payment(tx: &mut Tx, payment: &NewPayment<'_>) -> ServiceResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO payments (id, user_id, request_id, fingerprint, purpose, order_id, method_id, amount, \
         currency, status, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(payment.id)
    .bind(payment.user_id)
    .bind(payment.request_id)
    .bind(payment.fingerprint)
    .bind(payment.purpose)
    .bind(payment.order_id)
    .bind(payment.method_id)
    .bind(payment.amount)
    .bind(payment.currency)
    .bind(PROCESSING)
    .bind(now_ms())
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(err) if is_unique_violation(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Settles a payment attempt with its final status and failure (empty on success), records
/// `payment.succeeded` or `payment.failed`, and returns the row.
pub async fn settle(
    tx: &mut Tx,
    id: &str,
    status: &str,
    failure_code: &str,
    failure_message: &str,
) -> ServiceResult<PaymentRow> {
    sqlx::query(
        "UPDATE payments SET status = $2, failure_code = $3, failure_message = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(failure_code)
    .bind(failure_message)
    .execute(&mut **tx)
    .await?;
    let sql = const_format::concatcp!("SELECT ", PAYMENT_COLUMNS, " FROM payments WHERE id = $1");
    let row = sqlx::query_as::<_, PaymentRow>(sql)
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let topic = if row.status == SUCCEEDED {
        "payment.succeeded"
    } else {
        "payment.failed"
    };
    events::record(
        tx,
        topic,
        id,
        &serde_json::json!({
            "payment_id": row.id, "user_id": row.user_id, "order_id": row.order_id, "purpose": row.purpose,
            "amount": row.amount, "currency": row.currency, "failure_code": row.failure_code,
        }),
    )
    .await?;
    Ok(row)
}

/// What the user topped up in `currency` since `since_ms`, counting succeeded top-ups only.
pub async fn topped_up_since(
    tx: &mut Tx,
    user_id: &str,
    currency: &str,
    since_ms: i64,
) -> ServiceResult<i64> {
    let (recent,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE user_id = $1 AND purpose = $2 \
         AND currency = $3 AND status = $4 AND created_at_ms > $5",
    )
    .bind(user_id)
    .bind(PURPOSE_TOP_UP)
    .bind(currency)
    .bind(SUCCEEDED)
    .bind(since_ms)
    .fetch_one(&mut **tx)
    .await?;
    Ok(recent)
}

/// The payment that paid the order, if it was paid.
pub async fn order_payment(tx: &mut Tx, order_id: &str) -> ServiceResult<Option<PaymentRow>> {
    let sql = const_format::concatcp!(
        "SELECT ",
        PAYMENT_COLUMNS,
        " FROM payments WHERE order_id = $1 AND purpose = $2 AND status = $3"
    );
    Ok(sqlx::query_as::<_, PaymentRow>(sql)
        .bind(order_id)
        .bind(PURPOSE_ORDER)
        .bind(SUCCEEDED)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Writes a refund and records `refund.succeeded` for it; `user_id` is whom the money goes back to.
pub async fn insert_refund(tx: &mut Tx, refund: &RefundRow, user_id: &str) -> ServiceResult<()> {
    sqlx::query(
        "INSERT INTO refunds (id, order_id, payment_id, amount, currency, reason, status, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&refund.id)
    .bind(&refund.order_id)
    .bind(&refund.payment_id)
    .bind(refund.amount)
    .bind(&refund.currency)
    .bind(&refund.reason)
    .bind(&refund.status)
    .bind(refund.created_at_ms)
    .execute(&mut **tx)
    .await?;
    events::record(
        tx,
        "refund.succeeded",
        &refund.id,
        &serde_json::json!({
            "refund_id": refund.id, "order_id": refund.order_id, "payment_id": refund.payment_id,
            "amount": refund.amount, "currency": refund.currency, "reason": refund.reason, "user_id": user_id,
        }),
    )
    .await?;
    Ok(())
}

/// The order's payment attempts and refunds, oldest first.
pub async fn order_payments(
    conn: &mut AnyConnection,
    order_id: &str,
) -> ServiceResult<(Vec<PaymentRow>, Vec<RefundRow>)> {
    let sql = const_format::concatcp!(
        "SELECT ",
        PAYMENT_COLUMNS,
        " FROM payments WHERE order_id = $1 ORDER BY created_at_ms, id"
    );
    let payments = sqlx::query_as::<_, PaymentRow>(sql)
        .bind(order_id)
        .fetch_all(&mut *conn)
        .await?;
    let sql = const_format::concatcp!(
        "SELECT ",
        REFUND_COLUMNS,
        " FROM refunds WHERE order_id = $1 ORDER BY created_at_ms, id"
    );
    let refunds = sqlx::query_as::<_, RefundRow>(sql)
        .bind(order_id)
        .fetch_all(conn)
        .await?;
    Ok((payments, refunds))
}

/// The user's wallet balances, by currency.
pub async fn wallet(db: &Db, user_id: &str) -> ServiceResult<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as(
            "SELECT currency, balance FROM wallets WHERE user_id = $1 ORDER BY currency",
        )
        .bind(user_id)
        .fetch_all(db.pool())
        .await?,
    )
}

pub async fn credit_wallet(
    tx: &mut Tx,
    user_id: &str,
    currency: &str,
    amount: i64,
) -> ServiceResult<()> {
    sqlx::query(
        "INSERT INTO wallets (user_id, currency, balance) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, currency) DO UPDATE SET balance = wallets.balance + excluded.balance",
    )
    .bind(user_id)
    .bind(currency)
    .bind(amount)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes `amount` from the wallet if it holds that much; false (and nothing taken) when it does not.
pub async fn debit_wallet(
    tx: &mut Tx,
    user_id: &str,
    currency: &str,
    amount: i64,
) -> ServiceResult<bool> {
    let taken = sqlx::query(
        "UPDATE wallets SET balance = balance - $3 WHERE user_id = $1 AND currency = $2 AND balance >= $3",
    )
    .bind(user_id)
    .bind(currency)
    .bind(amount)
    .execute(&mut **tx)
    .await?;
    Ok(taken.rows_affected() == 1)
}

pub async fn wallet_balance(tx: &mut Tx, user_id: &str, currency: &str) -> ServiceResult<i64> {
    let balance: Option<(i64,)> =
        sqlx::query_as("SELECT balance FROM wallets WHERE user_id = $1 AND currency = $2")
            .bind(user_id)
            .bind(currency)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(balance.map_or(0, |(b,)| b))
}

/// The sandbox provider's vault: what charging `token` does.
pub async fn insert_sandbox_card(tx: &mut Tx, token: &str, outcome: &str) -> ServiceResult<()> {
    sqlx::query("INSERT INTO sandbox_cards (token, outcome) VALUES ($1, $2)")
        .bind(token)
        .bind(outcome)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn sandbox_outcome(tx: &mut Tx, token: &str) -> ServiceResult<Option<String>> {
    let outcome: Option<(String,)> =
        sqlx::query_as("SELECT outcome FROM sandbox_cards WHERE token = $1")
            .bind(token)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(outcome.map(|(o,)| o))
}
