//! Orders, coupons and payments: three gRPC services over one database, so that an order's state, the coupon
//! it used and the money behind it always change in one transaction. Stock lives in the catalog and is reserved
//! there under the order's id; committed events (the outbox) release it and keep sales counts.
//!
//! One module per aggregate, each with `api` (the tonic handlers), `rules` (the decisions, no SQL, no gRPC) and
//! `store` (all of its SQL):
//! - `order`: checkout from the cart, the states an order moves through, returns, and the sweeper;
//! - `payment`: paying orders, wallets and top-ups, saved cards, refunds, the providers and the ledger;
//! - `coupon`: sellers' coupons and shoppers' claims.
//!
//! `pricing` is the arithmetic they share (discounts, shipping, return amounts), `clients` the calls to the
//! catalog, identity and the cart, `consumers` what this service does with its own committed events.

mod clients;
mod consumers;
mod coupon;
mod order;
mod payment;
mod pricing;
#[cfg(test)]
mod testing;

use std::{sync::Arc, time::Duration};

use sqlx::{Any, Transaction};
use tokio_util::sync::CancellationToken;
use tokshop_platform::grpc::GrpcChannel;
use tokshop_platform::{ServiceContext, db::Migrations, migrations};
use tokshop_proto::{
    catalog::Money,
    order::{coupon_service_server::CouponServiceServer, order_service_server::OrderServiceServer},
    payment::payment_service_server::PaymentServiceServer,
};
use tonic::service::Routes;

pub use order::Swept;

/// A writing transaction on the service's database: store functions whose writes must commit together with
/// others take one.
pub(crate) type Tx = Transaction<'static, Any>;

/// An amount in minor units of `currency`, as messages carry it.
pub(crate) fn money(amount_minor: i64, currency: &str) -> Option<Money> {
    Some(Money {
        amount_minor,
        currency: currency.to_owned(),
    })
}

/// The fully qualified gRPC service names, as health checks report them.
pub const ORDER_SERVICE: &str = "tokshop.order.v1.OrderService";
pub const COUPON_SERVICE: &str = "tokshop.order.v1.CouponService";
pub const PAYMENT_SERVICE: &str = "tokshop.payment.v1.PaymentService";

/// The topics this service records; the process running it relays them (see `events::Relay::only`).
pub const EVENT_TOPICS: &[&str] = &["order.", "payment.", "refund."];

const MIGRATIONS: Migrations = migrations!(1 => "0001_init", 2 => "0002_expected_total");

/// Channels to the services orders call.
#[derive(Clone, Debug)]
pub struct Upstreams {
    pub catalog: GrpcChannel,
    pub identity: GrpcChannel,
    pub cart: GrpcChannel,
}

/// Migrates the schema, subscribes the stock and sales consumers to the context's bus, and returns the ready
/// router: the order, coupon and payment services plus health (and reflection when enabled).
pub async fn router(ctx: &ServiceContext, upstreams: Upstreams) -> anyhow::Result<Routes> {
    ctx.db.migrate("orders", &MIGRATIONS).await?;
    let clients = clients::Clients::new(
        ctx.keys.clone(),
        upstreams.catalog,
        upstreams.identity,
        upstreams.cart,
    );
    ctx.bus.subscribe(Arc::new(consumers::StockReleaser {
        clients: clients.clone(),
    }));
    ctx.bus.subscribe(Arc::new(consumers::SalesCounter {
        clients: clients.clone(),
    }));
    let providers = Arc::new(payment::Providers::new(ctx.settings.demo()));
    let orders = order::OrderApi::new(
        ctx.db.clone(),
        ctx.keys.clone(),
        clients.clone(),
        providers.clone(),
        ctx.settings.orders.clone(),
    );
    let coupons = coupon::CouponApi::new(ctx.db.clone(), ctx.keys.clone(), clients);
    let payments = payment::PaymentApi::new(
        ctx.db.clone(),
        ctx.keys.clone(),
        providers,
        ctx.settings.orders.top_up_daily_limit_minor,
    );
    Ok(tokshop_platform::grpc::router_with_health(
        &ctx.settings.grpc,
        &[ORDER_SERVICE, COUPON_SERVICE, PAYMENT_SERVICE],
    )
    .await?
    .add_service(OrderServiceServer::new(orders))
    .add_service(CouponServiceServer::new(coupons))
    .add_service(PaymentServiceServer::new(payments)))
}

/// The ledger check of `VerifyLedger`, run straight against a database (the `verify-ledger` command). It only
/// reads.
pub async fn verify_ledger(
    db: &tokshop_platform::db::Db,
) -> anyhow::Result<tokshop_proto::payment::LedgerReport> {
    use anyhow::Context;
    payment::verify(db)
        .await
        .map_err(|err| anyhow::anyhow!("{err:?}"))
        .context("reading the ledger (has tokshop run on this database?)")
}

/// One sweep now: expire unpaid orders, abandon stuck checkouts, complete long-delivered orders.
pub async fn sweep_once(ctx: &ServiceContext) -> anyhow::Result<Swept> {
    Ok(order::sweep(&ctx.db, &ctx.settings.orders).await?)
}

/// Sweeps every `orders.sweep_interval_ms` until `shutdown`. State lives in the database, so a restarted
/// process simply carries on where the last one stopped.
pub async fn run_sweeper(ctx: ServiceContext, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pause = Duration::from_millis(ctx.settings.orders.sweep_interval_ms.max(10));
    loop {
        match sweep_once(&ctx).await {
            Ok(swept) if swept != Swept::default() => tracing::info!(?swept, "order sweep"),
            Ok(_) => {}
            Err(err) => tracing::error!(error = ?err, "order sweep failed; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(pause) => {}
        }
    }
}
