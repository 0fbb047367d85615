//! gRPC server plumbing shared by every service: health (and reflection when enabled) beside the service itself, served on a
//! given listener until the shutdown token fires, then drained.

use std::{
    future::Future,
    task::{Context as TaskContext, Poll},
    time::Duration,
};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    body::Body,
    transport::{
        Channel, Endpoint, Server,
        server::{Router, TcpIncoming},
    },
};
use tracing::{Instrument as _, instrument::Instrumented};

use crate::{
    auth::{Principal, TokenKeys},
    config::GrpcSettings,
};

/// What a tonic handler returns.
pub type Reply<T> = Result<tonic::Response<T>, tonic::Status>;

/// A handler's result as a gRPC reply: the message, or the error as a status with its code and param.
pub fn reply<T>(result: crate::ServiceResult<T>) -> Reply<T> {
    result
        .map(tonic::Response::new)
        .map_err(tonic::Status::from)
}

/// Runs the handler of a call that needs a signed-in caller: verifies the token in the metadata (401 without one),
/// hands over the caller and the message, and turns the result into the gRPC reply. Every service's handlers are
/// this one line, so authentication, error mapping and the reply shape cannot differ between them.
pub async fn signed_in<T, R, Fut>(
    keys: &TokenKeys,
    request: tonic::Request<T>,
    handler: impl FnOnce(Principal, T) -> Fut,
) -> Reply<R>
where
    Fut: Future<Output = crate::ServiceResult<R>>,
{
    let result = match keys.require_caller(&request) {
        Ok(caller) => handler(caller, request.into_inner()).await,
        Err(err) => Err(err),
    };
    reply(result)
}

/// The same for a call anyone may make; a token, when present, must be valid, and names the viewer.
pub async fn anyone<T, R, Fut>(
    keys: &TokenKeys,
    request: tonic::Request<T>,
    handler: impl FnOnce(Option<Principal>, T) -> Fut,
) -> Reply<R>
where
    Fut: Future<Output = crate::ServiceResult<R>>,
{
    let result = match keys.caller(&request) {
        Ok(viewer) => handler(viewer, request.into_inner()).await,
        Err(err) => Err(err),
    };
    reply(result)
}

/// A server builder with grpc.health.v1 already added, and server reflection when `settings.reflection` asks for
/// it; each of `service_names` is reported SERVING.
pub async fn router_with_health(
    settings: &GrpcSettings,
    service_names: &[&str],
) -> anyhow::Result<Router> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in service_names {
        reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = if settings.reflection {
        Some(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(tokshop_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .build_v1()
                .context("building gRPC reflection")?,
        )
    } else {
        None
    };
    Ok(Server::builder()
        .timeout(Duration::from_secs(30))
        .trace_fn(server_span)
        .add_service(health)
        .add_optional_service(reflection))
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

/// The span of one incoming call, a child of the caller's span when the request carries trace context.
fn server_span(request: &http::Request<()>) -> tracing::Span {
    let span = rpc_span("server", request.uri().path());
    crate::trace_context::adopt_parent(&span, request.headers());
    span
}

/// The span of one call on either side: `kind` is `client` or `server`, `path` is `/pkg.Service/Method`.
fn rpc_span(kind: &'static str, path: &str) -> tracing::Span {
    let name = path.trim_start_matches('/');
    let (service, method) = name.split_once('/').unwrap_or((name, ""));
    tracing::info_span!(
        "grpc",
        otel.name = name,
        otel.kind = kind,
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
    )
}

/// A lazily connecting channel to `url` (`http://host:port`); calls fail fast while the peer is down. Each call
/// gets a client span whose trace context travels to the server.
pub fn channel(url: &str) -> anyhow::Result<GrpcChannel> {
    plain_channel(url).map(GrpcChannel)
}

/// A lazily connecting channel without spans of its own (the trace exporter's, which must not trace itself).
pub fn plain_channel(url: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("bad service URL {url:?}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// The channel every service client uses: a tonic channel that wraps each call in a client span and
/// writes that span's trace context into the request metadata.
#[derive(Debug, Clone)]
pub struct GrpcChannel(Channel);

impl tower::Service<http::Request<Body>> for GrpcChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = Instrumented<tonic::transport::channel::ResponseFuture>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let span = rpc_span("client", request.uri().path());
        crate::trace_context::inject(&span, request.headers_mut());
        self.0.call(request).instrument(span)
    }
}
