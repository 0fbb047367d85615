//! Registration, login, token refresh with rotation, logout, and every way a credential can be wrong.

use reqwest::Method;
use serde_json::json;

use crate::common::TestApp;

async fn register_login_refresh_logout(app: &TestApp) {
    let session = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "Ann_1", "email": "Ann@Example.com", "password": "s3cret-pass", "display_name": "Ann"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["user"]["username"], "Ann_1");
    assert_eq!(session["user"]["roles"], json!(["buyer"]));
    assert!(session["user"]["id"].as_str().unwrap().starts_with("usr_"));
    let access = session["access_token"].as_str().unwrap();
    let expires_in_ms =
        session["access_expires_at_ms"].as_i64().unwrap() - tokshop_platform::time::now_ms();
    assert!(
        (14 * 60_000..=15 * 60_000).contains(&expires_in_ms),
        "access token lives 15 minutes"
    );

    let me = app.get("/api/v1/me", Some(access)).await.expect(200).body;
    assert_eq!(me["email"], "Ann@Example.com");
    assert_eq!(me["display_name"], "Ann");

    // Login by username or email, case-insensitively.
    for login in ["Ann_1", "ann_1", "ann@example.com"] {
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"login": login, "password": "s3cret-pass"}),
        )
        .await
        .expect(200);
    }

    // Refresh rotates: the new pair works, the old refresh token is spent.
    let first_refresh = session["refresh_token"].as_str().unwrap();
    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first_refresh}),
        )
        .await
        .expect(200)
        .body;
    let second_refresh = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(first_refresh, second_refresh);
    app.get("/api/v1/me", rotated["access_token"].as_str())
        .await
        .expect(200);

    // Replaying the spent token is refused and revokes the whole session, including the newer token.
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": first_refresh}),
    )
    .await
    .expect_error(401, "unauthenticated", None);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": second_refresh}),
    )
    .await
    .expect(401);

    // Logout revokes a fresh session's refresh token; logging out twice is harmless.
    let other = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "Ann_1", "password": "s3cret-pass"}),
        )
        .await
        .expect(200)
        .body;
    let refresh = other["refresh_token"].as_str().unwrap();
    app.post(
        "/api/v1/auth/logout",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .expect(204);
    app.post(
        "/api/v1/auth/logout",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .expect(204);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .expect(401);
}

async fn registration_rejects_bad_input(app: &TestApp) {
    let register = |username: &str, email: &str, password: &str| json!({"username": username, "email": email, "password": password});
    app.post(
        "/api/v1/auth/register",
        None,
        register("bob", "bob@example.com", "short"),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("password"));
    app.post(
        "/api/v1/auth/register",
        None,
        register("b!", "bob@example.com", "long-enough"),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("username"));
    app.post(
        "/api/v1/auth/register",
        None,
        register("bob", "not-an-email", "long-enough"),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("email"));

    app.register("bob").await;
    app.post(
        "/api/v1/auth/register",
        None,
        register("BOB", "other@example.com", "long-enough"),
    )
    .await
    .expect_error(409, "username_taken", Some("username"));
    app.post(
        "/api/v1/auth/register",
        None,
        register("robert", "BOB@example.com", "long-enough"),
    )
    .await
    .expect_error(409, "email_taken", Some("email"));

    // Malformed JSON and missing fields change nothing.
    let response = app
        .client
        .post(format!("{}/api/v1/auth/register", app.base))
        .header("content-type", "application/json")
        .body("{\"username\": \"carol\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "malformed_json");
    app.post("/api/v1/auth/register", None, json!({"username": "carol"}))
        .await
        .expect(422);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"login": "carol", "password": "whatever-1"}),
    )
    .await
    .expect(401);
}

async fn bad_credentials_are_401(app: &TestApp) {
    let token = app.buyer("dave").await;
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"login": "dave", "password": "wrong-password"}),
    )
    .await
    .expect_error(401, "unauthenticated", None);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"login": "nobody", "password": "wrong-password"}),
    )
    .await
    .expect_error(401, "unauthenticated", None);

    app.get("/api/v1/me", None)
        .await
        .expect_error(401, "missing_token", None);
    app.get("/api/v1/me", Some("not.a.jwt"))
        .await
        .expect_error(401, "invalid_token", None);

    // A token whose payload was edited no longer verifies.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    app.get("/api/v1/me", Some(&parts.join(".")))
        .await
        .expect(401);

    // An expired token, correctly signed.
    let me = app.get("/api/v1/me", Some(&token)).await.expect(200).body;
    let expired = app
        .keys
        .issue_with_ttl(
            me["id"].as_str().unwrap(),
            &[tokshop_platform::auth::Role::Buyer],
            -10,
        )
        .unwrap();
    app.get("/api/v1/me", Some(&expired.token))
        .await
        .expect_error(401, "token_expired", None);

    // A token signed with another key.
    let forged = tokshop_platform::auth::TokenKeys::new(
        b"someone-elses-secret-someone-else",
        "tokshop",
        900,
    )
    .issue(
        me["id"].as_str().unwrap(),
        &[tokshop_platform::auth::Role::Admin],
    )
    .unwrap();
    app.call(Method::GET, "/api/v1/me", Some(&forged.token), None)
        .await
        .expect(401);
}

async fn oversized_credentials_are_refused_unread(app: &TestApp) {
    use tokshop_platform::limits::account::{MAX_LOGIN, MAX_PASSWORD, MAX_REFRESH_TOKEN};
    app.buyer("fay").await;
    let login = |login: String, password: String| json!({"login": login, "password": password});
    app.post(
        "/api/v1/auth/login",
        None,
        login("f".repeat(MAX_LOGIN + 1), "wrong-password".into()),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("login"));
    app.post(
        "/api/v1/auth/login",
        None,
        login("fay".into(), "p".repeat(MAX_PASSWORD + 1)),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("password"));
    // At the limits they are read, and simply wrong.
    app.post(
        "/api/v1/auth/login",
        None,
        login("f".repeat(MAX_LOGIN), "wrong-password".into()),
    )
    .await
    .expect(401);
    app.post(
        "/api/v1/auth/login",
        None,
        login("fay".into(), "p".repeat(MAX_PASSWORD)),
    )
    .await
    .expect(401);

    for path in ["/api/v1/auth/refresh", "/api/v1/auth/logout"] {
        app.post(
            path,
            None,
            json!({"refresh_token": "t".repeat(MAX_REFRESH_TOKEN + 1)}),
        )
        .await
        .expect_error(422, "invalid_parameter", Some("refresh_token"));
    }
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": "t".repeat(MAX_REFRESH_TOKEN)}),
    )
    .await
    .expect(401);
}

async fn profiles_and_roles(app: &TestApp) {
    let token = app.buyer("erin").await;
    let me = app
        .patch(
            "/api/v1/me",
            Some(&token),
            json!({"display_name": "Erin E.", "bio": "Trail runner", "avatar_url": "https://img.example.com/erin.png"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(me["display_name"], "Erin E.");
    assert_eq!(me["bio"], "Trail runner");
    app.patch(
        "/api/v1/me",
        Some(&token),
        json!({"avatar_url": "javascript:alert(1)"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("avatar_url"));
    app.patch("/api/v1/me", Some(&token), json!({"bio": "x".repeat(501)}))
        .await
        .expect_error(422, "invalid_parameter", Some("bio"));

    let id = me["id"].as_str().unwrap();
    let public = app
        .get(&format!("/api/v1/users/{id}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(public["display_name"], "Erin E.");
    assert_eq!(public["is_seller"], false);
    assert!(
        public.get("email").is_none(),
        "public profiles never show email"
    );
    app.get("/api/v1/users/usr_0000000000000000000000000000dead", None)
        .await
        .expect_error(404, "user_not_found", None);

    // Becoming a seller returns tokens that carry the role; the shop name is unique.
    let seller = app
        .post(
            "/api/v1/seller/onboarding",
            Some(&token),
            json!({"shop_name": "Erin Runs"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(seller["user"]["roles"], json!(["buyer", "seller"]));
    assert_eq!(seller["user"]["shop_name"], "Erin Runs");
    let public = app
        .get(&format!("/api/v1/users/{id}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(public["shop_name"], "Erin Runs");
    let other = app.buyer("frank").await;
    app.post(
        "/api/v1/seller/onboarding",
        Some(&other),
        json!({"shop_name": "erin runs"}),
    )
    .await
    .expect_error(409, "shop_name_taken", Some("shop_name"));
}

crate::on_both_databases!(
    register_login_refresh_logout,
    registration_rejects_bad_input,
    bad_credentials_are_401,
    oversized_credentials_are_refused_unread,
    profiles_and_roles,
);
