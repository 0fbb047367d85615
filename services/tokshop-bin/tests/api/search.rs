//! Search over the seeded demo catalog. Expectations are computed from the same deterministic generator the
//! seeder uses, so every count below is what the shop really holds.

use std::collections::HashSet;

use serde_json::Value;
use tokshop::seed::{self, data};
use tokshop_platform::grpc;

use crate::common::TestApp;

const SEEDED: usize = 200;

fn seeded(settings: &mut tokshop_platform::config::Settings) {
    settings.seed.demo = true;
    settings.seed.products = SEEDED;
}

/// Every product of every page for `query` (limit 7 per page), checking that no page repeats a product.
async fn all_pages(app: &TestApp, query: &str) -> Vec<Value> {
    let mut seen = HashSet::new();
    let mut products = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/products?limit=7&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get(&path, None).await.expect(200).body;
        for product in page["products"].as_array().unwrap() {
            assert!(
                seen.insert(product["id"].as_str().unwrap().to_owned()),
                "page repeated a product"
            );
            products.push(product.clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return products,
        }
    }
}

fn generated() -> Vec<data::DemoProduct> {
    (0..SEEDED).map(data::product).collect()
}

fn min_price(p: &data::DemoProduct) -> i64 {
    p.variants.iter().map(|v| v.price_minor).min().unwrap()
}

fn price_of(product: &Value) -> i64 {
    product["min_price"]["amount_minor"].as_i64().unwrap()
}

async fn filters_and_pagination_match_the_catalog(app: &TestApp) {
    let report = app.running().seed_report.clone().unwrap();
    assert_eq!(report.products_created, SEEDED);

    let everything = all_pages(app, "").await;
    assert_eq!(everything.len(), SEEDED);

    // A top-level category includes its descendants.
    let tree = app.get("/api/v1/categories", None).await.expect(200).body;
    let roots = tree["categories"].as_array().unwrap();
    assert!(roots.len() >= 8);
    let shoes = roots.iter().find(|c| c["slug"] == "shoes").unwrap();
    let shoes_id = shoes["id"].as_str().unwrap();
    let expected_shoes = generated()
        .iter()
        .filter(|p| ["running-shoes", "trail-shoes", "sneakers"].contains(&p.category_slug))
        .count();
    let found = all_pages(app, &format!("category={shoes_id}")).await;
    assert_eq!(found.len(), expected_shoes);
    assert!(
        found
            .iter()
            .all(|p| p["category_name"].as_str().unwrap().contains("Shoes")
                || p["category_name"] == "Casual Sneakers")
    );

    // Price range, in minor units, on the lowest listed price.
    let expected_cheap = generated().iter().filter(|p| min_price(p) <= 3000).count();
    let cheap = all_pages(app, "price_max=3000").await;
    assert_eq!(cheap.len(), expected_cheap);
    assert!(cheap.iter().all(|p| price_of(p) <= 3000));
    let band = all_pages(app, "price_min=5000&price_max=6000").await;
    assert_eq!(
        band.len(),
        generated()
            .iter()
            .filter(|p| (5000..=6000).contains(&min_price(p)))
            .count()
    );

    // In stock only.
    let expected_in_stock = generated()
        .iter()
        .filter(|p| p.variants.iter().any(|v| v.stock > 0))
        .count();
    assert!(
        expected_in_stock < SEEDED,
        "the demo catalog has sold-out products"
    );
    let in_stock = all_pages(app, "in_stock=true").await;
    assert_eq!(in_stock.len(), expected_in_stock);
    assert!(in_stock.iter().all(|p| p["in_stock"] == true));

    // Sorts, across page boundaries.
    let ascending: Vec<i64> = all_pages(app, "sort=price_asc")
        .await
        .iter()
        .map(price_of)
        .collect();
    assert!(ascending.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(ascending.len(), SEEDED);
    let descending: Vec<i64> = all_pages(app, &format!("sort=price_desc&category={shoes_id}"))
        .await
        .iter()
        .map(price_of)
        .collect();
    assert!(descending.windows(2).all(|w| w[0] >= w[1]));
    let newest: Vec<i64> = all_pages(app, "sort=newest")
        .await
        .iter()
        .map(|p| p["created_at_ms"].as_i64().unwrap())
        .collect();
    assert!(newest.windows(2).all(|w| w[0] >= w[1]));

    // A seller's products.
    let any = &everything[0];
    let seller_id = any["seller_id"].as_str().unwrap();
    let by_seller = all_pages(app, &format!("seller={seller_id}")).await;
    assert!(!by_seller.is_empty());
    assert!(by_seller.iter().all(|p| p["seller_id"] == seller_id));

    // A cursor belongs to its sort order; bad values are named.
    let page = app
        .get("/api/v1/products?limit=2&sort=price_asc", None)
        .await
        .expect(200)
        .body;
    let cursor = page["next_cursor"].as_str().unwrap();
    app.get(
        &format!("/api/v1/products?sort=newest&cursor={cursor}"),
        None,
    )
    .await
    .expect_error(422, "invalid_parameter", Some("cursor"));
    app.get("/api/v1/products?sort=cheapest", None)
        .await
        .expect_error(422, "invalid_parameter", Some("sort"));
    app.get("/api/v1/products?limit=1000", None)
        .await
        .expect_error(422, "invalid_parameter", Some("limit"));
    app.get("/api/v1/products?price_min=9000&price_max=100", None)
        .await
        .expect_error(422, "invalid_parameter", Some("price_min"));
    app.get("/api/v1/products?price_max=cheap", None)
        .await
        .expect(400);
}

async fn text_search_ranks_and_matches(app: &TestApp) {
    // Every hit contains every word (as a prefix, after stemming), in its title, description, category or options.
    let hits = all_pages(app, "q=trail%20runner").await;
    assert!(!hits.is_empty());
    for hit in &hits {
        let text = format!(
            "{} {} {}",
            hit["title"], hit["description"], hit["category_name"]
        )
        .to_lowercase();
        assert!(
            text.contains("trail") && text.contains("runner"),
            "unexpected hit {text}"
        );
    }
    // Relevance puts title matches first.
    let first = app
        .get("/api/v1/products?q=trail%20runner&limit=3", None)
        .await
        .expect(200)
        .body;
    assert!(
        first["products"][0]["title"]
            .as_str()
            .unwrap()
            .contains("Trail Runner")
    );

    // Option values are searchable, and prefixes match.
    let copper = all_pages(app, "q=copper").await;
    assert!(!copper.is_empty());
    assert!(
        copper.iter().all(|p| p["variants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["options"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["value"] == "copper")))
    );
    assert_eq!(
        all_pages(app, "q=headphone").await.len(),
        all_pages(app, "q=headphones").await.len()
    );

    // Operators and quotes are just text, never query syntax.
    app.get("/api/v1/products?q=%22%20OR%20*%20NEAR(%27", None)
        .await
        .expect(200);
    assert!(all_pages(app, "q=zzzqqqxxx").await.is_empty());

    // The demo journey: trail shoes under 80 in stock, with a blue 42 among them.
    let journey = all_pages(app, "q=trail%20shoes&price_max=8000&in_stock=true").await;
    assert!(
        journey
            .iter()
            .any(|p| p["variants"].as_array().unwrap().iter().any(|v| {
                let options = v["options"].as_array().unwrap();
                v["stock"].as_i64().unwrap() > 0
                    && v["price"]["amount_minor"].as_i64().unwrap() < 8000
                    && options.iter().any(|o| o["value"] == "blue")
                    && options.iter().any(|o| o["value"] == "42")
            }))
    );
}

/// A catalogue that takes longer to seed than a sign-in's token lives (two seconds here) is seeded whole: the
/// seeder signs its own short-lived tokens for its catalog calls instead of reusing the sellers' sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_outlasts_the_access_token() {
    let app = crate::common::spawn_with(crate::common::Backend::Sqlite, |s| {
        s.auth.access_ttl_secs = 2;
    })
    .await;
    let running = app.running();
    let identity = grpc::channel(&format!("http://{}", running.identity_addr.unwrap())).unwrap();
    let catalog = grpc::channel(&format!("http://{}", running.catalog_addr.unwrap())).unwrap();
    let started = std::time::Instant::now();
    let report = seed::seed_demo(identity, catalog, &app.keys, 2500)
        .await
        .unwrap();
    assert!(
        started.elapsed() > std::time::Duration::from_secs(3),
        "the seeding must outlast the sign-in's token to test anything: {:?}",
        started.elapsed()
    );
    assert_eq!(report.products_created, 2500);
    app.stop().await;
}

/// A database busy past SQLite's wait (another writer takes it once the first products are in, and holds it for
/// 11.5 s) answers the seeder's product creations "unavailable"; the seeder tries them again and the catalogue is
/// seeded whole once the writer lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_waits_out_a_busy_database() {
    use sqlx::Connection;

    const PRODUCTS: usize = 300;
    let app = crate::common::spawn_app(crate::common::Backend::Sqlite).await;
    let running = app.running();
    let identity = grpc::channel(&format!("http://{}", running.identity_addr.unwrap())).unwrap();
    let catalog = grpc::channel(&format!("http://{}", running.catalog_addr.unwrap())).unwrap();
    let mut writer = sqlx::SqliteConnection::connect(&app.settings.database_url())
        .await
        .unwrap();
    let keys = app.keys.clone();
    let seeding =
        tokio::spawn(async move { seed::seed_demo(identity, catalog, &keys, PRODUCTS).await });
    // The sellers are signed in before the first product is created: from then on only creations meet the lock.
    loop {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM products")
            .fetch_one(&mut writer)
            .await
            .unwrap();
        if count > 0 {
            break;
        }
        assert!(
            !seeding.is_finished(),
            "the seeding ended before any product"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut writer)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(11_500)).await;
    assert!(!seeding.is_finished(), "the seeding must have met the lock");
    sqlx::query("ROLLBACK").execute(&mut writer).await.unwrap();
    let report = seeding.await.unwrap().unwrap();
    assert_eq!(report.products_created, PRODUCTS);
    assert_eq!(all_pages(&app, "").await.len(), PRODUCTS);
    app.stop().await;
}

async fn seeding_is_idempotent(app: &TestApp) {
    let running = app.running();
    let identity = grpc::channel(&format!("http://{}", running.identity_addr.unwrap())).unwrap();
    let catalog = grpc::channel(&format!("http://{}", running.catalog_addr.unwrap())).unwrap();
    let again = seed::seed_demo(identity, catalog, &app.keys, SEEDED)
        .await
        .unwrap();
    assert_eq!(again.products_created, 0);
    assert_eq!(again.categories_created, 0);
    assert_eq!(again.products_existing, SEEDED);
    assert_eq!(all_pages(app, "").await.len(), SEEDED);

    // The demo shopper can sign in with the documented credentials and has an address.
    let session = app
        .post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"login": data::DEMO_USERNAME, "password": data::DEMO_PASSWORD}),
        )
        .await
        .expect(200)
        .body;
    let addresses = app
        .get("/api/v1/me/addresses", session["access_token"].as_str())
        .await
        .expect(200)
        .body;
    assert_eq!(addresses["addresses"].as_array().unwrap().len(), 1);
}

crate::on_both_databases!(with super::seeded;
    filters_and_pagination_match_the_catalog,
    text_search_ranks_and_matches,
    seeding_is_idempotent,
);
