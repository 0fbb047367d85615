//! The distributed shape in one test: identity, catalog, cart, orders, social and gateway each started alone
//! (`serve --only`), sharing one PostgreSQL database and finding each other through `services.*.url`. A
//! purchase crosses every part, and the orders process's event consumers reach the catalog over gRPC; two
//! shoppers become friends and message each other through the social part, which reaches identity over gRPC.

use std::sync::Arc;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokshop::Part;
use tokshop_platform::config::{Secret, Settings};

use crate::common::{Backend, spawn_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_run_alone_and_find_each_other() {
    // A database prepared like any test's (migrated, with the admin). Its server stops at once: its relays and
    // event consumers would otherwise take the parts' events (a sale counted through its own catalog leaves the
    // catalog part's cache unaware).
    let mut shared = spawn_with(Backend::Postgres, |_| {}).await;
    shared.halt().await;
    let database = shared.settings.database.url.clone();
    let data_dir = shared.settings.data_dir.clone();
    let base = |adjust: &dyn Fn(&mut Settings)| {
        let mut settings = crate::common::test_settings(&data_dir);
        settings.database.url = database.clone();
        settings.auth.jwt_secret = Some(Secret::new(crate::common::JWT_SECRET));
        adjust(&mut settings);
        Arc::new(settings)
    };
    let shutdown = CancellationToken::new();

    let identity = tokshop::start(base(&|_| {}), Some(Part::Identity), shutdown.clone())
        .await
        .unwrap();
    let catalog_shutdown = CancellationToken::new();
    let catalog = tokshop::start(base(&|_| {}), Some(Part::Catalog), catalog_shutdown.clone())
        .await
        .unwrap();
    assert!(identity.gateway_addr.is_none() && identity.catalog_addr.is_none());
    let identity_url = format!("http://{}", identity.identity_addr.unwrap());
    let catalog_url = format!("http://{}", catalog.catalog_addr.unwrap());
    let cart = tokshop::start(
        base(&|s| s.services.catalog.url = Some(catalog_url.clone())),
        Some(Part::Cart),
        shutdown.clone(),
    )
    .await
    .unwrap();
    assert!(cart.catalog_addr.is_none());
    let cart_url = format!("http://{}", cart.cart_addr.unwrap());
    let orders = tokshop::start(
        base(&|s| {
            s.services.identity.url = Some(identity_url.clone());
            s.services.catalog.url = Some(catalog_url.clone());
            s.services.cart.url = Some(cart_url.clone());
        }),
        Some(Part::Orders),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let orders_url = format!("http://{}", orders.orders_addr.unwrap());
    let social = tokshop::start(
        base(&|s| {
            s.services.identity.url = Some(identity_url.clone());
            s.services.catalog.url = Some(catalog_url.clone());
        }),
        Some(Part::Social),
        shutdown.clone(),
    )
    .await
    .unwrap();
    assert!(social.identity_addr.is_none() && social.gateway_addr.is_none());
    let social_url = format!("http://{}", social.social_addr.unwrap());
    let gateway = tokshop::start(
        base(&|s| {
            s.services.identity.url = Some(identity_url.clone());
            s.services.catalog.url = Some(catalog_url.clone());
            s.services.cart.url = Some(cart_url.clone());
            s.services.orders.url = Some(orders_url.clone());
            s.services.social.url = Some(social_url.clone());
        }),
        Some(Part::Gateway),
        shutdown.clone(),
    )
    .await
    .unwrap();
    assert!(gateway.identity_addr.is_none());
    let api = format!("http://{}", gateway.gateway_addr.unwrap());

    let client = reqwest::Client::new();
    let ready = client.get(format!("{api}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let session: serde_json::Value = client
        .post(format!("{api}/api/v1/auth/register"))
        .json(&json!({"username": "spread", "email": "spread@example.com", "password": "s3cret-pass"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["access_token"].as_str().unwrap();
    let me = client
        .get(format!("{api}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let products = client
        .get(format!("{api}/api/v1/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(products.status(), 200);
    buy_across_parts(&client, &api, token).await;
    befriend_across_parts(&client, &api, token).await;

    // A part started alone without the shared secret refuses to start rather than mint tokens nobody accepts.
    let mut no_secret = crate::common::test_settings(&data_dir);
    no_secret.auth.jwt_secret = None;
    let refused = tokshop::start(Arc::new(no_secret), Some(Part::Identity), shutdown.clone()).await;
    assert!(refused.is_err());

    // Stopping the catalog makes the gateway not ready, and it says which part is missing.
    catalog_shutdown.cancel();
    catalog.wait().await.unwrap();
    let ready = client.get(format!("{api}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["services"]["identity"], "ok", "{body}");
    assert_ne!(body["services"]["catalog"], "ok", "{body}");

    shutdown.cancel();
    identity.wait().await.unwrap();
    cart.wait().await.unwrap();
    orders.wait().await.unwrap();
    social.wait().await.unwrap();
    gateway.wait().await.unwrap();
    shared.stop().await;
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: String,
    body: serde_json::Value,
) -> serde_json::Value {
    let response = client
        .request(method, url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// A seller lists a product, `buyer` checks out and pays from the wallet; the sale reaches the catalog's count.
async fn buy_across_parts(client: &reqwest::Client, api: &str, buyer: &str) {
    use reqwest::Method;
    let post = |path: &str, token: &str, body| {
        send(
            client,
            Method::POST,
            format!("{api}{path}"),
            token.to_owned(),
            body,
        )
    };
    let admin = post(
        "/api/v1/auth/login",
        "",
        json!({"login": "root_admin", "password": "admin-password-1"}),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let category = post(
        "/api/v1/categories",
        &admin,
        json!({"name": "Spread", "slug": "spread"}),
    )
    .await;
    let shop = post(
        "/api/v1/auth/register",
        "",
        json!({"username": "spreadshop", "email": "shop@example.com", "password": "s3cret-pass"}),
    )
    .await;
    let seller = post(
        "/api/v1/seller/onboarding",
        shop["access_token"].as_str().unwrap(),
        json!({"shop_name": "Spread"}),
    )
    .await;
    let seller = seller["access_token"].as_str().unwrap();
    let product = post(
        "/api/v1/seller/products",
        seller,
        crate::common::product_body(category["id"].as_str().unwrap(), "Spread boots", 2000, 5),
    )
    .await;
    let variant = product["variants"][0]["id"].as_str().unwrap();
    post(
        "/api/v1/me/addresses",
        buyer,
        json!({"recipient": "S", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}),
    )
    .await;
    let card = post(
        "/api/v1/payment-methods",
        buyer,
        json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}),
    )
    .await;
    post(
        "/api/v1/wallet/top-up",
        buyer,
        json!({"payment_method_id": card["id"], "amount_minor": 5000}),
    )
    .await;
    let order = post(
        "/api/v1/orders",
        buyer,
        json!({"items": [{"variant_id": variant, "quantity": 1}]}),
    )
    .await;
    let paid = post(
        &format!("/api/v1/orders/{}/pay", order["id"].as_str().unwrap()),
        buyer,
        json!({"payment_method_id": "wallet"}),
    )
    .await;
    assert_eq!(paid["status"], "succeeded");
    let product_url = format!("{api}/api/v1/products/{}", product["id"].as_str().unwrap());
    let mut sold = 0;
    for _ in 0..100 {
        let now = send(
            client,
            Method::GET,
            product_url.clone(),
            buyer.to_owned(),
            json!(null),
        )
        .await;
        sold = now["sold_count"].as_i64().unwrap();
        if sold == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sold, 1);
}

/// A second shopper and `token`'s user follow each other through the social part, then message each other.
async fn befriend_across_parts(client: &reqwest::Client, api: &str, token: &str) {
    let friend: serde_json::Value = client
        .post(format!("{api}/api/v1/auth/register"))
        .json(&json!({"username": "spread_friend", "email": "friend@example.com", "password": "s3cret-pass"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let friend_token = friend["access_token"].as_str().unwrap().to_owned();
    let friend_id = friend["user"]["id"].as_str().unwrap().to_owned();
    let me: serde_json::Value = client
        .get(format!("{api}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let my_id = me["id"].as_str().unwrap().to_owned();
    let put = reqwest::Method::PUT;
    let follow = send(
        client,
        put.clone(),
        format!("{api}/api/v1/users/{friend_id}/follow"),
        token.into(),
        json!({}),
    )
    .await;
    assert_eq!(follow["following"], true, "{follow}");
    let back = send(
        client,
        put,
        format!("{api}/api/v1/users/{my_id}/follow"),
        friend_token.clone(),
        json!({}),
    )
    .await;
    assert_eq!(back["friends"], true, "{back}");
    let message = send(
        client,
        reqwest::Method::POST,
        format!("{api}/api/v1/messages"),
        friend_token,
        json!({"to_user_id": my_id, "text": "hello across parts"}),
    )
    .await;
    assert_eq!(message["seq"], 1, "{message}");
    let history: serde_json::Value = client
        .get(format!("{api}/api/v1/messages/with/{friend_id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        history["messages"][0]["text"], "hello across parts",
        "{history}"
    );
}
