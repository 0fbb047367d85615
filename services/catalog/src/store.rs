//! Every SQL statement of the catalog service. Each write runs in one transaction that also refreshes the
//! product's price range and its full-text entry, so search never sees a half-written product.

use std::collections::HashMap;

use anyhow::Context;
use const_format::concatcp;
use serde::{Deserialize, Serialize};
use sqlx::{Any, FromRow, Row, Transaction};
use tokshop_platform::{
    ServiceError, ServiceResult,
    db::{Backend, Db, flag},
    error::is_unique_violation,
    ids::new_id,
    time::now_ms,
};

use crate::search::{self, Arg, SearchQuery};

/// A product as social views show it.
#[derive(Debug, Clone, FromRow)]
pub struct ProductCardRow {
    pub id: String,
    pub title: String,
    pub seller_id: String,
    pub currency: String,
    pub listed: i64,
    pub image_urls: String,
    pub min_price: i64,
    pub in_stock: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct CategoryRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub slug: String,
    pub depth: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct ProductRow {
    pub id: String,
    pub seller_id: String,
    pub category_id: String,
    pub category_name: String,
    pub title: String,
    pub description: String,
    pub image_urls: String,
    pub currency: String,
    pub listed: i64,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub sold_count: i64,
}

/// Product columns as selected with the `p` alias; `category_name` comes from a join.
pub const PRODUCT_COLUMNS: &str = "p.id, p.seller_id, p.category_id, p.title, p.description, p.image_urls, \
                                   p.currency, p.listed, p.min_price, p.max_price, p.created_at_ms, p.updated_at_ms, p.sold_count";

#[derive(Debug, Clone, FromRow)]
pub struct VariantRow {
    pub id: String,
    pub product_id: String,
    pub sku: String,
    pub options: String,
    pub price_minor: i64,
    pub stock: i64,
    pub image_urls: String,
    pub listed: i64,
}

const VARIANT_COLUMNS: &str =
    "id, product_id, sku, options, price_minor, stock, image_urls, listed";

/// A variant with what a cart or an order needs of its product.
#[derive(Debug, Clone, FromRow)]
pub struct VariantDetailRow {
    #[sqlx(flatten)]
    pub variant: VariantRow,
    pub title: String,
    pub seller_id: String,
    pub category_id: String,
    pub product_listed: i64,
    pub currency: String,
    pub product_images: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionPair {
    pub name: String,
    pub value: String,
}

/// A variant as validated input.
#[derive(Debug, Clone)]
pub struct NewVariant {
    pub sku: String,
    pub options: Vec<OptionPair>,
    pub price_minor: i64,
    pub stock: i64,
    pub image_urls: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewProduct {
    pub category_id: String,
    pub title: String,
    pub description: String,
    pub image_urls: Vec<String>,
    pub currency: String,
    pub variants: Vec<NewVariant>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    pub category_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub image_urls: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct VariantChanges {
    pub price_minor: Option<i64>,
    pub stock: Option<i64>,
    pub listed: Option<bool>,
    pub image_urls: Option<Vec<String>>,
}

#[derive(Debug, Clone, FromRow)]
pub struct PriceChangeRow {
    pub variant_id: String,
    pub price_minor: i64,
    pub currency: String,
    pub changed_at_ms: i64,
}

/// A product with its variants in position order.
#[derive(Debug, Clone)]
pub struct ProductRecord {
    pub product: ProductRow,
    pub variants: Vec<VariantRow>,
}

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

pub fn to_json<T: Serialize>(value: &T) -> ServiceResult<String> {
    Ok(serde_json::to_string(value).context("encoding JSON column")?)
}

type Tx = Transaction<'static, Any>;

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn list_categories(&self) -> ServiceResult<Vec<CategoryRow>> {
        Ok(sqlx::query_as::<_, CategoryRow>(
            "SELECT id, parent_id, name, slug, depth FROM categories ORDER BY depth, name, id",
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    pub async fn create_category(
        &self,
        parent_id: Option<&str>,
        name: &str,
        slug: &str,
    ) -> ServiceResult<CategoryRow> {
        let mut tx = self.db.begin_write().await?;
        let depth = match parent_id {
            None => 0,
            Some(parent) => {
                let parent_depth: Option<(i64,)> =
                    sqlx::query_as("SELECT depth FROM categories WHERE id = $1")
                        .bind(parent)
                        .fetch_optional(&mut *tx)
                        .await?;
                let (depth,) = parent_depth
                    .ok_or_else(|| ServiceError::invalid("parent_id", "no category has that id"))?;
                depth + 1
            }
        };
        let row = sqlx::query_as::<_, CategoryRow>(
            "INSERT INTO categories (id, parent_id, name, slug, depth, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, parent_id, name, slug, depth",
        )
        .bind(new_id("cat"))
        .bind(parent_id)
        .bind(name)
        .bind(slug)
        .bind(depth)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                ServiceError::conflict_on("slug_taken", "slug", "a category with that slug exists")
            } else {
                err.into()
            }
        })?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn create_product(
        &self,
        seller_id: &str,
        product: &NewProduct,
    ) -> ServiceResult<String> {
        let now = now_ms();
        let id = new_id("prd");
        let mut tx = self.db.begin_write().await?;
        ensure_category(&mut tx, &product.category_id).await?;
        sqlx::query(
            "INSERT INTO products (id, seller_id, category_id, title, description, image_urls, currency, listed, \
             created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
        )
        .bind(&id)
        .bind(seller_id)
        .bind(&product.category_id)
        .bind(&product.title)
        .bind(&product.description)
        .bind(to_json(&product.image_urls)?)
        .bind(&product.currency)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (position, variant) in product.variants.iter().enumerate() {
            insert_variant(
                &mut tx,
                &id,
                &product.currency,
                variant,
                position as i64,
                now,
            )
            .await?;
        }
        refresh_product(&mut tx, self.db.backend(), &id).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The product with all its variants, or `None`.
    pub async fn get_product(&self, id: &str) -> ServiceResult<Option<ProductRecord>> {
        let sql: &str = concatcp!(
            "SELECT ",
            PRODUCT_COLUMNS,
            ", c.name AS category_name FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = $1"
        );
        let Some(product) = sqlx::query_as::<_, ProductRow>(sql)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
        else {
            return Ok(None);
        };
        let mut variants = self.variants_of(std::slice::from_ref(&product.id)).await?;
        Ok(Some(ProductRecord {
            variants: variants.remove(&product.id).unwrap_or_default(),
            product,
        }))
    }

    /// Variants of several products at once, grouped by product, in position order.
    async fn variants_of(
        &self,
        product_ids: &[String],
    ) -> ServiceResult<HashMap<String, Vec<VariantRow>>> {
        let mut grouped: HashMap<String, Vec<VariantRow>> = HashMap::new();
        if product_ids.is_empty() {
            return Ok(grouped);
        }
        let placeholders: Vec<String> = (1..=product_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id IN ({}) ORDER BY product_id, position",
            placeholders.join(", ")
        );
        // Built only from numbered placeholders; every value is bound.
        let mut query = sqlx::query_as::<_, VariantRow>(sqlx::AssertSqlSafe(sql));
        for id in product_ids {
            query = query.bind(id);
        }
        for row in query.fetch_all(self.db.pool()).await? {
            grouped.entry(row.product_id.clone()).or_default().push(row);
        }
        Ok(grouped)
    }

    /// Variants by id, with their product's title, seller, listing state and currency; unknown ids are skipped.
    pub async fn variant_details(&self, ids: &[String]) -> ServiceResult<Vec<VariantDetailRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT v.id, v.product_id, v.sku, v.options, v.price_minor, v.stock, v.image_urls, v.listed, \
             p.title, p.seller_id, p.category_id, p.listed AS product_listed, p.currency, p.image_urls AS product_images \
             FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id IN ({})",
            placeholders.join(", ")
        );
        // Built only from numbered placeholders; every value is bound.
        let mut query = sqlx::query_as::<_, VariantDetailRow>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        Ok(query.fetch_all(self.db.pool()).await?)
    }

    /// Products by id as cards: lowest price (over listed variants, else over all), whether a listed variant
    /// has stock, first image, listing state. Unknown ids are left out.
    pub async fn product_cards(&self, ids: &[String]) -> ServiceResult<Vec<ProductCardRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT p.id, p.title, p.seller_id, p.currency, p.listed, p.image_urls, \
             COALESCE(p.min_price, (SELECT MIN(v.price_minor) FROM variants v WHERE v.product_id = p.id), 0) AS min_price, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.listed = 1 AND v.stock > 0) \
             THEN 1 ELSE 0 END AS BIGINT) AS in_stock \
             FROM products p WHERE p.id IN ({})",
            placeholders.join(", ")
        );
        // Built only from numbered placeholders; every value is bound.
        let mut query = sqlx::query_as::<_, ProductCardRow>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        Ok(query.fetch_all(self.db.pool()).await?)
    }

    /// How many listed products a seller has.
    pub async fn count_listed(&self, seller_id: &str) -> ServiceResult<i64> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM products WHERE seller_id = $1 AND listed = 1")
                .bind(seller_id)
                .fetch_one(self.db.pool())
                .await?;
        Ok(count)
    }

    /// One page of products matching `query`, with the cursor of the next page if there is one.
    pub async fn search(
        &self,
        query: &SearchQuery,
    ) -> ServiceResult<(Vec<ProductRecord>, Option<search::Cursor>)> {
        let (sql, args) = search::build(query, self.db.backend(), PRODUCT_COLUMNS);
        // The SQL is assembled from fixed fragments and numbered placeholders; user input is only bound.
        let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
        for arg in args.0 {
            statement = match arg {
                Arg::Text(value) => statement.bind(value),
                Arg::Int(value) => statement.bind(value),
                Arg::Float(value) => statement.bind(value),
            };
        }
        let rows = statement.fetch_all(self.db.pool()).await?;
        let limit = usize::try_from(query.limit).unwrap_or(0);
        let has_more = rows.len() > limit;
        let mut products = Vec::with_capacity(limit.min(rows.len()));
        let mut last_key = 0.0;
        for row in rows.iter().take(limit) {
            products.push(ProductRow::from_row(row)?);
            last_key = row.try_get::<f64, _>("sort_key")?;
        }
        let next = match (has_more, products.last()) {
            (true, Some(last)) => Some(search::Cursor {
                sort: query.sort,
                key: last_key,
                id: last.id.clone(),
            }),
            _ => None,
        };
        let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
        let mut variants = self.variants_of(&ids).await?;
        let records = products
            .into_iter()
            .map(|product| ProductRecord {
                variants: variants.remove(&product.id).unwrap_or_default(),
                product,
            })
            .collect();
        Ok((records, next))
    }

    pub async fn update_product(
        &self,
        seller_id: &str,
        id: &str,
        changes: &ProductChanges,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin_write().await?;
        owned_product_currency(&mut tx, id, seller_id).await?;
        if let Some(category_id) = &changes.category_id {
            ensure_category(&mut tx, category_id).await?;
        }
        let images = changes.image_urls.as_ref().map(to_json).transpose()?;
        sqlx::query(
            "UPDATE products SET category_id = COALESCE($2, category_id), title = COALESCE($3, title), \
             description = COALESCE($4, description), image_urls = COALESCE($5, image_urls) WHERE id = $1",
        )
        .bind(id)
        .bind(changes.category_id.as_deref())
        .bind(changes.title.as_deref())
        .bind(changes.description.as_deref())
        .bind(images)
        .execute(&mut *tx)
        .await?;
        refresh_product(&mut tx, self.db.backend(), id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_listed(&self, seller_id: &str, id: &str, listed: bool) -> ServiceResult<()> {
        let mut tx = self.db.begin_write().await?;
        owned_product_currency(&mut tx, id, seller_id).await?;
        sqlx::query("UPDATE products SET listed = $2 WHERE id = $1")
            .bind(id)
            .bind(flag(listed))
            .execute(&mut *tx)
            .await?;
        refresh_product(&mut tx, self.db.backend(), id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_variant(
        &self,
        seller_id: &str,
        product_id: &str,
        variant: &NewVariant,
    ) -> ServiceResult<()> {
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        let currency = owned_product_currency(&mut tx, product_id, seller_id).await?;
        let (count, next_position): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(MAX(position), -1) + 1 FROM variants WHERE product_id = $1",
        )
        .bind(product_id)
        .fetch_one(&mut *tx)
        .await?;
        if count >= crate::validate::MAX_VARIANTS as i64 {
            return Err(ServiceError::conflict(
                "variant_limit_reached",
                format!(
                    "a product has at most {} variants",
                    crate::validate::MAX_VARIANTS
                ),
            ));
        }
        insert_variant(&mut tx, product_id, &currency, variant, next_position, now).await?;
        refresh_product(&mut tx, self.db.backend(), product_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn update_variant(
        &self,
        seller_id: &str,
        product_id: &str,
        variant_id: &str,
        changes: &VariantChanges,
    ) -> ServiceResult<()> {
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        let currency = owned_product_currency(&mut tx, product_id, seller_id).await?;
        let current: Option<(i64,)> =
            sqlx::query_as("SELECT price_minor FROM variants WHERE id = $1 AND product_id = $2")
                .bind(variant_id)
                .bind(product_id)
                .fetch_optional(&mut *tx)
                .await?;
        let (old_price,) = current.ok_or(ServiceError::not_found("variant"))?;
        let images = changes.image_urls.as_ref().map(to_json).transpose()?;
        sqlx::query(
            "UPDATE variants SET price_minor = COALESCE($3, price_minor), stock = COALESCE($4, stock), \
             listed = COALESCE($5, listed), image_urls = COALESCE($6, image_urls), updated_at_ms = $7 \
             WHERE id = $1 AND product_id = $2",
        )
        .bind(variant_id)
        .bind(product_id)
        .bind(changes.price_minor)
        .bind(changes.stock)
        .bind(changes.listed.map(flag))
        .bind(images)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(price) = changes.price_minor
            && price != old_price
        {
            record_price(&mut tx, product_id, variant_id, price, &currency, now).await?;
        }
        refresh_product(&mut tx, self.db.backend(), product_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn price_history(&self, product_id: &str) -> ServiceResult<Vec<PriceChangeRow>> {
        Ok(sqlx::query_as::<_, PriceChangeRow>(
            "SELECT variant_id, price_minor, currency, changed_at_ms FROM price_history \
             WHERE product_id = $1 ORDER BY changed_at_ms, id",
        )
        .bind(product_id)
        .fetch_all(self.db.pool())
        .await?)
    }
}

async fn ensure_category(tx: &mut Tx, category_id: &str) -> ServiceResult<()> {
    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM categories WHERE id = $1")
        .bind(category_id)
        .fetch_optional(&mut **tx)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| ServiceError::invalid("category_id", "no category has that id"))
}

/// The product's currency, if `seller_id` owns it: 404 when it does not exist, 403 when it is someone else's.
async fn owned_product_currency(
    tx: &mut Tx,
    product_id: &str,
    seller_id: &str,
) -> ServiceResult<String> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT seller_id, currency FROM products WHERE id = $1")
            .bind(product_id)
            .fetch_optional(&mut **tx)
            .await?;
    match row {
        None => Err(ServiceError::not_found("product")),
        Some((owner, _)) if owner != seller_id => Err(ServiceError::forbidden(
            "only the seller who owns this product may change it",
        )),
        Some((_, currency)) => Ok(currency),
    }
}

async fn insert_variant(
    tx: &mut Tx,
    product_id: &str,
    currency: &str,
    variant: &NewVariant,
    position: i64,
    now: i64,
) -> ServiceResult<()> {
    let id = new_id("var");
    sqlx::query(
        "INSERT INTO variants (id, product_id, sku, options, price_minor, stock, image_urls, listed, position, \
         created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $9)",
    )
    .bind(&id)
    .bind(product_id)
    .bind(&variant.sku)
    .bind(to_json(&variant.options)?)
    .bind(variant.price_minor)
    .bind(variant.stock)
    .bind(to_json(&variant.image_urls)?)
    .bind(position)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|err| {
        if is_unique_violation(&err) {
            ServiceError::conflict_on("sku_taken", "sku", format!("this product already has SKU {:?}", variant.sku))
        } else {
            err.into()
        }
    })?;
    record_price(tx, product_id, &id, variant.price_minor, currency, now).await
}

async fn record_price(
    tx: &mut Tx,
    product_id: &str,
    variant_id: &str,
    price_minor: i64,
    currency: &str,
    now: i64,
) -> ServiceResult<()> {
    sqlx::query(
        "INSERT INTO price_history (id, product_id, variant_id, price_minor, currency, changed_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id("prc"))
    .bind(product_id)
    .bind(variant_id)
    .bind(price_minor)
    .bind(currency)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Recomputes the price range over listed variants and rewrites the full-text entry.
async fn refresh_product(tx: &mut Tx, backend: Backend, product_id: &str) -> ServiceResult<()> {
    sqlx::query(
        "UPDATE products SET \
         min_price = (SELECT MIN(price_minor) FROM variants WHERE product_id = $1 AND listed = 1), \
         max_price = (SELECT MAX(price_minor) FROM variants WHERE product_id = $1 AND listed = 1), \
         updated_at_ms = $2 WHERE id = $1",
    )
    .bind(product_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;

    let (title, description, category_id): (String, String, String) =
        sqlx::query_as("SELECT title, description, category_id FROM products WHERE id = $1")
            .bind(product_id)
            .fetch_one(&mut **tx)
            .await?;
    let category = category_path(tx, &category_id).await?.join(" ");
    let option_rows: Vec<(String, String)> =
        sqlx::query_as("SELECT sku, options FROM variants WHERE product_id = $1 AND listed = 1")
            .bind(product_id)
            .fetch_all(&mut **tx)
            .await?;
    let mut options = String::new();
    for (sku, json) in option_rows {
        let pairs: Vec<OptionPair> =
            serde_json::from_str(&json).context("decoding variant options")?;
        options.push_str(&sku);
        for pair in pairs {
            options.push(' ');
            options.push_str(&pair.value);
        }
        options.push(' ');
    }

    match backend {
        Backend::Sqlite => {
            sqlx::query("DELETE FROM product_search WHERE product_id = $1")
                .bind(product_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query(
                "INSERT INTO product_search (product_id, title, description, category, options) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(product_id)
            .bind(&title)
            .bind(&description)
            .bind(&category)
            .bind(&options)
            .execute(&mut **tx)
            .await?;
        }
        Backend::Postgres => {
            sqlx::query(
                "UPDATE products SET search_doc = \
                 setweight(to_tsvector('english', $2), 'A') || setweight(to_tsvector('english', $3), 'B') || \
                 setweight(to_tsvector('english', $4), 'C') WHERE id = $1",
            )
            .bind(product_id)
            .bind(&title)
            .bind(format!("{category} {options}"))
            .bind(&description)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Names from the top-level category down to `category_id`.
async fn category_path(tx: &mut Tx, category_id: &str) -> ServiceResult<Vec<String>> {
    let mut names = Vec::new();
    let mut next = Some(category_id.to_owned());
    while let Some(id) = next.take() {
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT name, parent_id FROM categories WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some((name, parent)) = row {
            names.push(name);
            next = parent;
        }
        if names.len() > 16 {
            break;
        }
    }
    names.reverse();
    Ok(names)
}
