//! The cart service: a shopper's lines (variant and quantity, 1..=99 each, at most 100 lines), shown with the
//! catalog's current prices and stock. The cart never reserves stock or freezes prices; checkout does that.
//! `grpc.rs` is the tonic surface, `store.rs` all SQL.

mod grpc;
mod store;

use tokshop_platform::grpc::GrpcChannel;
use tokshop_platform::{ServiceContext, db::Migrations, migrations};
use tokshop_proto::cart::cart_service_server::CartServiceServer;
use tonic::service::Routes;

pub use grpc::CartApi;

/// The fully qualified gRPC service name, as health checks report it.
pub const SERVICE_NAME: &str = "tokshop.cart.v1.CartService";

const MIGRATIONS: Migrations = migrations!(1 => "0001_init");

/// Migrates the schema and returns the ready gRPC service, which reads prices through `catalog`.
pub async fn build(
    ctx: &ServiceContext,
    catalog: GrpcChannel,
) -> anyhow::Result<CartServiceServer<CartApi>> {
    ctx.db.migrate("cart", &MIGRATIONS).await?;
    Ok(CartServiceServer::new(CartApi::new(ctx, catalog)))
}

/// The ready gRPC router: this service plus grpc.health.v1 (and reflection when enabled). Serve it with
/// [`tokshop_platform::grpc::serve`].
pub async fn router(ctx: &ServiceContext, catalog: GrpcChannel) -> anyhow::Result<Routes> {
    let service = build(ctx, catalog).await?;
    Ok(
        tokshop_platform::grpc::router_with_health(&ctx.settings.grpc, &[SERVICE_NAME])
            .await?
            .add_service(service),
    )
}
