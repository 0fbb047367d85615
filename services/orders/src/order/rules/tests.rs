#![allow(clippy::unwrap_used, clippy::panic)]

use tokshop_proto::catalog::{Money, Variant};

use super::*;

fn order(status: &str) -> OrderRow {
    OrderRow {
        id: "ord_1".into(),
        buyer_id: "b".into(),
        seller_id: "s".into(),
        status: status.into(),
        fingerprint: String::new(),
        currency: "USD".into(),
        subtotal: 0,
        discount: 0,
        shipping_fee: 0,
        total: 0,
        refunded: 0,
        address_id: String::new(),
        ship: Default::default(),
        claimed_coupon_id: String::new(),
        coupon_code: String::new(),
        tracking_number: String::new(),
        carrier: String::new(),
        cancel_reason: String::new(),
        payment_id: String::new(),
        created_at_ms: 0,
        updated_at_ms: 0,
        expires_at_ms: 0,
        paid_at_ms: 0,
        shipped_at_ms: 0,
        delivered_at_ms: 0,
        completed_at_ms: 0,
        cancelled_at_ms: 0,
    }
}

fn line(variant: &str, quantity: i64, unit_price: i64, discount: i64) -> LineRow {
    LineRow {
        variant_id: variant.into(),
        product_id: format!("p_{variant}"),
        category_id: "c".into(),
        title: variant.into(),
        sku: variant.into(),
        quantity,
        unit_price,
        discount,
        returned_quantity: 0,
        refunded: 0,
    }
}

fn param_of(err: ServiceError) -> String {
    match err {
        ServiceError::Invalid { param, .. } => param,
        ServiceError::Conflict { param, .. } => param.unwrap_or_default(),
        other => panic!("no param: {other:?}"),
    }
}

/// Every move the order state machine makes besides opening a checkout and paying.
const STEPS: [Step; 7] = [
    CONFIRM_RECEIPT,
    MARK_DELIVERED,
    SHIP,
    CANCEL_UNPAID,
    CANCEL_PAID,
    ABANDON,
    AUTO_COMPLETE,
];

fn next(from: &str) -> Vec<&'static str> {
    let mut to: Vec<&str> = STEPS
        .iter()
        .filter(|s| s.from.contains(&from))
        .map(|s| s.to)
        .collect();
    to.sort_unstable();
    to.dedup();
    to
}

#[test]
fn the_state_machine_only_moves_forward() {
    assert_eq!(next(RESERVING), [FAILED]);
    assert_eq!(next(PENDING_PAYMENT), [CANCELLED]);
    assert_eq!(next(PAID), [CANCELLED, SHIPPED]);
    assert_eq!(next(SHIPPED), [COMPLETED, DELIVERED]);
    assert_eq!(next(DELIVERED), [COMPLETED]);
    for end in [COMPLETED, CANCELLED, FAILED] {
        assert!(next(end).is_empty(), "{end} is final");
    }
    // Once shipped, the address is fixed and the order cannot be cancelled.
    assert!(!ADDRESS_CHANGEABLE.contains(&SHIPPED));
    assert!(!next(SHIPPED).contains(&CANCELLED));
}

#[test]
fn a_refused_step_names_the_state() {
    let err = wrong_state(&order(SHIPPED), CANCEL_PAID.action);
    assert_eq!(err.code(), "invalid_order_state");
    assert_eq!(
        err.to_string(),
        "order ord_1 is shipped; it cannot be cancelled"
    );
    assert_eq!(not_payable(&order(PENDING_PAYMENT)).code(), "order_expired");
    assert_eq!(not_payable(&order(PAID)).code(), "invalid_order_state");
}

#[test]
fn viewers_and_the_seller_role() {
    use tokshop_platform::auth::Principal;
    let shopper = Principal {
        user_id: "u1".into(),
        roles: vec![Role::Buyer],
        expires_at_ms: i64::MAX,
    };
    assert_eq!(Viewer::of(&shopper, false).unwrap(), Viewer::Buyer("u1"));
    assert_eq!(Viewer::of(&shopper, true).unwrap_err().code(), "forbidden");
    let seller = Principal {
        roles: vec![Role::Buyer, Role::Seller],
        ..shopper
    };
    let as_seller = Viewer::of(&seller, true).unwrap();
    assert_eq!(as_seller, Viewer::Seller("u1"));
    assert_eq!(as_seller.cancel_reason(), "seller");
}

#[test]
fn explicit_items_name_each_variant_once() {
    let items = vec![(" v1 ".to_owned(), 2), ("v2".to_owned(), 1)];
    assert_eq!(
        explicit_items(&items).unwrap(),
        vec![("v1".to_owned(), 2), ("v2".to_owned(), 1)]
    );
    let twice = vec![("v1".to_owned(), 2), ("v1 ".to_owned(), 1)];
    assert_eq!(
        param_of(explicit_items(&twice).unwrap_err()),
        "items[1].variant_id"
    );
    let none = vec![("v1".to_owned(), 0)];
    assert_eq!(
        param_of(explicit_items(&none).unwrap_err()),
        "items[0].quantity"
    );
    let too_many = vec![("v1".to_owned(), 1); MAX_LINES + 1];
    assert_eq!(param_of(explicit_items(&too_many).unwrap_err()), "items");
}

#[test]
fn the_fingerprint_ignores_line_order_only() {
    let a = vec![("v1".to_owned(), 1), ("v2".to_owned(), 2)];
    let b = vec![("v2".to_owned(), 2), ("v1".to_owned(), 1)];
    assert_eq!(
        checkout_fingerprint(&a, "addr", ""),
        checkout_fingerprint(&b, "addr", "")
    );
    assert_ne!(
        checkout_fingerprint(&a, "addr", ""),
        checkout_fingerprint(&a, "addr", "ccp_1")
    );
    let mut existing = order(PENDING_PAYMENT);
    existing.fingerprint = checkout_fingerprint(&a, "addr", "");
    assert!(same_checkout(&existing, &checkout_fingerprint(&b, "addr", "")).is_ok());
    assert_eq!(
        same_checkout(&existing, "other").unwrap_err().code(),
        "idempotency_conflict"
    );
}

fn detail(seller: &str, currency: &str, stock: i64, buyable: bool) -> VariantDetail {
    VariantDetail {
        variant: Some(Variant {
            sku: "SKU".into(),
            stock,
            price: Some(Money {
                amount_minor: 1500,
                currency: currency.into(),
            }),
            ..Variant::default()
        }),
        product_id: "p1".into(),
        product_title: "Shoe".into(),
        seller_id: seller.into(),
        buyable,
        ..VariantDetail::default()
    }
}

#[test]
fn a_checkout_buys_from_one_shop_in_one_currency() {
    let asked = vec![("v1".to_owned(), 2), ("v2".to_owned(), 1)];
    let details: HashMap<String, VariantDetail> = [
        ("v1".to_owned(), detail("s", "USD", 5, true)),
        ("v2".to_owned(), detail("s", "USD", 5, true)),
    ]
    .into();
    let (seller, currency, lines) = lines_to_buy(&asked, false, &details, "b").unwrap();
    assert_eq!((seller.as_str(), currency.as_str()), ("s", "USD"));
    assert_eq!(lines.iter().map(PricedLine::total).sum::<i64>(), 4500);

    let mut two_shops = details.clone();
    two_shops.insert("v2".into(), detail("t", "USD", 5, true));
    assert_eq!(
        param_of(lines_to_buy(&asked, true, &two_shops, "b").unwrap_err()),
        "cart_variant_ids"
    );
    let mut two_currencies = details.clone();
    two_currencies.insert("v2".into(), detail("s", "EUR", 5, true));
    assert_eq!(
        param_of(lines_to_buy(&asked, false, &two_currencies, "b").unwrap_err()),
        "items"
    );
    let mut short = details.clone();
    short.insert("v1".into(), detail("s", "USD", 1, true));
    let err = lines_to_buy(&asked, true, &short, "b").unwrap_err();
    assert_eq!(err.code(), "out_of_stock");
    assert_eq!(param_of(err), "cart.lines[0].quantity");
    let mut delisted = details.clone();
    delisted.insert("v2".into(), detail("s", "USD", 5, false));
    assert_eq!(
        lines_to_buy(&asked, false, &delisted, "b")
            .unwrap_err()
            .code(),
        "variant_unavailable"
    );
    assert!(
        lines_to_buy(&asked, false, &details, "s").is_err(),
        "own products"
    );
    let unknown = vec![("v9".to_owned(), 1)];
    assert_eq!(
        param_of(lines_to_buy(&unknown, false, &details, "b").unwrap_err()),
        "items[0].variant_id"
    );
}

#[test]
fn the_reservation_sets_the_price() {
    let lines = vec![line("v1", 2, 1000, 0), line("v2", 1, 500, 0)];
    let reserved = vec![ReservedLine {
        variant_id: "v1".into(),
        title: "New title".into(),
        sku: "NEW".into(),
        unit_price: Some(Money {
            amount_minor: 1200,
            currency: "USD".into(),
        }),
        ..ReservedLine::default()
    }];
    let priced = reserved_lines(&lines, &reserved);
    assert_eq!(
        (priced[0].unit_price, priced[0].title.as_str()),
        (1200, "New title")
    );
    assert_eq!(
        (priced[1].unit_price, priced[1].title.as_str()),
        (500, "v2")
    );
}

#[test]
fn caps_and_approved_totals() {
    assert!(within_unpaid_orders(4, 5).is_ok());
    assert_eq!(
        within_unpaid_orders(5, 5).unwrap_err().code(),
        "too_many_unpaid_orders"
    );
    let priced = reserved_lines(&[line("v1", 3, 100, 0)], &[]);
    assert!(within_unpaid_units(7, &priced[0], 10).is_ok());
    assert_eq!(
        within_unpaid_units(8, &priced[0], 10).unwrap_err().code(),
        "too_many_unpaid_units"
    );
    assert!(check_expected_total(NO_EXPECTED_TOTAL, 999, "USD").is_ok());
    assert!(check_expected_total(999, 999, "USD").is_ok());
    assert_eq!(
        check_expected_total(998, 999, "USD").unwrap_err().code(),
        "total_changed"
    );
}

#[test]
fn returns_refund_what_was_paid_and_never_twice() {
    // 3 units, 1000 paid after a 500 discount.
    let lines = vec![line("v1", 3, 500, 500), line("v2", 1, 700, 0)];
    let none = HashMap::new();
    let planned = plan_return(&lines, &[("v1", 1), ("v2", 1)], &none).unwrap();
    assert_eq!(
        planned,
        vec![
            ReturnLine {
                variant_id: "v1".into(),
                quantity: 1,
                amount: 333
            },
            ReturnLine {
                variant_id: "v2".into(),
                quantity: 1,
                amount: 700
            },
        ]
    );
    // Two units already asked for: the last one takes what rounding left.
    let pending: HashMap<String, i64> = [("v1".to_owned(), 2)].into();
    let last = plan_return(&lines, &[("v1", 1)], &pending).unwrap();
    assert_eq!(last[0].amount, 334);
    let err = plan_return(&lines, &[("v1", 2)], &pending).unwrap_err();
    assert_eq!(param_of(err), "lines[0].quantity");
    let err = plan_return(&lines, &[("v1", 1), ("v1", 1)], &none).unwrap_err();
    assert_eq!(param_of(err), "lines[1].variant_id");
    let err = plan_return(&lines, &[("v9", 1)], &none).unwrap_err();
    assert_eq!(param_of(err), "lines[0].variant_id");
}
