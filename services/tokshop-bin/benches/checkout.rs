//! Checkout + pay benchmark: shoppers each loop "check out one unit, pay it from the wallet" through the REST
//! gateway (real gRPC to the orders service, which reserves stock in the catalog over gRPC), at 1, 8 and 64
//! concurrent shoppers, on SQLite and PostgreSQL. Every purchase takes stock of the same variant: the hottest
//! row a shop has.
//!
//! `cargo bench -p tokshop --bench checkout` (both databases), or `-- sqlite` / `-- postgres` for one.
//! PostgreSQL comes from `TOKSHOP_TEST_POSTGRES_URL`. Each level runs for a fixed time; at the end the ledger
//! check must pass and the stock sold must equal the orders paid.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{get, ms, percentile, send, shopper};

const LEVELS: [usize; 3] = [1, 8, 64];
const SECONDS_PER_LEVEL: u64 = 10;
const STOCK: i64 = 10_000_000;

struct Level {
    purchases: usize,
    seconds: f64,
    checkout: Vec<Duration>,
    pay: Vec<Duration>,
    both: Vec<Duration>,
}

async fn level(
    client: &reqwest::Client,
    base: &str,
    buyers: &[String],
    variant: &str,
    n: usize,
) -> Level {
    let deadline = Instant::now() + Duration::from_secs(SECONDS_PER_LEVEL);
    let started = Instant::now();
    let workers: Vec<_> = buyers[..n]
        .iter()
        .map(|token| {
            let (client, base, token, variant) = (
                client.clone(),
                base.to_owned(),
                token.clone(),
                variant.to_owned(),
            );
            tokio::spawn(async move {
                let mut times = Vec::new();
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    let order = send(
                        &client,
                        format!("{base}/api/v1/orders"),
                        &token,
                        json!({"items": [{"variant_id": variant, "quantity": 1}]}),
                    )
                    .await;
                    let t1 = Instant::now();
                    let paid = send(
                        &client,
                        format!("{base}/api/v1/orders/{}/pay", order["id"].as_str().unwrap()),
                        &token,
                        json!({"payment_method_id": "wallet"}),
                    )
                    .await;
                    assert_eq!(paid["status"], "succeeded");
                    times.push((t1 - t0, t1.elapsed()));
                }
                times
            })
        })
        .collect();
    let mut result = Level {
        purchases: 0,
        seconds: 0.0,
        checkout: Vec::new(),
        pay: Vec::new(),
        both: Vec::new(),
    };
    for worker in workers {
        for (checkout, pay) in worker.await.unwrap() {
            result.checkout.push(checkout);
            result.pay.push(pay);
            result.both.push(checkout + pay);
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result.purchases = result.both.len();
    result.checkout.sort();
    result.pay.sort();
    result.both.sort();
    result
}

async fn run(backend: &str) {
    let bench = support::start(backend, support::bench_shop_settings).await;
    let base = bench.base.clone();
    let client = reqwest::Client::new();
    let support::Shop {
        admin,
        seller,
        product_id,
        variant,
    } = support::shop(&client, &base, STOCK).await;
    let mut buyers = Vec::new();
    for i in 0..*LEVELS.iter().max().unwrap() {
        buyers.push(shopper(&client, &base, i).await);
    }

    println!("\n## {backend}\n");
    println!(
        "| shoppers | purchases/s | checkout p50 / p99 ms | pay p50 / p99 ms | checkout + pay p50 / p99 ms |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: |");
    let mut purchases = 0;
    for n in LEVELS {
        let r = level(&client, &base, &buyers, &variant, n).await;
        purchases += r.purchases;
        println!(
            "| {n} | {:.0} | {} / {} | {} / {} | {} / {} |",
            r.purchases as f64 / r.seconds,
            ms(percentile(&r.checkout, 0.5)),
            ms(percentile(&r.checkout, 0.99)),
            ms(percentile(&r.pay, 0.5)),
            ms(percentile(&r.pay, 0.99)),
            ms(percentile(&r.both, 0.5)),
            ms(percentile(&r.both, 0.99)),
        );
    }
    let product = get(
        &client,
        format!("{base}/api/v1/products/{product_id}"),
        &seller,
    )
    .await;
    let stock = product["variants"][0]["stock"].as_i64().unwrap();
    assert_eq!(
        STOCK - stock,
        purchases as i64,
        "every unit sold was paid for"
    );
    let report = get(
        &client,
        format!("{base}/api/v1/admin/ledger/verify"),
        &admin,
    )
    .await;
    assert_eq!(report["balanced"], true, "{report}");
    println!(
        "\n{purchases} purchases in all; stock sold matches; ledger balanced ({} transactions checked over {} orders).",
        report["transactions"], report["orders_checked"]
    );
    bench.stop().await;
}

#[tokio::main]
async fn main() {
    println!(
        "# tokshop checkout + pay benchmark ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for backend in support::backends() {
        run(backend).await;
    }
}
