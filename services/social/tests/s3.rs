//! The S3-compatible object store against a small fake S3 server: every request must carry a well-formed AWS
//! Signature V4 `Authorization` header for the configured key (checked by recomputing the signature), bodies
//! must match their declared SHA-256, objects live in memory. The upload path is exercised end to end through
//! the media library chosen from settings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
};
use sha2::{Digest, Sha256};
use tokshop_platform::config::{Secret, Settings};
use tokshop_proto::social::{UploadMediaChunk, UploadMediaHeader, upload_media_chunk::Part};
use tokshop_social::media::{
    Library,
    s3::{Credentials, S3Bucket, authorization},
    store::{ObjectStore, read_all},
};

const ACCESS_KEY: &str = "AKIDTESTKEY";
const SECRET_KEY: &str = "test-secret-key";
const REGION: &str = "eu-central-1";

#[derive(Clone, Default)]
struct FakeS3 {
    objects: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Why a request's signature is not acceptable, if it is not.
fn check_signature(method: &Method, path: &str, headers: &HeaderMap) -> Result<(), String> {
    let auth = header(headers, "authorization").ok_or("no Authorization header")?;
    let date = header(headers, "x-amz-date").ok_or("no x-amz-date")?;
    let payload = header(headers, "x-amz-content-sha256").ok_or("no x-amz-content-sha256")?;
    let host = header(headers, "host").ok_or("no Host")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let parts: Vec<&str> = rest.split(", ").collect();
    let [credential, signed, signature] = parts[..] else {
        return Err(format!("malformed Authorization: {auth}"));
    };
    let scope = format!("{ACCESS_KEY}/{}/{REGION}/s3/aws4_request", &date[..8]);
    if credential != format!("Credential={scope}") {
        return Err(format!("wrong credential scope: {credential}"));
    }
    if signed != "SignedHeaders=host;x-amz-content-sha256;x-amz-date" {
        return Err(format!("unexpected signed headers: {signed}"));
    }
    let signature = signature.strip_prefix("Signature=").ok_or("no Signature")?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("signature is not 64 hex digits".into());
    }
    let credentials = Credentials {
        access_key: ACCESS_KEY.into(),
        secret_key: SECRET_KEY.into(),
        region: REGION.into(),
    };
    let expected = authorization(&credentials, method.as_str(), host, path, payload, date);
    if expected != auth {
        return Err("signature does not match the secret key".into());
    }
    Ok(())
}

async fn object(
    State(s3): State<FakeS3>,
    Path((bucket, key)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{bucket}/{key}");
    s3.requests.lock().unwrap().push(format!("{method} {path}"));
    if let Err(why) = check_signature(&method, &path, &headers) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    if bucket != "media" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut objects = s3.objects.lock().unwrap();
    match method {
        Method::PUT => {
            let sha = hex::encode(Sha256::digest(&body));
            if header(&headers, "x-amz-content-sha256") != Some(sha.as_str()) {
                return (StatusCode::BAD_REQUEST, "XAmzContentSHA256Mismatch").into_response();
            }
            objects.insert(key, body.to_vec());
            StatusCode::OK.into_response()
        }
        Method::GET => match objects.get(&key) {
            Some(bytes) => bytes.clone().into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        Method::HEAD => match objects.get(&key) {
            Some(_) => StatusCode::OK.into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        Method::DELETE => {
            objects.remove(&key);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

/// Starts the fake on a free port; returns it and its endpoint.
async fn fake_s3() -> (FakeS3, String) {
    let s3 = FakeS3::default();
    let app = Router::new()
        .route("/{bucket}/{key}", any(object))
        .with_state(s3.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (s3, format!("http://{addr}"))
}

fn credentials(secret: &str) -> Credentials {
    Credentials {
        access_key: ACCESS_KEY.into(),
        secret_key: secret.into(),
        region: REGION.into(),
    }
}

#[tokio::test]
async fn bucket_stores_once_reads_back_and_deletes() {
    let (s3, endpoint) = fake_s3().await;
    let dir = tempfile::tempdir().unwrap();
    let bucket = S3Bucket::new(
        &endpoint,
        "media",
        credentials(SECRET_KEY),
        dir.path().join("staging"),
    )
    .await
    .unwrap();
    let staged = bucket.staging_dir().join(".upload-1");
    tokio::fs::write(&staged, b"first bytes").await.unwrap();
    let sha = hex::encode(Sha256::digest(b"first bytes"));

    assert!(!bucket.exists("med_one").await.unwrap());
    assert!(bucket.put_file("med_one", &staged, &sha).await.unwrap());
    tokio::fs::write(&staged, b"other bytes").await.unwrap();
    let other = hex::encode(Sha256::digest(b"other bytes"));
    assert!(
        !bucket.put_file("med_one", &staged, &other).await.unwrap(),
        "an existing object is never replaced"
    );
    assert!(bucket.exists("med_one").await.unwrap());
    let object = bucket.get("med_one").await.unwrap().unwrap();
    assert_eq!(object.size, 11);
    assert_eq!(read_all(object).await.unwrap(), b"first bytes");
    assert_eq!(s3.objects.lock().unwrap()["med_one"], b"first bytes");

    bucket.delete("med_one").await.unwrap();
    assert!(bucket.get("med_one").await.unwrap().is_none());
    assert!(s3.objects.lock().unwrap().is_empty());
    assert!(
        s3.requests
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.ends_with("/media/med_one")),
        "path-style requests"
    );
}

#[tokio::test]
async fn a_wrong_secret_or_body_is_refused() {
    let (s3, endpoint) = fake_s3().await;
    let dir = tempfile::tempdir().unwrap();
    let wrong = S3Bucket::new(
        &endpoint,
        "media",
        credentials("not-the-secret"),
        dir.path().to_owned(),
    )
    .await
    .unwrap();
    let staged = dir.path().join(".upload-2");
    tokio::fs::write(&staged, b"bytes").await.unwrap();
    let sha = hex::encode(Sha256::digest(b"bytes"));
    let err = wrong.put_file("med_two", &staged, &sha).await.unwrap_err();
    assert!(format!("{err:#}").contains("403"), "{err:#}");

    let right = S3Bucket::new(
        &endpoint,
        "media",
        credentials(SECRET_KEY),
        dir.path().to_owned(),
    )
    .await
    .unwrap();
    let lie = hex::encode(Sha256::digest(b"something else"));
    assert!(right.put_file("med_two", &staged, &lie).await.is_err());
    assert!(s3.objects.lock().unwrap().is_empty());
}

#[tokio::test]
async fn uploads_go_to_the_bucket_when_settings_name_one() {
    let (s3, endpoint) = fake_s3().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        data_dir: dir.path().to_owned(),
        ..Settings::default()
    };
    settings.social.s3_bucket = Some("media".into());
    settings.social.s3_endpoint = Some(endpoint);
    settings.social.s3_region = REGION.into();
    settings.social.s3_access_key = Some(ACCESS_KEY.into());
    settings.social.s3_secret_key = Some(Secret::new(SECRET_KEY));
    let library = Library::open(&settings).await.unwrap();

    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(100_000, 9);
    let mut chunks = vec![Ok(UploadMediaChunk {
        part: Some(Part::Header(UploadMediaHeader {
            filename: "a.png".into(),
            declared_type: "image/png".into(),
            declared_size: 100_000,
        })),
    })];
    chunks.extend(png.chunks(30_000).map(|piece| {
        Ok(UploadMediaChunk {
            part: Some(Part::Data(piece.to_vec())),
        })
    }));
    let received = library.receive(tokio_stream::iter(chunks)).await.unwrap();
    let id = format!("med_{}", hex::encode(Sha256::digest(&png)));
    assert_eq!(received.id, id);
    library.keep(&received).await.unwrap();
    drop(received);
    assert_eq!(s3.objects.lock().unwrap()[&id], png);
    let object = library.read(&id).await.unwrap().unwrap();
    assert_eq!(read_all(object).await.unwrap(), png);
    // Nothing is left in the staging folder.
    let staging = dir.path().join("media-staging");
    assert_eq!(std::fs::read_dir(staging).unwrap().count(), 0);
    assert!(
        !dir.path().join("media").exists(),
        "the local folder is not used"
    );
}
