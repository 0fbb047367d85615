//! Paying orders and topping up wallets, refunds, and the double-entry ledger. A payment row, the provider's
//! charge, the order's move to `paid`, the ledger entries and the outbox events commit in one transaction.
//! Payments are idempotent by the caller's request id: the unique `(user_id, request_id)` key makes a
//! concurrent retry wait for the first attempt and then return its result.

use sqlx::{AnyConnection, FromRow};
use tokshop_platform::{
    ServiceError, ServiceResult, check_len,
    db::Db,
    error::is_unique_violation,
    events,
    ids::new_id,
    limits::{MAX_ID, payments::*},
    sha256_hex,
    time::now_ms,
};
use tokshop_proto::payment as pb;

use crate::{
    orders::{self, OrderRow, PAID, PENDING_PAYMENT, Tx},
    providers::{CARD_CLEARING, Decline, Movement, PaymentProvider, SandboxCards, WALLET, Wallet},
};

pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
const PROCESSING: &str = "processing";
pub const PURPOSE_ORDER: &str = "order";
pub const PURPOSE_TOP_UP: &str = "top_up";

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

const PAYMENT_COLUMNS: &str = "id, user_id, fingerprint, purpose, order_id, method_id, amount, \
     currency, status, failure_code, failure_message, created_at_ms";
const METHOD_COLUMNS: &str =
    "id, user_id, provider_token, brand, last4, exp_month, exp_year, removed, created_at_ms";
const REFUND_COLUMNS: &str =
    "id, order_id, payment_id, amount, currency, reason, status, created_at_ms";

pub fn payment_message(row: &PaymentRow) -> pb::Payment {
    pb::Payment {
        id: row.id.clone(),
        order_id: row.order_id.clone(),
        payment_method_id: row.method_id.clone(),
        purpose: row.purpose.clone(),
        amount: orders::money(row.amount, &row.currency),
        status: row.status.clone(),
        failure_code: row.failure_code.clone(),
        failure_message: row.failure_message.clone(),
        created_at_ms: row.created_at_ms,
    }
}

pub fn refund_message(row: &RefundRow) -> pb::Refund {
    pb::Refund {
        id: row.id.clone(),
        order_id: row.order_id.clone(),
        payment_id: row.payment_id.clone(),
        amount: orders::money(row.amount, &row.currency),
        reason: row.reason.clone(),
        status: row.status.clone(),
        created_at_ms: row.created_at_ms,
    }
}

pub fn method_message(row: &MethodRow) -> pb::PaymentMethod {
    pb::PaymentMethod {
        id: row.id.clone(),
        kind: "card".into(),
        brand: row.brand.clone(),
        last4: row.last4.clone(),
        exp_month: row.exp_month as i32,
        exp_year: row.exp_year as i32,
        created_at_ms: row.created_at_ms,
    }
}

/// Writes one balanced ledger transaction: `entries` are (account, signed amount) and must sum to zero.
pub async fn post(
    tx: &mut Tx,
    kind: &str,
    reference_id: &str,
    currency: &str,
    entries: &[(String, i64)],
) -> ServiceResult<()> {
    let sum: i64 = entries.iter().map(|(_, a)| a).sum();
    if sum != 0 || entries.len() < 2 {
        return Err(ServiceError::Internal(anyhow::anyhow!(
            "unbalanced ledger transaction {kind} {reference_id}"
        )));
    }
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

fn merchant_account(seller_id: &str) -> String {
    format!("merchant:{seller_id}")
}

/// The providers tokshop knows, chosen by payment method id. The sandbox card provider exists only in a demo
/// shop: it accepts made-up cards, so anywhere else it would mint money.
pub struct Providers {
    pub wallet: Wallet,
    pub cards: Option<SandboxCards>,
}

impl Providers {
    pub fn new(sandbox_cards: bool) -> Self {
        Self {
            wallet: Wallet,
            cards: sandbox_cards.then_some(SandboxCards),
        }
    }

    /// The card provider, or the refusal a shop without one gives.
    pub fn cards(&self) -> ServiceResult<&SandboxCards> {
        self.cards.as_ref().ok_or_else(|| {
            ServiceError::conflict_on(
                "card_payments_unavailable",
                "payment_method_id",
                "this shop takes no card payments: no card provider is configured (the sandbox provider runs only \
                 in demo mode)",
            )
        })
    }

    fn for_method(&self, method_id: &str) -> ServiceResult<&dyn PaymentProvider> {
        if method_id == WALLET {
            Ok(&self.wallet)
        } else {
            Ok(self.cards()?)
        }
    }
}

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

/// The provider token behind a usable method of the user: empty for the wallet.
async fn usable_token(tx: &mut Tx, user_id: &str, method_id: &str) -> ServiceResult<String> {
    if method_id == WALLET {
        return Ok(String::new());
    }
    match method(tx, user_id, method_id).await? {
        Some(m) if m.removed == 0 => Ok(m.provider_token),
        _ => Err(ServiceError::not_found("payment method")),
    }
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

/// The earlier attempt under the same request id, if it asked for the same thing.
fn replay(existing: PaymentRow, fingerprint: &str) -> ServiceResult<PaymentRow> {
    if existing.fingerprint == fingerprint {
        Ok(existing)
    } else {
        Err(ServiceError::conflict_on(
            "idempotency_conflict",
            "request_id",
            "this request id was already used for a different payment",
        ))
    }
}

pub fn check_request_id(request_id: &str) -> ServiceResult<&str> {
    let id = request_id.trim();
    check_len("request_id", id, 1, 255)?;
    Ok(id)
}

/// What one payment attempt asks for, before it runs.
struct Attempt<'a> {
    user_id: &'a str,
    request_id: &'a str,
    fingerprint: String,
    purpose: &'static str,
    order_id: &'a str,
    method_id: &'a str,
}

/// Inserts the attempt's payment row, or finds the earlier one under its request id. `Ok(Err(row))` is a
/// replay: the caller returns that row and does nothing else.
async fn open(
    db: &Db,
    attempt: &Attempt<'_>,
    amount_currency: (i64, &str),
) -> ServiceResult<Result<(Tx, String), PaymentRow>> {
    for _ in 0..2 {
        let mut tx = db.begin_write().await?;
        if let Some(existing) =
            payment_by_request(&mut tx, attempt.user_id, attempt.request_id).await?
        {
            return replay(existing, &attempt.fingerprint).map(Err);
        }
        let id = new_id("pay");
        let inserted = sqlx::query(
            "INSERT INTO payments (id, user_id, request_id, fingerprint, purpose, order_id, method_id, amount, \
             currency, status, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(attempt.user_id)
        .bind(attempt.request_id)
        .bind(&attempt.fingerprint)
        .bind(attempt.purpose)
        .bind(attempt.order_id)
        .bind(attempt.method_id)
        .bind(amount_currency.0)
        .bind(amount_currency.1)
        .bind(PROCESSING)
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => return Ok(Ok((tx, id))),
            // A concurrent attempt with the same request id committed first: look again and replay it.
            Err(err) if is_unique_violation(&err) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(ServiceError::conflict_on(
        "idempotency_in_flight",
        "request_id",
        "a payment with this request id is still running",
    ))
}

/// Settles the attempt's row as succeeded or failed and returns it.
async fn settle(tx: &mut Tx, id: &str, outcome: &Result<(), Decline>) -> ServiceResult<PaymentRow> {
    let (status, code, message) = match outcome {
        Ok(()) => (SUCCEEDED, "", ""),
        Err(d) => (FAILED, d.code, d.message.as_str()),
    };
    sqlx::query(
        "UPDATE payments SET status = $2, failure_code = $3, failure_message = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(code)
    .bind(message)
    .execute(&mut **tx)
    .await?;
    let sql = const_format::concatcp!("SELECT ", PAYMENT_COLUMNS, " FROM payments WHERE id = $1");
    let row = sqlx::query_as::<_, PaymentRow>(sql)
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let topic = if outcome.is_ok() {
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

/// Pays one of the buyer's pending orders with a method of theirs.
pub async fn pay_order(
    db: &Db,
    providers: &Providers,
    user_id: &str,
    req: &pb::PayOrderRequest,
) -> ServiceResult<PaymentRow> {
    let request_id = check_request_id(&req.request_id)?;
    let order_id = req.order_id.trim();
    let method_id = req.payment_method_id.trim();
    check_len("payment_method_id", method_id, 0, MAX_ID)?;
    let attempt = Attempt {
        user_id,
        request_id,
        fingerprint: sha256_hex(&[b"pay\0", order_id.as_bytes(), b"\0", method_id.as_bytes()]),
        purpose: PURPOSE_ORDER,
        order_id,
        method_id,
    };
    // Checks that need no lock come first, so a bad request leaves no payment row behind.
    let order = {
        let mut conn = db.pool().acquire().await?;
        if let Some(existing) = payment_by_request(&mut conn, user_id, request_id).await? {
            return replay(existing, &attempt.fingerprint);
        }
        orders::load_for(&mut conn, order_id, orders::Viewer::Buyer(user_id))
            .await?
            .order
    };
    let (mut tx, payment_id) = match open(db, &attempt, (order.total, &order.currency)).await? {
        Ok(opened) => opened,
        Err(replayed) => return Ok(replayed),
    };
    let token = usable_token(&mut tx, user_id, method_id).await?;
    // The conditional move to `paid` locks the order: a concurrent payer with another request id waits here and
    // then finds it paid. It also refuses an order past its expiry that the sweeper has not reached yet.
    let now = now_ms();
    let claimed = sqlx::query(
        "UPDATE orders SET status = $2, paid_at_ms = $3, updated_at_ms = $3, payment_id = $4 \
         WHERE id = $1 AND status = $5 AND expires_at_ms > $3",
    )
    .bind(order_id)
    .bind(PAID)
    .bind(now)
    .bind(&payment_id)
    .bind(PENDING_PAYMENT)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        let current = orders::load(&mut tx, order_id)
            .await?
            .ok_or(ServiceError::not_found("order"))?
            .order;
        return Err(if current.status == PENDING_PAYMENT {
            ServiceError::conflict_on("order_expired", "order_id", "this order expired unpaid")
        } else {
            orders::wrong_state(&current, "paid")
        });
    }
    let provider = providers.for_method(method_id)?;
    let movement = Movement {
        user_id,
        token: &token,
        amount: order.total,
        currency: &order.currency,
    };
    let outcome = provider.charge(&mut tx, &movement).await?;
    match &outcome {
        Ok(()) => {
            post(
                &mut tx,
                "order_payment",
                &payment_id,
                &order.currency,
                &[
                    (provider.account(&movement), -order.total),
                    (merchant_account(&order.seller_id), order.total),
                ],
            )
            .await?;
            orders::record_event(&mut tx, "paid", order_id, "").await?;
        }
        Err(_) => {
            // Declined: the order goes back to waiting for payment, in the same transaction.
            sqlx::query(
                "UPDATE orders SET status = $2, paid_at_ms = 0, payment_id = '', updated_at_ms = $3 WHERE id = $1",
            )
            .bind(order_id)
            .bind(PENDING_PAYMENT)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    let row = settle(&mut tx, &payment_id, &outcome).await?;
    tx.commit().await?;
    Ok(row)
}

/// Charges a saved card and credits the wallet by the same amount.
pub async fn top_up(
    db: &Db,
    providers: &Providers,
    daily_limit: i64,
    user_id: &str,
    req: &pb::TopUpWalletRequest,
) -> ServiceResult<PaymentRow> {
    let request_id = check_request_id(&req.request_id)?;
    let method_id = req.payment_method_id.trim();
    check_len("payment_method_id", method_id, 0, MAX_ID)?;
    let amount = req.amount.clone().unwrap_or_default();
    let currency = amount.currency.trim().to_ascii_uppercase();
    tokshop_platform::money::validate_currency(&currency, "amount.currency")?;
    if !(1..=MAX_TOP_UP).contains(&amount.amount_minor) {
        return Err(ServiceError::invalid(
            "amount.amount_minor",
            format!("a top-up is 1 to {MAX_TOP_UP} minor units"),
        ));
    }
    if method_id == WALLET {
        return Err(ServiceError::invalid(
            "payment_method_id",
            "top up from a card, not the wallet",
        ));
    }
    let attempt = Attempt {
        user_id,
        request_id,
        fingerprint: sha256_hex(&[
            b"top_up\0",
            method_id.as_bytes(),
            b"\0",
            amount.amount_minor.to_string().as_bytes(),
            currency.as_bytes(),
        ]),
        purpose: PURPOSE_TOP_UP,
        order_id: "",
        method_id,
    };
    {
        let mut conn = db.pool().acquire().await?;
        match method(&mut conn, user_id, method_id).await? {
            Some(m) if m.removed == 0 => {}
            _ => return Err(ServiceError::not_found("payment method")),
        }
    }
    let (mut tx, payment_id) = match open(db, &attempt, (amount.amount_minor, &currency)).await? {
        Ok(opened) => opened,
        Err(replayed) => return Ok(replayed),
    };
    // Counted inside the writing transaction: on SQLite it holds the write lock, so concurrent top-ups queue here.
    let (recent,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE user_id = $1 AND purpose = $2 \
         AND currency = $3 AND status = 'succeeded' AND created_at_ms > $4",
    )
    .bind(user_id)
    .bind(PURPOSE_TOP_UP)
    .bind(&currency)
    .bind(now_ms() - 24 * 60 * 60 * 1000)
    .fetch_one(&mut *tx)
    .await?;
    if recent + amount.amount_minor > daily_limit {
        return Err(ServiceError::conflict_on(
            "top_up_limit",
            "amount.amount_minor",
            format!(
                "a wallet takes at most {} in 24 hours; {} was added already",
                tokshop_platform::money::format(daily_limit, &currency),
                tokshop_platform::money::format(recent, &currency)
            ),
        ));
    }
    let token = usable_token(&mut tx, user_id, method_id).await?;
    let movement = Movement {
        user_id,
        token: &token,
        amount: amount.amount_minor,
        currency: &currency,
    };
    let outcome = providers.cards()?.charge(&mut tx, &movement).await?;
    if outcome.is_ok() {
        crate::providers::credit_wallet(&mut tx, user_id, &currency, amount.amount_minor).await?;
        post(
            &mut tx,
            "wallet_top_up",
            &payment_id,
            &currency,
            &[
                (CARD_CLEARING.to_owned(), -amount.amount_minor),
                (format!("wallet:{user_id}"), amount.amount_minor),
            ],
        )
        .await?;
    }
    let row = settle(&mut tx, &payment_id, &outcome).await?;
    tx.commit().await?;
    Ok(row)
}

/// Refunds `amount` of the order's payment to the method it came from, inside the caller's transaction.
pub async fn refund(
    tx: &mut Tx,
    providers: &Providers,
    order: &OrderRow,
    amount: i64,
    reason: &str,
) -> ServiceResult<String> {
    let sql = const_format::concatcp!(
        "SELECT ",
        PAYMENT_COLUMNS,
        " FROM payments WHERE order_id = $1 AND purpose = 'order' AND status = 'succeeded'"
    );
    let payment = sqlx::query_as::<_, PaymentRow>(sql)
        .bind(&order.id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("paid order {} has no payment", order.id))
        })?;
    let token = if payment.method_id == WALLET {
        String::new()
    } else {
        method(tx, &payment.user_id, &payment.method_id)
            .await?
            .map(|m| m.provider_token)
            .unwrap_or_default()
    };
    let provider = providers.for_method(&payment.method_id)?;
    let movement = Movement {
        user_id: &payment.user_id,
        token: &token,
        amount,
        currency: &payment.currency,
    };
    provider.refund(tx, &movement).await?;
    let id = new_id("rfd");
    sqlx::query(
        "INSERT INTO refunds (id, order_id, payment_id, amount, currency, reason, status, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&order.id)
    .bind(&payment.id)
    .bind(amount)
    .bind(&payment.currency)
    .bind(reason)
    .bind(SUCCEEDED)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE orders SET refunded = refunded + $2 WHERE id = $1")
        .bind(&order.id)
        .bind(amount)
        .execute(&mut **tx)
        .await?;
    post(
        tx,
        "refund",
        &id,
        &payment.currency,
        &[
            (merchant_account(&order.seller_id), -amount),
            (provider.account(&movement), amount),
        ],
    )
    .await?;
    events::record(
        tx,
        "refund.succeeded",
        &id,
        &serde_json::json!({
            "refund_id": id, "order_id": order.id, "payment_id": payment.id, "amount": amount,
            "currency": payment.currency, "reason": reason, "user_id": payment.user_id,
        }),
    )
    .await?;
    Ok(id)
}

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

pub async fn add_card(
    db: &Db,
    providers: &Providers,
    user_id: &str,
    req: &pb::AddCardRequest,
) -> ServiceResult<MethodRow> {
    let now = now_ms();
    if !(1..=12).contains(&req.exp_month) {
        return Err(ServiceError::invalid(
            "exp_month",
            "exp_month must be 1 to 12",
        ));
    }
    let this_month = {
        // Days since 1970 -> (year, month), via the civil-from-days algorithm.
        let days = now.div_euclid(86_400_000);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        year * 12 + month
    };
    if i64::from(req.exp_year) * 12 + i64::from(req.exp_month) < this_month
        || req.exp_year > MAX_EXP_YEAR
    {
        return Err(ServiceError::invalid("exp_year", "the card has expired"));
    }
    let cvc = req.cvc.trim();
    if !(MIN_CVC..=MAX_CVC).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ServiceError::invalid(
            "cvc",
            format!("cvc must be {MIN_CVC} or {MAX_CVC} digits"),
        ));
    }
    // The provider drops spaces and hyphens before reading the digits; a longer string holds too many of them.
    if req.number.trim().chars().count() > MAX_CARD_NUMBER {
        return Err(ServiceError::invalid(
            "number",
            format!("number must be at most {MAX_CARD_NUMBER} characters"),
        ));
    }
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM payment_methods WHERE user_id = $1 AND removed = 0")
            .bind(user_id)
            .fetch_one(db.pool())
            .await?;
    if count >= 20 {
        return Err(ServiceError::conflict(
            "too_many_cards",
            "at most 20 saved cards; remove one first",
        ));
    }
    let mut tx = db.begin_write().await?;
    let card = providers.cards()?.tokenize(&mut tx, &req.number).await?;
    let row = MethodRow {
        id: new_id("pm"),
        user_id: user_id.to_owned(),
        provider_token: card.token,
        brand: card.brand.to_owned(),
        last4: card.last4,
        exp_month: i64::from(req.exp_month),
        exp_year: i64::from(req.exp_year),
        removed: 0,
        created_at_ms: now,
    };
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
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn remove_method(db: &Db, user_id: &str, id: &str) -> ServiceResult<()> {
    let done = sqlx::query(
        "UPDATE payment_methods SET removed = 1 WHERE id = $1 AND user_id = $2 AND removed = 0",
    )
    .bind(id)
    .bind(user_id)
    .execute(db.pool())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(ServiceError::not_found("payment method"))
    }
}

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

/// One order's money as the ledger check sees it.
#[derive(Debug, FromRow)]
struct OrderMoney {
    id: String,
    status: String,
    total: i64,
    refunded: i64,
    paid_at_ms: i64,
    paid: i64,
    refunds: i64,
    returns: i64,
}

/// Checks the books: balanced transactions, wallets equal to their accounts, merchants' accounts equal to what
/// their orders kept, and every order's payments and refunds consistent with its state.
pub async fn verify(db: &Db) -> ServiceResult<pb::LedgerReport> {
    let pool = db.pool();
    let mut problems = Vec::new();
    let unbalanced: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT transaction_id, currency, CAST(SUM(amount) AS BIGINT) FROM ledger_entries GROUP BY transaction_id, currency \
         HAVING SUM(amount) <> 0",
    )
    .fetch_all(pool)
    .await?;
    for (id, currency, sum) in unbalanced {
        problems.push(format!(
            "ledger transaction {id} is off by {sum} {currency}"
        ));
    }
    let thin: Vec<(String,)> = sqlx::query_as(
        "SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id \
         GROUP BY t.id HAVING COUNT(e.account) < 2",
    )
    .fetch_all(pool)
    .await?;
    for (id,) in thin {
        problems.push(format!(
            "ledger transaction {id} has fewer than two entries"
        ));
    }
    let wallets: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT w.user_id, w.currency, w.balance, CAST(COALESCE((SELECT SUM(e.amount) FROM ledger_entries e \
         WHERE e.account = 'wallet:' || w.user_id AND e.currency = w.currency), 0) AS BIGINT) FROM wallets w",
    )
    .fetch_all(pool)
    .await?;
    for (user, currency, balance, booked) in wallets {
        if balance != booked {
            problems.push(format!(
                "wallet of {user} holds {balance} {currency} but the ledger says {booked}"
            ));
        }
    }
    let orders: Vec<OrderMoney> = sqlx::query_as(
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
    let orders_checked = orders.len() as i64;
    for OrderMoney {
        id,
        status,
        total,
        refunded,
        paid_at_ms,
        paid,
        refunds,
        returns,
    } in orders
    {
        let was_paid = paid_at_ms > 0;
        if refunds != refunded {
            problems.push(format!(
                "order {id} records {refunded} refunded but has refunds of {refunds}"
            ));
        }
        let expected_paid = if was_paid { total } else { 0 };
        if paid != expected_paid {
            problems.push(format!(
                "order {id} ({status}) should have {expected_paid} paid but has {paid}"
            ));
        }
        let expected_refunds = match status.as_str() {
            orders::CANCELLED if was_paid => total,
            _ => returns,
        };
        if refunds != expected_refunds {
            problems.push(format!(
                "order {id} ({status}) should have {expected_refunds} refunded but has {refunds}"
            ));
        }
    }
    let merchants: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT a.account, a.currency, a.booked, CAST(COALESCE((SELECT SUM(o.total - o.refunded) FROM orders o \
         WHERE 'merchant:' || o.seller_id = a.account AND o.currency = a.currency AND o.paid_at_ms > 0), 0) \
         AS BIGINT) FROM (SELECT account, currency, CAST(SUM(amount) AS BIGINT) AS booked FROM ledger_entries \
               WHERE account LIKE 'merchant:%' GROUP BY account, currency) a",
    )
    .fetch_all(pool)
    .await?;
    for (account, currency, booked, kept) in merchants {
        if booked != kept {
            problems.push(format!(
                "{account} holds {booked} {currency} but its orders kept {kept}"
            ));
        }
    }
    let (transactions,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ledger_transactions")
        .fetch_one(pool)
        .await?;
    let (entries,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ledger_entries")
        .fetch_one(pool)
        .await?;
    Ok(pb::LedgerReport {
        balanced: problems.is_empty(),
        transactions,
        entries,
        orders_checked,
        problems,
    })
}
