//! What every service is built from: settings, the database handle, the token keys and the process's event bus,
//! chosen once at start-up.

use std::sync::Arc;

use crate::{auth::TokenKeys, config::Settings, db::Db, events::Bus};

#[derive(Clone)]
pub struct ServiceContext {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub keys: TokenKeys,
    /// Where this process's outbox relay delivers events; services subscribe their consumers here.
    pub bus: Bus,
}

impl std::fmt::Debug for ServiceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceContext")
            .field("db", &self.db)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl ServiceContext {
    /// Connects to the configured database (creating the event tables), and loads (or creates) the token keys.
    pub async fn from_settings(settings: Arc<Settings>) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database_url(), settings.database.max_connections).await?;
        crate::events::migrate(&db).await?;
        let keys = TokenKeys::from_settings(&settings)?;
        let bus = Bus::from_settings(&settings).await?;
        Ok(Self {
            settings,
            db,
            keys,
            bus,
        })
    }
}
