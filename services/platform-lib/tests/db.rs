//! The database handle and migration runner on a real SQLite file and a real PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sqlx::{Connection, Executor};
use tokshop_platform::db::{Backend, Db, Migration, Migrations};

const V1: &[Migration] = &[Migration {
    version: 1,
    name: "0001_things",
    sql: "CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL);",
}];
const V2: &[Migration] = &[
    V1[0],
    Migration {
        version: 2,
        name: "0002_more",
        sql: "ALTER TABLE things ADD COLUMN label TEXT NOT NULL DEFAULT '';",
    },
];
const CHANGED: &[Migration] = &[Migration {
    version: 1,
    name: "0001_things",
    sql: "CREATE TABLE things (id TEXT PRIMARY KEY);",
}];

fn both(list: &'static [Migration]) -> Migrations {
    Migrations {
        sqlite: list,
        postgres: list,
    }
}

async fn sqlite() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("nested/dir/test.db").display()
    );
    (Db::connect(&url, 4).await.unwrap(), dir)
}

fn admin_url() -> String {
    std::env::var("TOKSHOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn drop_postgres(db: Db, name: &str) {
    db.close().await;
    let mut conn = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .await
    .unwrap();
}

async fn postgres() -> (Db, String) {
    let admin = admin_url();
    let name = format!("tokshop_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL reachable");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0.to_owned();
    (
        Db::connect(&format!("{base}/{name}"), 4).await.unwrap(),
        name,
    )
}

async fn migrations_apply_once_in_order_and_refuse_edits(db: &Db) {
    db.migrate("demo", &both(V1)).await.unwrap();
    db.migrate("demo", &both(V1)).await.unwrap();
    db.migrate("demo", &both(V2)).await.unwrap();
    sqlx::query("INSERT INTO things (id, n, label) VALUES ($1, $2, $3)")
        .bind("a")
        .bind(1_i64)
        .bind("x")
        .execute(db.pool())
        .await
        .unwrap();
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM schema_migrations WHERE service = $1")
            .bind("demo")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(count, 2);
    let err = db.migrate("demo", &both(CHANGED)).await.unwrap_err();
    assert!(
        err.to_string().contains("changed after it was applied"),
        "{err}"
    );
    // Another service's versions are its own.
    db.migrate(
        "other",
        &both(&[Migration {
            version: 1,
            name: "0001_x",
            sql: "CREATE TABLE x (id TEXT);",
        }]),
    )
    .await
    .unwrap();
}

async fn a_failed_migration_leaves_nothing_behind(db: &Db) {
    let broken: &'static [Migration] = &[Migration {
        version: 1,
        name: "0001_broken",
        sql: "CREATE TABLE half (id TEXT); CREATE TABLE oops (;",
    }];
    assert!(db.migrate("broken", &both(broken)).await.is_err());
    let applied: Option<(i64,)> =
        sqlx::query_as("SELECT version FROM schema_migrations WHERE service = $1")
            .bind("broken")
            .fetch_optional(db.pool())
            .await
            .unwrap();
    assert!(applied.is_none());
    assert!(
        sqlx::query("SELECT * FROM half")
            .fetch_all(db.pool())
            .await
            .is_err(),
        "rolled back"
    );
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode() {
    let (db, dir) = sqlite().await;
    assert_eq!(db.backend(), Backend::Sqlite);
    assert!(dir.path().join("nested/dir/test.db").exists());
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    db.close().await;
}

#[tokio::test]
async fn sqlite_migrations() {
    let (db, _dir) = sqlite().await;
    migrations_apply_once_in_order_and_refuse_edits(&db).await;
    a_failed_migration_leaves_nothing_behind(&db).await;
    db.close().await;
}

#[tokio::test]
async fn postgres_migrations() {
    let (db, name) = postgres().await;
    assert_eq!(db.backend(), Backend::Postgres);
    migrations_apply_once_in_order_and_refuse_edits(&db).await;
    a_failed_migration_leaves_nothing_behind(&db).await;
    drop_postgres(db, &name).await;
}

#[tokio::test]
async fn concurrent_migrators_on_postgres_apply_once() {
    let (db, name) = postgres().await;
    let runs = (0..4).map(|_| {
        let db = db.clone();
        tokio::spawn(async move { db.migrate("race", &both(V2)).await })
    });
    for run in runs {
        run.await.unwrap().unwrap();
    }
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM schema_migrations WHERE service = 'race'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(count, 2);
    drop_postgres(db, &name).await;
}

/// A transaction cancelled while it was beginning must not leave its connection inside a transaction when the
/// connection goes back to the pool (sqlx 0.9.0 did: later writes on that connection never committed; fixed in
/// 0.9.1 by its PR 4394). Hundreds of begins are cut short at varying points, then every write through the pool
/// must be visible from another connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begins_cut_short_leave_no_connection_inside_a_transaction() {
    let (db, name) = postgres().await;
    db.migrate("cancel", &both(V1)).await.unwrap();
    for i in 0..1500u64 {
        let _ = tokio::time::timeout(
            std::time::Duration::from_micros((i * 37) % 1500),
            db.begin_write(),
        )
        .await;
    }
    for i in 0..16i64 {
        sqlx::query("INSERT INTO things (id, n) VALUES ($1, $2)")
            .bind(format!("t{i}"))
            .bind(i)
            .execute(db.pool())
            .await
            .unwrap();
    }
    let base = admin_url().rsplit_once('/').unwrap().0.to_owned();
    let other = Db::connect(&format!("{base}/{name}"), 1).await.unwrap();
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM things")
        .fetch_one(other.pool())
        .await
        .unwrap();
    assert_eq!(count, 16, "every write through the pool committed");
    other.close().await;
    drop_postgres(db, &name).await;
}

#[test]
fn unknown_schemes_are_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let err = runtime.block_on(Db::connect("mysql://x", 1)).unwrap_err();
    assert!(err.to_string().contains("unsupported"));
}

/// A database too busy or unreachable to answer in time is a retryable 503 (`Unavailable`), not an internal error:
/// SQLite's write lock still taken when its busy timeout ends, a pool with no connection free in time, a connection
/// the server dropped.
#[tokio::test]
async fn a_busy_database_is_unavailable_not_internal() {
    use tokshop_platform::ServiceError;

    let (db, dir) = sqlite().await;
    db.migrate("busy", &both(V1)).await.unwrap();
    let holding = db.begin_write().await.unwrap();
    let path = dir.path().join("nested/dir/test.db");
    let mut other = sqlx::AnyConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    other.execute("PRAGMA busy_timeout = 0").await.unwrap();
    let err = other
        .execute("INSERT INTO things (id, n) VALUES ('x', 1)")
        .await
        .unwrap_err();
    assert!(
        matches!(
            ServiceError::from(err),
            ServiceError::Unavailable("database")
        ),
        "SQLite's write lock held past the busy timeout"
    );
    holding.rollback().await.unwrap();
    assert!(matches!(
        ServiceError::from(sqlx::Error::PoolTimedOut),
        ServiceError::Unavailable("database")
    ));
    assert!(matches!(
        ServiceError::from(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))),
        ServiceError::Unavailable("database")
    ));
    assert!(matches!(
        ServiceError::from(sqlx::Error::RowNotFound),
        ServiceError::Internal(_)
    ));
    db.close().await;
}

/// Pooled PostgreSQL connections the server dropped while they sat idle: one used again at once fails its statement
/// as a retryable 503; once they have been idle for the check's 5 s they are checked before they are handed out (a
/// busy pool sends no pings) and replaced, and every statement succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_dropped_while_idle_are_replaced() {
    let (db, name) = postgres().await;
    // Open the pool's four connections.
    let held: Vec<_> = futures::future::join_all((0..4).map(|_| db.pool().acquire()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    drop(held);
    let mut admin = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    let (killed,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1) t",
    )
    .bind(&name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, 4);
    // Used again at once, a dead connection fails its statement: a retryable 503, not an internal error.
    let err = sqlx::query("SELECT 1")
        .execute(db.pool())
        .await
        .unwrap_err();
    assert!(
        matches!(
            tokshop_platform::ServiceError::from(err),
            tokshop_platform::ServiceError::Unavailable("database")
        ),
        "a dropped connection is unavailable"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;
    for _ in 0..8 {
        let (one,): (i32,) = sqlx::query_as("SELECT 1")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
    admin.close().await.unwrap();
    drop_postgres(db, &name).await;
}

/// PostgreSQL's own errors stay internal errors, the one whose code ends in SQLite's busy byte included
/// (`42501`, insufficient privilege: 42501 & 0xff == 5).
#[tokio::test]
async fn postgres_errors_stay_internal() {
    use tokshop_platform::ServiceError;

    let (db, name) = postgres().await;
    let mut conn = db.pool().acquire().await.unwrap();
    conn.execute("SET ROLE pg_monitor").await.unwrap();
    let err = conn
        .execute("CREATE TABLE public.denied (id BIGINT)")
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("42501")
    );
    assert!(matches!(ServiceError::from(err), ServiceError::Internal(_)));
    conn.close().await.unwrap();
    drop_postgres(db, &name).await;
}
