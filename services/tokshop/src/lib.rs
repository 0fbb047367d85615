//! The tokshop process: starts every service in one process (the embedded default) or one part alone
//! (`--only`), wires real gRPC channels between them over loopback, seeds the demo shop, and shuts everything
//! down cleanly.

pub mod chat;
pub mod seed;

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tokshop_platform::grpc::GrpcChannel;
use tokshop_platform::{ServiceContext, auth::TokenKeys, config::Settings, db::Db, events, grpc};

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
}

fn url_of(addr: SocketAddr) -> String {
    format!("http://{addr}")
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

    let ctx = if [
        Part::Identity,
        Part::Catalog,
        Part::Cart,
        Part::Orders,
        Part::Social,
    ]
    .into_iter()
    .any(runs)
    {
        let ctx = ServiceContext::from_settings(settings.clone()).await?;
        running.db = Some(ctx.db.clone());
        Some(ctx)
    } else {
        None
    };

    if let Some(ctx) = ctx.as_ref().filter(|_| runs(Part::Identity)) {
        let listener = bind(settings.services.identity.listen, "identity service").await?;
        running.identity_addr = Some(listener.local_addr()?);
        let router = tokshop_identity::router(ctx).await?;
        running
            .tasks
            .spawn(grpc::serve(router, listener, shutdown.clone()));
    }
    if let Some(ctx) = ctx.as_ref().filter(|_| runs(Part::Catalog)) {
        let listener = bind(settings.services.catalog.listen, "catalog service").await?;
        running.catalog_addr = Some(listener.local_addr()?);
        let router = tokshop_catalog::router(ctx).await?;
        running
            .tasks
            .spawn(grpc::serve(router, listener, shutdown.clone()));
    }

    // Channels to every service: in this process when it runs here, otherwise at its configured URL.
    let channel_to = |addr: Option<SocketAddr>, url: &Option<String>, name: &str| match addr {
        Some(addr) => grpc::channel(&url_of(addr)),
        None => remote(url, name),
    };
    let services = &settings.services;

    if let Some(ctx) = ctx.as_ref().filter(|_| runs(Part::Cart)) {
        let catalog = channel_to(running.catalog_addr, &services.catalog.url, "catalog")?;
        let listener = bind(services.cart.listen, "cart service").await?;
        running.cart_addr = Some(listener.local_addr()?);
        let router = tokshop_cart::router(ctx, catalog).await?;
        running
            .tasks
            .spawn(grpc::serve(router, listener, shutdown.clone()));
    }

    if let Some(ctx) = ctx.as_ref().filter(|_| runs(Part::Orders)) {
        let upstreams = tokshop_orders::Upstreams {
            catalog: channel_to(running.catalog_addr, &services.catalog.url, "catalog")?,
            identity: channel_to(running.identity_addr, &services.identity.url, "identity")?,
            cart: channel_to(running.cart_addr, &services.cart.url, "cart")?,
        };
        let listener = bind(services.orders.listen, "orders service").await?;
        running.orders_addr = Some(listener.local_addr()?);
        let router = tokshop_orders::router(ctx, upstreams).await?;
        running
            .tasks
            .spawn(grpc::serve(router, listener, shutdown.clone()));
        running
            .tasks
            .spawn(tokshop_orders::run_sweeper(ctx.clone(), shutdown.clone()));
    }

    if let Some(ctx) = ctx.as_ref().filter(|_| runs(Part::Social)) {
        let upstreams = tokshop_social::Upstreams {
            identity: channel_to(running.identity_addr, &services.identity.url, "identity")?,
            catalog: channel_to(running.catalog_addr, &services.catalog.url, "catalog")?,
        };
        let listener = bind(services.social.listen, "social service").await?;
        running.social_addr = Some(listener.local_addr()?);
        let router = tokshop_social::router(ctx, upstreams).await?;
        running
            .tasks
            .spawn(grpc::serve(router, listener, shutdown.clone()));
        running.tasks.spawn(tokshop_social::run_media_sweeper(
            ctx.clone(),
            shutdown.clone(),
        ));
        let relay = events::Relay::new(ctx.db.clone(), Arc::new(ctx.bus.clone()))
            .only(tokshop_social::EVENT_TOPICS);
        running.tasks.spawn(relay.run(shutdown.clone()));
    }

    if let Some(ctx) = ctx.as_ref().filter(|_| runs(Part::Orders)) {
        // The process running the orders service relays its committed events to its bus, where its consumers
        // are. It starts once every consumer has subscribed, so no pending event is published past one.
        let relay = events::Relay::new(ctx.db.clone(), Arc::new(ctx.bus.clone()))
            .only(tokshop_orders::EVENT_TOPICS);
        running.tasks.spawn(relay.run(shutdown.clone()));
    }

    if only.is_none() || only == Some(Part::Gateway) {
        let identity = channel_to(running.identity_addr, &services.identity.url, "identity")?;
        let catalog = channel_to(running.catalog_addr, &services.catalog.url, "catalog")?;
        let cart = channel_to(running.cart_addr, &services.cart.url, "cart")?;
        let orders = channel_to(running.orders_addr, &services.orders.url, "orders")?;
        let social = channel_to(running.social_addr, &services.social.url, "social")?;
        let (keys, db) = match &ctx {
            Some(ctx) => (ctx.keys.clone(), ctx.db.clone()),
            None => {
                let db = Db::connect(&settings.database_url(), settings.database.max_connections)
                    .await?;
                running.db = Some(db.clone());
                (TokenKeys::from_settings(&settings)?, db)
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
            shutdown.clone(),
        ));
    }
    Ok(running)
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
