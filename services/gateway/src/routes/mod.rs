//! One module per resource; each owns its DTOs and returns an `OpenApiRouter` so routes and docs stay together.

pub mod addresses;
pub mod auth;
pub mod cart;
pub mod categories;
pub mod chat;
pub mod coupons;
pub mod health;
pub mod interactions;
pub mod me;
pub mod media;
pub mod messages;
pub mod orders;
pub mod payments;
pub mod posts;
pub mod products;
pub mod relations;
pub mod seller;
pub mod social;
pub mod users;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every route of the gateway, documented.
pub fn all() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(addresses::router())
        .merge(users::router())
        .merge(seller::router())
        .merge(categories::router())
        .merge(products::router())
        .merge(cart::router())
        .merge(chat::router())
        .merge(coupons::router())
        .merge(orders::router())
        .merge(payments::router())
        .merge(messages::router())
        .merge(relations::router())
        .merge(interactions::router())
        .merge(posts::router())
        .merge(media::router())
        .merge(health::router())
}
