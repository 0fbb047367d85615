//! The cart: lines priced live from the catalog, quantity rules, flags for delisted and short lines, limits, and
//! that a cart is its owner's alone.

use serde_json::{Value, json};

use crate::common::{TestApp, product_body};

/// A seller's product with a blue-42 variant (stock 5) and a red-43 variant (stock 0); returns (product, token).
async fn product(app: &TestApp, title: &str, price: i64) -> (Value, String) {
    let category = app
        .category(&format!("cat-{}", title.to_lowercase().replace(' ', "-")))
        .await;
    let (_, seller) = app
        .seller(&format!("s_{}", title.to_lowercase().replace(' ', "_")))
        .await;
    let product = app
        .post(
            "/api/v1/seller/products",
            Some(&seller),
            product_body(&category, title, price, 5),
        )
        .await
        .expect(201)
        .body;
    (product, seller)
}

fn variant(product: &Value, index: usize) -> String {
    product["variants"][index]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn cart_lines_are_priced_live_and_flagged(app: &TestApp) {
    let (shoe, seller) = product(app, "Trail Shoe", 7900).await;
    let blue = variant(&shoe, 0);
    let red = variant(&shoe, 1);
    let ann = app.buyer("cart_ann").await;

    let empty = app.get("/api/v1/cart", Some(&ann)).await.expect(200).body;
    assert_eq!(empty["lines"], json!([]));
    assert_eq!(empty["ready_for_checkout"], false);

    let cart = app
        .post(
            "/api/v1/cart/items",
            Some(&ann),
            json!({"variant_id": blue, "quantity": 2}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cart["lines"][0]["quantity"], 2);
    assert_eq!(cart["lines"][0]["title"], "Trail Shoe");
    assert_eq!(cart["lines"][0]["unit_price"]["amount_minor"], 7900);
    assert_eq!(cart["lines"][0]["line_total"]["formatted"], "158.00 USD");
    assert_eq!(
        cart["subtotals"],
        json!([{"amount_minor": 15800, "currency": "USD", "formatted": "158.00 USD"}])
    );
    assert_eq!(cart["ready_for_checkout"], true);

    // Adding again grows the line; past stock it is flagged with what is available.
    let cart = app
        .post(
            "/api/v1/cart/items",
            Some(&ann),
            json!({"variant_id": blue, "quantity": 5}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cart["lines"].as_array().unwrap().len(), 1);
    assert_eq!(cart["lines"][0]["quantity"], 7);
    assert_eq!(cart["lines"][0]["short_of_stock"], true);
    assert_eq!(cart["lines"][0]["available"], 5);
    assert_eq!(cart["ready_for_checkout"], false);
    let cart = app
        .patch(
            &format!("/api/v1/cart/items/{blue}"),
            Some(&ann),
            json!({"quantity": 3}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cart["lines"][0]["short_of_stock"], false);
    assert_eq!(cart["item_count"], 3);

    // The seller changes the price: the cart shows the new one.
    let product_id = shoe["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/seller/products/{product_id}/variants/{blue}"),
        Some(&seller),
        json!({"price_minor": 6900}),
    )
    .await
    .expect(200);
    let cart = app.get("/api/v1/cart", Some(&ann)).await.expect(200).body;
    assert_eq!(cart["subtotals"][0]["amount_minor"], 3 * 6900);

    // A sold-out variant can sit in the cart, flagged; a delisted product is unavailable and leaves the subtotal.
    let cart = app
        .post(
            "/api/v1/cart/items",
            Some(&ann),
            json!({"variant_id": red, "quantity": 1}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cart["lines"][1]["short_of_stock"], true);
    assert_eq!(cart["lines"][1]["available"], 0);
    app.patch(
        &format!("/api/v1/seller/products/{product_id}"),
        Some(&seller),
        json!({"listed": false}),
    )
    .await
    .expect(200);
    let cart = app.get("/api/v1/cart", Some(&ann)).await.expect(200).body;
    assert!(
        cart["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["unavailable"] == true)
    );
    assert_eq!(cart["subtotals"], json!([]));
    app.post(
        "/api/v1/cart/items",
        Some(&ann),
        json!({"variant_id": blue, "quantity": 1}),
    )
    .await
    .expect_error(404, "variant_not_found", None);

    // Remove and clear.
    let cart = app
        .delete(&format!("/api/v1/cart/items/{red}"), Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(cart["lines"].as_array().unwrap().len(), 1);
    app.delete(&format!("/api/v1/cart/items/{red}"), Some(&ann))
        .await
        .expect_error(404, "cart_line_not_found", None);
    let cart = app
        .delete("/api/v1/cart", Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(cart["lines"], json!([]));
}

async fn bad_quantities_and_variants_change_nothing(app: &TestApp) {
    let (shoe, _) = product(app, "Road Shoe", 5000).await;
    let blue = variant(&shoe, 0);
    let bob = app.buyer("cart_bob").await;
    app.post(
        "/api/v1/cart/items",
        Some(&bob),
        json!({"variant_id": blue, "quantity": 1}),
    )
    .await
    .expect(200);
    for quantity in [0, 100, -1] {
        app.post(
            "/api/v1/cart/items",
            Some(&bob),
            json!({"variant_id": blue, "quantity": quantity}),
        )
        .await
        .expect_error(422, "invalid_parameter", Some("quantity"));
        app.patch(
            &format!("/api/v1/cart/items/{blue}"),
            Some(&bob),
            json!({"quantity": quantity}),
        )
        .await
        .expect_error(422, "invalid_parameter", Some("quantity"));
    }
    app.post(
        "/api/v1/cart/items",
        Some(&bob),
        json!({"variant_id": blue, "quantity": 99}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("quantity"));
    app.post(
        "/api/v1/cart/items",
        Some(&bob),
        json!({"variant_id": "var_nope", "quantity": 1}),
    )
    .await
    .expect_error(404, "variant_not_found", None);
    // An id longer than any id is refused unread; one at the limit is looked up and found missing.
    let max_id = tokshop_platform::limits::MAX_ID;
    app.post(
        "/api/v1/cart/items",
        Some(&bob),
        json!({"variant_id": "v".repeat(max_id + 1), "quantity": 1}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("variant_id"));
    app.post(
        "/api/v1/cart/items",
        Some(&bob),
        json!({"variant_id": "v".repeat(max_id), "quantity": 1}),
    )
    .await
    .expect_error(404, "variant_not_found", None);
    app.post(
        "/api/v1/cart/items",
        Some(&bob),
        json!({"variant_id": blue, "quantity": "two"}),
    )
    .await
    .expect(422);
    // Prices are the catalog's: a price in the request is not part of the API and changes nothing.
    app.post(
        "/api/v1/cart/items",
        Some(&bob),
        json!({"variant_id": blue, "quantity": 1, "price_minor": 1}),
    )
    .await;
    let cart = app.get("/api/v1/cart", Some(&bob)).await.expect(200).body;
    assert_eq!(cart["lines"][0]["unit_price"]["amount_minor"], 5000);
    assert!(cart["lines"][0]["quantity"].as_i64().unwrap() <= 2);

    // Another shopper sees an empty cart and cannot touch this one.
    let eve = app.buyer("cart_eve").await;
    assert_eq!(
        app.get("/api/v1/cart", Some(&eve)).await.expect(200).body["lines"],
        json!([])
    );
    app.delete(&format!("/api/v1/cart/items/{blue}"), Some(&eve))
        .await
        .expect(404);
    app.patch(
        &format!("/api/v1/cart/items/{blue}"),
        Some(&eve),
        json!({"quantity": 5}),
    )
    .await
    .expect(404);
    app.delete("/api/v1/cart", Some(&eve)).await.expect(200);
    let still = app.get("/api/v1/cart", Some(&bob)).await.expect(200).body;
    assert_eq!(still["lines"].as_array().unwrap().len(), 1);
    app.get("/api/v1/cart", None).await.expect(401);
}

async fn a_cart_holds_at_most_100_lines(app: &TestApp) {
    let category = app.category("bulk").await;
    let (_, seller) = app.seller("bulkseller").await;
    let mut variants = Vec::new();
    for p in 0..3 {
        let body = json!({
            "category_id": category,
            "title": format!("Bulk {p}"),
            "description": "",
            "variants": (0..34).map(|v| json!({"sku": format!("B{p}-{v}"), "options": [], "price_minor": 100, "stock": 10})).collect::<Vec<_>>()
        });
        let product = app
            .post("/api/v1/seller/products", Some(&seller), body)
            .await
            .expect(201)
            .body;
        variants.extend(
            product["variants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["id"].as_str().unwrap().to_owned()),
        );
    }
    let shopper = app.buyer("bulkbuyer").await;
    for id in &variants[..100] {
        app.post(
            "/api/v1/cart/items",
            Some(&shopper),
            json!({"variant_id": id, "quantity": 1}),
        )
        .await
        .expect(200);
    }
    app.post(
        "/api/v1/cart/items",
        Some(&shopper),
        json!({"variant_id": variants[100], "quantity": 1}),
    )
    .await
    .expect_error(409, "cart_full", None);
    let cart = app
        .get("/api/v1/cart", Some(&shopper))
        .await
        .expect(200)
        .body;
    assert_eq!(cart["lines"].as_array().unwrap().len(), 100);
    assert_eq!(cart["subtotals"][0]["amount_minor"], 100 * 100);
}

crate::on_both_databases!(
    cart_lines_are_priced_live_and_flagged,
    bad_quantities_and_variants_change_nothing,
    a_cart_holds_at_most_100_lines,
);
