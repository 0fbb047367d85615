//! Fresh databases for the services' storage tests: a SQLite file in a temporary folder, or a PostgreSQL database
//! named by a UUID on the server at `TOKSHOP_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! trust auth). Each test gets its own and removes it with [`TestDb::finish`]. Shipped in the library (not behind a
//! feature) so every service crate's tests share one helper; nothing in the shop calls it.

use anyhow::Context;
use sqlx::{Connection, Executor};

use crate::db::{Backend, Db};

/// The admin URL of the test PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("TOKSHOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
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
        let admin = postgres_admin_url();
        let name = format!("tokshop_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.with_context(|| {
            format!("PostgreSQL must be reachable at {admin} (set TOKSHOP_TEST_POSTGRES_URL)")
        })?;
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .context("creating the test database")?;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let db = Db::connect(&format!("{base}/{name}"), 8).await?;
        Ok(Self {
            db,
            place: Place::Postgres(name),
        })
    }

    /// Closes the handle and removes the file or drops the database.
    pub async fn finish(self) -> anyhow::Result<()> {
        self.db.close().await;
        match self.place {
            Place::SqliteDir(dir) => {
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))
            }
            Place::Postgres(name) => {
                let mut conn = sqlx::PgConnection::connect(&postgres_admin_url()).await?;
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await
                .context("dropping the test database")?;
                Ok(())
            }
        }
    }
}
