//! Gateway benchmark: product search latency (p50/p99) over a 10,000-product catalog and GET product
//! throughput, through the REST gateway and real gRPC, on SQLite and PostgreSQL.
//!
//! `cargo bench -p tokshop --bench gateway` (both databases), or `-- sqlite` / `-- postgres` for one.
//! `TOKSHOP_BENCH_PRODUCTS` changes the catalog size; PostgreSQL comes from `TOKSHOP_TEST_POSTGRES_URL`.
//! All traffic stays on loopback and every loop is bounded in count and time. After seeding, the bench runs
//! `ANALYZE` so the planner has the statistics a live database gets from autovacuum.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

mod support;

use support::{ms, percentile};

const SEARCHES_PER_QUERY: usize = 60;
const THROUGHPUT_SECONDS: u64 = 10;
const THROUGHPUT_CONCURRENCY: usize = 32;

/// Search requests measured: a label and the query string.
const QUERIES: &[(&str, &str)] = &[
    ("text: trail shoes", "q=trail%20shoes"),
    (
        "text + price + in stock",
        "q=trail%20shoes&price_max=8000&in_stock=true",
    ),
    ("text, sorted by price", "q=jacket&sort=price_asc"),
    ("category tree, newest", "category={shoes}"),
    (
        "category + price range",
        "category={shoes}&price_min=5000&price_max=9000&sort=price_desc",
    ),
    ("no filter, newest", "sort=newest"),
    ("no match", "q=zzzqqq"),
    ("text, page 2", "q=shoe&cursor={cursor}"),
];

async fn run(backend: &str, products: usize) {
    let started = Instant::now();
    let bench = support::start(backend, |settings| {
        settings.seed.demo = true;
        // Sandbox cards are the test provider: a demo shop, whatever its database.
        settings.mode = Some(tokshop_platform::config::Mode::Demo);
        settings.seed.products = products;
        // Each search runs on the database: this measures search itself, not the page cache (see the cache bench).
        settings.cache.search_ttl_seconds = 0;
    })
    .await;
    let settings = bench.settings.clone();
    let seed_time = started.elapsed();
    // A bulk load leaves the planner without statistics until autovacuum catches up; measure the steady state.
    let db = tokshop_platform::db::Db::connect(&settings.database_url(), 1)
        .await
        .unwrap();
    sqlx::raw_sql("ANALYZE").execute(db.pool()).await.unwrap();
    db.close().await;
    let base = bench.base.clone();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            response.json::<serde_json::Value>().await.unwrap()
        }
    };

    let categories = get("/api/v1/categories".into()).await;
    let shoes = categories["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slug"] == "shoes")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cursor = get("/api/v1/products?q=shoe".into()).await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    println!(
        "\n## {backend}: {products} products (seeded through gRPC in {:.1} s)\n",
        seed_time.as_secs_f64()
    );
    println!("| search | results | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: |");
    let mut all = Vec::new();
    for (label, query) in QUERIES {
        let path = format!(
            "/api/v1/products?limit=20&{}",
            query
                .replace("{shoes}", &shoes)
                .replace("{cursor}", &cursor)
        );
        let results = get(path.clone()).await["products"]
            .as_array()
            .unwrap()
            .len();
        let mut times = Vec::with_capacity(SEARCHES_PER_QUERY);
        for _ in 0..SEARCHES_PER_QUERY {
            let t = Instant::now();
            get(path.clone()).await;
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "| {label} | {results} | {} | {} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99))
        );
        all.extend(times);
    }
    all.sort();
    println!(
        "| **all searches** ({} requests) | | **{}** | **{}** |",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );

    // GET product throughput: a fixed pool of ids, many concurrent clients, a fixed time.
    let urls = support::product_urls(&client, &base, 500).await;
    let measured = support::hammer(&client, urls, THROUGHPUT_CONCURRENCY, THROUGHPUT_SECONDS).await;
    println!(
        "\nGET /api/v1/products/{{id}} with {THROUGHPUT_CONCURRENCY} concurrent clients: {measured}"
    );

    bench.stop().await;
}

#[tokio::main]
async fn main() {
    let products = std::env::var("TOKSHOP_BENCH_PRODUCTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    println!(
        "# tokshop gateway benchmark ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for backend in support::backends() {
        run(backend, products).await;
    }
}
