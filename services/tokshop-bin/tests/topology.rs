//! The distributed topology as separate processes of the real binary on loopback: identity, catalog, cart,
//! orders, social and two gateways, sharing one PostgreSQL database, with events on a Kafka-protocol broker
//! (TOKSHOP_TEST_KAFKA_BROKERS, default 127.0.0.1:9092).
//!
//! - An order paid through gateway A shows in the sales count read through gateway B: the orders process relays
//!   `order.paid` to Kafka and its sales consumer (a consumer group) tells the catalog.
//! - The orders process is killed with SIGKILL right after a burst of payments and started again: every sale is
//!   counted exactly once.
//! - The catalog process is killed: the gateway answers 503 at once rather than hanging, and serves again once
//!   the catalog is back.
//!
//! Without a broker or PostgreSQL the test says so and passes, except under CI (`CI` set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use sqlx::{Connection, Executor};

const SECRET: &str = "topology-test-secret-of-at-least-32-bytes";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn admin_url() -> String {
    std::env::var("TOKSHOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn brokers() -> String {
    std::env::var("TOKSHOP_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// The broker's address, or `None` (after saying the test skipped) when none listens and this is not CI.
fn broker() -> Option<String> {
    let brokers = brokers();
    if listening(brokers.split(',').next().unwrap_or_default()) {
        return Some(brokers);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "no Kafka broker at {brokers}: CI must start one (see .ci/run)"
    );
    eprintln!(
        "skipped: no Kafka broker at {brokers} (set TOKSHOP_TEST_KAFKA_BROKERS, or start one)"
    );
    None
}

/// Whether `addr` accepts connections within two seconds.
fn listening(addr: &str) -> bool {
    addr.parse()
        .ok()
        .and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
        .is_some()
}

/// A process of the topology; killed when dropped, so none outlives a failing test.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One part's command line and environment, kept so it can be started again after a kill.
struct Part {
    only: &'static str,
    env: HashMap<String, String>,
    /// The address it serves on: a gRPC port, or the REST port of a gateway.
    addr: String,
}

impl Part {
    fn start(&self) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokshop"))
            .args(["serve", "--only", self.only])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&self.env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tokshop");
        let stdout = child.stdout.take().unwrap();
        // Drain stdout so the child never blocks on a full pipe; with TOPOLOGY_LOG set, show it.
        let echo = std::env::var_os("TOPOLOGY_LOG").is_some();
        let only = self.only;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if echo {
                    eprintln!("[{only}] {line}");
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(90);
        while !listening(&self.addr) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} exited before it listened: {status}", self.only);
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {}",
                self.only,
                self.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Process(child)
    }
}

/// SIGKILL: no shutdown path runs, as when a machine dies.
fn kill(mut process: Process) {
    process.0.kill().unwrap();
    process.0.wait().unwrap();
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, body) = self.call(reqwest::Method::POST, path, token, body).await;
        assert!((200..300).contains(&status), "POST {path}: {status} {body}");
        body
    }

    /// `GET /api/v1/products/{id}`: status and body.
    async fn product(&self, id: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::GET,
            &format!("/api/v1/products/{id}"),
            "",
            Value::Null,
        )
        .await
    }

    async fn sold(&self, product: &str) -> i64 {
        let (status, body) = self.product(product).await;
        assert_eq!(status, 200, "{body}");
        body["sold_count"].as_i64().unwrap()
    }

    /// Waits until the product's sales count reads `expected`; fails if it goes past it.
    async fn wait_sold(&self, product: &str, expected: i64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sold = self.sold(product).await;
            assert!(
                sold <= expected,
                "counted {sold} sales of {expected}: a sale counted twice"
            );
            if sold == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sales count stuck at {sold}, expected {expected}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Places and pays `n` one-unit orders of `variant` as `buyer`.
async fn buy(api: &Api, buyer: &str, variant: &str, n: usize) {
    for _ in 0..n {
        let order = api
            .post(
                "/api/v1/orders",
                buyer,
                json!({"items": [{"variant_id": variant, "quantity": 1}]}),
            )
            .await;
        let paid = api
            .post(
                &format!("/api/v1/orders/{}/pay", order["id"].as_str().unwrap()),
                buyer,
                json!({"payment_method_id": "wallet"}),
            )
            .await;
        assert_eq!(paid["status"], "succeeded", "{paid}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_cross_processes_on_kafka_exactly_once_and_a_dead_catalog_is_a_fast_503() {
    let ci = std::env::var_os("CI").is_some();
    let Some(brokers) = broker() else { return };
    let admin = admin_url();
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        assert!(!ci, "no PostgreSQL at {admin}");
        eprintln!("skipped: no PostgreSQL at {admin}");
        return;
    };
    let database = format!("tokshop_topology_{}", uuid::Uuid::now_v7().simple());
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    let data = tempfile::tempdir().unwrap();

    let ports: HashMap<&str, u16> = [
        "identity",
        "catalog",
        "cart",
        "orders",
        "social",
        "gateway_a",
        "gateway_b",
        "orders_metrics",
    ]
    .into_iter()
    .map(|p| (p, free_port()))
    .collect();
    let prefix = format!("topology{}", uuid::Uuid::now_v7().simple());
    let mut env: HashMap<String, String> = [
        ("TOKSHOP_DATABASE_URL", format!("{base}/{database}")),
        ("TOKSHOP_DATA_DIR", data.path().display().to_string()),
        ("TOKSHOP_MODE", "demo".to_owned()),
        ("TOKSHOP_AUTH_JWT_SECRET", SECRET.to_owned()),
        ("TOKSHOP_SEED_DEMO", "false".to_owned()),
        (
            "TOKSHOP_LOG_LEVEL",
            std::env::var("TOPOLOGY_LOG").unwrap_or("warn".into()),
        ),
        ("TOKSHOP_KAFKA_BROKERS", brokers.clone()),
        ("TOKSHOP_KAFKA_TOPIC_PREFIX", prefix.clone()),
        ("TOKSHOP_KAFKA_PARTITIONS", "2".to_owned()),
        ("TOKSHOP_ADMIN_USERNAME", "root_admin".to_owned()),
        ("TOKSHOP_ADMIN_EMAIL", "admin@tokshop.example".to_owned()),
        ("TOKSHOP_ADMIN_PASSWORD", "admin-password-1".to_owned()),
        ("TOKSHOP_GATEWAY_RATE_LIMIT_PER_SECOND", "1000".to_owned()),
        ("TOKSHOP_GATEWAY_RATE_LIMIT_BURST", "1000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for service in ["identity", "catalog", "cart", "orders", "social"] {
        let port = ports[service];
        let upper = service.to_uppercase();
        env.insert(
            format!("TOKSHOP_SERVICES_{upper}_LISTEN"),
            format!("127.0.0.1:{port}"),
        );
        env.insert(
            format!("TOKSHOP_SERVICES_{upper}_URL"),
            format!("http://127.0.0.1:{port}"),
        );
    }
    let part = |only: &'static str, port_of: &str| {
        let addr = format!("127.0.0.1:{}", ports[port_of]);
        let mut env = env.clone();
        if only == "gateway" {
            env.insert("TOKSHOP_GATEWAY_LISTEN".into(), addr.clone());
        }
        Part { only, env, addr }
    };
    // Started one at a time: each migrates its own tables in the shared database.
    let _identity = part("identity", "identity").start();
    let catalog_part = part("catalog", "catalog");
    let catalog = catalog_part.start();
    let _cart = part("cart", "cart").start();
    let mut orders_part = part("orders", "orders");
    orders_part
        .env
        .insert("TOKSHOP_KAFKA_INSTANCE_ID".into(), "orders-1".into());
    orders_part.env.insert(
        "TOKSHOP_GRPC_METRICS_LISTEN".into(),
        format!("127.0.0.1:{}", ports["orders_metrics"]),
    );
    let orders = orders_part.start();
    let _social = part("social", "social").start();
    let _gateway_a = part("gateway", "gateway_a").start();
    let _gateway_b = part("gateway", "gateway_b").start();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let a = Api {
        client: client.clone(),
        base: format!("http://127.0.0.1:{}", ports["gateway_a"]),
    };
    let b = Api {
        client,
        base: format!("http://127.0.0.1:{}", ports["gateway_b"]),
    };

    // A seller's product with stock, and a buyer with money in the wallet, all through gateway A.
    let admin_token = a
        .post(
            "/api/v1/auth/login",
            "",
            json!({"login": "root_admin", "password": "admin-password-1"}),
        )
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let category = a
        .post(
            "/api/v1/categories",
            &admin_token,
            json!({"name": "Spread", "slug": "spread"}),
        )
        .await;
    let shop = a
        .post(
            "/api/v1/auth/register",
            "",
            json!({"username": "spreadshop", "email": "shop@example.com", "password": "s3cret-pass"}),
        )
        .await;
    let seller = a
        .post(
            "/api/v1/seller/onboarding",
            shop["access_token"].as_str().unwrap(),
            json!({"shop_name": "Spread"}),
        )
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = a
        .post(
            "/api/v1/seller/products",
            &seller,
            json!({
                "category_id": category["id"],
                "title": "Spread boots",
                "description": "Boots that travel",
                "image_urls": ["https://img.example.com/a.jpg"],
                "variants": [{"sku": "B-42", "options": [{"name": "size", "value": "42"}], "price_minor": 500, "stock": 100}]
            }),
        )
        .await;
    let product_id = product["id"].as_str().unwrap().to_owned();
    let variant = product["variants"][0]["id"].as_str().unwrap().to_owned();
    let buyer = a
        .post(
            "/api/v1/auth/register",
            "",
            json!({"username": "spreadbuyer", "email": "buyer@example.com", "password": "s3cret-pass"}),
        )
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    a.post(
        "/api/v1/me/addresses",
        &buyer,
        json!({"recipient": "S", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}),
    )
    .await;
    let card = a
        .post(
            "/api/v1/payment-methods",
            &buyer,
            json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}),
        )
        .await;
    a.post(
        "/api/v1/wallet/top-up",
        &buyer,
        json!({"payment_method_id": card["id"], "amount_minor": 10_000}),
    )
    .await;

    // Paid through A, counted through B.
    buy(&a, &buyer, &variant, 3).await;
    b.wait_sold(&product_id, 3).await;

    // A burst of payments, then the orders process (relay and sales consumer) dies without warning, with events
    // possibly unrelayed, relayed but unconsumed, or applied but not yet committed. Started again, it counts each
    // sale once.
    buy(&a, &buyer, &variant, 6).await;
    kill(orders);
    let _orders = orders_part.start();
    b.wait_sold(&product_id, 9).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        b.sold(&product_id).await,
        9,
        "no sale counted twice after the restart"
    );

    // The orders process reports its consumer caught up and its relay drained.
    let metrics_url = format!("http://127.0.0.1:{}/metrics", ports["orders_metrics"]);
    let caught_up =
        format!("tokshop_event_consumer_lag{{group=\"{prefix}.orders.sales_counts\"}} 0");
    let drained = "tokshop_event_relay_pending{relay=\"order.,payment.,refund.\"} 0";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = a
            .client
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains(&caught_up) && page.contains(drained) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no caught-up lag gauges in:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The catalog dies: a product read through B is a quick 503, then works again once the catalog is back.
    kill(catalog);
    let started = Instant::now();
    let (status, body) = b.product(&product_id).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 503 took {:?}",
        started.elapsed()
    );
    let _catalog = catalog_part.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = b.product(&product_id).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not recover: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(b.sold(&product_id).await, 9);

    drop(conn);
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    drop((
        _identity, _cart, _orders, _social, _gateway_a, _gateway_b, _catalog,
    ));
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
    )))
    .await
    .unwrap();
}

/// A handler that never succeeds, so everything it is offered ends on the dead-letter topic.
struct Refuses;

#[async_trait::async_trait]
impl tokshop_platform::events::EventHandler for Refuses {
    fn name(&self) -> &'static str {
        "test.refuses"
    }

    fn wants(&self, _topic: &str) -> bool {
        true
    }

    async fn handle(&self, event: &tokshop_platform::events::Event) -> anyhow::Result<()> {
        anyhow::bail!("refusing {}", event.id)
    }
}

/// `tokshop events dlq list|replay` against the broker, with the environment `env`.
fn dlq(env: &[(&str, &str)], command: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tokshop"))
        .args(["events", "dlq", command])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TOKSHOP_LOG_LEVEL", "error")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "dlq {command}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dlq_command_lists_and_replays_dead_letters() {
    let Some(brokers) = broker() else { return };
    use std::sync::Arc;
    use tokshop_platform::events::{Event, EventBus, kafka::Kafka};

    let prefix = format!("dlq{}", uuid::Uuid::now_v7().simple());
    let settings = tokshop_platform::config::KafkaSettings {
        topic_prefix: prefix.clone(),
        max_attempts: 1,
        ..Default::default()
    };
    let kafka = Arc::new(Kafka::connect(&settings, &brokers).await.unwrap());
    let env = [
        ("TOKSHOP_KAFKA_BROKERS", brokers.as_str()),
        ("TOKSHOP_KAFKA_TOPIC_PREFIX", prefix.as_str()),
    ];
    assert!(dlq(&env, "list").contains("0 dead letters, 0 waiting"));

    kafka
        .publish(&Event {
            id: "evt_dlq_1".into(),
            topic: "order.paid".into(),
            aggregate_id: "ord_1".into(),
            payload: json!({}),
            occurred_at_ms: 0,
        })
        .await
        .unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let consumer = tokio::spawn(kafka.clone().consume(Arc::new(Refuses), shutdown.clone()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while kafka.dead_letters().await.unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the event never reached the dead-letter topic"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    consumer.await.unwrap().unwrap();

    let listed = dlq(&env, "list");
    assert!(listed.contains("evt_dlq_1 order.paid ord_1 consumer=test.refuses attempts=1 waiting: refusing evt_dlq_1"), "{listed}");
    assert!(listed.contains("1 dead letters, 1 waiting"), "{listed}");
    assert!(dlq(&env, "replay").contains("1 dead letters put back on their streams"));
    let after = dlq(&env, "list");
    assert!(
        after.contains("evt_dlq_1") && after.contains("1 dead letters, 0 waiting"),
        "{after}"
    );
}
