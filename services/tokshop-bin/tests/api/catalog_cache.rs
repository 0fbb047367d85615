//! The catalog's read-through cache, end to end. A change written straight into the database (behind the
//! catalog's back) is what proves a read came from the cache; every change made through the shop shows at once.
//! On one process the cache is in memory; two replicas on one Redis share it.

use serde_json::{Value, json};
use tokshop_platform::db::Db;

use crate::{
    common::{Backend, TestApp, spawn_with},
    shop::{Shop, checkout, shop, shopper, stock},
};

/// A second connection to the app's database, for writing behind the catalog's back.
async fn behind_the_back(app: &TestApp) -> Db {
    Db::connect(&app.settings.database_url(), 1).await.unwrap()
}

async fn retitle_in_database(db: &Db, product_id: &str, title: &str) {
    sqlx::query("UPDATE products SET title = $2 WHERE id = $1")
        .bind(product_id)
        .bind(title)
        .execute(db.pool())
        .await
        .unwrap();
}

async fn product(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/products/{id}"), None)
        .await
        .expect(200)
        .body
}

async fn cached_reads_and_writes_that_show_at_once(app: &TestApp) {
    let Shop {
        seller,
        product_id: id,
        variant,
    } = shop(app, "cacheseller", 1000, 5).await;
    let db = behind_the_back(app).await;
    // The listing's own event drops the product from the cache when the relay delivers it: let that happen first.
    tokshop_platform::testing::outbox_drained(&db)
        .await
        .unwrap();
    let title = product(app, &id).await["title"].clone();

    // Read once (filled), changed behind the catalog's back: still the cached title.
    retitle_in_database(&db, &id, "Written behind the cache").await;
    assert_eq!(product(app, &id).await["title"], title);

    // A seller's edit drops it: the page, and the variant a cart reads, show the edit at once.
    let (buyer, _) = shopper(app, "cachebuyer").await;
    app.post(
        "/api/v1/cart/items",
        Some(&buyer),
        json!({"variant_id": variant, "quantity": 1}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/seller/products/{id}/variants/{variant}"),
        Some(&seller),
        json!({"price_minor": 1200}),
    )
    .await
    .expect(200);
    let page = product(app, &id).await;
    assert_eq!(page["title"], "Written behind the cache");
    assert_eq!(page["variants"][0]["price"]["amount_minor"], 1200);
    let cart = app.get("/api/v1/cart", Some(&buyer)).await.expect(200).body;
    assert_eq!(cart["lines"][0]["unit_price"]["amount_minor"], 1200);

    // Stock taken by a checkout shows at once.
    app.patch(
        &format!("/api/v1/seller/products/{id}"),
        Some(&seller),
        json!({"title": "Trail shoe II"}),
    )
    .await
    .expect(200);
    assert_eq!(product(app, &id).await["title"], "Trail shoe II");
    let before = stock(app, &id).await;
    checkout(app, &buyer, &variant, 2).await.expect(201);
    assert_eq!(stock(app, &id).await, before - 2);

    // The category tree: a new category is listed at once.
    let admin = app.admin().await;
    app.post(
        "/api/v1/categories",
        Some(&admin),
        json!({"name": "Fresh", "slug": "fresh-cache"}),
    )
    .await
    .expect(201);
    let tree = app.get("/api/v1/categories", None).await.expect(200).body;
    assert!(tree.to_string().contains("fresh-cache"), "{tree}");

    // Counted on /metrics.
    let metrics = app.get("/metrics", None).await.expect(200).text;
    assert!(
        metrics.contains("tokshop_cache_requests_total{cache=\"catalog.product\",result=\"hit\"}"),
        "{metrics}"
    );
    db.close().await;
}

async fn search(app: &TestApp, query: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/products?{query}"), None)
        .await
        .expect(200)
        .body["products"]
        .as_array()
        .unwrap()
        .clone()
}

fn ids(products: &[Value]) -> Vec<&str> {
    products.iter().map(|p| p["id"].as_str().unwrap()).collect()
}

/// Which products match a search is kept for `cache.search_ttl_seconds` (1 s here); what each shows is current,
/// and one that stops passing the listing, price or stock filters leaves the page at once.
async fn searches_keep_which_products_match_but_show_them_as_they_are(app: &TestApp) {
    let Shop {
        seller,
        product_id: id,
        variant,
    } = shop(app, "searchcache", 1000, 5).await;
    let cheap = "q=searchcache&price_max=1100";
    assert_eq!(ids(&search(app, "q=searchcache").await), [id.as_str()]);
    assert_eq!(ids(&search(app, cheap).await), [id.as_str()]);
    assert_eq!(
        ids(&search(app, "q=searchcache&in_stock=true").await),
        [id.as_str()]
    );

    // A new price shows at once, and takes the product out of the range it left.
    app.patch(
        &format!("/api/v1/seller/products/{id}/variants/{variant}"),
        Some(&seller),
        json!({"price_minor": 1300, "stock": 0}),
    )
    .await
    .expect(200);
    let found = search(app, "q=searchcache").await;
    assert_eq!(ids(&found), [id.as_str()]);
    assert_eq!(found[0]["min_price"]["amount_minor"], 1300);
    assert!(search(app, cheap).await.is_empty());
    assert!(search(app, "q=searchcache&in_stock=true").await.is_empty());

    // A product that begins to match is found once the kept page expires.
    let category = app.category("searchcache-more").await;
    let newer = app
        .post(
            "/api/v1/seller/products",
            Some(&seller),
            crate::common::product_body(&category, "searchcache sandals", 900, 3),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut found = Vec::new();
    for _ in 0..40 {
        found = search(app, "q=searchcache").await;
        if found.len() == 2 {
            break;
        }
        assert_eq!(
            ids(&found),
            [id.as_str()],
            "only the kept page until it expires"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        ids(&found).contains(&newer.as_str()),
        "found within 4 s: {found:?}"
    );

    // Delisted: gone from the page at once.
    app.patch(
        &format!("/api/v1/seller/products/{id}"),
        Some(&seller),
        json!({"listed": false}),
    )
    .await
    .expect(200);
    assert_eq!(ids(&search(app, "q=searchcache").await), [newer.as_str()]);

    let metrics = app.get("/metrics", None).await.expect(200).text;
    assert!(
        metrics.contains("tokshop_cache_requests_total{cache=\"catalog.search\",result=\"hit\"}"),
        "{metrics}"
    );
}

crate::on_both_databases!(
    with |s: &mut tokshop_platform::config::Settings| s.cache.search_ttl_seconds = 1;
    cached_reads_and_writes_that_show_at_once,
    searches_keep_which_products_match_but_show_them_as_they_are,
);

/// With the cache off every read goes to the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_cache_off_reads_see_the_database() {
    let app = spawn_with(Backend::Sqlite, |s| s.cache.enabled = false).await;
    let id = shop(&app, "uncachedseller", 1000, 5).await.product_id;
    let db = behind_the_back(&app).await;
    product(&app, &id).await;
    retitle_in_database(&db, &id, "Seen at once").await;
    assert_eq!(product(&app, &id).await["title"], "Seen at once");
    db.close().await;
    app.stop().await;
}

/// Two replicas of the shop on one PostgreSQL database and one Redis share one cache: what B filled, A serves;
/// an edit through A is what B shows next.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_the_cache_in_redis() {
    let Some(redis) = tokshop_platform::testing::redis().await else {
        return;
    };
    let shared = redis.clone();
    let a = spawn_with(Backend::Postgres, move |s| s.redis = shared).await;
    let database = a.settings.database.url.clone();
    let b = spawn_with(Backend::Postgres, move |s| {
        s.redis = redis;
        s.database.url = database;
    })
    .await;
    let Shop {
        seller,
        product_id: id,
        ..
    } = shop(&a, "sharedseller", 1000, 5).await;
    let db = behind_the_back(&a).await;
    tokshop_platform::testing::outbox_drained(&db)
        .await
        .unwrap();

    let title = product(&b, &id).await["title"].clone();
    retitle_in_database(&db, &id, "Behind both").await;
    assert_eq!(
        product(&a, &id).await["title"],
        title,
        "A served what B stored in Redis"
    );
    a.patch(
        &format!("/api/v1/seller/products/{id}"),
        Some(&seller),
        json!({"title": "Edited through A"}),
    )
    .await
    .expect(200);
    assert_eq!(product(&b, &id).await["title"], "Edited through A");
    db.close().await;
    // B first: A's database is the one both use.
    b.stop().await;
    a.stop().await;
}
