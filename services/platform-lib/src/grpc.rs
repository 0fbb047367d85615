//! gRPC server plumbing shared by every service: health (and reflection when enabled) beside the service itself, served on a
//! given listener until the shutdown token fires, then drained.

use std::{
    future::Future,
    pin::Pin,
    task::{Context as TaskContext, Poll},
    time::Duration,
};

use anyhow::Context;
use futures::FutureExt as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    body::Body,
    service::Routes,
    transport::{Channel, Endpoint, Server, server::TcpIncoming},
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

/// A part's gRPC services, starting with grpc.health.v1 (and server reflection when `settings.reflection` asks
/// for it); each of `service_names` is reported SERVING. Add the part's own services, then [`serve`] them on a
/// listener and hand them to the part's in-process clients ([`in_process`]).
pub async fn router_with_health(
    settings: &GrpcSettings,
    service_names: &[&str],
) -> anyhow::Result<Routes> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in service_names {
        reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let mut routes = Routes::new(health);
    if settings.reflection {
        routes = routes.add_service(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(tokshop_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .build_v1()
                .context("building gRPC reflection")?,
        );
    }
    Ok(routes)
}

/// Longest a call may take on the server, over the network or in process.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `routes` on `listener` until `shutdown` is cancelled, then lets in-flight calls finish.
pub async fn serve(
    routes: Routes,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Small gRPC frames must not wait for delayed ACKs (Nagle would add ~40 ms to many replies).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .timeout(CALL_TIMEOUT)
        .trace_fn(|request| server_span(request.uri().path(), request.headers()))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
        .context("serving gRPC")
}

/// The span of one incoming call, a child of the caller's span when the request carries trace context.
fn server_span(path: &str, headers: &http::HeaderMap) -> tracing::Span {
    let span = rpc_span("server", path);
    crate::trace_context::adopt_parent(&span, headers);
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
    plain_channel(url).map(|channel| GrpcChannel(Transport::Network(channel)))
}

/// A channel to services running in this process: each call goes straight to `routes` (the same services a
/// listener serves, with the same server span and time limit) without HTTP/2, TCP or a task of its own. The
/// request is still encoded and decoded as protobuf, with its metadata, so services cannot tell it from a
/// network call; what is saved is the transport (the parts benchmark measured it as most of a cached read).
pub fn in_process(routes: Routes) -> GrpcChannel {
    GrpcChannel(Transport::InProcess(routes))
}

/// A lazily connecting channel without spans of its own (the trace exporter's, which must not trace itself).
pub fn plain_channel(url: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("bad service URL {url:?}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// The channel every service client uses: to another process ([`channel`]) or to this one ([`in_process`]). Each
/// call is wrapped in a client span whose trace context is written into the request metadata.
#[derive(Debug, Clone)]
pub struct GrpcChannel(Transport);

#[derive(Debug, Clone)]
enum Transport {
    Network(Channel),
    InProcess(Routes),
}

type CallFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Body>, tower::BoxError>> + Send>>;

impl tower::Service<http::Request<Body>> for GrpcChannel {
    type Response = http::Response<Body>;
    type Error = tower::BoxError;
    type Future = Instrumented<CallFuture>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.0 {
            Transport::Network(channel) => channel.poll_ready(cx).map_err(Into::into),
            Transport::InProcess(routes) => {
                tower::Service::<http::Request<Body>>::poll_ready(routes, cx).map_err(Into::into)
            }
        }
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let span = rpc_span("client", request.uri().path());
        crate::trace_context::inject(&span, request.headers_mut());
        let call: CallFuture = match &mut self.0 {
            Transport::Network(channel) => {
                let call = channel.call(request);
                Box::pin(async move { call.await.map_err(Into::into) })
            }
            Transport::InProcess(routes) => {
                let server = span.in_scope(|| server_span(request.uri().path(), request.headers()));
                // The handler runs on the caller's task: a panic in it must end this call only, as it ends one
                // stream's task on the network server, never the caller (a relay, a gateway connection).
                let call = std::panic::AssertUnwindSafe(routes.call(request)).catch_unwind();
                Box::pin(
                    async move {
                        match tokio::time::timeout(CALL_TIMEOUT, call).await {
                            Ok(Ok(Ok(response))) => Ok(response),
                            Ok(Ok(Err(never))) => match never {},
                            Ok(Err(_panic)) => {
                                tracing::error!("a gRPC handler panicked");
                                Ok(tonic::Status::internal("the service failed").into_http())
                            }
                            // As the network server answers a call past its time limit.
                            Err(_) => Ok(tonic::Status::cancelled("Timeout expired").into_http()),
                        }
                    }
                    .instrument(server),
                )
            }
        };
        call.instrument(span)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::convert::Infallible;

    use tower::{Service, ServiceExt};

    use super::*;

    /// A service whose every call panics.
    #[derive(Clone)]
    struct Panics;

    impl tonic::server::NamedService for Panics {
        const NAME: &'static str = "test.Panics";
    }

    impl Service<http::Request<Body>> for Panics {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

        fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<Body>) -> Self::Future {
            Box::pin(async { panic!("handler bug") })
        }
    }

    fn call(path: &str) -> http::Request<Body> {
        http::Request::builder()
            .uri(path)
            .header("content-type", "application/grpc")
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn a_panicking_handler_fails_its_call_in_process_not_the_caller() {
        let mut channel = in_process(Routes::new(Panics));
        let response = channel
            .ready()
            .await
            .unwrap()
            .call(call("/test.Panics/Call"))
            .await
            .unwrap();
        let status = tonic::Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::Internal);
        // The channel still serves the next call.
        let unknown = channel
            .ready()
            .await
            .unwrap()
            .call(call("/test.Other/Call"))
            .await
            .unwrap();
        let status = tonic::Status::from_header_map(unknown.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::Unimplemented);
    }
}
