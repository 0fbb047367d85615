//! The media sweep with an S3-compatible bucket as the object store (a small in-memory fake on loopback) and a
//! real SQLite database migrated by the social service: unused media leaves the bucket and the database, used
//! media stays, and a bucket that refuses a delete keeps the rows for the next sweep.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
};
use tokshop_platform::{
    ServiceContext,
    config::{Secret, Settings},
    db::Db,
    grpc,
    time::now_ms,
};
use tokshop_social::{MediaSwept, Upstreams, media::Library, sweep_media};

#[derive(Clone, Default)]
struct FakeBucket {
    objects: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    refuse_deletes: Arc<AtomicBool>,
}

async fn object(
    State(bucket): State<FakeBucket>,
    Path((_, key)): Path<(String, String)>,
    method: Method,
    body: Bytes,
) -> Response {
    let mut objects = bucket.objects.lock().unwrap();
    match method {
        Method::PUT => {
            objects.insert(key, body.to_vec());
            StatusCode::OK.into_response()
        }
        Method::GET => match objects.get(&key) {
            Some(bytes) => bytes.clone().into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        Method::HEAD if objects.contains_key(&key) => StatusCode::OK.into_response(),
        Method::HEAD => StatusCode::NOT_FOUND.into_response(),
        Method::DELETE if bucket.refuse_deletes.load(Ordering::SeqCst) => {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Method::DELETE => {
            objects.remove(&key);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

/// Starts the fake on a free port; returns it and its endpoint.
async fn fake_bucket() -> (FakeBucket, String) {
    let bucket = FakeBucket::default();
    let app = Router::new()
        .route("/{bucket}/{key}", any(object))
        .with_state(bucket.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (bucket, format!("http://{addr}"))
}

/// A media row as an upload or a post would leave it.
async fn media_row(db: &Db, id: &str, cover_id: &str, post_refs: i64) {
    sqlx::query(
        "INSERT INTO media (id, kind, content_type, size, cover_id, cover_placeholder, created_at_ms, post_refs, \
         idle_since_ms) VALUES ($1, 'image', 'image/png', 5, $2, 0, 1000, $3, 1000)",
    )
    .bind(id)
    .bind(cover_id)
    .bind(post_refs)
    .execute(db.pool())
    .await
    .unwrap();
}

async fn media_ids(db: &Db) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM media ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

fn keys(bucket: &FakeBucket) -> Vec<String> {
    let mut keys: Vec<String> = bucket.objects.lock().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn the_sweep_deletes_unused_media_from_the_bucket_and_the_database() {
    let (bucket, endpoint) = fake_bucket().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        data_dir: dir.path().to_owned(),
        ..Settings::default()
    };
    settings.database.url = Some(Secret::new(format!(
        "sqlite://{}",
        dir.path().join("social.db").display()
    )));
    settings.auth.jwt_secret = Some(Secret::new("test-secret-test-secret-test-secret-0123"));
    settings.social.s3_bucket = Some("media".into());
    settings.social.s3_endpoint = Some(endpoint);
    settings.social.s3_access_key = Some("AKIDTESTKEY".into());
    settings.social.s3_secret_key = Some(Secret::new("test-secret-key"));
    let settings = Arc::new(settings);
    let ctx = ServiceContext::from_settings(settings.clone())
        .await
        .unwrap();
    // Building the router migrates the social schema; nothing here calls the upstreams.
    let upstreams = Upstreams {
        identity: grpc::channel("http://127.0.0.1:9").unwrap(),
        catalog: grpc::channel("http://127.0.0.1:9").unwrap(),
    };
    tokshop_social::router(&ctx, upstreams).await.unwrap();
    let library = Library::open(&settings).await.unwrap();

    media_row(&ctx.db, "med_unused", "", 0).await;
    media_row(&ctx.db, "med_posted", "", 1).await;
    media_row(&ctx.db, "med_video", "med_cover", 0).await;
    media_row(&ctx.db, "med_cover", "", 0).await;
    for key in ["med_unused", "med_posted", "med_video", "med_cover"] {
        bucket
            .objects
            .lock()
            .unwrap()
            .insert(key.into(), b"bytes".to_vec());
    }

    // A bucket that refuses deletes: nothing is forgotten, the rows wait for the next sweep.
    bucket.refuse_deletes.store(true, Ordering::SeqCst);
    let swept = sweep_media(&ctx.db, &library, now_ms()).await.unwrap();
    assert_eq!(swept.failed, 2, "{swept:?}");
    assert_eq!(swept.media, 0);
    assert_eq!(media_ids(&ctx.db).await.len(), 4);
    assert_eq!(keys(&bucket).len(), 4);

    bucket.refuse_deletes.store(false, Ordering::SeqCst);
    let swept = sweep_media(&ctx.db, &library, now_ms()).await.unwrap();
    assert_eq!(
        swept,
        MediaSwept {
            media: 2,
            covers: 1,
            failed: 0
        }
    );
    assert_eq!(media_ids(&ctx.db).await, vec!["med_posted"]);
    assert_eq!(keys(&bucket), vec!["med_posted"]);
    ctx.db.close().await;
}
