//! `tokshop probe <url>`: the health check a container runs against its own process, so an image without curl or
//! grpcurl can still be checked. An `http(s)://` URL passes on a 2xx answer; a `grpc://host:port[/service]` URL
//! passes when the standard gRPC health check (`grpc.health.v1.Health/Check`, the whole server unless a service is
//! named) answers SERVING.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tonic::transport::Endpoint;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// Checks `url` within `timeout`; on success, a line saying what answered.
pub async fn probe(url: &str, timeout: Duration) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("{url:?} is not a URL (http://, https:// or grpc://)"))?;
    let check = async {
        match scheme {
            "http" | "https" => http(url, timeout).await,
            "grpc" => grpc(rest, timeout).await,
            other => bail!("cannot probe {other}:// URLs; use http, https or grpc"),
        }
    };
    tokio::time::timeout(timeout, check)
        .await
        .with_context(|| format!("{url}: no answer within {timeout:?}"))?
}

async fn http(url: &str, timeout: Duration) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .context("building the HTTP client")?;
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    ensure!(status.is_success(), "GET {url}: {status}");
    Ok(format!("GET {url}: {status}"))
}

/// `rest` is `host:port` or `host:port/service`.
async fn grpc(rest: &str, timeout: Duration) -> anyhow::Result<String> {
    let (authority, service) = rest.split_once('/').unwrap_or((rest, ""));
    let endpoint = Endpoint::from_shared(format!("http://{authority}"))
        .with_context(|| format!("{authority:?} is not a host:port"))?
        .connect_timeout(timeout)
        .timeout(timeout);
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to grpc://{authority}"))?;
    let what = if service.is_empty() {
        format!("grpc://{authority}")
    } else {
        format!("grpc://{authority} {service}")
    };
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .with_context(|| format!("health check of {what}"))?;
    let status = response.into_inner().status();
    ensure!(
        status == ServingStatus::Serving,
        "{what}: {}",
        status.as_str_name()
    );
    Ok(format!("{what}: {}", status.as_str_name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Router, http::StatusCode, routing::get};
    use tokio::net::TcpListener;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// A real HTTP server on loopback: `/ok` answers 200, `/down` 503.
    async fn http_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route("/ok", get(|| async { "ok" })).route(
            "/down",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}")
    }

    /// A real gRPC server on loopback with the standard health service: the server SERVING, `shop.Up` SERVING,
    /// `shop.Down` NOT_SERVING.
    async fn grpc_server() -> String {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("shop.Up", tonic_health::ServingStatus::Serving)
            .await;
        reporter
            .set_service_status("shop.Down", tonic_health::ServingStatus::NotServing)
            .await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(health)
                .serve_with_incoming(incoming),
        );
        format!("grpc://{addr}")
    }

    /// An address nothing listens on.
    async fn closed_port() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        addr.to_string()
    }

    #[tokio::test]
    async fn http_passes_on_2xx_only() {
        let base = http_server().await;

        let ok = probe(&format!("{base}/ok"), TIMEOUT).await;
        let down = probe(&format!("{base}/down"), TIMEOUT).await;
        let missing = probe(&format!("{base}/nowhere"), TIMEOUT).await;
        let closed = probe(&format!("http://{}/", closed_port().await), TIMEOUT).await;

        assert!(ok.unwrap().contains("200"));
        assert!(down.unwrap_err().to_string().contains("503"));
        assert!(missing.unwrap_err().to_string().contains("404"));
        assert!(closed.is_err());
    }

    #[tokio::test]
    async fn grpc_passes_only_when_serving() {
        let base = grpc_server().await;

        let server = probe(&base, TIMEOUT).await;
        let up = probe(&format!("{base}/shop.Up"), TIMEOUT).await;
        let down = probe(&format!("{base}/shop.Down"), TIMEOUT).await;
        let unknown = probe(&format!("{base}/shop.Unknown"), TIMEOUT).await;
        let closed = probe(&format!("grpc://{}", closed_port().await), TIMEOUT).await;

        assert!(server.unwrap().contains("SERVING"));
        assert!(up.unwrap().contains("SERVING"));
        assert!(format!("{:#}", down.unwrap_err()).contains("NOT_SERVING"));
        assert!(unknown.is_err(), "a service the server does not know fails");
        assert!(closed.is_err());
    }

    #[tokio::test]
    async fn a_silent_server_fails_within_the_timeout() {
        // Accepts connections and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let started = std::time::Instant::now();

        let http = probe(&format!("http://{addr}/"), Duration::from_millis(300)).await;
        let grpc = probe(&format!("grpc://{addr}"), Duration::from_millis(300)).await;

        assert!(http.is_err() && grpc.is_err());
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn other_schemes_are_refused() {
        assert!(probe("tcp://127.0.0.1:1", TIMEOUT).await.is_err());
        assert!(probe("127.0.0.1:1", TIMEOUT).await.is_err());
    }
}
