//! What both benchmarks share: a tokshop started in-process on a fresh SQLite file or PostgreSQL database,
//! percentiles, and the command-line filter.

#![allow(dead_code)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tokshop::Running;
use tokshop_platform::config::{Secret, Settings};

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The backends named on the command line (`sqlite`, `postgres`), or both.
pub fn backends() -> Vec<&'static str> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a == "sqlite" || a == "postgres")
        .collect();
    ["sqlite", "postgres"]
        .into_iter()
        .filter(|b| args.is_empty() || args.iter().any(|a| a == b))
        .collect()
}

/// A started tokshop and what to clean up after it.
pub struct Bench {
    pub running: Running,
    pub settings: Arc<Settings>,
    pub base: String,
    /// The URL of its PostgreSQL database, dropped by [`Bench::stop`].
    postgres: Option<String>,
    _dir: tempfile::TempDir,
}

/// A new, empty PostgreSQL database on the test server (`TOKSHOP_TEST_POSTGRES_URL`); returns its URL.
pub async fn fresh_database() -> String {
    tokshop_platform::testing::create_postgres_database()
        .await
        .unwrap()
}

/// Drops a database [`fresh_database`] made.
pub async fn drop_database(url: &str) {
    tokshop_platform::testing::drop_postgres_database(url)
        .await
        .unwrap();
}

/// Starts the embedded tokshop (rate limiting off) on `backend` after `adjust` changed its settings.
pub async fn start(backend: &str, adjust: impl FnOnce(&mut Settings)) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        data_dir: dir.path().to_owned(),
        ..Settings::default()
    };
    settings.gateway.listen = "127.0.0.1:0".parse().unwrap();
    settings.gateway.rate_limit_per_second = 0;
    settings.log.level = "warn".into();
    let mut postgres = None;
    if backend == "postgres" {
        let url = fresh_database().await;
        settings.database.url = Some(Secret::new(url.clone()));
        postgres = Some(url);
    }
    adjust(&mut settings);
    let settings = Arc::new(settings);
    let running = tokshop::start(settings.clone(), None, CancellationToken::new())
        .await
        .expect("start tokshop");
    let base = format!("http://{}", running.gateway_addr.unwrap());
    Bench {
        running,
        settings,
        base,
        postgres,
        _dir: dir,
    }
}

/// A second REST gateway started alone (`serve --only gateway` in one process) on the services and database of
/// `bench`, which must have `auth.jwt_secret` set; returns it and its base URL.
pub async fn second_gateway(bench: &Bench) -> (Running, String) {
    let mut settings = (*bench.settings).clone();
    let running = &bench.running;
    let url = |addr: Option<std::net::SocketAddr>| Some(format!("http://{}", addr.unwrap()));
    settings.services.identity.url = url(running.identity_addr);
    settings.services.catalog.url = url(running.catalog_addr);
    settings.services.cart.url = url(running.cart_addr);
    settings.services.orders.url = url(running.orders_addr);
    settings.services.social.url = url(running.social_addr);
    let second = tokshop::start(
        Arc::new(settings),
        Some(tokshop::Part::Gateway),
        CancellationToken::new(),
    )
    .await
    .expect("start the second gateway");
    let base = format!("http://{}", second.gateway_addr.unwrap());
    (second, base)
}

impl Bench {
    /// Stops tokshop and drops a PostgreSQL bench database.
    pub async fn stop(self) {
        self.running.stop().await.unwrap();
        if let Some(url) = self.postgres {
            drop_database(&url).await;
        }
    }
}

pub async fn send(client: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    assert!(status.is_success(), "{status}: {body}");
    body
}

pub async fn get(client: &reqwest::Client, url: String, token: &str) -> Value {
    json_of(client.get(url).bearer_auth(token)).await
}

/// Waits (up to a minute) until every event recorded so far in the database at `database_url` has been relayed.
pub async fn outbox_drained(database_url: &str) {
    let db = tokshop_platform::db::Db::connect(database_url, 1)
        .await
        .unwrap();
    tokshop_platform::testing::outbox_drained(&db)
        .await
        .unwrap();
    db.close().await;
}

/// The page URLs of up to `n` listed products, cheapest first.
pub async fn product_urls(client: &reqwest::Client, base: &str, n: usize) -> Vec<String> {
    let mut urls = Vec::new();
    let mut cursor = String::new();
    while urls.len() < n {
        let page = get_anonymous(
            client,
            &format!("{base}/api/v1/products?limit=100&sort=price_asc&cursor={cursor}"),
        )
        .await;
        for product in page["products"].as_array().unwrap() {
            urls.push(format!(
                "{base}/api/v1/products/{}",
                product["id"].as_str().unwrap()
            ));
        }
        match page["next_cursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = next.to_owned(),
            _ => break,
        }
    }
    urls.truncate(n);
    urls
}

/// The JSON body of an anonymous GET.
pub async fn get_anonymous(client: &reqwest::Client, url: &str) -> Value {
    json_of(client.get(url)).await
}

async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// A new user `username` (email `<username>@example.com`): their id and access token.
pub async fn register(client: &reqwest::Client, base: &str, username: &str) -> (String, String) {
    let session = send(
        client,
        format!("{base}/api/v1/auth/register"),
        "",
        json!({"username": username, "email": format!("{username}@example.com"), "password": "s3cret-pass"}),
    )
    .await;
    (
        session["user"]["id"].as_str().unwrap().to_owned(),
        session["access_token"].as_str().unwrap().to_owned(),
    )
}

/// A registered shopper with an address, a card and a full wallet; returns the access token.
pub async fn shopper(client: &reqwest::Client, base: &str, i: usize) -> String {
    shopper_with(client, base, i, 1).await
}

/// A registered shopper whose wallet was topped up to the limit of one top-up `top_ups` times (each pays for
/// about 16,000 bench purchases).
pub async fn shopper_with(
    client: &reqwest::Client,
    base: &str,
    i: usize,
    top_ups: usize,
) -> String {
    let (_, token) = register(client, base, &format!("benchbuyer{i}")).await;
    send(
        client,
        format!("{base}/api/v1/me/addresses"),
        &token,
        json!({"recipient": "B", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}),
    )
    .await;
    let card = send(
        client,
        format!("{base}/api/v1/payment-methods"),
        &token,
        json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}),
    )
    .await;
    for _ in 0..top_ups {
        send(
            client,
            format!("{base}/api/v1/wallet/top-up"),
            &token,
            json!({"payment_method_id": card["id"], "amount_minor": 100_000_000}),
        )
        .await;
    }
    token
}

/// Settings of a bench shop: no demo seed, sandbox cards (demo mode, whatever the database), a bench admin, no
/// wallet or unpaid-stock caps.
pub fn bench_shop_settings(settings: &mut Settings) {
    settings.seed.demo = false;
    settings.mode = Some(tokshop_platform::config::Mode::Demo);
    settings.admin.username = Some("bench_admin".into());
    settings.admin.email = Some("bench@example.com".into());
    settings.admin.password = Some(Secret::new("bench-admin-pass"));
    // Shoppers fill their wallets once for the whole run, and many buy the same variant at once: the abuse caps
    // that guard a real shop would stop the load itself.
    settings.orders.top_up_daily_limit_minor = i64::MAX / 4;
    settings.orders.max_unpaid_units_per_variant = i64::MAX / 4;
}

/// A seller's one-variant product with `stock` units, made through the REST API of a bench shop.
pub struct Shop {
    pub admin: String,
    pub seller: String,
    pub product_id: String,
    pub variant: String,
}

pub async fn shop(client: &reqwest::Client, base: &str, stock: i64) -> Shop {
    let admin = send(
        client,
        format!("{base}/api/v1/auth/login"),
        "",
        json!({"login": "bench_admin", "password": "bench-admin-pass"}),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let category = send(
        client,
        format!("{base}/api/v1/categories"),
        &admin,
        json!({"name": "Bench", "slug": "bench"}),
    )
    .await;
    let shop = send(
        client,
        format!("{base}/api/v1/auth/register"),
        "",
        json!({"username": "benchshop", "email": "shop@example.com", "password": "s3cret-pass"}),
    )
    .await;
    let seller = send(
        client,
        format!("{base}/api/v1/seller/onboarding"),
        shop["access_token"].as_str().unwrap(),
        json!({"shop_name": "Bench"}),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = send(
        client,
        format!("{base}/api/v1/seller/products"),
        &seller,
        json!({"category_id": category["id"], "title": "Bench boots", "description": "Boots for benches",
               "image_urls": [], "variants": [{"sku": "B-42", "options": [], "image_urls": [], "price_minor": 5990, "stock": stock}]}),
    )
    .await;
    Shop {
        admin,
        seller,
        product_id: product["id"].as_str().unwrap().to_owned(),
        variant: product["variants"][0]["id"].as_str().unwrap().to_owned(),
    }
}

/// What a fixed-time load of GET requests measured.
pub struct Throughput {
    pub per_second: f64,
    pub seconds: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub requests: usize,
    /// CPU used during the load: this process (client and server), PostgreSQL, Redis.
    pub cpu: Cpu,
}

impl std::fmt::Display for Throughput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} requests/s over {:.1} s (p50 {} ms, p99 {} ms)",
            self.per_second,
            self.seconds,
            ms(self.p50),
            ms(self.p99)
        )
    }
}

/// `concurrency` clients GET `urls` round-robin (each starting at its own place) for `seconds`; every answer must
/// be a success and is read to the end.
pub async fn hammer(
    client: &reqwest::Client,
    urls: Vec<String>,
    concurrency: usize,
    seconds: u64,
) -> Throughput {
    let urls = Arc::new(urls);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (client, urls) = (client.clone(), urls.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = worker;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let response = client.get(&urls[i % urls.len()]).send().await.unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    response.bytes().await.unwrap();
                    latencies.push(t.elapsed());
                    i += 7;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    latencies.sort();
    Throughput {
        per_second: latencies.len() as f64 / elapsed,
        seconds: elapsed,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        requests: latencies.len(),
        cpu,
    }
}

/// The anchor the speed targets are ratios to: an axum server answering `GET /` with "hello, world" on
/// loopback, in this process. Returns its URL.
pub async fn hello_world() -> String {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello, world" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/")
}

/// CPU seconds used so far by this process, by every process named `postgres` (the database server's backends)
/// and by `redis-server`, from /proc (Linux; zero elsewhere). Processes that ended between two readings are not
/// counted, so the servers' shares are lower bounds; the bench's connections live for the whole run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub own: f64,
    pub postgres: f64,
    pub redis: f64,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;

    fn sub(self, before: Cpu) -> Cpu {
        Cpu {
            own: self.own - before.own,
            postgres: self.postgres - before.postgres,
            redis: self.redis - before.redis,
        }
    }
}

impl Cpu {
    /// Milliseconds per one of `n` operations, as "own / postgres / redis".
    pub fn per(self, n: usize) -> String {
        let each = |s: f64| s * 1000.0 / n.max(1) as f64;
        format!(
            "{:.3} / {:.3} / {:.3}",
            each(self.own),
            each(self.postgres),
            each(self.redis)
        )
    }
}

/// A /proc/<pid>/stat line's process name and the fields after it (the name may hold spaces and parentheses).
fn stat_fields(stat: &str) -> Option<(&str, Vec<&str>)> {
    let close = stat.rfind(')')?;
    let name = &stat[stat.find('(')? + 1..close];
    Some((name, stat.get(close + 2..)?.split(' ').collect()))
}

/// A process's name and CPU seconds so far, from a /proc/<pid>/stat line.
fn of(stat: &str) -> Option<(String, f64)> {
    let (name, fields) = stat_fields(stat)?;
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in ticks of 1/100 s.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some((name.to_owned(), ticks / 100.0))
}

/// CPU seconds process `pid` has used so far (0 when unreadable).
pub fn cpu_of(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| of(&s))
        .map_or(0.0, |(_, cpu)| cpu)
}

pub fn cpu_seconds() -> Cpu {
    let mut cpu = Cpu {
        own: cpu_of(std::process::id()),
        ..Cpu::default()
    };
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            match of(&stat) {
                Some((name, used)) if name == "postgres" => cpu.postgres += used,
                Some((name, used)) if name == "redis-server" => cpu.redis += used,
                _ => {}
            }
        }
    }
    cpu
}

/// What a fixed time of shoppers buying measured.
pub struct Purchases {
    pub purchases: usize,
    pub seconds: f64,
    /// CPU this process (client and shop), PostgreSQL and Redis used meanwhile.
    pub cpu: Cpu,
    pub checkout: Vec<Duration>,
    pub pay: Vec<Duration>,
    pub both: Vec<Duration>,
}

/// `n` shoppers each loop "check out one unit of `variant`, pay it from the wallet" for `seconds`; shopper `i` goes
/// through gateway `bases[i % bases.len()]`.
pub async fn purchases(
    client: &reqwest::Client,
    bases: &[String],
    buyers: &[String],
    variant: &str,
    n: usize,
    seconds: u64,
) -> Purchases {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let workers: Vec<_> = buyers[..n]
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (client, base, token, variant) = (
                client.clone(),
                bases[i % bases.len()].clone(),
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
    let mut result = Purchases {
        purchases: 0,
        seconds: 0.0,
        cpu: Cpu::default(),
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
    result.cpu = cpu_seconds() - cpu_before;
    result.purchases = result.both.len();
    result.checkout.sort();
    result.pay.sort();
    result.both.sort();
    result
}

/// The release binary as a user starts it, killed when dropped.
pub struct Spawned {
    pub child: std::process::Child,
    /// `http://127.0.0.1:<port>` of its REST gateway.
    pub base: String,
}

impl Spawned {
    /// The shop's own process: the child, or under a wrapper the `tokshop` process in the child's group.
    pub fn shop_pid(&self) -> u32 {
        let group = self.child.id();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return group;
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
                let (name, fields) = stat_fields(&stat)?;
                // The process group is the third field after the name.
                let pgrp: u32 = fields.get(2)?.parse().ok()?;
                (name == "tokshop" && pgrp == group).then_some(pid)
            })
            .next()
            .unwrap_or(group)
    }
}

impl Drop for Spawned {
    /// Asks the shop to stop (SIGTERM, so under `TOKSHOP_BENCH_WRAPPER` the profiler sees it end and writes its
    /// output), waits up to 10 s for the child, then kills whatever is left of its process group.
    fn drop(&mut self) {
        let signal = |name: &str, target: String| {
            let _ = std::process::Command::new("kill")
                .args([name, "--", &target])
                .stderr(std::process::Stdio::null())
                .status();
        };
        signal("-TERM", self.shop_pid().to_string());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal("-KILL", format!("-{}", self.child.id()));
        let _ = self.child.wait();
    }
}

/// Starts the embedded default (every part in one process, the demo shop seeded) on the data folder `data`, and on
/// `database_url` when given, with the bench admin and without the caps that would stop the load itself; returns
/// once it answers.
pub async fn spawn_embedded(
    data: &std::path::Path,
    database_url: Option<&str>,
    extra_env: &[(&str, String)],
) -> Spawned {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A profiler to run the shop under (`TOKSHOP_BENCH_WRAPPER="perf stat -o shop.txt --"`), and the allocator's
    // settings (`MALLOC_CONF` for jemalloc), so a bench can be profiled or an allocator setting tried without
    // editing it. Heap profilers that replace `malloc` (heaptrack, massif) see nothing: jemalloc is linked in.
    let wrapper = std::env::var("TOKSHOP_BENCH_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut command = std::process::Command::new(program);
            command.args(words).arg(env!("CARGO_BIN_EXE_tokshop"));
            command
        }
        None => std::process::Command::new(env!("CARGO_BIN_EXE_tokshop")),
    };
    // Its own process group, so that stopping it stops a wrapper's child too.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
        .env_clear()
        .envs(std::env::vars().filter(|(name, _)| name.starts_with("MALLOC_")))
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TOKSHOP_DATA_DIR", data)
        .env("TOKSHOP_MODE", "demo")
        .env("TOKSHOP_GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("TOKSHOP_GATEWAY_RATE_LIMIT_PER_SECOND", "0")
        .env("TOKSHOP_ADMIN_USERNAME", "bench_admin")
        .env("TOKSHOP_ADMIN_EMAIL", "bench@example.com")
        .env("TOKSHOP_ADMIN_PASSWORD", "bench-admin-pass")
        .env(
            "TOKSHOP_ORDERS_TOP_UP_DAILY_LIMIT_MINOR",
            (i64::MAX / 4).to_string(),
        )
        .env(
            "TOKSHOP_ORDERS_MAX_UNPAID_UNITS_PER_VARIANT",
            (i64::MAX / 4).to_string(),
        )
        .env("TOKSHOP_LOG_LEVEL", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    if let Some(url) = database_url {
        command.env("TOKSHOP_DATABASE_URL", url);
    }
    command.envs(extra_env.iter().map(|(k, v)| (k, v)));
    let spawned = Spawned {
        child: command.spawn().expect("spawn tokshop"),
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !client
        .get(format!("{}/readyz", spawned.base))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "tokshop did not become ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    spawned
}
