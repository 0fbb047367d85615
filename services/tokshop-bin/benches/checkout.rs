//! Checkout + pay benchmark: shoppers each loop "check out one unit, pay it from the wallet" through the REST
//! gateway (real gRPC to the orders service, which reserves stock in the catalog over gRPC), at 1, 8 and 64
//! concurrent shoppers, on SQLite and PostgreSQL. Every purchase takes stock of the same variant: the hottest
//! row a shop has.
//!
//! `cargo bench -p tokshop --bench checkout` (both databases), or `-- sqlite` / `-- postgres` for one.
//! `-- postgres replicas` instead compares one gateway with two (a second gateway started alone on the same
//! services and database, shoppers split between them) at 8 and 64 shoppers.
//! PostgreSQL comes from `TOKSHOP_TEST_POSTGRES_URL`. Each level runs for a fixed time; at the end the ledger
//! check must pass and the stock sold must equal the orders paid.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{get, ms, percentile, shopper};

const LEVELS: [usize; 3] = [1, 8, 64];
/// Shoppers per run when comparing one gateway with two.
const REPLICA_LEVELS: [usize; 2] = [8, 64];
const SECONDS_PER_LEVEL: u64 = 10;
const STOCK: i64 = 10_000_000;

/// What purchases leave behind: events in the outbox and, on PostgreSQL, write-ahead log.
struct Footprint {
    events: i64,
    wal: Option<i64>,
}

impl Footprint {
    async fn read(db: &tokshop_platform::db::Db) -> Self {
        let (events,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let wal = if db.backend() == tokshop_platform::db::Backend::Postgres {
            let (lsn,): (i64,) = sqlx::query_as(
                "SELECT CAST(pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS BIGINT)",
            )
            .fetch_one(db.pool())
            .await
            .unwrap();
            Some(lsn)
        } else {
            None
        };
        Self { events, wal }
    }

    /// Prints what `purchases` added since `before`.
    fn since(&self, before: &Self, purchases: usize) {
        let n = purchases.max(1) as f64;
        print!(
            "Per purchase: {:.2} events recorded",
            (self.events - before.events) as f64 / n
        );
        if let (Some(after), Some(start)) = (self.wal, before.wal) {
            print!(
                ", {:.0} bytes of PostgreSQL write-ahead log (the whole server's, over the run)",
                (after - start) as f64 / n
            );
        }
        println!(".");
    }
}

fn row(label: &str, r: &support::Purchases) {
    println!(
        "| {label} | {:.0} | {} / {} | {} / {} | {} / {} | {} |",
        r.purchases as f64 / r.seconds,
        ms(percentile(&r.checkout, 0.5)),
        ms(percentile(&r.checkout, 0.99)),
        ms(percentile(&r.pay, 0.5)),
        ms(percentile(&r.pay, 0.99)),
        ms(percentile(&r.both, 0.5)),
        ms(percentile(&r.both, 0.99)),
        r.cpu.per(r.purchases),
    );
}

/// The anchor checkout on PostgreSQL is a ratio to: pgbench's built-in TPC-B-like script on the same server, with
/// as many clients as the most shoppers, on a fresh database of that scale (one branch row per client, so the anchor
/// is not held back by contention of its own), for the same time as a level. `None` without pgbench.
async fn pgbench_tps(clients: usize) -> Option<f64> {
    let run = |args: &[&str], url: &str| {
        std::process::Command::new("pgbench")
            .args(args)
            .arg(url)
            .output()
    };
    let url = support::fresh_database().await;
    let clients_arg = clients.to_string();
    let seconds = SECONDS_PER_LEVEL.to_string();
    let tps = match run(&["-i", "-q", "-s", &clients_arg], &url) {
        Ok(init) => {
            assert!(init.status.success(), "pgbench -i: {init:?}");
            let out = run(
                &[
                    "-b",
                    "tpcb-like",
                    "-c",
                    &clients_arg,
                    "-j",
                    "2",
                    "-T",
                    &seconds,
                ],
                &url,
            )
            .unwrap();
            assert!(out.status.success(), "pgbench: {out:?}");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find_map(|line| line.strip_prefix("tps = "))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        }
        Err(_) => None,
    };
    support::drop_database(&url).await;
    tps
}

async fn run(backend: &str, replicas: bool) {
    let most = *if replicas {
        REPLICA_LEVELS.iter().max()
    } else {
        LEVELS.iter().max()
    }
    .unwrap();
    let anchor = if backend == "postgres" && !replicas {
        pgbench_tps(most).await
    } else {
        None
    };
    let bench = support::start(backend, |s| {
        support::bench_shop_settings(s);
        // A gateway started alone verifies the first one's tokens with the shared secret.
        s.auth.jwt_secret = Some(tokshop_platform::config::Secret::new(
            "bench-secret-bench-secret-bench-secret",
        ));
    })
    .await;
    let base = bench.base.clone();
    let client = reqwest::Client::new();
    let support::Shop {
        admin,
        seller,
        product_id,
        variant,
    } = support::shop(&client, &base, STOCK).await;
    let mut buyers = Vec::new();
    for i in 0..most {
        buyers.push(shopper(&client, &base, i).await);
    }

    println!("\n## {backend}\n");
    if let Some(tps) = anchor {
        println!(
            "pgbench tpcb-like (the anchor): {tps:.0} transactions/s with {most} clients at scale {most}, {SECONDS_PER_LEVEL} s\n"
        );
    }
    let first = if replicas {
        "gateways, shoppers"
    } else {
        "shoppers"
    };
    println!(
        "| {first} | purchases/s | checkout p50 / p99 ms | pay p50 / p99 ms | checkout + pay p50 / p99 ms | CPU ms per purchase: tokshop + client / PostgreSQL / Redis |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let db = tokshop_platform::db::Db::connect(&bench.settings.database_url(), 1)
        .await
        .unwrap();
    let before = Footprint::read(&db).await;
    let mut purchases = 0;
    let mut ratio = None;
    let mut second = None;
    if replicas {
        let (running, other) = support::second_gateway(&bench).await;
        second = Some(running);
        let both = [base.clone(), other];
        for n in REPLICA_LEVELS {
            for gateways in [1, 2] {
                let r = support::purchases(
                    &client,
                    &both[..gateways],
                    &buyers,
                    &variant,
                    n,
                    SECONDS_PER_LEVEL,
                )
                .await;
                purchases += r.purchases;
                row(&format!("{gateways}, {n}"), &r);
            }
        }
    } else {
        for n in LEVELS {
            let r = support::purchases(
                &client,
                std::slice::from_ref(&base),
                &buyers,
                &variant,
                n,
                SECONDS_PER_LEVEL,
            )
            .await;
            purchases += r.purchases;
            row(&n.to_string(), &r);
            if let (Some(tps), true) = (anchor, n == most) {
                ratio = Some((r.purchases as f64 / r.seconds) / tps);
            }
        }
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
    Footprint::read(&db).await.since(&before, purchases);
    if let Some(ratio) = ratio {
        println!("Checkout + pay at {most} shoppers: {ratio:.2} x pgbench tpcb-like.");
    }
    db.close().await;
    if let Some(second) = second {
        second.stop().await.unwrap();
    }
    bench.stop().await;
}

#[tokio::main]
async fn main() {
    println!(
        "# tokshop checkout + pay benchmark ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let replicas = std::env::args().any(|a| a == "replicas");
    for backend in support::backends() {
        run(backend, replicas).await;
    }
}
