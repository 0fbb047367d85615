//! The decisions of payments, free of SQL and gRPC: request ids and replays, what a top-up and a saved card must
//! be, the entries each money movement writes to the ledger (which always balance), and what the ledger check
//! calls a problem.

use tokshop_platform::{
    ServiceError, ServiceResult, check_len,
    limits::payments::{MAX_CARD_NUMBER, MAX_CVC, MAX_EXP_YEAR, MAX_TOP_UP, MIN_CVC},
    money::validate_currency,
    sha256_hex,
};
use tokshop_proto::{catalog::Money, payment as pb};

use super::{
    providers::WALLET,
    store::{LedgerFacts, OrderMoney, PaymentRow},
};
use crate::order::rules::CANCELLED;

pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const PROCESSING: &str = "processing";
pub const PURPOSE_ORDER: &str = "order";
pub const PURPOSE_TOP_UP: &str = "top_up";

/// Most saved cards one user may hold.
pub const MAX_CARDS: i64 = 20;
/// The window of the wallet's top-up limit.
pub const TOP_UP_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest request id a caller may give.
const MAX_REQUEST_ID: usize = 255;

/// Money from and to card networks, as the sandbox provider settles it.
pub const CARD_CLEARING: &str = "card_clearing";

pub fn merchant_account(seller_id: &str) -> String {
    format!("merchant:{seller_id}")
}

pub fn wallet_account(user_id: &str) -> String {
    format!("wallet:{user_id}")
}

/// The caller's request id, trimmed: 1 to 255 characters.
pub fn check_request_id(request_id: &str) -> ServiceResult<&str> {
    let id = request_id.trim();
    check_len("request_id", id, 1, MAX_REQUEST_ID)?;
    Ok(id)
}

/// What identifies "the same payment" under one request id.
pub fn pay_fingerprint(order_id: &str, method_id: &str) -> String {
    sha256_hex(&[b"pay\0", order_id.as_bytes(), b"\0", method_id.as_bytes()])
}

pub fn top_up_fingerprint(method_id: &str, amount: i64, currency: &str) -> String {
    sha256_hex(&[
        b"top_up\0",
        method_id.as_bytes(),
        b"\0",
        amount.to_string().as_bytes(),
        currency.as_bytes(),
    ])
}

/// The earlier attempt under the same request id, if it asked for the same thing.
pub fn replay(existing: PaymentRow, fingerprint: &str) -> ServiceResult<PaymentRow> {
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

/// The amount and currency of a top-up from `method_id`: 1 to `MAX_TOP_UP` minor units, from a card.
pub fn top_up_amount(amount: Option<&Money>, method_id: &str) -> ServiceResult<(i64, String)> {
    let amount = amount.cloned().unwrap_or_default();
    let currency = amount.currency.trim().to_ascii_uppercase();
    validate_currency(&currency, "amount.currency")?;
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
    Ok((amount.amount_minor, currency))
}

/// Refuses a top-up that would take the wallet past `daily_limit` in the window, given what `recent` added.
pub fn within_top_up_limit(
    recent: i64,
    amount: i64,
    daily_limit: i64,
    currency: &str,
) -> ServiceResult<()> {
    if recent + amount > daily_limit {
        return Err(ServiceError::conflict_on(
            "top_up_limit",
            "amount.amount_minor",
            format!(
                "a wallet takes at most {} in 24 hours; {} was added already",
                tokshop_platform::money::format(daily_limit, currency),
                tokshop_platform::money::format(recent, currency)
            ),
        ));
    }
    Ok(())
}

/// `year * 12 + month` of the UTC month holding `now_ms`.
fn month_of(now_ms: i64) -> i64 {
    // Days since 1970 -> (year, month), via the civil-from-days algorithm.
    let days = now_ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    year * 12 + month
}

/// What a card must be before the provider sees it: a real month, not expired at `now_ms`, a 3 or 4 digit cvc, a
/// number of reasonable length (the provider checks the digits).
pub fn check_card(req: &pb::AddCardRequest, now_ms: i64) -> ServiceResult<()> {
    if !(1..=12).contains(&req.exp_month) {
        return Err(ServiceError::invalid(
            "exp_month",
            "exp_month must be 1 to 12",
        ));
    }
    if i64::from(req.exp_year) * 12 + i64::from(req.exp_month) < month_of(now_ms)
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
    Ok(())
}

/// Refuses another card when the user holds `saved` already and that is the most allowed.
pub fn room_for_card(saved: i64) -> ServiceResult<()> {
    if saved >= MAX_CARDS {
        return Err(ServiceError::conflict(
            "too_many_cards",
            "at most 20 saved cards; remove one first",
        ));
    }
    Ok(())
}

/// Refuses a ledger transaction that does not balance: at least two entries summing to zero.
pub fn check_balanced(
    kind: &str,
    reference_id: &str,
    entries: &[(String, i64)],
) -> ServiceResult<()> {
    let sum: i64 = entries.iter().map(|(_, a)| a).sum();
    if sum != 0 || entries.len() < 2 {
        return Err(ServiceError::Internal(anyhow::anyhow!(
            "unbalanced ledger transaction {kind} {reference_id}"
        )));
    }
    Ok(())
}

/// An order payment: from the shopper's side (`from`, the provider's account) to the seller.
pub fn payment_entries(from: String, seller_id: &str, amount: i64) -> Vec<(String, i64)> {
    vec![(from, -amount), (merchant_account(seller_id), amount)]
}

/// A refund: from the seller back to the shopper's side (`to`, the provider's account).
pub fn refund_entries(seller_id: &str, to: String, amount: i64) -> Vec<(String, i64)> {
    vec![(merchant_account(seller_id), -amount), (to, amount)]
}

/// A wallet top-up: from the card network into the user's wallet.
pub fn top_up_entries(user_id: &str, amount: i64) -> Vec<(String, i64)> {
    vec![
        (CARD_CLEARING.to_owned(), -amount),
        (wallet_account(user_id), amount),
    ]
}

/// What is wrong with the books: unbalanced or one-sided transactions, wallets that disagree with their
/// accounts, orders whose payments and refunds do not fit their state, merchants booked other than their orders
/// kept. Empty when the books are right.
pub fn ledger_problems(facts: &LedgerFacts) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, currency, sum) in &facts.unbalanced {
        problems.push(format!(
            "ledger transaction {id} is off by {sum} {currency}"
        ));
    }
    for id in &facts.thin {
        problems.push(format!(
            "ledger transaction {id} has fewer than two entries"
        ));
    }
    for (user, currency, balance, booked) in &facts.wallets {
        if balance != booked {
            problems.push(format!(
                "wallet of {user} holds {balance} {currency} but the ledger says {booked}"
            ));
        }
    }
    for order in &facts.orders {
        order_problems(order, &mut problems);
    }
    for (account, currency, booked, kept) in &facts.merchants {
        if booked != kept {
            problems.push(format!(
                "{account} holds {booked} {currency} but its orders kept {kept}"
            ));
        }
    }
    problems
}

fn order_problems(order: &OrderMoney, problems: &mut Vec<String>) {
    let OrderMoney {
        id,
        status,
        total,
        refunded,
        paid_at_ms,
        paid,
        refunds,
        returns,
    } = order;
    let was_paid = *paid_at_ms > 0;
    if refunds != refunded {
        problems.push(format!(
            "order {id} records {refunded} refunded but has refunds of {refunds}"
        ));
    }
    let expected_paid = if was_paid { *total } else { 0 };
    if *paid != expected_paid {
        problems.push(format!(
            "order {id} ({status}) should have {expected_paid} paid but has {paid}"
        ));
    }
    let expected_refunds = match status.as_str() {
        CANCELLED if was_paid => *total,
        _ => *returns,
    };
    if *refunds != expected_refunds {
        problems.push(format!(
            "order {id} ({status}) should have {expected_refunds} refunded but has {refunds}"
        ));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn card(month: i32, year: i32, cvc: &str, number: &str) -> pb::AddCardRequest {
        pb::AddCardRequest {
            number: number.into(),
            exp_month: month,
            exp_year: year,
            cvc: cvc.into(),
        }
    }

    /// 2024-03-15T00:00:00Z.
    const MARCH_2024: i64 = 1_710_460_800_000;

    #[test]
    fn every_movement_balances() {
        for entries in [
            payment_entries(wallet_account("u1"), "s1", 4500),
            refund_entries("s1", CARD_CLEARING.to_owned(), 1200),
            top_up_entries("u1", 10_000),
        ] {
            assert!(check_balanced("k", "r", &entries).is_ok(), "{entries:?}");
        }
        assert_eq!(
            payment_entries(wallet_account("u1"), "s1", 4500),
            vec![
                ("wallet:u1".to_owned(), -4500),
                ("merchant:s1".to_owned(), 4500)
            ]
        );
        let lopsided = vec![("wallet:u1".to_owned(), -10), ("merchant:s1".to_owned(), 9)];
        assert!(check_balanced("k", "r", &lopsided).is_err());
        assert!(check_balanced("k", "r", &[("wallet:u1".to_owned(), 0)]).is_err());
    }

    #[test]
    fn cards_must_be_current_and_well_formed() {
        assert!(check_card(&card(3, 2024, "123", "4242 4242 4242 4242"), MARCH_2024).is_ok());
        let param = |err: ServiceError| match err {
            ServiceError::Invalid { param, .. } => param,
            other => panic!("not an invalid parameter: {other:?}"),
        };
        let expired = check_card(&card(2, 2024, "123", "4242"), MARCH_2024).unwrap_err();
        assert_eq!(param(expired), "exp_year");
        for (req, expected) in [
            (card(0, 2030, "123", "4242"), "exp_month"),
            (card(13, 2030, "123", "4242"), "exp_month"),
            (card(1, MAX_EXP_YEAR + 1, "123", "4242"), "exp_year"),
            (card(1, 2030, "12", "4242"), "cvc"),
            (card(1, 2030, "12a", "4242"), "cvc"),
            (
                card(1, 2030, "123", &"4".repeat(MAX_CARD_NUMBER + 1)),
                "number",
            ),
        ] {
            assert_eq!(param(check_card(&req, MARCH_2024).unwrap_err()), expected);
        }
        assert!(room_for_card(MAX_CARDS - 1).is_ok());
        assert_eq!(
            room_for_card(MAX_CARDS).unwrap_err().code(),
            "too_many_cards"
        );
    }

    #[test]
    fn top_ups_come_from_cards_within_the_limit() {
        let ten = Money {
            amount_minor: 1000,
            currency: " usd ".into(),
        };
        assert_eq!(
            top_up_amount(Some(&ten), "pm_1").unwrap(),
            (1000, "USD".to_owned())
        );
        assert!(top_up_amount(Some(&ten), WALLET).is_err());
        assert!(top_up_amount(None, "pm_1").is_err());
        assert!(within_top_up_limit(4000, 1000, 5000, "USD").is_ok());
        assert_eq!(
            within_top_up_limit(4001, 1000, 5000, "USD")
                .unwrap_err()
                .code(),
            "top_up_limit"
        );
    }

    #[test]
    fn request_ids_and_replays() {
        assert_eq!(check_request_id("  r1 ").unwrap(), "r1");
        assert!(check_request_id("   ").is_err());
        assert!(check_request_id(&"x".repeat(256)).is_err());
        assert_ne!(
            pay_fingerprint("o1", "wallet"),
            pay_fingerprint("o1", "pm_1")
        );
        assert_ne!(
            top_up_fingerprint("pm_1", 100, "USD"),
            top_up_fingerprint("pm_1", 100, "EUR")
        );
    }

    #[test]
    fn the_ledger_check_names_each_problem() {
        let order =
            |status: &str, total, refunded, paid_at_ms, paid, refunds, returns| OrderMoney {
                id: "ord_1".into(),
                status: status.into(),
                total,
                refunded,
                paid_at_ms,
                paid,
                refunds,
                returns,
            };
        let healthy = LedgerFacts {
            orders: vec![
                order("paid", 1000, 0, 1, 1000, 0, 0),
                order("cancelled", 1000, 1000, 1, 1000, 1000, 0),
                order("completed", 1000, 300, 1, 1000, 300, 300),
                order("cancelled", 1000, 0, 0, 0, 0, 0),
            ],
            wallets: vec![("u".into(), "USD".into(), 5, 5)],
            merchants: vec![("merchant:s".into(), "USD".into(), 700, 700)],
            ..LedgerFacts::default()
        };
        assert!(ledger_problems(&healthy).is_empty());
        let broken = LedgerFacts {
            unbalanced: vec![("ltx_1".into(), "USD".into(), 3)],
            thin: vec!["ltx_2".into()],
            wallets: vec![("u".into(), "USD".into(), 5, 4)],
            orders: vec![order("cancelled", 1000, 0, 1, 1000, 0, 0)],
            merchants: vec![("merchant:s".into(), "USD".into(), 700, 600)],
            ..LedgerFacts::default()
        };
        let problems = ledger_problems(&broken);
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[3].contains("should have 1000 refunded but has 0"));
    }
}
