//! The distributed shape in one test: identity, catalog, cart and gateway each started alone (`serve --only`),
//! sharing one PostgreSQL database and finding each other through `services.*.url`.

use std::sync::Arc;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokshop::Part;
use tokshop_platform::config::{Secret, Settings};

use crate::common::{Backend, spawn_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_run_alone_and_find_each_other() {
    // A database prepared like any test's; its server is only used for its settings and database.
    let shared = spawn_with(Backend::Postgres, |_| {}).await;
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
    let gateway = tokshop::start(
        base(&|s| {
            s.services.identity.url = Some(identity_url.clone());
            s.services.catalog.url = Some(catalog_url.clone());
            s.services.cart.url = Some(cart_url.clone());
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
    gateway.wait().await.unwrap();
    shared.stop().await;
}
