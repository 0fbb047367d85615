//! Checkout and the order lifecycle over REST: server-side prices, no oversell, coupons, cancellation, expiry
//! (also across a restart), fulfilment, returns, and owner-only access.
//!
//! Long because each case is a whole flow over real HTTP and storage; one file per area of the API.

use reqwest::Method;
use serde_json::json;

use crate::{
    common::TestApp,
    shop::{
        checkout, eventually, fund_wallet, ledger_balances, order, pay, shop, shopper, stock,
        wallet_balance,
    },
};

async fn sold_count(app: &TestApp, product_id: &str) -> i64 {
    app.get(&format!("/api/v1/products/{product_id}"), None)
        .await
        .expect(200)
        .body["sold_count"]
        .as_i64()
        .unwrap()
}

async fn checkout_prices_on_the_server_and_counts_sales(app: &TestApp) {
    let s = shop(app, "pricer", 2000, 10).await;
    let (buyer, address) = shopper(app, "pria").await;
    fund_wallet(app, &buyer, 10_000).await;
    // A client-sent price is not part of the request model and changes nothing.
    let created = app
        .post(
            "/api/v1/orders",
            Some(&buyer),
            json!({"items": [{"variant_id": s.variant, "quantity": 2, "unit_price": 1}], "total": 1}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(created["status"], "pending_payment");
    assert_eq!(created["subtotal"]["amount_minor"], 4000);
    assert_eq!(created["shipping_fee"]["amount_minor"], 500);
    assert_eq!(created["total"]["amount_minor"], 4500);
    assert_eq!(created["total"]["formatted"], "45.00 USD");
    assert_eq!(created["address"]["address_id"], address.as_str());
    assert_eq!(created["lines"][0]["unit_price"]["amount_minor"], 2000);
    assert!(
        created["expires_at_ms"].as_i64().unwrap() > created["created_at_ms"].as_i64().unwrap()
    );
    assert_eq!(stock(app, &s.product_id).await, 8);
    let id = created["id"].as_str().unwrap();

    let paid = pay(app, &buyer, id, "wallet").await.expect(200).body;
    assert_eq!(paid["status"], "succeeded");
    assert_eq!(paid["amount"]["amount_minor"], 4500);
    let now = order(app, &buyer, id).await;
    assert_eq!(now["status"], "paid");
    assert!(now["expires_at_ms"].is_null());
    assert_eq!(wallet_balance(app, &buyer).await, 10_000 - 4500);
    // The order.paid event reaches the catalog's sales count.
    assert_eq!(eventually(2, || sold_count(app, &s.product_id)).await, 2);
    // Orders of 5000 or more ship free.
    let free = checkout(app, &buyer, &s.variant, 3).await.expect(201).body;
    assert_eq!(free["shipping_fee"]["amount_minor"], 0);
    assert_eq!(free["total"]["amount_minor"], 6000);
    // Newest first, one per page, and a status filter.
    let first = app
        .get("/api/v1/orders?limit=1", Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(first["orders"][0]["id"], free["id"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/orders?limit=1&cursor={cursor}"),
            Some(&buyer),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(second["orders"][0]["id"], id);
    assert!(second["next_cursor"].is_null());
    let paid_only = app
        .get("/api/v1/orders?status=paid", Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(paid_only["orders"].as_array().unwrap().len(), 1);
    app.get("/api/v1/orders?status=lost", Some(&buyer))
        .await
        .expect_error(422, "invalid_parameter", Some("status"));
    ledger_balances(app).await;
}

async fn bad_items_are_rejected_and_change_nothing(app: &TestApp) {
    let s = shop(app, "strict", 1000, 5).await;
    let (buyer, _) = shopper(app, "sam").await;
    for quantity in [0, 100, -1] {
        checkout(app, &buyer, &s.variant, quantity)
            .await
            .expect_error(422, "invalid_parameter", Some("items[0].quantity"));
    }
    checkout(app, &buyer, "var_00000000000000000000000000000000", 1)
        .await
        .expect_error(422, "invalid_parameter", Some("items[0].variant_id"));
    checkout(app, &buyer, &s.variant, 6).await.expect_error(
        409,
        "out_of_stock",
        Some("items[0].quantity"),
    );
    app.post("/api/v1/orders", Some(&buyer), json!({}))
        .await
        .expect_error(422, "invalid_parameter", Some("items"));
    // Ids longer than any id and more lines than an order holds are refused before anything is looked up; at
    // the limit an id is looked up (and here names nothing).
    let max_id = tokshop_platform::limits::MAX_ID;
    let max_lines = tokshop_platform::limits::orders::MAX_LINES;
    let one_item = json!({"items": [{"variant_id": s.variant, "quantity": 1}]});
    for (field, unknown) in [
        ("address_id", "address_not_found"),
        ("claimed_coupon_id", "coupon_not_found"),
    ] {
        let mut body = one_item.clone();
        body[field] = json!("x".repeat(max_id + 1));
        app.post("/api/v1/orders", Some(&buyer), body.clone())
            .await
            .expect_error(422, "invalid_parameter", Some(field));
        body[field] = json!("x".repeat(max_id));
        app.post("/api/v1/orders", Some(&buyer), body)
            .await
            .expect_error(404, unknown, None);
    }
    app.post(
        "/api/v1/cart/items",
        Some(&buyer),
        json!({"variant_id": s.variant, "quantity": 1}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/orders",
        Some(&buyer),
        json!({"cart_variant_ids": vec![s.variant.clone(); max_lines + 1]}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("cart_variant_ids"));
    app.post(
        "/api/v1/orders",
        Some(&buyer),
        json!({"cart_variant_ids": [s.variant, "x".repeat(max_id + 1)]}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("cart_variant_ids[1]"));
    app.put(
        "/api/v1/orders/ord_nope/address",
        Some(&buyer),
        json!({"address_id": "x".repeat(max_id + 1)}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("address_id"));
    let line = json!({"variant_id": s.variant, "quantity": 1});
    app.post(
        "/api/v1/orders/ord_nope/returns",
        Some(&buyer),
        json!({"lines": vec![line; max_lines + 1], "reason": "too many"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("lines"));
    // The seller cannot buy from their own shop.
    shopper_address(app, &s.seller).await;
    checkout(app, &s.seller, &s.variant, 1).await.expect_error(
        422,
        "invalid_parameter",
        Some("items"),
    );
    assert_eq!(stock(app, &s.product_id).await, 5);
    let mine = app
        .get("/api/v1/orders", Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(mine["orders"].as_array().unwrap().len(), 0);
}

async fn shopper_address(app: &TestApp, token: &str) {
    app.post(
        "/api/v1/me/addresses",
        Some(token),
        json!({"recipient": "S", "line1": "2 Side St", "city": "Springfield", "postal_code": "12345",
               "country": "US", "make_default": true}),
    )
    .await
    .expect(201);
}

async fn two_hundred_checkouts_of_fifty_units_make_fifty_orders(app: &TestApp) {
    let s = shop(app, "rush", 1500, 50).await;
    // 40 buyers, 5 attempts each: no buyer reaches the cap on unpaid orders, so only stock limits the orders.
    let mut buyers = Vec::new();
    for i in 0..40 {
        buyers.push(shopper(app, &format!("rusher{i}")).await.0);
    }
    let attempts: Vec<_> = (0..200)
        .map(|i| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/orders", app.base);
            let token = buyers[i % buyers.len()].clone();
            let variant = s.variant.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            201 => created += 1,
            409 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 50);
    assert_eq!(stock(app, &s.product_id).await, 0);
    let mut listed = 0;
    for buyer in &buyers {
        let page = app
            .get("/api/v1/orders?limit=100", Some(buyer))
            .await
            .expect(200)
            .body;
        listed += page["orders"].as_array().unwrap().len();
    }
    assert_eq!(listed, 50);
    ledger_balances(app).await;
}

async fn checkout_from_the_cart_takes_the_lines_out(app: &TestApp) {
    let s = shop(app, "carter", 1200, 9).await;
    let (buyer, _) = shopper(app, "cara").await;
    app.post(
        "/api/v1/cart/items",
        Some(&buyer),
        json!({"variant_id": s.variant, "quantity": 3}),
    )
    .await
    .expect(200);
    let created = app
        .post("/api/v1/orders", Some(&buyer), json!({}))
        .await
        .expect(201)
        .body;
    assert_eq!(created["lines"][0]["quantity"], 3);
    let cart = app.get("/api/v1/cart", Some(&buyer)).await.expect(200).body;
    assert_eq!(cart["lines"].as_array().unwrap().len(), 0);
    app.post("/api/v1/orders", Some(&buyer), json!({}))
        .await
        .expect_error(422, "invalid_parameter", Some("items"));
}

async fn a_retried_checkout_creates_one_order(app: &TestApp) {
    let s = shop(app, "retry", 1000, 10).await;
    let (buyer, _) = shopper(app, "rita").await;
    let body = json!({"items": [{"variant_id": s.variant, "quantity": 2}]});
    let mut ids = Vec::new();
    for _ in 0..3 {
        let reply = app
            .call_with(
                Method::POST,
                "/api/v1/orders",
                Some(&buyer),
                Some(body.clone()),
                &[("idempotency-key", "co-1")],
            )
            .await
            .expect(201);
        ids.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert_eq!(stock(app, &s.product_id).await, 8);
    ledger_balances(app).await;
}

async fn coupon_amounts_and_times_are_bounded(app: &TestApp) {
    use tokshop_platform::limits::{
        MAX_ID, MAX_TIMESTAMP_MS,
        coupons::{MAX_AMOUNT_OFF, MAX_MIN_SPEND},
    };
    let (_, seller) = app.seller("boundshop").await;
    let until = tokshop_platform::time::now_ms() + 3_600_000;
    let base = json!({"code": "BOUND", "title": "Bound", "amount_off": 100, "scope": "shop",
                      "valid_until_ms": until, "total_quantity": 5});
    for (field, value) in [
        ("amount_off", json!(MAX_AMOUNT_OFF + 1)),
        ("min_spend", json!(MAX_MIN_SPEND + 1)),
        ("valid_from_ms", json!(-1)),
        ("valid_until_ms", json!(MAX_TIMESTAMP_MS + 1)),
        ("scope_id", json!("x".repeat(MAX_ID + 1))),
    ] {
        let mut body = base.clone();
        body[field] = value;
        app.post("/api/v1/seller/coupons", Some(&seller), body)
            .await
            .expect_error(422, "invalid_parameter", Some(field));
    }
    // At the limits the coupon is made.
    let mut body = base;
    body["amount_off"] = json!(MAX_AMOUNT_OFF);
    body["min_spend"] = json!(MAX_MIN_SPEND);
    body["valid_until_ms"] = json!(MAX_TIMESTAMP_MS);
    let coupon = app
        .post("/api/v1/seller/coupons", Some(&seller), body)
        .await
        .expect(201)
        .body;
    assert_eq!(coupon["amount_off"], MAX_AMOUNT_OFF);
    assert_eq!(coupon["valid_until_ms"], MAX_TIMESTAMP_MS);
}

async fn coupons_discount_and_come_back_when_cancelled_unpaid(app: &TestApp) {
    let s = shop(app, "couponer", 3000, 10).await;
    let (buyer, _) = shopper(app, "cody").await;
    let until = tokshop_platform::time::now_ms() + 3_600_000;
    let coupon = app
        .post(
            "/api/v1/seller/coupons",
            Some(&s.seller),
            json!({"code": "TENOFF", "title": "10% off", "percent_off": 10, "scope": "product",
                   "scope_id": s.product_id, "min_spend": 6000, "valid_until_ms": until,
                   "total_quantity": 2, "per_user_limit": 1}),
        )
        .await
        .expect(201)
        .body;
    let coupon_id = coupon["id"].as_str().unwrap();
    // Another seller cannot scope a coupon to this product.
    let (_, other_seller) = app.seller("rivalshop").await;
    app.post(
        "/api/v1/seller/coupons",
        Some(&other_seller),
        json!({"code": "STEAL", "title": "x", "amount_off": 100, "scope": "product", "scope_id": s.product_id,
               "valid_until_ms": until, "total_quantity": 5}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("scope_id"));
    let offered = app
        .get(
            &format!("/api/v1/coupons?product_id={}", s.product_id),
            None,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(offered["coupons"][0]["id"], coupon_id);

    let claimed = app
        .post(
            &format!("/api/v1/coupons/{coupon_id}/claim"),
            Some(&buyer),
            json!({}),
        )
        .await
        .expect(201)
        .body;
    app.post(
        &format!("/api/v1/coupons/{coupon_id}/claim"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect_error(409, "coupon_limit_reached", Some("coupon_id"));
    let claimed_id = claimed["id"].as_str().unwrap();
    // Below the minimum spend the coupon does not apply, and nothing is reserved.
    app.post(
        "/api/v1/orders",
        Some(&buyer),
        json!({"items": [{"variant_id": s.variant, "quantity": 1}], "claimed_coupon_id": claimed_id}),
    )
    .await
    .expect_error(409, "coupon_min_spend", Some("claimed_coupon_id"));
    assert_eq!(stock(app, &s.product_id).await, 10);
    let (second_buyer, _) = shopper(app, "cleo").await;
    let theirs = app
        .post(
            &format!("/api/v1/coupons/{coupon_id}/claim"),
            Some(&second_buyer),
            json!({}),
        )
        .await
        .expect(201)
        .body;
    app.post(
        "/api/v1/orders",
        Some(&buyer),
        json!({"items": [{"variant_id": s.variant, "quantity": 2}], "claimed_coupon_id": theirs["id"]}),
    )
    .await
    .expect_error(404, "coupon_not_found", None);
    let (third, _) = shopper(app, "cyd").await;
    app.post(
        &format!("/api/v1/coupons/{coupon_id}/claim"),
        Some(&third),
        json!({}),
    )
    .await
    .expect_error(409, "coupon_sold_out", Some("coupon_id"));

    let discounted = app
        .post(
            "/api/v1/orders",
            Some(&buyer),
            json!({"items": [{"variant_id": s.variant, "quantity": 2}], "claimed_coupon_id": claimed_id}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(discounted["discount"]["amount_minor"], 600);
    assert_eq!(discounted["total"]["amount_minor"], 6000 - 600);
    assert_eq!(discounted["coupon_code"], "TENOFF");
    let mine = app
        .get("/api/v1/me/coupons", Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(mine["coupons"][0]["status"], "used");
    app.post(
        "/api/v1/orders",
        Some(&buyer),
        json!({"items": [{"variant_id": s.variant, "quantity": 2}], "claimed_coupon_id": claimed_id}),
    )
    .await
    .expect_error(409, "coupon_used", Some("claimed_coupon_id"));

    let before = stock(app, &s.product_id).await;
    let id = discounted["id"].as_str().unwrap();
    let cancelled = app
        .post(
            &format!("/api/v1/orders/{id}/cancel"),
            Some(&buyer),
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "buyer");
    assert_eq!(
        eventually(before + 2, || stock(app, &s.product_id)).await,
        before + 2
    );
    let mine = app
        .get("/api/v1/me/coupons?available_only=true", Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(mine["coupons"][0]["id"], claimed_id);
    app.post(
        &format!("/api/v1/orders/{id}/cancel"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect_error(409, "invalid_order_state", Some("status"));
    // Still given back once: the stock did not move again.
    assert_eq!(stock(app, &s.product_id).await, before + 2);
    ledger_balances(app).await;
}

async fn fulfilment_returns_and_invalid_transitions(app: &TestApp) {
    let s = shop(app, "fulfil", 2500, 10).await;
    let (buyer, _) = shopper(app, "fay").await;
    fund_wallet(app, &buyer, 20_000).await;
    let created = checkout(app, &buyer, &s.variant, 2).await.expect(201).body;
    let id = created["id"].as_str().unwrap().to_owned();
    // Until it ships, the order can go to another of the buyer's addresses (snapshotted again).
    let office = app
        .post(
            "/api/v1/me/addresses",
            Some(&buyer),
            json!({"recipient": "Fay at work", "line1": "9 Office Rd", "city": "Capital City", "postal_code": "54321", "country": "US"}),
        )
        .await
        .expect(201)
        .body;
    let moved = app
        .put(
            &format!("/api/v1/orders/{id}/address"),
            Some(&buyer),
            json!({"address_id": office["id"]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(moved["address"]["recipient"], "Fay at work");
    assert_eq!(moved["address"]["city"], "Capital City");
    let ship_path = format!("/api/v1/seller/orders/{id}/ship");
    let ship = |body| app.post(&ship_path, Some(&s.seller), body);
    ship(json!({"tracking_number": "1Z999"}))
        .await
        .expect_error(409, "invalid_order_state", Some("status"));
    pay(app, &buyer, &id, "wallet").await.expect(200);
    let seller_view = app
        .get("/api/v1/seller/orders?status=paid", Some(&s.seller))
        .await
        .expect(200)
        .body;
    assert_eq!(seller_view["orders"][0]["id"], id.as_str());
    ship(json!({"tracking_number": ""})).await.expect_error(
        422,
        "invalid_parameter",
        Some("tracking_number"),
    );
    let shipped = ship(json!({"tracking_number": "1Z999", "carrier": "UPS"}))
        .await
        .expect(200)
        .body;
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(shipped["tracking_number"], "1Z999");
    ship(json!({"tracking_number": "1Z999"}))
        .await
        .expect_error(409, "invalid_order_state", Some("status"));
    app.post(
        &format!("/api/v1/orders/{id}/cancel"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect_error(409, "invalid_order_state", Some("status"));
    app.put(
        &format!("/api/v1/orders/{id}/address"),
        Some(&buyer),
        json!({"address_id": "adr_x"}),
    )
    .await
    .expect_error(409, "invalid_order_state", Some("status"));
    app.post(
        &format!("/api/v1/orders/{id}/returns"),
        Some(&buyer),
        json!({"lines": [{"variant_id": s.variant, "quantity": 1}], "reason": "too small"}),
    )
    .await
    .expect_error(409, "invalid_order_state", Some("status"));
    app.post(
        &format!("/api/v1/seller/orders/{id}/deliver"),
        Some(&s.seller),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/orders/{id}/returns"),
        Some(&buyer),
        json!({"lines": [{"variant_id": s.variant, "quantity": 3}], "reason": "too small"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("lines[0].quantity"));
    let ret = app
        .post(
            &format!("/api/v1/orders/{id}/returns"),
            Some(&buyer),
            json!({"lines": [{"variant_id": s.variant, "quantity": 1}], "reason": "too small"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(ret["amount"]["amount_minor"], 2500);
    let ret_id = ret["id"].as_str().unwrap();
    let before = wallet_balance(app, &buyer).await;
    let accepted = app
        .post(
            &format!("/api/v1/seller/returns/{ret_id}/accept"),
            Some(&s.seller),
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(accepted["status"], "accepted");
    assert!(accepted["refund_id"].is_string());
    app.post(
        &format!("/api/v1/seller/returns/{ret_id}/accept"),
        Some(&s.seller),
        json!({}),
    )
    .await
    .expect_error(409, "return_decided", Some("return_id"));
    assert_eq!(wallet_balance(app, &buyer).await, before + 2500);
    let now = order(app, &buyer, &id).await;
    assert_eq!(now["refunded"]["amount_minor"], 2500);
    assert_eq!(now["lines"][0]["returned_quantity"], 1);
    let done = app
        .post(
            &format!("/api/v1/orders/{id}/confirm-receipt"),
            Some(&buyer),
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["status"], "completed");
    let payments = app
        .get(&format!("/api/v1/orders/{id}/payments"), Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(payments["refunds"][0]["reason"], "return");
    ledger_balances(app).await;
}

async fn another_users_orders_are_not_found(app: &TestApp) {
    let s = shop(app, "private", 1000, 10).await;
    let (owner, _) = shopper(app, "olga").await;
    let (intruder, intruder_address) = shopper(app, "ivan").await;
    fund_wallet(app, &intruder, 50_000).await;
    let created = checkout(app, &owner, &s.variant, 1).await.expect(201).body;
    let id = created["id"].as_str().unwrap();
    app.get(&format!("/api/v1/orders/{id}"), Some(&intruder))
        .await
        .expect_error(404, "order_not_found", None);
    for path in ["cancel", "confirm-receipt"] {
        app.post(
            &format!("/api/v1/orders/{id}/{path}"),
            Some(&intruder),
            json!({}),
        )
        .await
        .expect_error(404, "order_not_found", None);
    }
    pay(app, &intruder, id, "wallet")
        .await
        .expect_error(404, "order_not_found", None);
    app.put(
        &format!("/api/v1/orders/{id}/address"),
        Some(&intruder),
        json!({"address_id": intruder_address}),
    )
    .await
    .expect_error(404, "order_not_found", None);
    app.get(&format!("/api/v1/orders/{id}/payments"), Some(&intruder))
        .await
        .expect_error(404, "order_not_found", None);
    app.get(&format!("/api/v1/orders/{id}/returns"), Some(&intruder))
        .await
        .expect_error(404, "order_not_found", None);
    // A seller sees only orders of their own products.
    let (_, other_seller) = app.seller("nosyshop").await;
    app.get(&format!("/api/v1/seller/orders/{id}"), Some(&other_seller))
        .await
        .expect_error(404, "order_not_found", None);
    app.post(
        &format!("/api/v1/seller/orders/{id}/cancel"),
        Some(&other_seller),
        json!({}),
    )
    .await
    .expect_error(404, "order_not_found", None);
    // The owner's address cannot be swapped for the intruder's either.
    app.put(
        &format!("/api/v1/orders/{id}/address"),
        Some(&owner),
        json!({"address_id": intruder_address}),
    )
    .await
    .expect_error(404, "address_not_found", None);
    let untouched = order(app, &owner, id).await;
    assert_eq!(untouched["status"], "pending_payment");
    assert_eq!(untouched["address"], created["address"]);
    assert_eq!(wallet_balance(app, &intruder).await, 50_000);
    ledger_balances(app).await;
}

/// Delivered orders complete by themselves once `orders.auto_complete_secs` has passed.
async fn delivered_orders_complete_by_themselves(app: &TestApp) {
    let s = shop(app, "autodone", 1000, 5).await;
    let (buyer, _) = shopper(app, "ada").await;
    fund_wallet(app, &buyer, 10_000).await;
    let created = checkout(app, &buyer, &s.variant, 1).await.expect(201).body;
    let id = created["id"].as_str().unwrap();
    pay(app, &buyer, id, "wallet").await.expect(200);
    app.post(
        &format!("/api/v1/seller/orders/{id}/ship"),
        Some(&s.seller),
        json!({"tracking_number": "TRK1"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/seller/orders/{id}/deliver"),
        Some(&s.seller),
        json!({}),
    )
    .await
    .expect(200);
    let completed = || async { (order(app, &buyer, id).await["status"] == "completed") as i64 };
    assert_eq!(eventually(1, completed).await, 1);
    assert!(
        order(app, &buyer, id).await["completed_at_ms"]
            .as_i64()
            .unwrap()
            > 0
    );
    ledger_balances(app).await;
}

mod auto_complete {
    use super::delivered_orders_complete_by_themselves;

    crate::on_both_databases!(
        with |s| {
            s.orders.auto_complete_secs = 0;
            s.orders.sweep_interval_ms = 100;
        };
        delivered_orders_complete_by_themselves
    );
}

crate::on_both_databases!(
    checkout_prices_on_the_server_and_counts_sales,
    bad_items_are_rejected_and_change_nothing,
    two_hundred_checkouts_of_fifty_units_make_fifty_orders,
    checkout_from_the_cart_takes_the_lines_out,
    a_retried_checkout_creates_one_order,
    coupon_amounts_and_times_are_bounded,
    coupons_discount_and_come_back_when_cancelled_unpaid,
    fulfilment_returns_and_invalid_transitions,
    another_users_orders_are_not_found,
);

/// Unpaid orders expire: stock and coupon come back exactly once, also when the server was down at expiry.
mod expiry {
    use super::*;
    use crate::common::{Backend, spawn_with};

    async fn expiry_across_a_restart(backend: Backend) {
        // The first run never sweeps (a long interval, after the start-up sweep), so the order expires while
        // no sweeper is looking; the restarted server must catch up.
        let mut app = spawn_with(backend, |s| {
            s.orders.unpaid_ttl_secs = 1;
            s.orders.sweep_interval_ms = 3_600_000;
        })
        .await;
        let s = shop(&app, "expiring", 3000, 5).await;
        let (buyer, _) = shopper(&app, "eve").await;
        let until = tokshop_platform::time::now_ms() + 3_600_000;
        let coupon = app
            .post(
                "/api/v1/seller/coupons",
                Some(&s.seller),
                json!({"code": "FIVE", "title": "5 off", "amount_off": 500, "scope": "shop",
                       "valid_until_ms": until, "total_quantity": 10}),
            )
            .await
            .expect(201)
            .body;
        let claimed = app
            .post(
                &format!("/api/v1/coupons/{}/claim", coupon["id"].as_str().unwrap()),
                Some(&buyer),
                json!({}),
            )
            .await
            .expect(201)
            .body;
        let created = app
            .post(
                "/api/v1/orders",
                Some(&buyer),
                json!({"items": [{"variant_id": s.variant, "quantity": 2}], "claimed_coupon_id": claimed["id"]}),
            )
            .await
            .expect(201)
            .body;
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(stock(&app, &s.product_id).await, 3);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        // Past its expiry but not yet swept: it cannot be paid.
        fund_wallet(&app, &buyer, 10_000).await;
        pay(&app, &buyer, &id, "wallet")
            .await
            .expect_error(409, "order_expired", Some("order_id"));
        app.restart(|s| s.orders.sweep_interval_ms = 100).await;
        let status = || async { (order(&app, &buyer, &id).await["status"] == "cancelled") as i64 };
        assert_eq!(eventually(1, status).await, 1);
        assert_eq!(order(&app, &buyer, &id).await["cancel_reason"], "expired");
        assert_eq!(eventually(5, || stock(&app, &s.product_id)).await, 5);
        let mine = app
            .get("/api/v1/me/coupons?available_only=true", Some(&buyer))
            .await
            .expect(200)
            .body;
        assert_eq!(mine["coupons"].as_array().unwrap().len(), 1);
        // Another restart and more sweeps release nothing twice.
        app.restart(|_| {}).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(stock(&app, &s.product_id).await, 5);
        let coupons = app
            .get("/api/v1/seller/coupons", Some(&s.seller))
            .await
            .expect(200)
            .body;
        assert_eq!(coupons["coupons"][0]["used"], 0);
        assert_eq!(wallet_balance(&app, &buyer).await, 10_000);
        ledger_balances(&app).await;
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        expiry_across_a_restart(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        expiry_across_a_restart(Backend::Postgres).await;
    }
}
