//! The identity service: accounts with argon2id passwords, JWT access tokens with rotating refresh tokens, roles
//! (buyer, seller, admin), profiles and shipping addresses. `grpc.rs` is the tonic surface, `store.rs` all SQL.

mod grpc;
mod password;
mod store;
mod validate;

use anyhow::Context;
use tokshop_platform::{ServiceContext, db::Migrations, migrations};
use tokshop_proto::identity::identity_service_server::IdentityServiceServer;
use tonic::service::Routes;

pub use grpc::IdentityApi;

/// The fully qualified gRPC service name, as health checks report it.
pub const SERVICE_NAME: &str = "tokshop.identity.v1.IdentityService";

const MIGRATIONS: Migrations = migrations!(1 => "0001_init");

/// Migrates the schema, creates the configured admin if missing, and returns the ready gRPC service.
pub async fn build(ctx: &ServiceContext) -> anyhow::Result<IdentityServiceServer<IdentityApi>> {
    ctx.db.migrate("identity", &MIGRATIONS).await?;
    let api = IdentityApi::new(ctx);
    api.ensure_admin(&ctx.settings.admin)
        .await
        .context("creating the configured admin")?;
    Ok(IdentityServiceServer::new(api))
}

/// The ready gRPC router: this service plus grpc.health.v1 (and reflection when enabled). Serve it with
/// [`tokshop_platform::grpc::serve`].
pub async fn router(ctx: &ServiceContext) -> anyhow::Result<Routes> {
    let service = build(ctx).await?;
    Ok(
        tokshop_platform::grpc::router_with_health(&ctx.settings.grpc, &[SERVICE_NAME])
            .await?
            .add_service(service),
    )
}
