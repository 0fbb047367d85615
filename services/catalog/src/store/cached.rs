//! The hot reads behind the read-through cache (`tokshop_platform::cache`): a product with its variants (which
//! also answers product cards and variant lookups), the product each variant belongs to, and the category tree.
//!
//! What invalidates what:
//! - a seller's edit (product, listing, variant, price) and a new category record `catalog.product_changed` /
//!   `catalog.categories_changed` in their transaction; once committed the entry is dropped at once, and
//!   [`CacheInvalidator`] drops it again when the event is delivered, retrying until the cache takes it. A crash
//!   between commit and drop, or Redis out of reach at that moment, cannot leave an edit unseen past the outage.
//! - stock reservations, releases and sales counts drop their products once committed, without an event: shown
//!   stock may lag by at most `cache.ttl_seconds` if that drop fails. Stock is only displayed from here: a
//!   reservation takes it, and reads the price it charges, inside its own transaction.
//! - a variant's product never changes, so that mapping is never invalidated.
//! - which products match a search (a page's ids and its next cursor) is kept for `cache.search_ttl_seconds`
//!   and never invalidated: the products themselves come through the product cache, and a page drops any that
//!   no longer pass the filters it can check exactly (listed, price range, in stock). So a search may miss a
//!   product that began to match (a new listing, a new title) or keep an order that changed, for at most that
//!   long; what it shows of each product is current. A search that found nothing is not kept.
//!
//! Replicas of the catalog share the cache through Redis; without Redis each keeps its own, and an edit made
//! through one is seen by the others within `cache.ttl_seconds`.

use std::collections::HashMap;

use anyhow::Context;
use tokshop_platform::{
    ServiceResult,
    cache::Cache,
    config::CacheSettings,
    events::{Event, EventHandler},
    redis::{Redis, Unavailable},
};

use super::{CategoryRow, ProductCardRow, ProductRecord, Store, VariantDetailRow};
use crate::search::{Cursor, SearchQuery};

/// Recorded with every committed edit of a product or its variants; the aggregate is the product id.
pub const PRODUCT_CHANGED: &str = "catalog.product_changed";
/// Recorded with every new category; the aggregate is the category id.
pub const CATEGORIES_CHANGED: &str = "catalog.categories_changed";
/// The one key the category tree is cached under.
const TREE: &str = "tree";

/// The catalog's caches; cheap to clone.
#[derive(Clone, Debug)]
pub struct Caches {
    products: Cache<ProductRecord>,
    variant_products: Cache<String>,
    categories: Cache<Vec<CategoryRow>>,
    searches: Cache<SearchPage>,
}

/// Which products a search page holds, in order, and where the next page starts.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SearchPage {
    ids: Vec<String>,
    next: Option<String>,
}

impl Caches {
    /// In Redis when given (shared by every catalog replica), else in this process's memory.
    pub fn new(settings: &CacheSettings, redis: Option<&Redis>) -> Self {
        Self {
            products: Cache::new("catalog.product", settings, redis.cloned()),
            variant_products: Cache::new("catalog.variant_product", settings, redis.cloned()),
            categories: Cache::new("catalog.categories", settings, redis.cloned()),
            searches: Cache::new(
                "catalog.search",
                &CacheSettings {
                    enabled: settings.enabled && settings.search_ttl_seconds > 0,
                    ttl_seconds: settings.search_ttl_seconds,
                    ..settings.clone()
                },
                redis.cloned(),
            ),
        }
    }

    /// Every read goes to the database.
    pub fn off() -> Self {
        Self::new(
            &CacheSettings {
                enabled: false,
                ..CacheSettings::default()
            },
            None,
        )
    }
}

impl Store {
    /// The product with its variants, or `None`: cached.
    pub async fn product(&self, id: &str) -> ServiceResult<Option<ProductRecord>> {
        self.caches
            .products
            .get_or_load(id, || self.get_product(id))
            .await
    }

    /// Products by id: cached; unknown ids are left out.
    pub async fn products(&self, ids: &[String]) -> ServiceResult<HashMap<String, ProductRecord>> {
        self.caches
            .products
            .get_many_or_load(ids, |missing| async move {
                let records = self.load_products(&missing).await?;
                Ok(records
                    .into_iter()
                    .map(|r| (r.product.id.clone(), r))
                    .collect())
            })
            .await
    }

    /// Products by id as cards, in no particular order; unknown ids are left out.
    pub async fn product_cards(&self, ids: &[String]) -> ServiceResult<Vec<ProductCardRow>> {
        Ok(self.products(ids).await?.values().map(card).collect())
    }

    /// Variants by id with what a cart or an order needs of their product, in no particular order; unknown ids
    /// are left out.
    pub async fn variant_details(&self, ids: &[String]) -> ServiceResult<Vec<VariantDetailRow>> {
        let owners = self
            .caches
            .variant_products
            .get_many_or_load(ids, |missing| async move {
                self.load_variant_products(&missing).await
            })
            .await?;
        let mut product_ids: Vec<String> = owners.values().cloned().collect();
        product_ids.sort_unstable();
        product_ids.dedup();
        let products = self.products(&product_ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                let record = products.get(owners.get(id)?)?;
                let variant = record.variants.iter().find(|v| &v.id == id)?;
                Some(variant_detail(record, variant.clone()))
            })
            .collect())
    }

    /// One page of products matching `query` and the next page's cursor. Which products match is cached (see
    /// the module's notes); the products are read through the product cache, so each shows as it is now, and
    /// one that no longer passes the listing, price or stock filters is left out.
    pub async fn search_page(
        &self,
        query: &SearchQuery,
    ) -> ServiceResult<(Vec<ProductRecord>, Option<String>)> {
        let mut loaded = None;
        let page = self
            .caches
            .searches
            .get_or_load(&query.cache_key(), || async {
                let (records, next) = self.search(query).await?;
                let page = SearchPage {
                    ids: records.iter().map(|r| r.product.id.clone()).collect(),
                    next: next.as_ref().map(Cursor::encode),
                };
                loaded = Some(records);
                // "Nothing found" is not kept: a product listed a moment later shows at once.
                Ok((!page.ids.is_empty()).then_some(page))
            })
            .await?;
        if let Some(records) = loaded {
            return Ok((records, page.and_then(|p| p.next)));
        }
        let Some(page) = page else {
            return Ok((Vec::new(), None));
        };
        let mut products = self.products(&page.ids).await?;
        let shown = page
            .ids
            .iter()
            .filter_map(|id| products.remove(id))
            .filter(|record| query.still_matches(record))
            .collect();
        Ok((shown, page.next))
    }

    /// The category tree: cached.
    pub async fn categories(&self) -> ServiceResult<Vec<CategoryRow>> {
        Ok(self
            .caches
            .categories
            .get_or_load(TREE, || async { self.list_categories().await.map(Some) })
            .await?
            .unwrap_or_default())
    }

    /// Drops these products from the cache.
    pub async fn forget_products(&self, ids: &[String]) -> Result<(), Unavailable> {
        self.caches.products.invalidate(ids).await
    }

    /// Drops these products from the cache if it answers; a miss is bounded by the TTL (and, for edits, repaired
    /// by the event). The Redis link logs outages.
    pub async fn forget_products_now(&self, ids: &[String]) {
        let _ = self.forget_products(ids).await;
    }

    pub async fn forget_categories(&self) -> Result<(), Unavailable> {
        self.caches.categories.invalidate(&[TREE.to_owned()]).await
    }

    pub async fn forget_categories_now(&self) {
        let _ = self.forget_categories().await;
    }
}

/// The card of a product: lowest price over its listed variants (else over all, else 0), whether a listed variant
/// has stock, its images and listing state.
fn card(record: &ProductRecord) -> ProductCardRow {
    let product = &record.product;
    let min_price = product
        .min_price
        .or_else(|| record.variants.iter().map(|v| v.price_minor).min())
        .unwrap_or(0);
    let in_stock = record.variants.iter().any(|v| v.listed == 1 && v.stock > 0);
    ProductCardRow {
        id: product.id.clone(),
        title: product.title.clone(),
        seller_id: product.seller_id.clone(),
        currency: product.currency.clone(),
        listed: product.listed,
        image_urls: product.image_urls.clone(),
        min_price,
        in_stock: i64::from(in_stock),
    }
}

fn variant_detail(record: &ProductRecord, variant: super::VariantRow) -> VariantDetailRow {
    let product = &record.product;
    VariantDetailRow {
        variant,
        title: product.title.clone(),
        seller_id: product.seller_id.clone(),
        category_id: product.category_id.clone(),
        product_listed: product.listed,
        currency: product.currency.clone(),
        product_images: product.image_urls.clone(),
    }
}

/// Drops what a committed catalog edit changed, when its event arrives: the durable half of invalidation. Fails
/// (so the event is delivered again) while the cache cannot take it.
pub struct CacheInvalidator {
    pub store: Store,
}

#[async_trait::async_trait]
impl EventHandler for CacheInvalidator {
    fn name(&self) -> &'static str {
        "catalog.cache"
    }

    fn wants(&self, topic: &str) -> bool {
        topic == PRODUCT_CHANGED || topic == CATEGORIES_CHANGED
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let dropped = if event.topic == PRODUCT_CHANGED {
            self.store
                .forget_products(std::slice::from_ref(&event.aggregate_id))
                .await
        } else {
            self.store.forget_categories().await
        };
        dropped.with_context(|| format!("dropping {} from the cache", event.aggregate_id))
    }
}
