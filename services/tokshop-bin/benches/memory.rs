//! Memory of the embedded run: the release binary as a user starts it (SQLite, every part in one process, the
//! demo shop seeded), its resident set read from /proc
//! - idle, once started and settled;
//! - with 1,000 server-sent-event inbox streams open (100 users, 10 streams each), and after one message reached
//!   every stream of its recipient;
//! - over a soak: shoppers checking out and paying, readers reading the product page, one friend messaging
//!   another (whose 10 streams each deliver it), with the 1,000 streams still open; sampled every 10 seconds.
//!
//! Growth is judged between the end of the first fifth of the soak (caches, pools and allocator arenas warm) and
//! its end. `cargo bench -p tokshop --bench memory` (600 s soak; `TOKSHOP_BENCH_SOAK_SECONDS` changes it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;

const STREAM_USERS: usize = 100;
const STREAMS_PER_USER: usize = 10;
const SHOPPERS: usize = 4;
const READERS: usize = 4;
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// A field of /proc/<pid>/status in KiB (`VmRSS`, `VmHWM`).
fn kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The resident set split by kind (anonymous: the heap and stacks; file: mapped files; shared: shared memory such
/// as SQLite's write-ahead-log index), and the sizes of the database's write-ahead log and its index on disk.
fn split(pid: u32, data: &std::path::Path) -> String {
    let size = |name: &str| std::fs::metadata(data.join(name)).map_or(0, |m| m.len() / 1024);
    format!(
        "anonymous {} MiB, file {} MiB, shared {} MiB; tokshop.db-wal {} MiB, tokshop.db-shm {} MiB",
        mib(kib(pid, "RssAnon")),
        mib(kib(pid, "RssFile")),
        mib(kib(pid, "RssShmem")),
        mib(size("tokshop.db-wal")),
        mib(size("tokshop.db-shm"))
    )
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// Opens `token`'s inbox stream and forwards each `message` event's arrival.
fn stream(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    arrived: tokio::sync::mpsc::UnboundedSender<()>,
) -> tokio::task::JoinHandle<()> {
    let request = client
        .get(format!("{base}/api/v1/messages/stream"))
        .bearer_auth(token)
        .send();
    tokio::spawn(async move {
        let mut response = request.await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let mut pending = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find("\n\n") {
                if pending[..end].lines().any(|l| l == "event: message") {
                    let _ = arrived.send(());
                }
                pending.drain(..end + 2);
            }
        }
    })
}

#[tokio::main]
async fn main() {
    let soak = Duration::from_secs(
        std::env::var("TOKSHOP_BENCH_SOAK_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(600),
    );
    println!(
        "# tokshop memory benchmark ({} cores), embedded default (SQLite, one process)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let data = tempfile::tempdir().unwrap();
    // The bench signs in once: its tokens (a real client would refresh them) outlive the soak.
    let token_life = (
        "TOKSHOP_AUTH_ACCESS_TTL_SECS",
        (soak.as_secs() + 600).to_string(),
    );
    let shop = support::spawn_embedded(data.path(), None, &[token_life]).await;
    let pid = shop.shop_pid();
    let base = shop.base.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(2_000)
        .build()
        .unwrap();

    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = kib(pid, "VmRSS");
    println!(
        "\nidle (started, demo shop seeded, 5 s settled): RSS {} MiB",
        mib(idle)
    );

    // 1,000 inbox streams; user 0 befriends user 1 so that messages reach user 1's ten streams.
    let mut users = Vec::new();
    for i in 0..STREAM_USERS {
        users.push(support::register(&client, &base, &format!("streamer{i}")).await);
    }
    let before_streams = kib(pid, "VmRSS");
    for (a, b) in [(0, 1), (1, 0)] {
        let response = client
            .put(format!("{base}/api/v1/users/{}/follow", users[b].0))
            .bearer_auth(&users[a].1)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    let mut streams = Vec::new();
    for (_, token) in &users {
        for _ in 0..STREAMS_PER_USER {
            streams.push(stream(&client, &base, token, arrived_tx.clone()));
        }
    }
    // Every stream is open once the server holds its connection: wait for the message to reach all ten of
    // user 1's, sent after the others had time to connect.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let message = |text: &str| {
        client
            .post(format!("{base}/api/v1/messages"))
            .bearer_auth(&users[0].1)
            .json(&json!({"to_user_id": users[1].0, "text": text}))
            .send()
    };
    let response = message("hello").await.unwrap();
    assert_eq!(response.status(), 201);
    for _ in 0..STREAMS_PER_USER {
        tokio::time::timeout(Duration::from_secs(30), arrived.recv())
            .await
            .expect("a message reached every stream")
            .unwrap();
    }
    assert!(streams.iter().all(|s| !s.is_finished()), "a stream ended");
    let with_streams = kib(pid, "VmRSS");
    println!(
        "{} SSE streams open ({STREAM_USERS} users x {STREAMS_PER_USER}): RSS {} MiB ({} MiB before they opened, \
         {:.1} KiB per stream)",
        streams.len(),
        mib(with_streams),
        mib(before_streams),
        (with_streams as f64 - before_streams as f64) / streams.len() as f64
    );

    // The soak.
    let bench_shop = support::shop(&client, &base, 10_000_000).await;
    // One top-up pays for about 16,000 purchases, some 13 minutes of one shopper here: enough for the soak.
    let top_ups = 1 + soak.as_secs() as usize / 600;
    let mut buyers = Vec::new();
    for i in 0..SHOPPERS {
        buyers.push(support::shopper_with(&client, &base, i, top_ups).await);
    }
    let page = format!("{base}/api/v1/products/{}", bench_shop.product_id);
    let search = format!("{base}/api/v1/products?q=trail&limit=20");
    let seconds = soak.as_secs();
    let buying = {
        let (client, base, buyers, variant) = (
            client.clone(),
            base.clone(),
            buyers.clone(),
            bench_shop.variant.clone(),
        );
        tokio::spawn(async move {
            support::purchases(&client, &[base], &buyers, &variant, SHOPPERS, seconds).await
        })
    };
    let reading = {
        let client = client.clone();
        tokio::spawn(
            async move { support::hammer(&client, vec![page, search], READERS, seconds).await },
        )
    };
    println!("\nat the soak's start: {}", split(pid, data.path()));
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut sent = 1;
    while started.elapsed() < soak {
        let tick = Instant::now();
        while tick.elapsed() < SAMPLE_EVERY && started.elapsed() < soak {
            let response = message(&format!("message {sent}")).await.unwrap();
            assert_eq!(response.status(), 201);
            sent += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        samples.push((started.elapsed(), kib(pid, "VmRSS")));
    }
    let bought = buying.await.unwrap();
    let read = reading.await.unwrap();
    let mut delivered = 0;
    while arrived.try_recv().is_ok() {
        delivered += 1;
    }
    assert!(streams.iter().all(|s| !s.is_finished()), "a stream ended");

    let (warm_at, warm) = samples[(samples.len() / 5).max(1) - 1];
    let end = samples.last().unwrap().1;
    let most = samples.iter().map(|s| s.1).max().unwrap();
    println!(
        "\nsoak of {} s: {} purchases, {} product/search reads, {sent} messages ({delivered} deliveries seen on \
         the streams, {} per message over the first), {} streams open throughout",
        soak.as_secs(),
        bought.purchases,
        read.requests,
        STREAMS_PER_USER,
        streams.len()
    );
    println!(
        "RSS MiB: at {:.0} s (warm) {}, at the end {}, highest {}; growth from warm to end {:+.1} MiB; peak \
         (VmHWM) {}",
        warm_at.as_secs_f64(),
        mib(warm),
        mib(end),
        mib(most),
        (end as f64 - warm as f64) / 1024.0,
        mib(kib(pid, "VmHWM"))
    );
    println!("at the soak's end: {}", split(pid, data.path()));
    println!("\n| s | RSS MiB |\n| ---: | ---: |");
    for (at, rss) in &samples {
        println!("| {:.0} | {} |", at.as_secs_f64(), mib(*rss));
    }
    for s in streams {
        s.abort();
    }
    drop(shop);
}
