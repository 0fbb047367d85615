//! Categories and seller product management: ownership, validation, listing state and price history.

use serde_json::json;

use crate::common::{TestApp, product_body};

async fn categories_form_a_tree(app: &TestApp) {
    let admin = app.admin().await;
    let top = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            json!({"name": "Shoes", "slug": "shoes"}),
        )
        .await
        .expect(201)
        .body;
    let top_id = top["id"].as_str().unwrap();
    for (name, slug) in [
        ("Trail Shoes", "trail-shoes"),
        ("Running Shoes", "running-shoes"),
    ] {
        let child = app
            .post(
                "/api/v1/categories",
                Some(&admin),
                json!({"name": name, "slug": slug, "parent_id": top_id}),
            )
            .await
            .expect(201)
            .body;
        assert_eq!(child["parent_id"], top_id);
    }
    app.post(
        "/api/v1/categories",
        Some(&admin),
        json!({"name": "Shoes again", "slug": "shoes"}),
    )
    .await
    .expect_error(409, "slug_taken", Some("slug"));
    app.post(
        "/api/v1/categories",
        Some(&admin),
        json!({"name": "Bad", "slug": "Not A Slug"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("slug"));
    app.post(
        "/api/v1/categories",
        Some(&admin),
        json!({"name": "Orphan", "slug": "orphan", "parent_id": "cat_nope"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("parent_id"));
    // Longer than any id: refused for its length, before any lookup.
    let max_id = tokshop_platform::limits::MAX_ID;
    let refused = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            json!({"name": "Orphan", "slug": "orphan", "parent_id": "c".repeat(max_id + 1)}),
        )
        .await
        .expect_error(422, "invalid_parameter", Some("parent_id"));
    assert!(
        refused.text.contains(&format!("{max_id} characters")),
        "{}",
        refused.text
    );
    let buyer = app.buyer("buyer").await;
    app.post(
        "/api/v1/categories",
        Some(&buyer),
        json!({"name": "Mine", "slug": "mine"}),
    )
    .await
    .expect_error(403, "forbidden", None);

    let tree = app.get("/api/v1/categories", None).await.expect(200).body;
    let roots = tree["categories"].as_array().unwrap();
    assert_eq!(roots.len(), 1);
    let children: Vec<&str> = roots[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["Running Shoes", "Trail Shoes"]);
}

async fn sellers_manage_only_their_products(app: &TestApp) {
    let category = app.category("trail-shoes").await;
    let (seller_id, seller) = app.seller("ridge").await;
    let created = app
        .post(
            "/api/v1/seller/products",
            Some(&seller),
            product_body(&category, "Ridge Trail Runner", 7900, 5),
        )
        .await
        .expect(201)
        .body;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("prd_"));
    assert_eq!(created["seller_id"], seller_id);
    assert_eq!(created["min_price"]["amount_minor"], 7900);
    assert_eq!(created["min_price"]["formatted"], "79.00 USD");
    assert_eq!(created["max_price"]["amount_minor"], 8400);
    assert_eq!(created["in_stock"], true);
    assert_eq!(created["variants"].as_array().unwrap().len(), 2);
    assert_eq!(
        created["variants"][0]["options"][0],
        json!({"name": "colour", "value": "blue"})
    );

    // Anyone can read it.
    let public = app
        .get(&format!("/api/v1/products/{id}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(public["title"], "Ridge Trail Runner");
    assert_eq!(public["category_name"], "trail-shoes leaf");

    // A buyer cannot create products; another seller cannot change this one, and nothing changes.
    let buyer = app.buyer("plainbuyer").await;
    app.post(
        "/api/v1/seller/products",
        Some(&buyer),
        product_body(&category, "Nope", 100, 1),
    )
    .await
    .expect_error(403, "forbidden", None);
    let (_, rival) = app.seller("rival").await;
    app.patch(
        &format!("/api/v1/seller/products/{id}"),
        Some(&rival),
        json!({"title": "Stolen"}),
    )
    .await
    .expect(403);
    let variant_id = created["variants"][0]["id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/seller/products/{id}/variants/{variant_id}"),
        Some(&rival),
        json!({"price_minor": 1}),
    )
    .await
    .expect(403);
    app.patch(
        &format!("/api/v1/seller/products/{id}"),
        Some(&rival),
        json!({"listed": false}),
    )
    .await
    .expect(403);
    let unchanged = app
        .get(&format!("/api/v1/products/{id}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(unchanged["title"], "Ridge Trail Runner");
    assert_eq!(unchanged["variants"][0]["price"]["amount_minor"], 7900);

    // Validation names the field and stores nothing.
    let mut negative = product_body(&category, "Negative", 100, 1);
    negative["variants"][1]["price_minor"] = json!(-5);
    app.post("/api/v1/seller/products", Some(&seller), negative)
        .await
        .expect_error(422, "invalid_parameter", Some("variants[1].price_minor"));
    app.post(
        "/api/v1/seller/products",
        Some(&seller),
        product_body(&category, "Negative stock", 100, -1),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("variants[0].stock"));
    app.post(
        "/api/v1/seller/products",
        Some(&seller),
        product_body("cat_missing", "Lost", 100, 1),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("category_id"));
    // A category id longer than any id is refused for its length, on creation and on edit.
    let max_id = tokshop_platform::limits::MAX_ID;
    let long_id = "c".repeat(max_id + 1);
    let refused = app
        .post(
            "/api/v1/seller/products",
            Some(&seller),
            product_body(&long_id, "Lost", 100, 1),
        )
        .await
        .expect_error(422, "invalid_parameter", Some("category_id"));
    assert!(
        refused.text.contains(&format!("{max_id} characters")),
        "{}",
        refused.text
    );
    let refused = app
        .patch(
            &format!("/api/v1/seller/products/{id}"),
            Some(&seller),
            json!({"category_id": long_id}),
        )
        .await
        .expect_error(422, "invalid_parameter", Some("category_id"));
    assert!(
        refused.text.contains(&format!("{max_id} characters")),
        "{}",
        refused.text
    );
    app.patch(
        &format!("/api/v1/seller/products/{id}/variants/{variant_id}"),
        Some(&seller),
        json!({"stock": -1}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("stock"));
    let mine = app
        .get("/api/v1/seller/products", Some(&seller))
        .await
        .expect(200)
        .body;
    assert_eq!(mine["products"].as_array().unwrap().len(), 1);

    // The owner edits, prices change with history, variants are added.
    let edited = app
        .patch(
            &format!("/api/v1/seller/products/{id}"),
            Some(&seller),
            json!({"title": "Ridge Trail Runner 2"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(edited["title"], "Ridge Trail Runner 2");
    let repriced = app
        .patch(
            &format!("/api/v1/seller/products/{id}/variants/{variant_id}"),
            Some(&seller),
            json!({"price_minor": 6900, "stock": 9}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(repriced["min_price"]["amount_minor"], 6900);
    assert_eq!(repriced["variants"][0]["stock"], 9);
    let history = app
        .get(&format!("/api/v1/products/{id}/price-history"), None)
        .await
        .expect(200)
        .body;
    let prices: Vec<i64> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["variant_id"] == variant_id.as_str())
        .map(|c| c["price"]["amount_minor"].as_i64().unwrap())
        .collect();
    assert_eq!(prices, [7900, 6900]);
    let added = app
        .post(
            &format!("/api/v1/seller/products/{id}/variants"),
            Some(&seller),
            json!({"sku": "GREEN-44", "options": [{"name": "colour", "value": "green"}], "price_minor": 9900, "stock": 3}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(added["variants"].as_array().unwrap().len(), 3);
    assert_eq!(added["max_price"]["amount_minor"], 9900);
    app.post(
        &format!("/api/v1/seller/products/{id}/variants"),
        Some(&seller),
        json!({"sku": "GREEN-44", "options": [], "price_minor": 1, "stock": 1}),
    )
    .await
    .expect_error(409, "sku_taken", Some("sku"));

    // Delisting hides it from everyone but its seller.
    app.patch(
        &format!("/api/v1/seller/products/{id}"),
        Some(&seller),
        json!({"listed": false}),
    )
    .await
    .expect(200);
    app.get(&format!("/api/v1/products/{id}"), None)
        .await
        .expect_error(404, "product_not_found", None);
    app.get(&format!("/api/v1/products/{id}"), Some(&rival))
        .await
        .expect(404);
    let own = app
        .get(&format!("/api/v1/products/{id}"), Some(&seller))
        .await
        .expect(200)
        .body;
    assert_eq!(own["listed"], false);
    let found = app
        .get("/api/v1/products?q=ridge", None)
        .await
        .expect(200)
        .body;
    assert_eq!(found["products"], json!([]));
    app.patch(
        &format!("/api/v1/seller/products/{id}"),
        Some(&seller),
        json!({"listed": true}),
    )
    .await
    .expect(200);
    let found = app
        .get("/api/v1/products?q=ridge", None)
        .await
        .expect(200)
        .body;
    assert_eq!(found["products"].as_array().unwrap().len(), 1);
}

crate::on_both_databases!(categories_form_a_tree, sellers_manage_only_their_products);
