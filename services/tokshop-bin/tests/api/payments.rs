//! Payments over REST: wallet and sandbox cards, declines, idempotent pay under concurrency, refunds to the
//! original method on cancellation, and a ledger that balances after each test.

use reqwest::Method;
use serde_json::json;

use crate::{
    common::TestApp,
    shop::{
        DECLINED_CARD, GOOD_CARD, NO_FUNDS_CARD, card, checkout, fund_wallet, ledger_balances,
        order, pay, shop, shopper, wallet_balance,
    },
};

async fn cards_are_tokenized_and_declines_leave_the_order_unpaid(app: &TestApp) {
    let s = shop(app, "cardshop", 1000, 10).await;
    let (buyer, _) = shopper(app, "dora").await;
    let good = card(app, &buyer, GOOD_CARD).await;
    let declined = card(app, &buyer, DECLINED_CARD).await;
    let no_funds = card(app, &buyer, NO_FUNDS_CARD).await;
    let methods = app
        .get("/api/v1/payment-methods", Some(&buyer))
        .await
        .expect(200)
        .body;
    let methods = methods["methods"].as_array().unwrap();
    assert_eq!(methods[0]["id"], "wallet");
    assert_eq!(methods[1]["last4"], "4242");
    assert_eq!(methods[1]["brand"], "visa");
    assert!(
        !methods
            .iter()
            .any(|m| m.to_string().contains("4242424242424242"))
    );
    app.post(
        "/api/v1/payment-methods",
        Some(&buyer),
        json!({"number": "4242424242424241", "exp_month": 12, "exp_year": 2099, "cvc": "123"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("number"));
    app.post(
        "/api/v1/payment-methods",
        Some(&buyer),
        json!({"number": GOOD_CARD, "exp_month": 1, "exp_year": 2020, "cvc": "123"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("exp_year"));
    // Spaces and hyphens may stand between the digits, up to a length in all.
    let max_number = tokshop_platform::limits::payments::MAX_CARD_NUMBER;
    let digits: Vec<String> = GOOD_CARD
        .chars()
        .filter(char::is_ascii_digit)
        .map(String::from)
        .collect();
    let hyphenated = digits.join("-");
    let at_limit = hyphenated.replacen('-', &"-".repeat(max_number - hyphenated.len() + 1), 1);
    assert_eq!(at_limit.len(), max_number);
    card(app, &buyer, &at_limit).await;
    app.post(
        "/api/v1/payment-methods",
        Some(&buyer),
        json!({"number": format!("-{at_limit}"), "exp_month": 12, "exp_year": 2099, "cvc": "123"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("number"));

    let created = checkout(app, &buyer, &s.variant, 1).await.expect(201).body;
    let id = created["id"].as_str().unwrap();
    // A method id longer than any id is refused unread; one at the limit is looked up and not found.
    let max_id = tokshop_platform::limits::MAX_ID;
    pay(app, &buyer, id, &"p".repeat(max_id + 1))
        .await
        .expect_error(422, "invalid_parameter", Some("payment_method_id"));
    pay(app, &buyer, id, &"p".repeat(max_id))
        .await
        .expect_error(404, "payment_method_not_found", None);
    app.post(
        "/api/v1/wallet/top-up",
        Some(&buyer),
        json!({"payment_method_id": "p".repeat(max_id + 1), "amount_minor": 100}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("payment_method_id"));
    pay(app, &buyer, id, &declined).await.expect_error(
        402,
        "card_declined",
        Some("payment_method_id"),
    );
    pay(app, &buyer, id, &no_funds).await.expect_error(
        402,
        "insufficient_funds",
        Some("payment_method_id"),
    );
    pay(app, &buyer, id, "wallet").await.expect_error(
        402,
        "insufficient_funds",
        Some("payment_method_id"),
    );
    assert_eq!(order(app, &buyer, id).await["status"], "pending_payment");
    let paid = pay(app, &buyer, id, &good).await.expect(200).body;
    assert_eq!(paid["status"], "succeeded");
    pay(app, &buyer, id, &good)
        .await
        .expect_error(409, "invalid_order_state", Some("status"));
    let history = app
        .get(&format!("/api/v1/orders/{id}/payments"), Some(&buyer))
        .await
        .expect(200)
        .body;
    let statuses: Vec<&str> = history["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "failed", "failed", "succeeded"]);

    // A removed card cannot pay; another user's card is not found.
    let (other, _) = shopper(app, "otto").await;
    let second = checkout(app, &other, &s.variant, 1).await.expect(201).body;
    pay(app, &other, second["id"].as_str().unwrap(), &good)
        .await
        .expect_error(404, "payment_method_not_found", None);
    app.delete(&format!("/api/v1/payment-methods/{good}"), Some(&other))
        .await
        .expect_error(404, "payment_method_not_found", None);
    app.delete(&format!("/api/v1/payment-methods/{good}"), Some(&buyer))
        .await
        .expect(204);
    let third = checkout(app, &buyer, &s.variant, 1).await.expect(201).body;
    pay(app, &buyer, third["id"].as_str().unwrap(), &good)
        .await
        .expect_error(404, "payment_method_not_found", None);
    ledger_balances(app).await;
}

async fn twenty_concurrent_pays_with_one_key_charge_once(app: &TestApp) {
    let s = shop(app, "payrush", 2000, 10).await;
    let (buyer, _) = shopper(app, "paula").await;
    fund_wallet(app, &buyer, 10_000).await;
    let created = checkout(app, &buyer, &s.variant, 1).await.expect(201).body;
    let id = created["id"].as_str().unwrap().to_owned();
    let before = ledger_balances(app).await;
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/orders/{id}/pay", app.base);
            let token = buyer.clone();
            tokio::spawn(async move {
                let response = client
                    .post(url)
                    .bearer_auth(token)
                    .header("idempotency-key", "pay-once")
                    .json(&json!({"payment_method_id": "wallet"}))
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for attempt in attempts {
        let (status, body) = attempt.await.unwrap();
        match status {
            200 => bodies.push(body),
            // The gateway's own key store turns an overlapping duplicate into "still running".
            409 => assert!(body.contains("idempotency_in_flight"), "{body}"),
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert!(!bodies.is_empty());
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "every response equal"
    );
    // Retries after the first finished all replay the same payment.
    for _ in 0..3 {
        let again = app
            .call_with(
                Method::POST,
                &format!("/api/v1/orders/{id}/pay"),
                Some(&buyer),
                Some(json!({"payment_method_id": "wallet"})),
                &[("idempotency-key", "pay-once")],
            )
            .await
            .expect(200);
        assert_eq!(again.text, bodies[0]);
    }
    assert_eq!(wallet_balance(app, &buyer).await, 10_000 - 2500);
    let history = app
        .get(&format!("/api/v1/orders/{id}/payments"), Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(history["payments"].as_array().unwrap().len(), 1);
    let after = ledger_balances(app).await;
    // One charge: one ledger transaction of two entries.
    assert_eq!(
        after["transactions"].as_i64().unwrap(),
        before["transactions"].as_i64().unwrap() + 1
    );
    assert_eq!(
        after["entries"].as_i64().unwrap(),
        before["entries"].as_i64().unwrap() + 2
    );
}

async fn service_level_checkout_and_pay_are_idempotent_without_the_gateway_store(app: &TestApp) {
    use tokshop_platform::{auth::authorized, grpc};
    use tokshop_proto::{
        order::{CheckoutRequest, LineChoice, order_service_client::OrderServiceClient},
        payment::{PayOrderRequest, payment_service_client::PaymentServiceClient},
    };

    let s = shop(app, "grpcpay", 2000, 10).await;
    let (buyer, _) = shopper(app, "gina").await;
    fund_wallet(app, &buyer, 10_000).await;
    let channel = grpc::channel(&format!("http://{}", app.running().orders_addr.unwrap())).unwrap();
    // Concurrent retries of one checkout make one order and take the stock once.
    let checkouts: Vec<_> = (0..10)
        .map(|_| {
            let mut client = OrderServiceClient::new(channel.clone());
            let request = authorized(
                CheckoutRequest {
                    request_id: "checkout-retry".into(),
                    items: vec![LineChoice {
                        variant_id: s.variant.clone(),
                        quantity: 1,
                    }],
                    ..Default::default()
                },
                Some(&buyer),
            );
            tokio::spawn(async move { client.checkout(request).await.map(|r| r.into_inner().id) })
        })
        .collect();
    let mut ids = Vec::new();
    for call in checkouts {
        ids.push(call.await.unwrap().expect("every retry succeeds"));
    }
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert_eq!(crate::shop::stock(app, &s.product_id).await, 9);
    let id = ids[0].clone();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let mut client = PaymentServiceClient::new(channel.clone());
            let request = authorized(
                PayOrderRequest {
                    request_id: "retry-me".into(),
                    order_id: id.clone(),
                    payment_method_id: "wallet".into(),
                },
                Some(&buyer),
            );
            tokio::spawn(async move { client.pay_order(request).await.map(|r| r.into_inner()) })
        })
        .collect();
    let mut payments = Vec::new();
    for call in calls {
        payments.push(call.await.unwrap().expect("every retry succeeds"));
    }
    assert!(payments.iter().all(|p| *p == payments[0]));
    assert_eq!(payments[0].status, "succeeded");
    assert_eq!(wallet_balance(app, &buyer).await, 10_000 - 2500);
    // The same request id for another order is a conflict, not a second charge.
    let other = checkout(app, &buyer, &s.variant, 1).await.expect(201).body;
    let mut client = PaymentServiceClient::new(channel);
    let status = client
        .pay_order(authorized(
            PayOrderRequest {
                request_id: "retry-me".into(),
                order_id: other["id"].as_str().unwrap().into(),
                payment_method_id: "wallet".into(),
            },
            Some(&buyer),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::AlreadyExists);
    ledger_balances(app).await;
}

async fn cancelling_after_payment_refunds_to_the_original_method(app: &TestApp) {
    let s = shop(app, "refunder", 1500, 10).await;
    let (buyer, _) = shopper(app, "ruth").await;
    fund_wallet(app, &buyer, 10_000).await;
    let by_wallet = checkout(app, &buyer, &s.variant, 2).await.expect(201).body;
    let wallet_order = by_wallet["id"].as_str().unwrap();
    pay(app, &buyer, wallet_order, "wallet").await.expect(200);
    assert_eq!(wallet_balance(app, &buyer).await, 10_000 - 3500);
    let cancelled = app
        .post(
            &format!("/api/v1/orders/{wallet_order}/cancel"),
            Some(&buyer),
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["refunded"]["amount_minor"], 3500);
    assert_eq!(wallet_balance(app, &buyer).await, 10_000);
    pay(app, &buyer, wallet_order, "wallet").await.expect_error(
        409,
        "invalid_order_state",
        Some("status"),
    );

    let good = card(app, &buyer, GOOD_CARD).await;
    let by_card = checkout(app, &buyer, &s.variant, 1).await.expect(201).body;
    let card_order = by_card["id"].as_str().unwrap();
    pay(app, &buyer, card_order, &good).await.expect(200);
    // The seller may cancel a paid order it cannot fulfil; the card is refunded, the wallet untouched.
    app.post(
        &format!("/api/v1/seller/orders/{card_order}/cancel"),
        Some(&s.seller),
        json!({}),
    )
    .await
    .expect(200);
    let history = app
        .get(
            &format!("/api/v1/orders/{card_order}/payments"),
            Some(&buyer),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(history["refunds"][0]["amount"]["amount_minor"], 2000);
    assert_eq!(history["refunds"][0]["reason"], "cancellation");
    assert_eq!(wallet_balance(app, &buyer).await, 10_000);
    // Nobody but an admin reads the ledger report.
    app.get("/api/v1/admin/ledger/verify", Some(&buyer))
        .await
        .expect_error(403, "forbidden", None);
    ledger_balances(app).await;
}

crate::on_both_databases!(
    cards_are_tokenized_and_declines_leave_the_order_unpaid,
    twenty_concurrent_pays_with_one_key_charge_once,
    service_level_checkout_and_pay_are_idempotent_without_the_gateway_store,
    cancelling_after_payment_refunds_to_the_original_method,
);
