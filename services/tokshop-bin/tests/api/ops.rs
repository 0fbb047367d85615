//! Operational surface: health, readiness, metrics, OpenAPI and docs, request ids, CORS, compression, unknown
//! routes and rate limiting.

use reqwest::Method;

use crate::common::{Backend, TestApp, spawn_with};

async fn health_metrics_and_docs(app: &TestApp) {
    app.get("/healthz", None).await.expect(200);
    let ready = app.get("/readyz", None).await.expect(200);
    assert_eq!(ready.body["status"], "ok", "{}", ready.text);
    for service in ["identity", "catalog", "cart"] {
        assert_eq!(ready.body["services"][service], "ok", "{}", ready.text);
    }

    // Request ids: generated when absent, kept when sent.
    let reply = app.get("/api/v1/categories", None).await.expect(200);
    assert!(!reply.headers["x-request-id"].is_empty());
    let kept = app
        .client
        .get(format!("{}/api/v1/categories", app.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-me-123");
    let missing = app.get("/api/v1/nope", None).await.expect(404);
    assert_eq!(missing.body["type"], "not_found_error");
    assert!(
        !missing.headers["x-request-id"].is_empty(),
        "errors carry a request id too"
    );

    let metrics = app.get("/metrics", None).await.expect(200).text;
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/api/v1/categories\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("http_request_duration_seconds_bucket"),
        "{metrics}"
    );

    let spec = app.get("/api/v1/openapi.json", None).await.expect(200).body;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/me/addresses",
        "/api/v1/users/{id}",
        "/api/v1/seller/onboarding",
        "/api/v1/seller/products",
        "/api/v1/categories",
        "/api/v1/products",
        "/api/v1/products/{id}",
        "/api/v1/cart",
        "/api/v1/cart/items",
        "/api/v1/cart/items/{variant_id}",
    ] {
        assert!(spec["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    let docs = app.get("/api/v1/docs", None).await.expect(200);
    assert!(
        docs.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(docs.text.contains("openapi.json"));

    // CORS preflight from a browser app.
    let preflight = app
        .client
        .request(Method::OPTIONS, format!("{}/api/v1/me", app.base))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert!(
        preflight
            .headers()
            .contains_key("access-control-allow-origin")
    );

    // Large responses are compressed for clients that ask.
    let raw = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.headers()["content-encoding"], "gzip");
}

crate::on_both_databases!(health_metrics_and_docs);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_over_the_rate_limit_get_429() {
    let app = spawn_with(Backend::Sqlite, |s| {
        s.gateway.rate_limit_per_second = 1;
        s.gateway.rate_limit_burst = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get("/api/v1/categories", None).await.status.as_u16());
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    let limited = app.get("/api/v1/categories", None).await;
    let limited = limited.expect_error(429, "rate_limited", None);
    assert!(limited.headers.contains_key("retry-after"));
    // Probes are never limited.
    app.get("/healthz", None).await.expect(200);
    app.stop().await;
}
