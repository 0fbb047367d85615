//! Fresh databases for the services' storage tests: a SQLite file in a temporary folder, or a PostgreSQL database
//! named by a UUID on the server at `TOKSHOP_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! trust auth). Each test gets its own and removes it with [`TestDb::finish`]; [`storage_tests!`](crate::storage_tests)
//! runs each test body on both. [`redis`] finds the test Redis server. Behind the `testing` feature, which the
//! service crates enable for their tests only.

use anyhow::Context;
use sqlx::{Connection, Executor};

use crate::db::{Backend, Db, Migrations};

/// The admin URL of the test PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("TOKSHOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A new, empty database on the test PostgreSQL server, named by a UUID; returns its URL.
pub async fn create_postgres_database() -> anyhow::Result<String> {
    let admin = postgres_admin_url();
    let name = format!("tokshop_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.with_context(|| {
        format!("PostgreSQL must be reachable at {admin} (set TOKSHOP_TEST_POSTGRES_URL)")
    })?;
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .context("creating the test database")?;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// Drops a database [`create_postgres_database`] made, whatever still holds it open.
pub async fn drop_postgres_database(url: &str) -> anyhow::Result<()> {
    let name = url.rsplit_once('/').map_or(url, |(_, name)| name);
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url()).await?;
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .await
    .context("dropping the test database")?;
    Ok(())
}

/// Settings for the test Redis server (`TOKSHOP_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`) under a key
/// prefix of the caller's own, or `None` after saying the test skipped because no server answers. Under CI (`CI`
/// set) a missing server fails the test instead.
pub async fn redis() -> Option<crate::config::RedisSettings> {
    let url = std::env::var("TOKSHOP_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let settings = crate::config::RedisSettings {
        url: Some(crate::config::Secret::new(&url)),
        key_prefix: format!("test-{}", uuid::Uuid::now_v7().simple()),
        timeout_ms: 1000,
        ..crate::config::RedisSettings::default()
    };
    let answers = match crate::redis::Redis::connect(&settings).await {
        Ok(Some(redis)) => redis.ping().await.is_ok(),
        _ => false,
    };
    if answers {
        return Some(settings);
    }
    assert!(std::env::var_os("CI").is_none(), "no Redis at {url}");
    eprintln!("skipped: no Redis at {url} (set TOKSHOP_TEST_REDIS_URL, or start one)");
    None
}

/// The test Kafka brokers (`TOKSHOP_TEST_KAFKA_BROKERS`, default `127.0.0.1:9092`), whether or not one listens.
pub fn kafka_brokers_setting() -> String {
    std::env::var("TOKSHOP_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// The test Kafka brokers, or `None` after saying the test skipped because the first one does not accept a
/// connection within 2 s. Under CI (`CI` set) a missing broker fails the test instead.
pub async fn kafka_brokers() -> Option<String> {
    let brokers = kafka_brokers_setting();
    let first = brokers.split(',').next().unwrap_or_default().to_owned();
    let connect = tokio::net::TcpStream::connect(first);
    if matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), connect).await,
        Ok(Ok(_))
    ) {
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

/// Waits until the relays have published every event in `db`'s outbox (and so the in-process handlers have run);
/// an error after a minute.
pub async fn outbox_drained(db: &Db) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (pending,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE published_at_ms IS NULL")
                .fetch_one(db.pool())
                .await
                .context("counting unpublished events")?;
        if pending == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "{pending} events still unpublished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A database made for one test.
#[derive(Debug)]
pub struct TestDb {
    pub db: Db,
    place: Place,
}

#[derive(Debug)]
enum Place {
    SqliteDir(std::path::PathBuf),
    Postgres(String),
}

impl TestDb {
    /// A fresh database of `backend`.
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A SQLite file in a new temporary folder.
    pub async fn sqlite() -> anyhow::Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("tokshop_test_{}", uuid::Uuid::now_v7().simple()));
        let url = format!("sqlite://{}", dir.join("test.db").display());
        let db = Db::connect(&url, 4).await?;
        Ok(Self {
            db,
            place: Place::SqliteDir(dir),
        })
    }

    /// A new, empty PostgreSQL database.
    pub async fn postgres() -> anyhow::Result<Self> {
        let url = create_postgres_database().await?;
        let db = Db::connect(&url, 8).await?;
        Ok(Self {
            db,
            place: Place::Postgres(url),
        })
    }

    /// Runs `body` on a fresh database of `backend` with the event tables and `service`'s `migrations` applied, then
    /// removes the database, also when `body` panics (the panic is passed on).
    pub async fn run<F, Fut>(
        backend: Backend,
        service: &str,
        migrations: &Migrations,
        body: F,
    ) -> anyhow::Result<()>
    where
        F: FnOnce(Db) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let test = Self::new(backend).await?;
        // As at start-up (`ServiceContext::from_settings`): the shared event tables, then the service's own.
        let migrated = match crate::events::migrate(&test.db).await {
            Ok(()) => test.db.migrate(service, migrations).await,
            Err(err) => Err(err),
        };
        let outcome = match migrated {
            Ok(()) => Ok(tokio::spawn(body(test.db.clone())).await),
            Err(err) => Err(err),
        };
        test.finish().await?;
        match outcome? {
            Ok(()) => Ok(()),
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => Err(err.into()),
        }
    }

    /// Closes the handle and removes the file or drops the database.
    pub async fn finish(self) -> anyhow::Result<()> {
        self.db.close().await;
        match self.place {
            Place::SqliteDir(dir) => {
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))
            }
            Place::Postgres(url) => drop_postgres_database(&url).await,
        }
    }
}

/// Declares `mod sqlite` and `mod postgres` beside the calling module's storage tests, each with one `#[tokio::test]`
/// per named `async fn(Db)`, run by [`TestDb::run`] on a fresh database migrated for `service`:
/// `storage_tests!("cart", crate::MIGRATIONS; adds_grow_a_line, ...)`.
#[macro_export]
macro_rules! storage_tests {
    ($service:literal, $migrations:expr; $($name:ident),+ $(,)?) => {
        $crate::storage_tests!(@backend sqlite, Sqlite, $service, $migrations; $($name),+);
        $crate::storage_tests!(@backend postgres, Postgres, $service, $migrations; $($name),+);
    };
    (@backend $module:ident, $backend:ident, $service:literal, $migrations:expr; $($name:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() -> ::anyhow::Result<()> {
                    $crate::testing::TestDb::run(
                        $crate::db::Backend::$backend,
                        $service,
                        &$migrations,
                        super::$name,
                    )
                    .await
                }
            )+
        }
    };
}
