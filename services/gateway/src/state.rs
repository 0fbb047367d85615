//! What every handler reaches: cheap clones of the gRPC clients, the token keys, settings, metrics and the limiter.

use std::sync::Arc;

use tokshop_platform::{auth::TokenKeys, config::Settings};
use tokshop_proto::{
    catalog::catalog_service_client::CatalogServiceClient,
    identity::identity_service_client::IdentityServiceClient,
};
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

use crate::{GatewayDeps, metrics::Metrics, ratelimit::ClientLimiter};

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub keys: TokenKeys,
    identity: IdentityServiceClient<Channel>,
    catalog: CatalogServiceClient<Channel>,
    identity_health: HealthClient<Channel>,
    catalog_health: HealthClient<Channel>,
    pub metrics: Arc<Metrics>,
    pub limiter: Option<Arc<ClientLimiter>>,
}

impl AppState {
    pub fn new(deps: GatewayDeps) -> anyhow::Result<Self> {
        let limiter = ClientLimiter::from_settings(&deps.settings.gateway).map(Arc::new);
        Ok(Self {
            identity: IdentityServiceClient::new(deps.identity.clone()),
            catalog: CatalogServiceClient::new(deps.catalog.clone()),
            identity_health: HealthClient::new(deps.identity),
            catalog_health: HealthClient::new(deps.catalog),
            settings: deps.settings,
            keys: deps.keys,
            metrics: Arc::new(Metrics::new()?),
            limiter,
        })
    }

    /// A client for the identity service (clients need `&mut self`; clones share the channel).
    pub fn identity(&self) -> IdentityServiceClient<Channel> {
        self.identity.clone()
    }

    pub fn catalog(&self) -> CatalogServiceClient<Channel> {
        self.catalog.clone()
    }

    pub fn identity_health(&self) -> HealthClient<Channel> {
        self.identity_health.clone()
    }

    pub fn catalog_health(&self) -> HealthClient<Channel> {
        self.catalog_health.clone()
    }
}
