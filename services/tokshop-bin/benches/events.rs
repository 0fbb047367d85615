//! Event latency across replicas: two whole shops (replicas A and B) on one PostgreSQL database; an order paid
//! through A, then B's product page read until its sales count shows the sale. The time from A's answer to B
//! showing it is the event's trip: outbox, relay, bus, the sales consumer, the catalog's write. Measured with the
//! in-process bus and, with `--features kafka` and a broker at TOKSHOP_TEST_KAFKA_BROKERS (default
//! 127.0.0.1:9092), on Kafka.
//!
//! `cargo bench -p tokshop --features kafka --bench events`. Sales are one at a time (latency, not throughput);
//! B is polled every millisecond.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{ms, percentile, send, shopper};
use tokshop_platform::config::Settings;

const SALES: usize = 100;

/// The buses to measure: in-process, and Kafka when built in.
fn buses() -> Vec<&'static str> {
    let mut buses = vec!["in-process"];
    if cfg!(feature = "kafka") {
        buses.push("kafka");
    }
    buses
}

fn on_bus(settings: &mut Settings, bus: &str, prefix: &str) {
    support::bench_shop_settings(settings);
    // Each replica's catalog would otherwise keep its own in-memory cache (no Redis here), and B would show the
    // sale only once its entry expired: this bench measures the event's trip, not the cache's TTL.
    settings.cache.enabled = false;
    if bus == "kafka" {
        settings.kafka.brokers = Some(tokshop_platform::testing::kafka_brokers_setting());
        settings.kafka.topic_prefix = prefix.to_owned();
    }
}

async fn run(bus: &'static str) {
    let prefix = format!("bench{}", uuid::Uuid::now_v7().simple());
    let a = support::start("postgres", |s| on_bus(s, bus, &prefix)).await;
    let database = a.settings.database.url.clone();
    let b = support::start("postgres", |s| {
        on_bus(s, bus, &prefix);
        s.database.url = database;
    })
    .await;
    let client = reqwest::Client::new();
    let shop = support::shop(&client, &a.base, 1_000_000).await;
    let buyer = shopper(&client, &a.base, 0).await;
    let product = format!("{}/api/v1/products/{}", b.base, shop.product_id);

    let mut trips = Vec::with_capacity(SALES);
    for sold in 1..=SALES as i64 {
        let order = send(
            &client,
            format!("{}/api/v1/orders", a.base),
            &buyer,
            json!({"items": [{"variant_id": shop.variant, "quantity": 1}]}),
        )
        .await;
        let paid = send(
            &client,
            format!(
                "{}/api/v1/orders/{}/pay",
                a.base,
                order["id"].as_str().unwrap()
            ),
            &buyer,
            json!({"payment_method_id": "wallet"}),
        )
        .await;
        assert_eq!(paid["status"], "succeeded");
        let paid_at = Instant::now();
        loop {
            // Anonymous: the replicas sign tokens with secrets of their own.
            let page = support::get_anonymous(&client, &product).await;
            let seen = page["sold_count"]
                .as_i64()
                .unwrap_or_else(|| panic!("{page}"));
            assert!(seen <= sold, "a sale counted twice");
            if seen == sold {
                break;
            }
            assert!(
                paid_at.elapsed() < Duration::from_secs(30),
                "sale {sold} never showed on B"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        trips.push(paid_at.elapsed());
    }
    trips.sort();
    println!(
        "| {bus} | {SALES} | {} | {} | {} |",
        ms(percentile(&trips, 0.5)),
        ms(percentile(&trips, 0.99)),
        ms(*trips.last().unwrap()),
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::main]
async fn main() {
    println!("\n| bus | sales | paid on A -> counted on B p50 ms | p99 ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for bus in buses() {
        run(bus).await;
    }
}
