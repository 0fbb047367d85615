//! What both benchmarks share: a tokshop started in-process on a fresh SQLite file or PostgreSQL database,
//! percentiles, and the command-line filter.

#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

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
