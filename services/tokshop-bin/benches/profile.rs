//! Flame graphs of the hot paths: the release binary as a user starts it (every part in one process; SQLite, or
//! PostgreSQL with `TOKSHOP_BENCH_DATABASE=postgres`), driven from this process while `perf record` samples the
//! shop's process alone, one load at a time:
//! - `product`: 32 clients reading one product page (cached);
//! - `search`: 8 clients running a text search with a price filter over the demo shop;
//! - `checkout`: 16 shoppers checking out one unit and paying it from their wallets;
//! - `agent`: 16 shoppers chatting "what is in my cart" with the agent (the rule planner, so a turn is the loop, one
//!   `view_cart` call and their storage).
//!
//! Each load writes `docs/perf/<load>-<database>.svg` (folded with inferno) and prints the functions where the most
//! samples were taken (self time) and the frames most often on the stack (total time), the tables docs/perf/README.md
//! reads. Needs `perf` (Debian's linux-perf) and `inferno-collapse-perf` / `inferno-flamegraph` (`cargo install
//! inferno`). `cargo bench -p tokshop --bench profile` (`-- product` for one load; `TOKSHOP_BENCH_SECONDS`, default
//! 8).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

const READERS: usize = 32;
const SEARCHERS: usize = 8;
const SHOPPERS: usize = 16;
/// Samples per second and core; stacks are unwound from DWARF (release builds keep no frame pointers).
const FREQUENCY: &str = "299";

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Samples `pid` while `load` runs; returns the perf data file.
async fn record<F: Future<Output = String>>(pid: u32, name: &str, out: &Path, load: F) -> PathBuf {
    let data = out.join(format!("{name}.perf.data"));
    let mut perf = Command::new("perf")
        .args([
            "record",
            "-F",
            FREQUENCY,
            "--call-graph",
            "dwarf,32768",
            "-p",
        ])
        .arg(pid.to_string())
        .arg("-o")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("perf record");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let summary = load.await;
    // perf writes its file on SIGINT.
    Command::new("kill")
        .args(["-INT", &perf.id().to_string()])
        .status()
        .unwrap();
    perf.wait().unwrap();
    println!("\n## {name}\n\n{summary}");
    data
}

/// Runs `program` with `args` on `input` and returns what it printed; the input is written from a thread of its
/// own, so a program that prints before it has read everything cannot stall on a full pipe.
fn pipe(program: &str, args: &[&str], input: Vec<u8>) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{program}: {err}"));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "{program} failed");
    output.stdout
}

/// Folds `data` into `<svg>` and prints the top frames.
fn fold(data: &Path, svg: &Path, title: &str) {
    let script = Command::new("perf")
        .args(["script", "-i"])
        .arg(data)
        .stderr(Stdio::null())
        .output()
        .expect("perf script");
    let folded = pipe("inferno-collapse-perf", &[], script.stdout);
    let keep = std::env::temp_dir().join(svg.with_extension("folded").file_name().unwrap());
    std::fs::write(&keep, &folded).unwrap();
    println!("folded stacks: {}", keep.display());
    let graph = pipe(
        "inferno-flamegraph",
        &["--title", title, "--width", "1400", "--minwidth", "2"],
        folded.clone(),
    );
    std::fs::write(svg, graph).unwrap();
    print_top(&String::from_utf8_lossy(&folded));
}

/// A frame's name without its generic arguments, hash and closure markers, shortened for a table.
fn short(frame: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in frame.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let out = match out.rsplit_once("::h") {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name.to_owned()
        }
        _ => out,
    };
    out.chars().take(110).collect()
}

/// Frames of tokshop's code and of the libraries a request passes through, not the runtime's.
fn ours(frame: &str) -> bool {
    [
        "tokshop",
        "tonic",
        "prost",
        "serde_json",
        "sqlx",
        "sqlite3",
        "hyper::proto",
        "axum::",
        "tower_http",
        "prometheus",
        "tracing",
        "opentelemetry",
        "libsqlite",
        "argon2",
        "jsonwebtoken",
        "ring::",
        "aws_lc",
    ]
    .iter()
    .any(|crate_name| frame.contains(crate_name))
}

fn print_top(folded: &str) {
    let mut total = 0u64;
    let mut own: HashMap<String, u64> = HashMap::new();
    let mut on_stack: HashMap<String, u64> = HashMap::new();
    for line in folded.lines() {
        let Some((stack, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let count: u64 = count.parse().unwrap_or(0);
        total += count;
        let frames: Vec<String> = stack.split(';').map(short).collect();
        if let Some(leaf) = frames.last() {
            *own.entry(leaf.clone()).or_default() += count;
        }
        let mut seen = std::collections::HashSet::new();
        for frame in frames.into_iter().filter(|f| ours(f)) {
            if seen.insert(frame.clone()) {
                *on_stack.entry(frame).or_default() += count;
            }
        }
    }
    let table = |title: &str, counts: HashMap<String, u64>, n: usize| {
        let mut rows: Vec<(u64, String)> = counts.into_iter().map(|(f, c)| (c, f)).collect();
        rows.sort_unstable_by(|a, b| b.cmp(a));
        println!("\n{title} ({total} samples):\n\n| % | function |\n| ---: | --- |");
        for (count, frame) in rows.into_iter().take(n) {
            println!(
                "| {:.1} | `{frame}` |",
                100.0 * count as f64 / total.max(1) as f64
            );
        }
    };
    table("Self time, top 15", own, 15);
    table(
        "On the stack (tokshop and the libraries it calls), top 30",
        on_stack,
        30,
    );
}

#[tokio::main]
async fn main() {
    if !installed("perf") || !installed("inferno-collapse-perf") {
        eprintln!(
            "skipped: needs perf (linux-perf) and inferno (cargo install inferno) on the PATH"
        );
        return;
    }
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let seconds: u64 = std::env::var("TOKSHOP_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let postgres = std::env::var("TOKSHOP_BENCH_DATABASE").is_ok_and(|d| d == "postgres");
    let database = if postgres { "postgres" } else { "sqlite" };
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/perf");
    std::fs::create_dir_all(&out).unwrap();
    let scratch = tempfile::tempdir().unwrap();

    let database_url = if postgres {
        Some(support::fresh_database().await)
    } else {
        None
    };
    // No per-user turn limit, so the agent's load is the loop's own cost.
    let turn_limit = ("TOKSHOP_AGENT_TURNS_PER_MINUTE", "0".to_owned());
    let shop =
        support::spawn_embedded(scratch.path(), database_url.as_deref(), &[turn_limit]).await;
    let pid = shop.shop_pid();
    let base = shop.base.clone();
    let client = reqwest::Client::new();
    let bench_shop = support::shop(&client, &base, 10_000_000).await;
    let mut buyers = Vec::new();
    for i in 0..SHOPPERS {
        buyers.push(support::shopper(&client, &base, i).await);
    }
    println!(
        "# tokshop hot-path profiles, embedded default on {database}, {seconds} s per load, perf at {FREQUENCY} Hz"
    );

    let mut loads: Vec<(&str, PathBuf)> = Vec::new();
    let reads = [
        (
            "product",
            format!("{base}/api/v1/products/{}", bench_shop.product_id),
            READERS,
        ),
        (
            "search",
            format!("{base}/api/v1/products?q=trail%20shoes&price_max=20000&limit=20"),
            SEARCHERS,
        ),
    ];
    for (name, url, clients) in reads.into_iter().filter(|(name, ..)| wanted(name)) {
        support::get_anonymous(&client, &url).await;
        let data = record(pid, name, scratch.path(), async {
            let read = support::hammer(&client, vec![url], clients, seconds).await;
            format!("GET {name}, {clients} clients: {read}")
        })
        .await;
        loads.push((name, data));
    }
    if wanted("checkout") {
        let data = record(pid, "checkout", scratch.path(), async {
            let bought = support::purchases(
                &client,
                std::slice::from_ref(&base),
                &buyers,
                &bench_shop.variant,
                SHOPPERS,
                seconds,
            )
            .await;
            format!(
                "checkout + pay, {SHOPPERS} shoppers: {:.0} purchases/s",
                bought.purchases as f64 / bought.seconds
            )
        })
        .await;
        loads.push(("checkout", data));
    }
    if wanted("agent") {
        // One conversation per shopper, turns one after another in each: the rule planner (the offline default)
        // answers "what is in my cart" with the view_cart tool, so a turn is the whole loop with its storage.
        let mut conversations = Vec::new();
        for token in &buyers {
            let started = support::send(
                &client,
                format!("{base}/api/v1/chat/conversations"),
                token,
                json!({"title": "profile"}),
            )
            .await;
            conversations.push((token.clone(), started["id"].as_str().unwrap().to_owned()));
        }
        let data = record(pid, "agent", scratch.path(), async {
            let until = std::time::Instant::now() + Duration::from_secs(seconds);
            let turns = futures::future::join_all(conversations.iter().map(|(token, id)| {
                let (client, base) = (&client, &base);
                async move {
                    let mut turns = 0_usize;
                    while std::time::Instant::now() < until {
                        let reply = support::send(
                            client,
                            format!("{base}/api/v1/chat/conversations/{id}/messages"),
                            token,
                            json!({"text": "what is in my cart"}),
                        )
                        .await;
                        assert!(reply.to_string().contains("view_cart"), "{reply}");
                        turns += 1;
                    }
                    turns
                }
            }))
            .await
            .into_iter()
            .sum::<usize>();
            format!(
                "chat turns (view_cart), {SHOPPERS} shoppers: {:.0} turns/s",
                turns as f64 / seconds as f64
            )
        })
        .await;
        loads.push(("agent", data));
    }
    drop(shop);
    for (name, data) in loads {
        let svg = out.join(format!("{name}-{database}.svg"));
        println!("\n### {name}: {}", svg.display());
        fold(
            &data,
            &svg,
            &format!("tokshop {name} ({database}, embedded)"),
        );
    }
    if let Some(url) = database_url {
        support::drop_database(&url).await;
    }
}
