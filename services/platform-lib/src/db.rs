//! One database handle for SQLite and PostgreSQL, and the per-service migration runner.
//!
//! Strategy: every query is written once in a portable SQL subset with `$1` placeholders (both drivers accept
//! them) and runs through sqlx's `Any` driver, so there is one code path per operation. The few places where the
//! dialects differ (full-text search, DDL) branch on [`Backend`]. Values are limited to what `Any` carries
//! portably: text ids, `i64` amounts, counts, flags (0/1) and unix-millisecond times.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    Any, AnyPool, Executor, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions},
};

use crate::time::now_ms;

/// Which SQL dialect sits behind the handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A cheaply clonable pool plus the dialect it speaks.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://...`), creating a SQLite file and its folder if needed.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("unsupported database URL scheme; use sqlite:// or postgres://");
        };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).context("parsing database URL")?;
        let pool = pool_options(backend)
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to the {backend:?} database"))?;
        Ok(Self { pool, backend })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that may write. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`), so a
    /// read-then-write transaction queues behind other writers instead of failing with a stale snapshot.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Applies `migrations` for `service` that have not run yet, each in its own transaction, in order.
    /// A migration whose text changed after it was applied is an error: migrations are append-only.
    pub async fn migrate(&self, service: &str, migrations: &Migrations) -> anyhow::Result<()> {
        let list = match self.backend {
            Backend::Sqlite => migrations.sqlite,
            Backend::Postgres => migrations.postgres,
        };
        let mut conn = self
            .pool
            .acquire()
            .await
            .context("acquiring a migration connection")?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
               service TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, \
               checksum TEXT NOT NULL, applied_at_ms BIGINT NOT NULL, PRIMARY KEY (service, version))",
        )
        .await
        .context("creating schema_migrations")?;
        if self.backend == Backend::Postgres {
            // Several processes may start at once; one migrates, the others wait and then find nothing to do.
            conn.execute("SELECT pg_advisory_lock(7460696)")
                .await
                .context("taking the migration lock")?;
        }
        let result = apply_all(&mut conn, self.backend, service, list).await;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_unlock(7460696)")
                .await
                .context("releasing the migration lock")?;
        }
        result
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A pooled connection idle for longer than this is checked (a ping) before it is handed out.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Pool settings: the acquire time limit, the liveness check, and SQLite's per-connection settings.
///
/// The pool's own check pings every connection it hands out: a round trip before every statement that takes a
/// connection from the pool, on the statement's path (sqlx also pings a connection as it goes back to the pool, off
/// that path). Only a connection that sat idle for a while can have been dropped meanwhile (a server restart, an
/// idle timeout, a network device forgetting the flow), so only those are checked; one that fails its ping is
/// closed and another is taken.
fn pool_options(backend: Backend) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers run beside the writer; a busy timeout queues writers instead of failing.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
}

async fn apply_all(
    conn: &mut sqlx::pool::PoolConnection<Any>,
    backend: Backend,
    service: &str,
    list: &[Migration],
) -> anyhow::Result<()> {
    for migration in list {
        let checksum = crate::sha256_hex(&[migration.sql.as_bytes()]);
        let begin = match backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        let mut tx = sqlx::Connection::begin_with(&mut **conn, begin).await?;
        let applied: Option<(String,)> = sqlx::query_as(
            "SELECT checksum FROM schema_migrations WHERE service = $1 AND version = $2",
        )
        .bind(service)
        .bind(migration.version)
        .fetch_optional(&mut *tx)
        .await?;
        match applied {
            Some((existing,)) if existing == checksum => continue,
            Some(_) => anyhow::bail!(
                "migration {service}/{:04}_{} changed after it was applied",
                migration.version,
                migration.name
            ),
            None => {}
        }
        sqlx::raw_sql(migration.sql)
            .execute(&mut *tx)
            .await
            .with_context(|| {
                format!(
                    "applying migration {service}/{:04}_{}",
                    migration.version, migration.name
                )
            })?;
        sqlx::query(
            "INSERT INTO schema_migrations (service, version, name, checksum, applied_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(service)
        .bind(migration.version)
        .bind(migration.name)
        .bind(&checksum)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            service,
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    Ok(())
}

/// One schema change, in one dialect.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// A service's migrations in both dialects, kept side by side in `migrations/{sqlite,postgres}/`.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub sqlite: &'static [Migration],
    pub postgres: &'static [Migration],
}

/// Embeds `migrations/sqlite/<file>.sql` and `migrations/postgres/<file>.sql` of the calling crate:
/// `migrations!(1 => "0001_init", 2 => "0002_more")`.
#[macro_export]
macro_rules! migrations {
    ($($version:literal => $file:literal),* $(,)?) => {
        $crate::db::Migrations {
            sqlite: &[$($crate::db::Migration {
                version: $version,
                name: $file,
                sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/", $file, ".sql")),
            }),*],
            postgres: &[$($crate::db::Migration {
                version: $version,
                name: $file,
                sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres/", $file, ".sql")),
            }),*],
        }
    };
}

/// Ensures the SQLite file's folder exists and asks the driver to create the file.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (file, query) = path.split_once('?').unwrap_or((path, ""));
    if file != ":memory:"
        && let Some(dir) = std::path::Path::new(file).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut url = format!("sqlite://{file}");
    if query.is_empty() {
        url.push_str("?mode=rwc");
    } else {
        url.push('?');
        url.push_str(query);
    }
    Ok(url)
}

/// A flag as stored: 0 or 1 in an integer column (the `Any` driver has no portable boolean).
pub fn flag(value: bool) -> i64 {
    i64::from(value)
}
