//! gRPC server plumbing shared by every service: health and reflection beside the service itself, served on a
//! given listener until the shutdown token fires, then drained.

use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{
    Channel, Endpoint, Server,
    server::{Router, TcpIncoming},
};

/// What a tonic handler returns.
pub type Reply<T> = Result<tonic::Response<T>, tonic::Status>;

/// A handler's result as a gRPC reply: the message, or the error as a status with its code and param.
pub fn reply<T>(result: crate::ServiceResult<T>) -> Reply<T> {
    result
        .map(tonic::Response::new)
        .map_err(tonic::Status::from)
}

/// A server builder with grpc.health.v1 and server reflection already added; each of `service_names` is
/// reported SERVING.
pub async fn router_with_health(service_names: &[&str]) -> anyhow::Result<Router> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in service_names {
        reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tokshop_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building gRPC reflection")?;
    Ok(Server::builder()
        .timeout(Duration::from_secs(30))
        .add_service(health)
        .add_service(reflection))
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets in-flight calls finish.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Small gRPC frames must not wait for delayed ACKs (Nagle would add ~40 ms to many replies).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    router
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
        .context("serving gRPC")
}

/// A lazily connecting channel to `url` (`http://host:port`); calls fail fast while the peer is down.
pub fn channel(url: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("bad service URL {url:?}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect_lazy())
}
