//! Where the CPU goes, part by part: every part of tokshop as its own process of the release binary (as
//! `serve --only <part>` runs them), on one PostgreSQL database, in-process event delivery within each part. Then
//! 64 shoppers check out and pay for 10 seconds, and 32 clients read the product page for 10 seconds; each
//! process's CPU (from /proc) over each load is divided by the operations done. These per-part costs are what
//! docs/CAPACITY.md sizes replicas from.
//!
//! `cargo bench -p tokshop --bench parts` (PostgreSQL from `TOKSHOP_TEST_POSTGRES_URL`; Linux).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/processes/mod.rs"]
mod processes;
mod support;

use std::collections::HashMap;

use processes::{Process, Topology};

const SHOPPERS: usize = 64;
const READERS: usize = 32;
const SECONDS: u64 = 10;
const STOCK: i64 = 10_000_000;

/// CPU seconds so far of each part's process and of PostgreSQL.
fn readings(parts: &[(&'static str, &Process)]) -> HashMap<&'static str, f64> {
    let mut cpu: HashMap<&'static str, f64> = parts
        .iter()
        .map(|(name, process)| (*name, support::cpu_of(process.0.id())))
        .collect();
    cpu.insert("PostgreSQL", support::cpu_seconds().postgres);
    cpu
}

/// Milliseconds of CPU per operation, per part, between two readings.
fn per_operation(
    before: &HashMap<&'static str, f64>,
    after: &HashMap<&'static str, f64>,
    operations: usize,
) -> HashMap<&'static str, f64> {
    after
        .iter()
        .map(|(name, cpu)| {
            (
                *name,
                (cpu - before[name]) * 1000.0 / operations.max(1) as f64,
            )
        })
        .collect()
}

#[tokio::main]
async fn main() {
    println!(
        "# tokshop per-part CPU benchmark ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let Some(topology) = Topology::new(
        &["gateway"],
        &[
            ("TOKSHOP_GATEWAY_RATE_LIMIT_PER_SECOND", "0".to_owned()),
            (
                "TOKSHOP_ORDERS_TOP_UP_DAILY_LIMIT_MINOR",
                (i64::MAX / 4).to_string(),
            ),
            (
                "TOKSHOP_ORDERS_MAX_UNPAID_UNITS_PER_VARIANT",
                (i64::MAX / 4).to_string(),
            ),
            ("TOKSHOP_ADMIN_USERNAME", "bench_admin".to_owned()),
            ("TOKSHOP_ADMIN_PASSWORD", "bench-admin-pass".to_owned()),
            ("TOKSHOP_LOG_LEVEL", "error".to_owned()),
        ],
    )
    .await
    else {
        return;
    };
    let services = topology.start_services(&[]);
    let gateway = topology.part("gateway", "gateway").start();
    let mut parts: Vec<(&'static str, &Process)> = processes::SERVICES
        .iter()
        .map(|name| (*name, &services[name]))
        .collect();
    parts.insert(0, ("gateway", &gateway));

    let base = format!("http://127.0.0.1:{}", topology.ports["gateway"]);
    let client = reqwest::Client::new();
    let shop = support::shop(&client, &base, STOCK).await;
    let mut buyers = Vec::new();
    for i in 0..SHOPPERS {
        buyers.push(support::shopper(&client, &base, i).await);
    }

    let before = readings(&parts);
    support::outbox_drained(&topology.env["TOKSHOP_DATABASE_URL"]).await;
    let bought = support::purchases(
        &client,
        std::slice::from_ref(&base),
        &buyers,
        &shop.variant,
        SHOPPERS,
        SECONDS,
    )
    .await;
    // A purchase's cost includes delivering its events (stock, sales counts): measured until all are delivered.
    support::outbox_drained(&topology.env["TOKSHOP_DATABASE_URL"]).await;
    let after = readings(&parts);
    let per_purchase = per_operation(&before, &after, bought.purchases);

    let page = format!("{base}/api/v1/products/{}", shop.product_id);
    let before = readings(&parts);
    let read = support::hammer(&client, vec![page], READERS, SECONDS).await;
    let after = readings(&parts);
    let per_read = per_operation(&before, &after, read.requests);

    println!(
        "\n{} purchases/s with {SHOPPERS} shoppers; product page {:.0} reads/s with {READERS} clients (cached).\n",
        (bought.purchases as f64 / bought.seconds).round(),
        read.per_second
    );
    println!("| process | CPU ms per purchase | CPU ms per product read |");
    println!("| --- | ---: | ---: |");
    let mut total = (0.0, 0.0);
    let names = parts.iter().map(|(name, _)| *name).chain(["PostgreSQL"]);
    for name in names {
        total.0 += per_purchase[name];
        total.1 += per_read[name];
        println!(
            "| {name} | {:.3} | {:.3} |",
            per_purchase[name], per_read[name]
        );
    }
    println!("| **all** | **{:.3}** | **{:.3}** |", total.0, total.1);

    drop(parts);
    drop((services, gateway));
    topology.finish().await;
}
