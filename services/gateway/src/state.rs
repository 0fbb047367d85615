//! What every handler reaches: cheap clones of the gRPC clients, the token keys, settings, metrics and the limiter.

use std::sync::Arc;

use tokshop_platform::grpc::GrpcChannel;
use tokshop_platform::{auth::TokenKeys, config::Settings};
use tokshop_proto::{
    cart::cart_service_client::CartServiceClient,
    catalog::catalog_service_client::CatalogServiceClient,
    identity::identity_service_client::IdentityServiceClient,
    order::{coupon_service_client::CouponServiceClient, order_service_client::OrderServiceClient},
    payment::payment_service_client::PaymentServiceClient,
    social::{
        interaction_service_client::InteractionServiceClient,
        message_service_client::MessageServiceClient, post_service_client::PostServiceClient,
        relation_service_client::RelationServiceClient,
    },
};
use tokshop_tools::Clients;
use tonic_health::pb::health_client::HealthClient;

use crate::{GatewayDeps, login_throttle::LoginThrottle, metrics::Metrics, ratelimit::RateLimits};

/// What every handler and middleware reads: shared, so the clone axum makes for each extractor and layer is one
/// reference count (cloning the fields themselves, ten gRPC clients among them, was a tenth of a cached read's
/// CPU in the profile).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub settings: Arc<Settings>,
    pub keys: TokenKeys,
    /// The gRPC clients of every service, the same bundle the agent's tools call through.
    clients: Clients,
    /// Every backend service readiness checks: (short name, gRPC service name, health client).
    backends: Arc<[(&'static str, &'static str, HealthClient<GrpcChannel>)]>,
    pub metrics: Arc<Metrics>,
    /// The shopping agent behind the chat endpoints.
    pub agent: Arc<tokshop_agent::runner::Agent>,
    db: tokshop_platform::db::Db,
    pub limiter: Option<Arc<RateLimits>>,
    /// Wrong-password counts per login name and address.
    pub login_throttle: Option<Arc<LoginThrottle>>,
}

/// The agent's limits from its settings.
pub fn agent_limits(
    settings: &tokshop_platform::config::AgentSettings,
) -> tokshop_agent::runner::Limits {
    tokshop_agent::runner::Limits {
        pending_ttl_secs: settings.pending_ttl_secs.max(1),
        max_seconds: settings.turn_timeout_secs.max(1),
        history_messages: settings.history_messages.max(2),
        turns_per_minute: settings.turns_per_minute,
        tokens_per_day: settings.tokens_per_day,
        concurrent_turns: settings.concurrent_turns,
        ..Default::default()
    }
}

impl AppState {
    /// `redis`: where the limits are shared with other replicas, if anywhere.
    pub fn new(
        deps: GatewayDeps,
        redis: Option<tokshop_platform::redis::Redis>,
    ) -> anyhow::Result<Self> {
        let limiter =
            RateLimits::new(&deps.settings, deps.keys.clone(), redis.clone()).map(Arc::new);
        let login_throttle =
            LoginThrottle::from_settings(&deps.settings.gateway, redis.clone()).map(Arc::new);
        let clients = Clients::new(
            deps.identity.clone(),
            deps.catalog.clone(),
            deps.cart.clone(),
            deps.orders.clone(),
            deps.social.clone(),
        );
        let tools = tokshop_tools::Registry::shop();
        let metrics = Metrics::new(tools.iter().map(|t| t.name().to_owned()))?;
        let agent = tokshop_agent::runner::Agent::new(
            tokshop_agent::store::Store::new(deps.db.clone()),
            crate::chat::model(&deps.settings.llm)?,
            tools,
            clients.clone(),
            deps.settings.shop.currency.clone(),
            agent_limits(&deps.settings.agent),
        );
        let agent = match redis {
            Some(redis) => agent.with_shared_limits(redis),
            None => agent,
        };
        Ok(Self(Arc::new(Shared {
            agent: Arc::new(agent),
            clients,
            backends: Arc::new([
                (
                    "identity",
                    "tokshop.identity.v1.IdentityService",
                    HealthClient::new(deps.identity),
                ),
                (
                    "catalog",
                    "tokshop.catalog.v1.CatalogService",
                    HealthClient::new(deps.catalog),
                ),
                (
                    "cart",
                    "tokshop.cart.v1.CartService",
                    HealthClient::new(deps.cart),
                ),
                (
                    "orders",
                    "tokshop.order.v1.OrderService",
                    HealthClient::new(deps.orders),
                ),
                (
                    "social",
                    "tokshop.social.v1.RelationService",
                    HealthClient::new(deps.social),
                ),
            ]),
            settings: deps.settings,
            keys: deps.keys,
            metrics: Arc::new(metrics),
            db: deps.db,
            limiter,
            login_throttle,
        })))
    }

    /// A client for the identity service (clients need `&mut self`; clones share the channel).
    pub fn identity(&self) -> IdentityServiceClient<GrpcChannel> {
        self.clients.identity.clone()
    }

    pub fn catalog(&self) -> CatalogServiceClient<GrpcChannel> {
        self.clients.catalog.clone()
    }

    /// The database holding Idempotency-Key records.
    pub fn db(&self) -> &tokshop_platform::db::Db {
        &self.db
    }

    pub fn cart(&self) -> CartServiceClient<GrpcChannel> {
        self.clients.cart.clone()
    }

    pub fn orders(&self) -> OrderServiceClient<GrpcChannel> {
        self.clients.orders.clone()
    }

    pub fn coupons(&self) -> CouponServiceClient<GrpcChannel> {
        self.clients.coupons.clone()
    }

    pub fn payments(&self) -> PaymentServiceClient<GrpcChannel> {
        self.clients.payments.clone()
    }

    pub fn relations(&self) -> RelationServiceClient<GrpcChannel> {
        self.clients.relations.clone()
    }

    pub fn interactions(&self) -> InteractionServiceClient<GrpcChannel> {
        self.clients.interactions.clone()
    }

    pub fn posts(&self) -> PostServiceClient<GrpcChannel> {
        self.clients.posts.clone()
    }

    pub fn messages(&self) -> MessageServiceClient<GrpcChannel> {
        self.clients.messages.clone()
    }

    /// The backend services and their health clients, for readiness.
    pub fn backends(&self) -> &[(&'static str, &'static str, HealthClient<GrpcChannel>)] {
        &self.backends
    }
}
