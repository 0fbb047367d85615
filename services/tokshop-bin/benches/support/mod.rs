//! What both benchmarks share: a tokshop started in-process on a fresh SQLite file or PostgreSQL database,
//! percentiles, and the command-line filter.

#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use sqlx::{Connection, Executor};
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
        .filter(|a| !a.starts_with('-'))
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
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
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
        let admin = std::env::var("TOKSHOP_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("tokshop_bench_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL reachable");
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap();
        settings.database.url = Some(Secret::new(format!("{base}/{name}")));
        postgres = Some((name, admin));
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

impl Bench {
    /// Stops tokshop and drops a PostgreSQL bench database.
    pub async fn stop(self) {
        self.running.stop().await.unwrap();
        if let Some((name, admin)) = self.postgres {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            conn.execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await
            .unwrap();
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
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A registered shopper with an address, a card and a full wallet; returns the access token.
pub async fn shopper(client: &reqwest::Client, base: &str, i: usize) -> String {
    let session = send(
        client,
        format!("{base}/api/v1/auth/register"),
        "",
        json!({"username": format!("benchbuyer{i}"), "email": format!("b{i}@example.com"), "password": "s3cret-pass"}),
    )
    .await;
    let token = session["access_token"].as_str().unwrap().to_owned();
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
    send(
        client,
        format!("{base}/api/v1/wallet/top-up"),
        &token,
        json!({"payment_method_id": card["id"], "amount_minor": 100_000_000}),
    )
    .await;
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
