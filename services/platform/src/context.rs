//! What every service is built from: settings, the database handle and the token keys, chosen once at start-up.

use std::sync::Arc;

use crate::{auth::TokenKeys, config::Settings, db::Db};

#[derive(Clone, Debug)]
pub struct ServiceContext {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub keys: TokenKeys,
}

impl ServiceContext {
    /// Connects to the configured database and loads (or creates) the token keys.
    pub async fn from_settings(settings: Arc<Settings>) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database_url(), settings.database.max_connections).await?;
        let keys = TokenKeys::from_settings(&settings)?;
        Ok(Self { settings, db, keys })
    }
}
