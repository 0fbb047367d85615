//! Payments against real databases: every movement leaves the ledger balanced (top-ups, payments, refunds on
//! cancel and on return, declines), replays are exact, and another buyer's order cannot be paid.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokshop_platform::db::Db;
use tokshop_proto::{
    catalog::Money,
    order::{LineChoice, RequestReturnRequest},
    payment as pb,
};

use super::{Providers, add_card, pay_order, store, top_up, verify};
use crate::{
    order::{
        Viewer, lifecycle, returns,
        rules::{MARK_DELIVERED, PAID, PENDING_PAYMENT},
        store as orders,
    },
    testing::{place_order, status},
};

tokshop_platform::storage_tests!(
    "orders",
    crate::MIGRATIONS;
    paying_and_refunding_keep_the_ledger_balanced,
    a_declined_card_leaves_the_order_unpaid_and_the_books_untouched,
    another_buyers_order_cannot_be_paid,
    the_ledger_check_notices_a_lopsided_entry,
);

const LIMIT: i64 = 100_000;

async fn card(db: &Db, providers: &Providers, user: &str, number: &str) -> String {
    let req = pb::AddCardRequest {
        number: number.into(),
        exp_month: 12,
        exp_year: 2099,
        cvc: "123".into(),
    };
    add_card(db, providers, user, &req).await.unwrap().id
}

fn usd(amount_minor: i64) -> Option<Money> {
    Some(Money {
        amount_minor,
        currency: "USD".into(),
    })
}

async fn pay(
    db: &Db,
    providers: &Providers,
    user: &str,
    order_id: &str,
    method: &str,
    request: &str,
) -> tokshop_platform::ServiceResult<store::PaymentRow> {
    let req = pb::PayOrderRequest {
        request_id: request.into(),
        order_id: order_id.into(),
        payment_method_id: method.into(),
    };
    pay_order(db, providers, user, &req).await
}

async fn wallet(db: &Db, user: &str) -> i64 {
    store::wallet(db, user)
        .await
        .unwrap()
        .into_iter()
        .find(|(currency, _)| currency == "USD")
        .map_or(0, |(_, balance)| balance)
}

async fn assert_balanced(db: &Db) {
    let report = verify(db).await.unwrap();
    assert!(report.balanced, "{:?}", report.problems);
}

async fn paying_and_refunding_keep_the_ledger_balanced(db: Db) {
    let db = &db;
    let providers = Providers::new(true);
    let visa = card(db, &providers, "buyer", "4242 4242 4242 4242").await;
    let top = pb::TopUpWalletRequest {
        request_id: "top-1".into(),
        payment_method_id: visa.clone(),
        amount: usd(10_000),
    };
    let topped = top_up(db, &providers, LIMIT, "buyer", &top).await.unwrap();
    assert_eq!(topped.status, "succeeded");
    assert_eq!(wallet(db, "buyer").await, 10_000);
    assert_balanced(db).await;

    // 2 x 1500 + 500 shipping, from the wallet.
    let order = place_order(db, "buyer", "seller", &[("v1", 2, 1500)]).await;
    let paid = pay(db, &providers, "buyer", &order, "wallet", "pay-1")
        .await
        .unwrap();
    assert_eq!((paid.status.as_str(), paid.amount), ("succeeded", 3500));
    assert_eq!(status(db, &order).await, PAID);
    assert_eq!(wallet(db, "buyer").await, 6500);
    assert_balanced(db).await;
    // The same request replays the same payment; the same id for something else is refused.
    let again = pay(db, &providers, "buyer", &order, "wallet", "pay-1")
        .await
        .unwrap();
    assert_eq!(again.id, paid.id);
    let other = place_order(db, "buyer", "seller", &[("v2", 1, 900)]).await;
    let err = pay(db, &providers, "buyer", &other, "wallet", "pay-1").await;
    assert_eq!(err.unwrap_err().code(), "idempotency_conflict");
    assert_eq!(wallet(db, "buyer").await, 6500);

    // Cancelling a paid order refunds all of it to the wallet.
    let cancelled = lifecycle::cancel(db, &providers, &order, Viewer::Buyer("buyer"))
        .await
        .unwrap();
    assert_eq!(cancelled.order.refunded, 3500);
    assert_eq!(wallet(db, "buyer").await, 10_000);
    assert_balanced(db).await;

    // A card-paid order, delivered, one of three units returned: the card gets that unit's share back.
    let order = place_order(db, "buyer", "seller", &[("v1", 3, 1000)]).await;
    pay(db, &providers, "buyer", &order, &visa, "pay-2")
        .await
        .unwrap();
    lifecycle::ship(db, &order, "seller", "T1", "")
        .await
        .unwrap();
    lifecycle::advance(db, &order, Viewer::Seller("seller"), MARK_DELIVERED)
        .await
        .unwrap();
    let ask = RequestReturnRequest {
        order_id: order.clone(),
        lines: vec![LineChoice {
            variant_id: "v1".into(),
            quantity: 1,
        }],
        reason: "too small".into(),
    };
    let (asked, _) = returns::request(db, "buyer", &ask).await.unwrap();
    assert_eq!(asked.row.amount, 1000);
    let (accepted, currency) = returns::decide(db, &providers, "seller", &asked.row.id, true)
        .await
        .unwrap();
    assert_eq!(
        (accepted.row.status.as_str(), currency.as_str()),
        ("accepted", "USD")
    );
    assert!(!accepted.row.refund_id.is_empty());
    let mut conn = db.pool().acquire().await.unwrap();
    let (_, refunds) = store::order_payments(&mut conn, &order).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount, 1000);
    drop(conn);
    let err = returns::decide(db, &providers, "seller", &asked.row.id, false).await;
    assert_eq!(err.unwrap_err().code(), "return_decided");
    assert_balanced(db).await;
    let report = verify(db).await.unwrap();
    assert!(report.transactions >= 5 && report.entries == 2 * report.transactions);
    let books = store::ledger_facts(db).await.unwrap();
    let merchant = books
        .merchants
        .iter()
        .find(|(account, ..)| account == "merchant:seller")
        .unwrap();
    // 3000 + 500 shipping kept, less the 1000 returned; the cancelled order kept nothing.
    assert_eq!((merchant.2, merchant.3), (2500, 2500));
}

async fn a_declined_card_leaves_the_order_unpaid_and_the_books_untouched(db: Db) {
    let db = &db;
    let providers = Providers::new(true);
    let declined = card(db, &providers, "buyer", "4000000000000002").await;
    let order = place_order(db, "buyer", "seller", &[("v1", 1, 2000)]).await;
    let failed = pay(db, &providers, "buyer", &order, &declined, "pay-1")
        .await
        .unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.failure_code.as_str()),
        ("failed", "card_declined")
    );
    assert_eq!(status(db, &order).await, PENDING_PAYMENT);
    let report = verify(db).await.unwrap();
    assert!(report.balanced, "{:?}", report.problems);
    assert_eq!(report.transactions, 0);
    // An empty wallet declines too, and the order can still be paid another way later.
    let broke = pay(db, &providers, "buyer", &order, "wallet", "pay-2")
        .await
        .unwrap();
    assert_eq!(broke.failure_code, "insufficient_funds");
    assert_eq!(status(db, &order).await, PENDING_PAYMENT);
}

async fn another_buyers_order_cannot_be_paid(db: Db) {
    let db = &db;
    let providers = Providers::new(true);
    let visa = card(db, &providers, "thief", "4242424242424242").await;
    let order = place_order(db, "buyer", "seller", &[("v1", 1, 2000)]).await;
    let err = pay(db, &providers, "thief", &order, &visa, "pay-1").await;
    assert_eq!(err.unwrap_err().code(), "order_not_found");
    // Nor with the buyer's card: a card is found only among its owner's.
    let theirs = card(db, &providers, "buyer", "4242424242424242").await;
    let err = pay(db, &providers, "thief", &order, &theirs, "pay-2").await;
    assert_eq!(err.unwrap_err().code(), "order_not_found");
    let mut conn = db.pool().acquire().await.unwrap();
    assert!(
        store::method(&mut conn, "thief", &theirs)
            .await
            .unwrap()
            .is_none()
    );
    let (payments, _) = store::order_payments(&mut conn, &order).await.unwrap();
    assert!(payments.is_empty(), "no payment row is left behind");
    let err = orders::load_for(&mut conn, &order, Viewer::Buyer("thief")).await;
    assert_eq!(err.unwrap_err().code(), "order_not_found");
    drop(conn);
    assert!(!store::remove_method(db, "thief", &theirs).await.unwrap());
    assert_eq!(status(db, &order).await, PENDING_PAYMENT);
}

async fn the_ledger_check_notices_a_lopsided_entry(db: Db) {
    let db = &db;
    assert_balanced(db).await;
    let mut tx = db.begin_write().await.unwrap();
    // Straight to the store, past the balance check every real movement goes through.
    store::insert_ledger(&mut tx, "bogus", "ref", "USD", &[("wallet:x".into(), 5)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let report = verify(db).await.unwrap();
    assert!(!report.balanced);
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
}
