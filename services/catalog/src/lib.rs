//! The catalog service: a category tree, products (SPU) owned by sellers with variants (SKU) carrying option
//! values, price and stock, price history, and full-text search with filters, sorting and cursor pagination.
//! `grpc/` is the tonic surface, `store/` all SQL but that of stock reservations (`reservations.rs`), `search.rs`
//! the search query builder, `validate.rs` the input rules. Hot reads go through a read-through cache
//! (`store/cached.rs`).

mod grpc;
mod reservations;
mod search;
mod store;
mod validate;

use std::sync::Arc;

use tokshop_platform::{ServiceContext, db::Migrations, migrations};
use tokshop_proto::catalog::catalog_service_server::CatalogServiceServer;
use tonic::service::Routes;

pub use grpc::CatalogApi;

/// The fully qualified gRPC service name, as health checks report it.
pub const SERVICE_NAME: &str = "tokshop.catalog.v1.CatalogService";

const MIGRATIONS: Migrations = migrations!(
    1 => "0001_init",
    2 => "0002_reservations",
    3 => "0003_sales",
    4 => "0004_plain_sort_indexes",
    5 => "0005_search_index_without_pending_list",
);

/// The topics this service records (edits, for the cache's durable invalidation); the process running it relays
/// them (see `events::Relay::only`).
pub const EVENT_TOPICS: &[&str] = &["catalog."];

/// Migrates the schema, sets up the read cache (in Redis with `redis.url`, else in memory) and subscribes its
/// invalidation to the context's bus, and returns the ready gRPC service.
pub async fn build(ctx: &ServiceContext) -> anyhow::Result<CatalogServiceServer<CatalogApi>> {
    ctx.db.migrate("catalog", &MIGRATIONS).await?;
    let redis = tokshop_platform::redis::Redis::connect(&ctx.settings.redis).await?;
    let caches = store::Caches::new(&ctx.settings.cache, redis.as_ref());
    let api = CatalogApi::new(ctx, caches);
    ctx.bus.subscribe(Arc::new(store::CacheInvalidator {
        store: api.store().clone(),
    }));
    Ok(CatalogServiceServer::new(api))
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
