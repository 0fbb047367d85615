//! The tokshop process: starts every service in one process (the embedded default) or one part alone
//! (`--only`), wires real gRPC channels between them over loopback, seeds the demo shop, and shuts everything
//! down cleanly.

pub mod chat;
pub mod dead_letters;
pub mod probe;
pub mod seed;

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use futures::future::BoxFuture;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tokshop_platform::grpc::GrpcChannel;
use tokshop_platform::{
    ServiceContext,
    auth::TokenKeys,
    config::{ServiceEndpoint, ServicesSettings, Settings},
    db::Db,
    events, grpc,
};
use tonic::service::Routes;

/// The process's allocator, declared here so the binary and everything else that runs the parts in its own
/// process (benches, tests) allocate alike. jemalloc returns freed memory to the system over time (its decay), where
/// glibc's per-thread arenas held on to it: under a 10-minute soak the resident set stayed near 120 MiB instead of
/// climbing past 300 MiB.
#[cfg(all(target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One part of tokshop that `serve --only` can run alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    Identity,
    Catalog,
    Cart,
    Orders,
    Social,
    Gateway,
}

/// A started tokshop: its addresses and the tasks serving them.
pub struct Running {
    pub gateway_addr: Option<SocketAddr>,
    /// Where `/metrics` is served when it has a listener of its own.
    pub metrics_addr: Option<SocketAddr>,
    pub identity_addr: Option<SocketAddr>,
    pub catalog_addr: Option<SocketAddr>,
    pub cart_addr: Option<SocketAddr>,
    pub orders_addr: Option<SocketAddr>,
    pub social_addr: Option<SocketAddr>,
    pub seed_report: Option<seed::SeedReport>,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
    db: Option<Db>,
}

impl Running {
    /// Waits until every server has stopped (after the shutdown token fires), then closes the database pool.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            let result = joined.context("server task panicked").and_then(|r| r);
            if let Err(err) = result {
                tracing::error!(error = ?err, "server stopped with an error");
                // One server failing takes the others down instead of leaving a half-working process.
                self.shutdown.cancel();
                first_error.get_or_insert(err);
            }
        }
        if let Some(db) = &self.db {
            db.close().await;
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Asks every server to stop and waits for in-flight requests to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Where this process serves `part`'s API.
    fn addr_mut(&mut self, part: Part) -> &mut Option<SocketAddr> {
        match part {
            Part::Identity => &mut self.identity_addr,
            Part::Catalog => &mut self.catalog_addr,
            Part::Cart => &mut self.cart_addr,
            Part::Orders => &mut self.orders_addr,
            Part::Social => &mut self.social_addr,
            Part::Gateway => &mut self.gateway_addr,
        }
    }
}

/// How a gRPC part's router is built: from the shared service context and the channels to the parts it calls.
type BuildRouter =
    for<'a> fn(&'a ServiceContext, &'a Peers<'a>) -> BoxFuture<'a, anyhow::Result<Routes>>;

/// Work a gRPC part runs beside its server until shutdown, such as a sweep of expired rows.
type Background = fn(ServiceContext, CancellationToken) -> BoxFuture<'static, anyhow::Result<()>>;

/// A gRPC part of tokshop, as `start` binds, builds and serves it.
struct GrpcPart {
    part: Part,
    /// Its key under `services` in the settings, and its name in messages.
    name: &'static str,
    /// Its listen address and, when another process runs it, its URL.
    endpoint: fn(&ServicesSettings) -> &ServiceEndpoint,
    router: BuildRouter,
    background: Option<Background>,
    /// The event topics the process running it relays from the outbox to the bus, where its consumers are.
    topics: &'static [&'static str],
}

/// Every gRPC part, each after the parts it calls, so those are listening (or known remote) when it is built.
static GRPC_PARTS: [GrpcPart; 5] = [
    GrpcPart {
        part: Part::Identity,
        name: "identity",
        endpoint: |services| &services.identity,
        router: |ctx, _| Box::pin(tokshop_identity::router(ctx)),
        background: None,
        topics: &[],
    },
    GrpcPart {
        part: Part::Catalog,
        name: "catalog",
        endpoint: |services| &services.catalog,
        router: |ctx, _| Box::pin(tokshop_catalog::router(ctx)),
        background: None,
        topics: tokshop_catalog::EVENT_TOPICS,
    },
    GrpcPart {
        part: Part::Cart,
        name: "cart",
        endpoint: |services| &services.cart,
        router: |ctx, peers| {
            Box::pin(async move { tokshop_cart::router(ctx, peers.channel(Part::Catalog)?).await })
        },
        background: None,
        topics: &[],
    },
    GrpcPart {
        part: Part::Orders,
        name: "orders",
        endpoint: |services| &services.orders,
        router: |ctx, peers| {
            Box::pin(async move {
                let upstreams = tokshop_orders::Upstreams {
                    catalog: peers.channel(Part::Catalog)?,
                    identity: peers.channel(Part::Identity)?,
                    cart: peers.channel(Part::Cart)?,
                };
                tokshop_orders::router(ctx, upstreams).await
            })
        },
        background: Some(|ctx, shutdown| Box::pin(tokshop_orders::run_sweeper(ctx, shutdown))),
        topics: tokshop_orders::EVENT_TOPICS,
    },
    GrpcPart {
        part: Part::Social,
        name: "social",
        endpoint: |services| &services.social,
        router: |ctx, peers| {
            Box::pin(async move {
                let upstreams = tokshop_social::Upstreams {
                    identity: peers.channel(Part::Identity)?,
                    catalog: peers.channel(Part::Catalog)?,
                };
                tokshop_social::router(ctx, upstreams).await
            })
        },
        background: Some(|ctx, shutdown| {
            Box::pin(tokshop_social::run_media_sweeper(ctx, shutdown))
        }),
        topics: tokshop_social::EVENT_TOPICS,
    },
];

/// Channels to the gRPC parts: straight to the services of a part started in this process (no network between
/// parts that share it), otherwise to the URL in `services.<name>.url`.
struct Peers<'a> {
    services: &'a ServicesSettings,
    started: Vec<(Part, Routes)>,
}

impl Peers<'_> {
    fn channel(&self, part: Part) -> anyhow::Result<GrpcChannel> {
        if let Some((_, routes)) = self.started.iter().find(|(p, _)| *p == part) {
            return Ok(grpc::in_process(routes.clone()));
        }
        let grpc = GRPC_PARTS
            .iter()
            .find(|grpc| grpc.part == part)
            .with_context(|| format!("{part:?} is not a gRPC service"))?;
        remote(&(grpc.endpoint)(self.services).url, grpc.name)
    }
}

/// The channel to a service run by another process, from `services.<name>.url`.
fn remote(url: &Option<String>, name: &str) -> anyhow::Result<GrpcChannel> {
    let url = url.as_deref().with_context(|| {
        format!(
            "set services.{name}.url (TOKSHOP_SERVICES_{}_URL)",
            name.to_uppercase()
        )
    })?;
    grpc::channel(url)
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} to {addr} (is another process using it?)"))
}

/// Starts tokshop: everything when `only` is `None`, otherwise that one part. Returns once every server is
/// listening (and, in the embedded default, once the demo shop is seeded).
pub async fn start(
    settings: Arc<Settings>,
    only: Option<Part>,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    if only.is_some() {
        anyhow::ensure!(
            settings.auth.jwt_secret.is_some(),
            "running one part alone needs auth.jwt_secret (TOKSHOP_AUTH_JWT_SECRET), shared by every part"
        );
    }
    // A production shop never signs tokens with a secret it made up and kept in a file.
    anyhow::ensure!(
        settings.demo() || settings.auth.jwt_secret.is_some(),
        "a production shop (a database URL, or mode = \"production\") needs auth.jwt_secret \
         (TOKSHOP_AUTH_JWT_SECRET, at least 32 bytes); only demo mode generates one"
    );
    let mut running = Running {
        gateway_addr: None,
        metrics_addr: None,
        identity_addr: None,
        catalog_addr: None,
        cart_addr: None,
        orders_addr: None,
        social_addr: None,
        seed_report: None,
        shutdown: shutdown.clone(),
        tasks: JoinSet::new(),
        db: None,
    };
    let runs = |part| only.is_none() || only == Some(part);
    let here: Vec<&GrpcPart> = GRPC_PARTS.iter().filter(|grpc| runs(grpc.part)).collect();
    let mut peers = Peers {
        services: &settings.services,
        started: Vec::new(),
    };

    let ctx = if here.is_empty() {
        None
    } else {
        let ctx = ServiceContext::from_settings(settings.clone()).await?;
        running.db = Some(ctx.db.clone());
        Some(ctx)
    };
    if let Some(ctx) = &ctx {
        for grpc in &here {
            let what = format!("{} service", grpc.name);
            let listener = bind((grpc.endpoint)(&settings.services).listen, &what).await?;
            let addr = listener.local_addr()?;
            let routes = (grpc.router)(ctx, &peers).await?;
            tracing::info!(service = grpc.name, %addr, "gRPC service listening");
            peers.started.push((grpc.part, routes.clone()));
            *running.addr_mut(grpc.part) = Some(addr);
            running
                .tasks
                .spawn(grpc::serve(routes, listener, shutdown.clone()));
        }
        // Background work and relays start once every router here is built, so every consumer of this process's
        // bus has subscribed and no pending event is published past one.
        for grpc in &here {
            if let Some(background) = grpc.background {
                running
                    .tasks
                    .spawn(background(ctx.clone(), shutdown.clone()));
            }
            if !grpc.topics.is_empty() {
                let relay =
                    events::Relay::new(ctx.db.clone(), ctx.bus.publisher()).only(grpc.topics);
                running.tasks.spawn(relay.run(shutdown.clone()));
            }
        }
        ctx.bus.consume(&mut running.tasks, &shutdown);
        if let (Some(addr), false) = (settings.grpc.metrics_listen, runs(Part::Gateway)) {
            let listener = bind(addr, "metrics listener").await?;
            running.metrics_addr = Some(listener.local_addr()?);
            running.tasks.spawn(tokshop_gateway::serve_process_metrics(
                listener,
                shutdown.clone(),
            ));
        }
    }

    if runs(Part::Gateway) {
        start_gateway(&settings, only, ctx.as_ref(), &peers, &mut running).await?;
    }
    Ok(running)
}

/// Starts the REST gateway (and its metrics listener, when it has one), seeding the demo shop first when everything
/// runs here in demo mode.
async fn start_gateway(
    settings: &Arc<Settings>,
    only: Option<Part>,
    ctx: Option<&ServiceContext>,
    peers: &Peers<'_>,
    running: &mut Running,
) -> anyhow::Result<()> {
    let identity = peers.channel(Part::Identity)?;
    let catalog = peers.channel(Part::Catalog)?;
    let cart = peers.channel(Part::Cart)?;
    let orders = peers.channel(Part::Orders)?;
    let social = peers.channel(Part::Social)?;
    let (keys, db) = match ctx {
        Some(ctx) => (ctx.keys.clone(), ctx.db.clone()),
        None => {
            let db =
                Db::connect(&settings.database_url(), settings.database.max_connections).await?;
            running.db = Some(db.clone());
            (TokenKeys::from_settings(settings)?, db)
        }
    };
    if only.is_none() && settings.seed.demo && settings.demo() {
        let report = seed::seed_demo(
            identity.clone(),
            catalog.clone(),
            &keys,
            settings.seed.products,
        )
        .await
        .context("seeding the demo shop")?;
        tracing::info!(?report, "demo shop ready");
        running.seed_report = Some(report);
    }
    let listener = bind(settings.gateway.listen, "REST gateway").await?;
    running.gateway_addr = Some(listener.local_addr()?);
    let metrics_listener = match settings.gateway.metrics_listen {
        Some(addr) => {
            let listener = bind(addr, "metrics").await?;
            running.metrics_addr = Some(listener.local_addr()?);
            Some(listener)
        }
        None => None,
    };
    let deps = tokshop_gateway::GatewayDeps {
        settings: settings.clone(),
        keys,
        identity,
        catalog,
        cart,
        orders,
        social,
        db,
    };
    running.tasks.spawn(tokshop_gateway::serve(
        deps,
        listener,
        metrics_listener,
        running.shutdown.clone(),
    ));
    Ok(())
}

/// Seeds the demo shop into services run elsewhere (`services.*.url`). The services may still be starting, so
/// a failed run is retried for up to a minute; seeding is idempotent, so a retry never duplicates anything.
pub async fn seed_remote(settings: &Settings, products: usize) -> anyhow::Result<seed::SeedReport> {
    let identity = remote(&settings.services.identity.url, "identity")?;
    let catalog = remote(&settings.services.catalog.url, "catalog")?;
    let keys = TokenKeys::from_settings(settings)?;
    let mut attempt = 1;
    loop {
        match seed::seed_demo(identity.clone(), catalog.clone(), &keys, products).await {
            Ok(report) => return Ok(report),
            Err(err) if attempt < 30 => {
                tracing::warn!(attempt, error = %err, "seeding failed; retrying in 2 s");
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            Err(err) => return Err(err),
        }
    }
}
