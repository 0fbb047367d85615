//! Hot reads with the catalog cache off, in memory and in Redis: 32 clients for 10 seconds doing
//! `GET /api/v1/products/{id}` over 500 products through the REST gateway and real gRPC, beside the anchor the
//! speed targets are ratios to (an axum hello-world on loopback in this process, measured the same way in the
//! same run), and the same load on the first pages of eight common searches.
//!
//! `cargo bench -p tokshop --bench cache` (both databases), or `-- sqlite` / `-- postgres` for one. PostgreSQL
//! comes from `TOKSHOP_TEST_POSTGRES_URL`, Redis from `TOKSHOP_TEST_REDIS_URL` (the Redis row is left out, with a
//! note, when none answers).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::Throughput;
use tokshop_platform::config::{RedisSettings, Settings};

const PRODUCTS: usize = 500;
const CONCURRENCY: usize = 32;
const SECONDS: u64 = 10;

/// Where the cache lives in one run.
#[derive(Clone, Copy)]
enum Mode {
    Off,
    Memory,
    Redis,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Self::Off => "off (every read from the database)",
            Self::Memory => "in memory",
            Self::Redis => "in Redis",
        }
    }

    fn apply(self, settings: &mut Settings, redis: Option<&RedisSettings>) {
        settings.seed.demo = true;
        settings.seed.products = PRODUCTS;
        settings.mode = Some(tokshop_platform::config::Mode::Demo);
        settings.cache.enabled = !matches!(self, Self::Off);
        if let (Self::Redis, Some(redis)) = (self, redis) {
            settings.redis = redis.clone();
            // Rate limiting is off in benches; the shared limiter must not count these requests either.
            settings.redis.user_rate_limit_per_second = 0;
        }
    }
}

/// Average bytes Redis holds per cached product (`MEMORY USAGE` of each product's entry).
async fn bytes_per_product(redis: &RedisSettings, urls: &[String]) -> u64 {
    let link = tokshop_platform::redis::Redis::connect(redis)
        .await
        .unwrap()
        .unwrap();
    let mut total = 0;
    for url in urls {
        let id = url.rsplit('/').next().unwrap();
        let key = link.key(&["cache", "catalog.product", id]);
        let used: Option<u64> = link
            .query(tokshop_platform::redis::cmd("MEMORY").arg("USAGE").arg(key))
            .await
            .unwrap();
        total += used.expect("every product was cached");
    }
    total / urls.len() as u64
}

/// First pages of common searches (the demo catalogue's words), twenty products each.
const SEARCHES: &[&str] = &[
    "q=shoes",
    "q=trail%20shoes",
    "q=jacket",
    "q=jacket&sort=price_asc",
    "q=coffee",
    "q=headphones&in_stock=true",
    "sort=newest",
    "sort=price_asc",
];

/// What one setting measured: product reads, first pages of searches, and in Redis the bytes per product.
struct Measured {
    products: Throughput,
    searches: Throughput,
    bytes: Option<u64>,
}

/// The load's figures, and in Redis the bytes held per cached product.
async fn measure(backend: &str, mode: Mode, redis: Option<&RedisSettings>) -> Measured {
    let bench = support::start(backend, |s| mode.apply(s, redis)).await;
    // Seeding recorded an edit event per product, and each drops its product from the cache when delivered:
    // let them all pass first.
    support::outbox_drained(&bench.settings.database_url()).await;
    let client = reqwest::Client::new();
    let urls = support::product_urls(&client, &bench.base, PRODUCTS).await;
    // One pass fills the cache, so the measured window is the steady state of a hot catalog.
    for url in &urls {
        client.get(url).send().await.unwrap().bytes().await.unwrap();
    }
    let bytes = match (mode, redis) {
        (Mode::Redis, Some(redis)) => Some(bytes_per_product(redis, &urls).await),
        _ => None,
    };
    let products = support::hammer(&client, urls, CONCURRENCY, SECONDS).await;
    let searches = SEARCHES
        .iter()
        .map(|query| format!("{}/api/v1/products?limit=20&{query}", bench.base))
        .collect();
    let searches = support::hammer(&client, searches, CONCURRENCY, SECONDS).await;
    bench.stop().await;
    Measured {
        products,
        searches,
        bytes,
    }
}

/// The anchor: an axum hello-world under the same load.
async fn anchor(client: &reqwest::Client) -> Throughput {
    support::hammer(
        client,
        vec![support::hello_world().await],
        CONCURRENCY,
        SECONDS,
    )
    .await
}

#[tokio::main]
async fn main() {
    println!(
        "# tokshop hot-read benchmark ({} cores, {CONCURRENCY} clients, {SECONDS} s per row)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let redis = tokshop_platform::testing::redis().await;
    let client = reqwest::Client::new();
    let before = anchor(&client).await;
    println!("\naxum hello-world (the anchor), before: {before}");
    let mut results = Vec::new();
    for backend in support::backends() {
        let mut rows = Vec::new();
        for mode in [Mode::Off, Mode::Memory, Mode::Redis] {
            if matches!(mode, Mode::Redis) && redis.is_none() {
                continue;
            }
            rows.push((mode, measure(backend, mode, redis.as_ref()).await));
        }
        results.push((backend, rows));
    }
    // The anchor again at the end: ratios are to the mean of both, so a drift of the machine over the run
    // counts against neither end.
    let after = anchor(&client).await;
    println!("axum hello-world (the anchor), after: {after}");
    let anchor = (before.per_second + after.per_second) / 2.0;
    println!("ratios are to their mean, {anchor:.0} requests/s");
    for (backend, rows) in results {
        println!("\n## {backend}\n");
        println!(
            "| cache | read | requests/s | p50 ms | p99 ms | x hello-world | CPU ms per request: tokshop + client / PostgreSQL / Redis |"
        );
        println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        for (mode, measured) in &rows {
            for (read, m) in [
                ("GET product", &measured.products),
                ("first page of a search", &measured.searches),
            ] {
                println!(
                    "| {} | {read} | {:.0} | {} | {} | {:.2} | {} |",
                    mode.label(),
                    m.per_second,
                    support::ms(m.p50),
                    support::ms(m.p99),
                    m.per_second / anchor,
                    m.cpu.per(m.requests)
                );
            }
        }
        if redis.is_none() {
            println!("| in Redis | no Redis answered | | | | | |");
        }
        if let Some(bytes) = rows.iter().find_map(|(_, m)| m.bytes) {
            println!(
                "\nRedis holds {bytes} bytes per cached product (MEMORY USAGE, mean over {PRODUCTS})."
            );
        }
    }
}
