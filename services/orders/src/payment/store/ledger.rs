//! The SQL of the double-entry ledger: writing a transaction's entries, and reading what the ledger check compares
//! (it only reads).

use sqlx::FromRow;
use tokshop_platform::{ServiceResult, db::Db, ids::new_id, time::now_ms};

use crate::Tx;

/// Writes one ledger transaction with its entries (account, signed amount); the caller has checked they balance.
pub async fn insert_ledger(
    tx: &mut Tx,
    kind: &str,
    reference_id: &str,
    currency: &str,
    entries: &[(String, i64)],
) -> ServiceResult<()> {
    let id = new_id("ltx");
    sqlx::query(
        "INSERT INTO ledger_transactions (id, kind, reference_id, created_at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(kind)
    .bind(reference_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    for (account, amount) in entries {
        sqlx::query(
            "INSERT INTO ledger_entries (transaction_id, account, currency, amount) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(account)
        .bind(currency)
        .bind(amount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One order's money as the ledger check sees it.
#[derive(Debug, Clone, FromRow)]
pub struct OrderMoney {
    pub id: String,
    pub status: String,
    pub total: i64,
    pub refunded: i64,
    pub paid_at_ms: i64,
    /// Its succeeded payments, refunds and accepted returns.
    pub paid: i64,
    pub refunds: i64,
    pub returns: i64,
}

/// Everything the ledger check compares, read in one go.
#[derive(Debug, Clone, Default)]
pub struct LedgerFacts {
    /// Ledger transactions whose entries do not sum to zero: (transaction, currency, sum).
    pub unbalanced: Vec<(String, String, i64)>,
    /// Ledger transactions with fewer than two entries.
    pub thin: Vec<String>,
    /// Each wallet: (user, currency, stored balance, what its ledger account says).
    pub wallets: Vec<(String, String, i64, i64)>,
    /// Every visible order.
    pub orders: Vec<OrderMoney>,
    /// Each merchant account: (account, currency, booked, what its paid orders kept).
    pub merchants: Vec<(String, String, i64, i64)>,
    pub transactions: i64,
    pub entries: i64,
}

/// Reads what the ledger check needs; it only reads.
pub async fn ledger_facts(db: &Db) -> ServiceResult<LedgerFacts> {
    let pool = db.pool();
    let unbalanced = sqlx::query_as(
        "SELECT transaction_id, currency, CAST(SUM(amount) AS BIGINT) FROM ledger_entries GROUP BY transaction_id, currency \
         HAVING SUM(amount) <> 0",
    )
    .fetch_all(pool)
    .await?;
    let thin: Vec<(String,)> = sqlx::query_as(
        "SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id \
         GROUP BY t.id HAVING COUNT(e.account) < 2",
    )
    .fetch_all(pool)
    .await?;
    let wallets = sqlx::query_as(
        "SELECT w.user_id, w.currency, w.balance, CAST(COALESCE((SELECT SUM(e.amount) FROM ledger_entries e \
         WHERE e.account = 'wallet:' || w.user_id AND e.currency = w.currency), 0) AS BIGINT) FROM wallets w",
    )
    .fetch_all(pool)
    .await?;
    let orders = sqlx::query_as(
        "SELECT o.id, o.status, o.total, o.refunded, o.paid_at_ms, \
         CAST(COALESCE((SELECT SUM(p.amount) FROM payments p WHERE p.order_id = o.id AND p.purpose = 'order' \
           AND p.status = 'succeeded'), 0) AS BIGINT) AS paid, \
         CAST(COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.order_id = o.id), 0) AS BIGINT) AS refunds, \
         CAST(COALESCE((SELECT SUM(x.amount) FROM order_returns x WHERE x.order_id = o.id \
           AND x.status = 'accepted'), 0) AS BIGINT) AS returns \
         FROM orders o WHERE o.status NOT IN ('reserving', 'failed')",
    )
    .fetch_all(pool)
    .await?;
    let merchants = sqlx::query_as(
        "SELECT a.account, a.currency, a.booked, CAST(COALESCE((SELECT SUM(o.total - o.refunded) FROM orders o \
         WHERE 'merchant:' || o.seller_id = a.account AND o.currency = a.currency AND o.paid_at_ms > 0), 0) \
         AS BIGINT) FROM (SELECT account, currency, CAST(SUM(amount) AS BIGINT) AS booked FROM ledger_entries \
               WHERE account LIKE 'merchant:%' GROUP BY account, currency) a",
    )
    .fetch_all(pool)
    .await?;
    let (transactions,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ledger_transactions")
        .fetch_one(pool)
        .await?;
    let (entries,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ledger_entries")
        .fetch_one(pool)
        .await?;
    Ok(LedgerFacts {
        unbalanced,
        thin: thin.into_iter().map(|(id,)| id).collect(),
        wallets,
        orders,
        merchants,
        transactions,
        entries,
    })
}
