//! `Idempotency-Key` on state-changing calls: replay, conflict, in-flight, per-user scope.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, TestApp, product_body};

async fn with_key(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: Value,
) -> Reply {
    app.call_with(method, path, token, Some(body), &[("idempotency-key", key)])
        .await
}

fn replayed(reply: &Reply) -> bool {
    reply
        .headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

fn address(city: &str) -> Value {
    json!({"recipient": "Ann", "line1": "1 Main St", "city": city, "postal_code": "12345", "country": "US"})
}

async fn same_key_same_request_replays(app: &TestApp) {
    // Sign-up and sign-in ignore the key: their responses carry tokens, which are never stored, so a repeat is
    // a new request (here refused, since the name is taken) and nothing replays a token.
    let body =
        json!({"username": "idem_ann", "email": "idem_ann@example.com", "password": "s3cret-pass"});
    let first = with_key(
        app,
        Method::POST,
        "/api/v1/auth/register",
        None,
        "reg-1",
        body.clone(),
    )
    .await
    .expect(201);
    assert!(!replayed(&first));
    let again = with_key(
        app,
        Method::POST,
        "/api/v1/auth/register",
        None,
        "reg-1",
        body,
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(!replayed(&again));
    let login = json!({"login": "idem_ann", "password": "s3cret-pass"});
    let a = with_key(
        app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        "login-1",
        login.clone(),
    )
    .await
    .expect(200);
    let b = with_key(
        app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        "login-1",
        login,
    )
    .await
    .expect(200);
    assert!(!replayed(&b));
    assert_ne!(a.body["refresh_token"], b.body["refresh_token"]);

    // A signed-in call replays its stored response, byte for byte.
    let token = first.body["access_token"].as_str().unwrap();
    let saved = with_key(
        app,
        Method::POST,
        "/api/v1/me/addresses",
        Some(token),
        "addr-1",
        address("Springfield"),
    )
    .await
    .expect(201);
    let replay = with_key(
        app,
        Method::POST,
        "/api/v1/me/addresses",
        Some(token),
        "addr-1",
        address("Springfield"),
    )
    .await
    .expect(201);
    assert!(replayed(&replay));
    assert_eq!(saved.body, replay.body);

    // Another body under the same key is refused and changes nothing.
    with_key(
        app,
        Method::POST,
        "/api/v1/me/addresses",
        Some(token),
        "addr-1",
        address("Shelbyville"),
    )
    .await
    .expect_error(422, "idempotency_conflict", None);
    let book = app
        .get("/api/v1/me/addresses", Some(token))
        .await
        .expect(200)
        .body;
    assert_eq!(book["addresses"].as_array().unwrap().len(), 1);

    // The same key on another route of the same caller is another key: answered on its own merits, not as a
    // conflict with the address above.
    with_key(
        app,
        Method::POST,
        "/api/v1/cart/items",
        Some(token),
        "addr-1",
        json!({"variant_id": "var_none", "quantity": 1}),
    )
    .await
    .expect_error(404, "variant_not_found", None);

    // Errors are answers too: a 422 replays as the same 422.
    let token = first.body["access_token"].as_str().unwrap();
    let bad = json!({"recipient": "Ann"});
    let a = with_key(
        app,
        Method::POST,
        "/api/v1/me/addresses",
        Some(token),
        "addr-bad",
        bad.clone(),
    )
    .await;
    let b = with_key(
        app,
        Method::POST,
        "/api/v1/me/addresses",
        Some(token),
        "addr-bad",
        bad,
    )
    .await;
    assert_eq!(a.status, 422);
    assert_eq!(b.status, 422);
    assert!(replayed(&b));
    assert_eq!(a.body, b.body);

    // Reads ignore the header.
    let me = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(token)
        .header("idempotency-key", "reg-1")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert!(me.headers().get("idempotent-replayed").is_none());
}

async fn a_retried_cart_add_adds_once(app: &TestApp) {
    let category = app.category("idem-shoes").await;
    let (_, seller) = app.seller("idem_seller").await;
    let product = app
        .post(
            "/api/v1/seller/products",
            Some(&seller),
            product_body(&category, "Idem Shoe", 5000, 10),
        )
        .await
        .expect(201)
        .body;
    let variant = product["variants"][0]["id"].as_str().unwrap();
    let buyer = app.buyer("idem_buyer").await;
    let add = json!({"variant_id": variant, "quantity": 2});
    for _ in 0..3 {
        with_key(
            app,
            Method::POST,
            "/api/v1/cart/items",
            Some(&buyer),
            "add-shoe",
            add.clone(),
        )
        .await
        .expect(200);
    }
    let cart = app.get("/api/v1/cart", Some(&buyer)).await.expect(200).body;
    assert_eq!(cart["lines"][0]["quantity"], 2);
}

async fn keys_are_scoped_per_user_and_concurrent_repeats_run_once(app: &TestApp) {
    let ann = app.buyer("scope_ann").await;
    let bob = app.buyer("scope_bob").await;
    let a = with_key(
        app,
        Method::POST,
        "/api/v1/me/addresses",
        Some(&ann),
        "same-key",
        address("Annville"),
    )
    .await
    .expect(201);
    let b = with_key(
        app,
        Method::POST,
        "/api/v1/me/addresses",
        Some(&bob),
        "same-key",
        address("Annville"),
    )
    .await
    .expect(201);
    assert!(!replayed(&b), "another user's key is another key");
    assert_ne!(a.body["id"], b.body["id"]);

    let carol = app.buyer("scope_carol").await;
    let attempts = (0..6).map(|_| {
        with_key(
            app,
            Method::POST,
            "/api/v1/me/addresses",
            Some(&carol),
            "burst",
            address("Burst City"),
        )
    });
    let replies = futures::future::join_all(attempts).await;
    let fresh: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == 201 && !replayed(r))
        .collect();
    assert_eq!(fresh.len(), 1, "exactly one request ran");
    for reply in &replies {
        match reply.status.as_u16() {
            201 => assert_eq!(reply.body["id"], fresh[0].body["id"]),
            409 => assert_eq!(reply.body["code"], "idempotency_in_flight"),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    let list = app
        .get("/api/v1/me/addresses", Some(&carol))
        .await
        .expect(200)
        .body;
    assert_eq!(list["addresses"].as_array().unwrap().len(), 1);
}

/// Clients that give up mid-checkout leave no key stuck in flight and no checkout half done: the request runs to
/// its end detached from the connection, and each retry gets the one order its key made.
async fn a_client_that_gives_up_leaves_nothing_stuck(app: &TestApp) {
    let s = crate::shop::shop(app, "quitter", 1000, 10).await;
    let (buyer, _) = crate::shop::shopper(app, "quinn").await;
    let body = json!({"items": [{"variant_id": s.variant, "quantity": 1}]});
    for i in 0..5u64 {
        let key = format!("quit-{i}");
        let request = with_key(
            app,
            Method::POST,
            "/api/v1/orders",
            Some(&buyer),
            &key,
            body.clone(),
        );
        // The client hangs up after a few milliseconds, whatever the server was doing.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(2 + 4 * i), request).await;
    }
    for i in 0..5u64 {
        let mut status = 0;
        for _ in 0..100 {
            let retry = with_key(
                app,
                Method::POST,
                "/api/v1/orders",
                Some(&buyer),
                &format!("quit-{i}"),
                body.clone(),
            )
            .await;
            status = retry.status.as_u16();
            if status != 409 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(status, 201, "key quit-{i} answers its order");
    }
    let orders = app
        .get("/api/v1/orders?limit=100", Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(
        orders["orders"].as_array().unwrap().len(),
        5,
        "one order per key"
    );
    let product = app
        .get(&format!("/api/v1/products/{}", s.product_id), None)
        .await
        .expect(200)
        .body;
    assert_eq!(product["variants"][0]["stock"], 5);
}

crate::on_both_databases!(
    a_client_that_gives_up_leaves_nothing_stuck,
    same_key_same_request_replays,
    a_retried_cart_add_adds_once,
    keys_are_scoped_per_user_and_concurrent_repeats_run_once,
);
