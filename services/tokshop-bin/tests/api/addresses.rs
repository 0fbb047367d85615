//! Shipping addresses: defaults, partial updates, limits, and that nobody touches another user's addresses.

use serde_json::{Value, json};

use crate::common::TestApp;

fn address(recipient: &str) -> Value {
    json!({"recipient": recipient, "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "us"})
}

async fn addresses_are_owner_only(app: &TestApp) {
    let ann = app.buyer("ann").await;
    let first = app
        .post("/api/v1/me/addresses", Some(&ann), address("Ann Home"))
        .await
        .expect(201)
        .body;
    assert_eq!(
        first["is_default"], true,
        "the first address becomes the default"
    );
    assert_eq!(first["country"], "US");
    let first_id = first["id"].as_str().unwrap();

    let mut second_body = address("Ann Work");
    second_body["make_default"] = json!(true);
    let second = app
        .post("/api/v1/me/addresses", Some(&ann), second_body)
        .await
        .expect(201)
        .body;
    let second_id = second["id"].as_str().unwrap();
    assert_eq!(second["is_default"], true);

    let list = app
        .get("/api/v1/me/addresses", Some(&ann))
        .await
        .expect(200)
        .body;
    let list = list["addresses"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], second_id, "the default comes first");
    assert_eq!(list[1]["is_default"], false);

    // A partial update keeps the other fields.
    let updated = app
        .patch(
            &format!("/api/v1/me/addresses/{first_id}"),
            Some(&ann),
            json!({"city": "Shelbyville"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(updated["city"], "Shelbyville");
    assert_eq!(updated["recipient"], "Ann Home");
    app.patch(
        &format!("/api/v1/me/addresses/{first_id}"),
        Some(&ann),
        json!({"country": "USA"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("country"));
    app.post(
        "/api/v1/me/addresses",
        Some(&ann),
        json!({"recipient": "No Street"}),
    )
    .await
    .expect(422);

    let set = app
        .post(
            &format!("/api/v1/me/addresses/{first_id}/default"),
            Some(&ann),
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(set["is_default"], true);
    let got = app
        .get(&format!("/api/v1/me/addresses/{second_id}"), Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(got["is_default"], false);

    // Someone else sees nothing and changes nothing.
    let bob = app.buyer("bob").await;
    assert_eq!(
        app.get("/api/v1/me/addresses", Some(&bob))
            .await
            .expect(200)
            .body["addresses"],
        json!([])
    );
    app.get(&format!("/api/v1/me/addresses/{first_id}"), Some(&bob))
        .await
        .expect_error(404, "address_not_found", None);
    app.patch(
        &format!("/api/v1/me/addresses/{first_id}"),
        Some(&bob),
        json!({"city": "Nowhere"}),
    )
    .await
    .expect(404);
    app.delete(&format!("/api/v1/me/addresses/{first_id}"), Some(&bob))
        .await
        .expect(404);
    app.post(
        &format!("/api/v1/me/addresses/{first_id}/default"),
        Some(&bob),
        json!({}),
    )
    .await
    .expect(404);
    let still = app
        .get(&format!("/api/v1/me/addresses/{first_id}"), Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(still["city"], "Shelbyville");

    // Deleting the default promotes the remaining address.
    app.delete(&format!("/api/v1/me/addresses/{first_id}"), Some(&ann))
        .await
        .expect(204);
    let list = app
        .get("/api/v1/me/addresses", Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(list["addresses"].as_array().unwrap().len(), 1);
    assert_eq!(list["addresses"][0]["is_default"], true);
    app.get("/api/v1/me/addresses", None).await.expect(401);
}

async fn address_book_is_limited(app: &TestApp) {
    let token = app.buyer("collector").await;
    for i in 0..20 {
        app.post(
            "/api/v1/me/addresses",
            Some(&token),
            address(&format!("Home {i}")),
        )
        .await
        .expect(201);
    }
    app.post(
        "/api/v1/me/addresses",
        Some(&token),
        address("One too many"),
    )
    .await
    .expect_error(409, "address_limit_reached", None);
}

crate::on_both_databases!(addresses_are_owner_only, address_book_is_limited);
