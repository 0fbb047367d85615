//! Fixtures for commerce tests: a seller with a stocked product, shoppers with an address, cards and wallet
//! money, and the checks every money test ends with.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Reply, TestApp, product_body};

pub const GOOD_CARD: &str = "4242 4242 4242 4242";
pub const DECLINED_CARD: &str = "4000000000000002";
pub const NO_FUNDS_CARD: &str = "4000000000009995";

/// A seller's product: the first variant has the stock asked for, the second none.
pub struct Shop {
    pub seller: String,
    pub product_id: String,
    pub variant: String,
}

pub async fn shop(app: &TestApp, name: &str, price_minor: i64, stock: i64) -> Shop {
    let category = app.category(&format!("{name}-cat")).await;
    let (_, seller) = app.seller(name).await;
    let product = app
        .post(
            "/api/v1/seller/products",
            Some(&seller),
            product_body(&category, &format!("{name} boots"), price_minor, stock),
        )
        .await
        .expect(201)
        .body;
    Shop {
        seller,
        product_id: product["id"].as_str().unwrap().to_owned(),
        variant: product["variants"][0]["id"].as_str().unwrap().to_owned(),
    }
}

/// A registered shopper with a default address; returns (token, address id).
pub async fn shopper(app: &TestApp, name: &str) -> (String, String) {
    let token = app.buyer(name).await;
    let address = app
        .post(
            "/api/v1/me/addresses",
            Some(&token),
            json!({"recipient": name, "line1": "1 Main St", "city": "Springfield", "postal_code": "12345",
                   "country": "US", "make_default": true}),
        )
        .await
        .expect(201)
        .body;
    (token, address["id"].as_str().unwrap().to_owned())
}

pub async fn checkout(app: &TestApp, token: &str, variant: &str, quantity: i64) -> Reply {
    app.post(
        "/api/v1/orders",
        Some(token),
        json!({"items": [{"variant_id": variant, "quantity": quantity}]}),
    )
    .await
}

/// Saves a card; returns its payment method id.
pub async fn card(app: &TestApp, token: &str, number: &str) -> String {
    app.post(
        "/api/v1/payment-methods",
        Some(token),
        json!({"number": number, "exp_month": 12, "exp_year": 2099, "cvc": "123"}),
    )
    .await
    .expect(201)
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Saves a good card and tops the wallet up by `amount_minor` USD from it.
pub async fn fund_wallet(app: &TestApp, token: &str, amount_minor: i64) {
    let card = card(app, token, GOOD_CARD).await;
    app.post(
        "/api/v1/wallet/top-up",
        Some(token),
        json!({"payment_method_id": card, "amount_minor": amount_minor, "currency": "USD"}),
    )
    .await
    .expect(200);
}

pub async fn wallet_balance(app: &TestApp, token: &str) -> i64 {
    let wallet = app
        .get("/api/v1/wallet", Some(token))
        .await
        .expect(200)
        .body;
    wallet["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"] == "USD")
        .map_or(0, |b| b["amount_minor"].as_i64().unwrap())
}

pub async fn pay(app: &TestApp, token: &str, order_id: &str, method: &str) -> Reply {
    app.post(
        &format!("/api/v1/orders/{order_id}/pay"),
        Some(token),
        json!({"payment_method_id": method}),
    )
    .await
}

pub async fn order(app: &TestApp, token: &str, order_id: &str) -> Value {
    app.get(&format!("/api/v1/orders/{order_id}"), Some(token))
        .await
        .expect(200)
        .body
}

pub async fn stock(app: &TestApp, product_id: &str) -> i64 {
    app.get(&format!("/api/v1/products/{product_id}"), None)
        .await
        .expect(200)
        .body["variants"][0]["stock"]
        .as_i64()
        .unwrap()
}

/// Waits (up to 10 s) until `probe` returns `want`: events are applied just after the change commits.
pub async fn eventually<F, Fut>(want: i64, mut probe: F) -> i64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let mut seen = probe().await;
    for _ in 0..100 {
        if seen == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = probe().await;
    }
    seen
}

/// Asserts the ledger balances and every order's money matches its state; returns the report.
pub async fn ledger_balances(app: &TestApp) -> Value {
    let admin = app.admin().await;
    let report = app
        .get("/api/v1/admin/ledger/verify", Some(&admin))
        .await
        .expect(200)
        .body;
    assert_eq!(report["balanced"], true, "ledger problems: {report}");
    report
}
