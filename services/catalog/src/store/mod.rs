//! Every SQL statement of the catalog service, by concern: `categories`, `products` (reads and search), `edits`
//! (a seller's writes) and `index` (the price range and full-text entry). Each write runs in one transaction that
//! also refreshes the product's index entry, so search never sees a half-written product. Row and input types are
//! in `rows`; stock reservations keep their SQL in `crate::reservations`. `cached` puts the read-through cache in
//! front of the hot reads.

mod cached;
mod categories;
mod edits;
mod index;
mod products;
mod rows;
#[cfg(test)]
pub(crate) mod tests;

use anyhow::Context;
use serde::Serialize;
use sqlx::{Any, Transaction};
use tokshop_platform::{ServiceResult, db::Db};

pub use cached::{CacheInvalidator, Caches};
pub use rows::*;

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    caches: Caches,
}

pub fn to_json<T: Serialize>(value: &T) -> ServiceResult<String> {
    Ok(serde_json::to_string(value).context("encoding JSON column")?)
}

type Tx = Transaction<'static, Any>;

impl Store {
    /// A store that reads the database every time (the storage tests' store).
    #[cfg(test)]
    pub fn new(db: Db) -> Self {
        Self::cached(db, Caches::off())
    }

    /// A store whose hot reads go through `caches`.
    pub fn cached(db: Db, caches: Caches) -> Self {
        Self { db, caches }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}
