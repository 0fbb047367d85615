//! Payments: paying orders and topping up wallets, refunds, saved cards, and the double-entry ledger. A payment
//! row, the provider's charge, the order's move to `paid`, the ledger entries and the outbox events commit in one
//! transaction. Payments are idempotent by the caller's request id: the unique `(user_id, request_id)` key makes a
//! concurrent retry wait for the first attempt and then return its result.
//!
//! `api` is the tonic surface, `rules` the decisions (request ids, cards, ledger entries, the ledger check),
//! `store` all SQL, `providers` where the money comes from and goes back to. This file runs each operation as
//! one transaction of store calls.

mod api;
mod providers;
pub(crate) mod rules;
pub(crate) mod store;
#[cfg(test)]
mod tests;

use tokshop_platform::{
    ServiceError, ServiceResult, check_len, db::Db, ids::new_id, limits::MAX_ID, time::now_ms,
};
use tokshop_proto::payment as pb;

use crate::{
    Tx,
    order::{self, Viewer},
};
use providers::{Decline, Movement, PaymentProvider, WALLET};
use rules::{FAILED, PURPOSE_ORDER, PURPOSE_TOP_UP, SUCCEEDED};
use store::{MethodRow, NewPayment, PaymentRow, RefundRow};

pub use api::PaymentApi;
pub use providers::Providers;

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
    amount: i64,
    currency: &str,
) -> ServiceResult<Result<(Tx, String), PaymentRow>> {
    for _ in 0..2 {
        let mut tx = db.begin_write().await?;
        if let Some(existing) =
            store::payment_by_request(&mut tx, attempt.user_id, attempt.request_id).await?
        {
            return rules::replay(existing, &attempt.fingerprint).map(Err);
        }
        let id = new_id("pay");
        let opened = store::insert_payment(
            &mut tx,
            &NewPayment {
                id: &id,
                user_id: attempt.user_id,
                request_id: attempt.request_id,
                fingerprint: &attempt.fingerprint,
                purpose: attempt.purpose,
                order_id: attempt.order_id,
                method_id: attempt.method_id,
                amount,
                currency,
            },
        )
        .await?;
        if opened {
            return Ok(Ok((tx, id)));
        }
        // A concurrent attempt with the same request id committed first: look again and replay it.
    }
    Err(ServiceError::conflict_on(
        "idempotency_in_flight",
        "request_id",
        "a payment with this request id is still running",
    ))
}

/// Settles the attempt's row as succeeded or failed and returns it.
async fn settle(tx: &mut Tx, id: &str, outcome: &Result<(), Decline>) -> ServiceResult<PaymentRow> {
    match outcome {
        Ok(()) => store::settle(tx, id, SUCCEEDED, "", "").await,
        Err(d) => store::settle(tx, id, FAILED, d.code, &d.message).await,
    }
}

/// The provider token behind a usable method of the user: empty for the wallet.
async fn usable_token(tx: &mut Tx, user_id: &str, method_id: &str) -> ServiceResult<String> {
    if method_id == WALLET {
        return Ok(String::new());
    }
    match store::method(tx, user_id, method_id).await? {
        Some(m) if m.removed == 0 => Ok(m.provider_token),
        _ => Err(ServiceError::not_found("payment method")),
    }
}

/// Writes one balanced ledger transaction.
async fn post(
    tx: &mut Tx,
    kind: &str,
    reference_id: &str,
    currency: &str,
    entries: &[(String, i64)],
) -> ServiceResult<()> {
    rules::check_balanced(kind, reference_id, entries)?;
    store::insert_ledger(tx, kind, reference_id, currency, entries).await
}

/// Pays one of the buyer's pending orders with a method of theirs.
pub async fn pay_order(
    db: &Db,
    providers: &Providers,
    user_id: &str,
    req: &pb::PayOrderRequest,
) -> ServiceResult<PaymentRow> {
    let request_id = rules::check_request_id(&req.request_id)?;
    let order_id = req.order_id.trim();
    let method_id = req.payment_method_id.trim();
    check_len("payment_method_id", method_id, 0, MAX_ID)?;
    let attempt = Attempt {
        user_id,
        request_id,
        fingerprint: rules::pay_fingerprint(order_id, method_id),
        purpose: PURPOSE_ORDER,
        order_id,
        method_id,
    };
    // Checks that need no lock come first, so a bad request leaves no payment row behind.
    let order = {
        let mut conn = db.pool().acquire().await?;
        if let Some(existing) = store::payment_by_request(&mut conn, user_id, request_id).await? {
            return rules::replay(existing, &attempt.fingerprint);
        }
        order::store::load_for(&mut conn, order_id, Viewer::Buyer(user_id))
            .await?
            .order
    };
    let (mut tx, payment_id) = match open(db, &attempt, order.total, &order.currency).await? {
        Ok(opened) => opened,
        Err(replayed) => return Ok(replayed),
    };
    let token = usable_token(&mut tx, user_id, method_id).await?;
    // The conditional move to `paid` locks the order: a concurrent payer with another request id waits here and
    // then finds it paid. It also refuses an order past its expiry that the sweeper has not reached yet.
    let now = now_ms();
    if !order::store::claim_for_payment(&mut tx, order_id, user_id, &payment_id, now).await? {
        let current = order::store::load(&mut tx, order_id)
            .await?
            .ok_or(ServiceError::not_found("order"))?
            .order;
        return Err(order::rules::not_payable(&current));
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
            let entries =
                rules::payment_entries(provider.account(&movement), &order.seller_id, order.total);
            post(
                &mut tx,
                "order_payment",
                &payment_id,
                &order.currency,
                &entries,
            )
            .await?;
            order::store::record_event(&mut tx, "paid", order_id, "").await?;
        }
        // Declined: the order goes back to waiting for payment, in the same transaction.
        Err(_) => order::store::release_payment_claim(&mut tx, order_id, now).await?,
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
    let request_id = rules::check_request_id(&req.request_id)?;
    let method_id = req.payment_method_id.trim();
    check_len("payment_method_id", method_id, 0, MAX_ID)?;
    let (amount, currency) = rules::top_up_amount(req.amount.as_ref(), method_id)?;
    let attempt = Attempt {
        user_id,
        request_id,
        fingerprint: rules::top_up_fingerprint(method_id, amount, &currency),
        purpose: PURPOSE_TOP_UP,
        order_id: "",
        method_id,
    };
    {
        let mut conn = db.pool().acquire().await?;
        match store::method(&mut conn, user_id, method_id).await? {
            Some(m) if m.removed == 0 => {}
            _ => return Err(ServiceError::not_found("payment method")),
        }
    }
    let (mut tx, payment_id) = match open(db, &attempt, amount, &currency).await? {
        Ok(opened) => opened,
        Err(replayed) => return Ok(replayed),
    };
    // Counted inside the writing transaction: on SQLite it holds the write lock, so concurrent top-ups queue here.
    let since = now_ms() - rules::TOP_UP_WINDOW_MS;
    let recent = store::topped_up_since(&mut tx, user_id, &currency, since).await?;
    rules::within_top_up_limit(recent, amount, daily_limit, &currency)?;
    let token = usable_token(&mut tx, user_id, method_id).await?;
    let movement = Movement {
        user_id,
        token: &token,
        amount,
        currency: &currency,
    };
    let outcome = providers.cards()?.charge(&mut tx, &movement).await?;
    if outcome.is_ok() {
        store::credit_wallet(&mut tx, user_id, &currency, amount).await?;
        let entries = rules::top_up_entries(user_id, amount);
        post(&mut tx, "wallet_top_up", &payment_id, &currency, &entries).await?;
    }
    let row = settle(&mut tx, &payment_id, &outcome).await?;
    tx.commit().await?;
    Ok(row)
}

/// Refunds `amount` of the order's payment to the method it came from, inside the caller's transaction, and
/// returns the refund's id.
pub async fn refund(
    tx: &mut Tx,
    providers: &Providers,
    order: &order::store::OrderRow,
    amount: i64,
    reason: &str,
) -> ServiceResult<String> {
    let payment = store::order_payment(tx, &order.id).await?.ok_or_else(|| {
        ServiceError::Internal(anyhow::anyhow!("paid order {} has no payment", order.id))
    })?;
    let token = if payment.method_id == WALLET {
        String::new()
    } else {
        store::method(tx, &payment.user_id, &payment.method_id)
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
    let refund = RefundRow {
        id: new_id("rfd"),
        order_id: order.id.clone(),
        payment_id: payment.id.clone(),
        amount,
        currency: payment.currency.clone(),
        reason: reason.to_owned(),
        status: SUCCEEDED.to_owned(),
        created_at_ms: now_ms(),
    };
    store::insert_refund(tx, &refund, &payment.user_id).await?;
    order::store::add_refunded(tx, &order.id, amount).await?;
    let entries = rules::refund_entries(&order.seller_id, provider.account(&movement), amount);
    post(tx, "refund", &refund.id, &payment.currency, &entries).await?;
    Ok(refund.id)
}

/// Saves a card through the card provider, which keeps the number and gives back a token.
pub async fn add_card(
    db: &Db,
    providers: &Providers,
    user_id: &str,
    req: &pb::AddCardRequest,
) -> ServiceResult<MethodRow> {
    let now = now_ms();
    rules::check_card(req, now)?;
    rules::room_for_card(store::count_methods(db, user_id).await?)?;
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
    store::insert_method(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// Checks the books: balanced transactions, wallets equal to their accounts, merchants' accounts equal to what
/// their orders kept, and every order's payments and refunds consistent with its state. It only reads.
pub async fn verify(db: &Db) -> ServiceResult<pb::LedgerReport> {
    let facts = store::ledger_facts(db).await?;
    let problems = rules::ledger_problems(&facts);
    Ok(pb::LedgerReport {
        balanced: problems.is_empty(),
        transactions: facts.transactions,
        entries: facts.entries,
        orders_checked: facts.orders.len() as i64,
        problems,
    })
}
