//! Defects found by trying tokshop as an attacker would: money in one currency only, and an admin bootstrap that
//! never hands the role to an account someone else registered first.

use serde_json::json;

use crate::{
    common::{TestApp, product_body},
    shop::{GOOD_CARD, card, shopper, wallet_balance},
};

/// A seller's products priced in two currencies cannot share an order: the checkout is refused (422) and takes no
/// stock, and each currency checks out on its own.
async fn an_order_holds_one_currency(app: &TestApp) {
    let category = app.category("fx").await;
    let (_, seller) = app.seller("fxseller").await;
    let mut usd = product_body(&category, "Dollar boots", 5000, 5);
    usd["currency"] = json!("USD");
    let mut krw = product_body(&category, "Won boots", 5000, 5);
    krw["currency"] = json!("KRW");
    let variant = |body: serde_json::Value| body["variants"][0]["id"].as_str().unwrap().to_owned();
    let usd = variant(
        app.post("/api/v1/seller/products", Some(&seller), usd)
            .await
            .expect(201)
            .body,
    );
    let krw = variant(
        app.post("/api/v1/seller/products", Some(&seller), krw)
            .await
            .expect(201)
            .body,
    );
    let (buyer, _) = shopper(app, "fxbuyer").await;
    app.post(
        "/api/v1/orders",
        Some(&buyer),
        json!({"items": [{"variant_id": usd, "quantity": 1}, {"variant_id": krw, "quantity": 1}]}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("items"));
    let orders = app
        .get("/api/v1/orders", Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(orders["orders"].as_array().unwrap().len(), 0);
    let placed = app
        .post(
            "/api/v1/orders",
            Some(&buyer),
            json!({"items": [{"variant_id": krw, "quantity": 1}]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(placed["total"]["currency"], "KRW");
}

/// The configured admin is created only when nobody has its name: an account registered first under that username
/// (or email) is never promoted when the server starts.
async fn the_admin_bootstrap_never_promotes_an_existing_account(app: &mut TestApp) {
    app.register("mallory").await;
    app.restart(|s| {
        s.admin.username = Some("mallory".into());
        s.admin.email = Some("boss@tokshop.example".into());
    })
    .await;
    let session = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "mallory", "password": "s3cret-pass"}),
        )
        .await
        .expect(200)
        .body;
    assert!(
        !session["user"]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("admin")),
        "{session}"
    );
    let token = session["access_token"].as_str().unwrap();
    app.post("/api/v1/admin/social/repair-counts", Some(token), json!({}))
        .await
        .expect_error(403, "forbidden", None);
    // The same under an email someone registered first.
    app.register("eve").await;
    app.restart(|s| {
        s.admin.username = Some("chief".into());
        s.admin.email = Some("eve@example.com".into());
    })
    .await;
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"login": "chief", "password": "admin-password-1"}),
    )
    .await
    .expect_error(401, "unauthenticated", None);
}

/// Production takes no made-up cards: with no card provider configured the sandbox is off, so saving a card (and
/// with it any top-up) is refused and no money can be minted.
async fn production_has_no_sandbox_cards(app: &TestApp) {
    let (buyer, _) = shopper(app, "prodbuyer").await;
    app.post(
        "/api/v1/payment-methods",
        Some(&buyer),
        json!({"number": GOOD_CARD, "exp_month": 12, "exp_year": 2099, "cvc": "123"}),
    )
    .await
    .expect_error(409, "card_payments_unavailable", Some("payment_method_id"));
    assert_eq!(wallet_balance(app, &buyer).await, 0);
}

/// Top-ups are capped per account and currency over 24 hours; a refused one credits nothing.
async fn wallet_top_ups_have_a_daily_limit(app: &TestApp) {
    let (buyer, _) = shopper(app, "topper").await;
    let card = card(app, &buyer, GOOD_CARD).await;
    let top_up =
        |amount: i64| json!({"payment_method_id": card, "amount_minor": amount, "currency": "USD"});
    app.post("/api/v1/wallet/top-up", Some(&buyer), top_up(4000))
        .await
        .expect(200);
    app.post("/api/v1/wallet/top-up", Some(&buyer), top_up(2000))
        .await
        .expect_error(409, "top_up_limit", Some("amount.amount_minor"));
    app.post("/api/v1/wallet/top-up", Some(&buyer), top_up(1000))
        .await
        .expect(200);
    assert_eq!(wallet_balance(app, &buyer).await, 5000);
}

/// One shopper cannot hoard stock with orders they never pay: at most 5 unpaid orders and 20 unpaid units of a
/// variant by default. A refused checkout takes no stock; paying or cancelling makes room again.
async fn unpaid_orders_cannot_hoard_stock(app: &TestApp) {
    let s = crate::shop::shop(app, "hoard", 1000, 60).await;
    let (buyer, _) = shopper(app, "hoarder").await;
    let order = |quantity: i64| json!({"items": [{"variant_id": s.variant, "quantity": quantity}]});
    let first = app
        .post("/api/v1/orders", Some(&buyer), order(15))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/api/v1/orders", Some(&buyer), order(6))
        .await
        .expect_error(409, "too_many_unpaid_units", Some("items"));
    for _ in 0..4 {
        app.post("/api/v1/orders", Some(&buyer), order(1))
            .await
            .expect(201);
    }
    app.post("/api/v1/orders", Some(&buyer), order(1))
        .await
        .expect_error(409, "too_many_unpaid_orders", Some("items"));
    let stock = crate::shop::stock(app, &s.product_id).await;
    assert_eq!(stock, 60 - 15 - 4, "refused checkouts took no stock");
    app.post(
        &format!("/api/v1/orders/{first}/cancel"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect(200);
    app.post("/api/v1/orders", Some(&buyer), order(1))
        .await
        .expect(201);
    // Another shopper is not limited by this one's orders.
    let (other, _) = shopper(app, "patient").await;
    app.post("/api/v1/orders", Some(&other), order(20))
        .await
        .expect(201);
}

crate::on_both_databases!(
    an_order_holds_one_currency,
    unpaid_orders_cannot_hoard_stock
);

mod production {
    crate::on_both_databases!(
        with |s: &mut tokshop_platform::config::Settings| {
            s.mode = Some(tokshop_platform::config::Mode::Production)
        };
        production_has_no_sandbox_cards
    );
    use super::production_has_no_sandbox_cards;
}

mod limits {
    crate::on_both_databases!(
        with |s: &mut tokshop_platform::config::Settings| s.orders.top_up_daily_limit_minor = 5000;
        wallet_top_ups_have_a_daily_limit
    );
    use super::wallet_top_ups_have_a_daily_limit;
}

/// A production shop refuses to start without a configured signing secret instead of making one up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_needs_a_configured_signing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::common::test_settings(dir.path());
    settings.mode = Some(tokshop_platform::config::Mode::Production);
    settings.auth.jwt_secret = None;
    let err = tokshop::start(
        std::sync::Arc::new(settings),
        None,
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .err()
    .expect("refused to start");
    assert!(err.to_string().contains("jwt_secret"), "{err}");
    assert!(!dir.path().join("jwt.secret").exists());
}

mod restarted {
    use crate::common::{Backend, spawn_app};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_admin_bootstrap() {
        let mut app = spawn_app(Backend::Sqlite).await;
        super::the_admin_bootstrap_never_promotes_an_existing_account(&mut app).await;
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_admin_bootstrap() {
        let mut app = spawn_app(Backend::Postgres).await;
        super::the_admin_bootstrap_never_promotes_an_existing_account(&mut app).await;
        app.stop().await;
    }
}
