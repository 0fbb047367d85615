//! Reading products from the database: one or several with their variants, the product of each variant, a
//! seller's count, and search. Cards and variant details are shaped from products in `cached`.

use std::collections::HashMap;

use sqlx::{FromRow, Row};
use tokshop_platform::{ServiceResult, page::placeholders};

use super::{
    PRODUCT_COLUMNS, PriceChangeRow, ProductRecord, ProductRow, Store, VARIANT_COLUMNS, VariantRow,
};
use crate::search::{self, SearchQuery};

impl Store {
    /// The product with all its variants, or `None`.
    pub async fn get_product(&self, id: &str) -> ServiceResult<Option<ProductRecord>> {
        Ok(self.load_products(&[id.to_owned()]).await?.pop())
    }

    /// Each product with its variants, in the order given.
    async fn with_variants(&self, products: Vec<ProductRow>) -> ServiceResult<Vec<ProductRecord>> {
        let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
        let mut variants = self.variants_of(&ids).await?;
        Ok(products
            .into_iter()
            .map(|product| ProductRecord {
                variants: variants.remove(&product.id).unwrap_or_default(),
                product,
            })
            .collect())
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
        let sql = format!(
            "SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id IN ({}) ORDER BY product_id, position",
            placeholders(1, product_ids.len())
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

    /// Products by id with their variants; unknown ids are left out. The loader behind [`Store::products`].
    pub(super) async fn load_products(&self, ids: &[String]) -> ServiceResult<Vec<ProductRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS}, c.name AS category_name FROM products p \
             JOIN categories c ON c.id = p.category_id WHERE p.id IN ({})",
            placeholders(1, ids.len())
        );
        // Built only from numbered placeholders; every value is bound.
        let mut query = sqlx::query_as::<_, ProductRow>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        let products = query.fetch_all(self.db.pool()).await?;
        self.with_variants(products).await
    }

    /// The product each variant id belongs to; unknown ids are left out. A variant never moves, so this is
    /// cached without invalidation.
    pub(super) async fn load_variant_products(
        &self,
        ids: &[String],
    ) -> ServiceResult<Vec<(String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, product_id FROM variants WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        // Built only from numbered placeholders; every value is bound.
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
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
        let rows = args.bind(sql).fetch_all(self.db.pool()).await?;
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
        Ok((self.with_variants(products).await?, next))
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
