//! A seller's writes: new products, edits, listing and delisting, variants and their prices. Every write
//! refreshes the product's index entry and records `catalog.product_changed` in the same transaction, and once it
//! has committed drops the product from the cache (the event drops it again, durably: see `cached`).

use tokshop_platform::{
    ServiceError, ServiceResult, db::flag, error::is_unique_violation, events, ids::new_id,
    limits::catalog::MAX_VARIANTS, time::now_ms,
};

use super::{
    NewProduct, NewVariant, ProductChanges, Store, Tx, VariantChanges, cached::PRODUCT_CHANGED,
    categories::ensure_category, index::refresh_product, to_json,
};

impl Store {
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
        self.commit_product_change(tx, &id).await?;
        Ok(id)
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
        self.commit_product_change(tx, id).await?;
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
        self.commit_product_change(tx, id).await?;
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
        if count >= MAX_VARIANTS as i64 {
            return Err(ServiceError::conflict(
                "variant_limit_reached",
                format!("a product has at most {MAX_VARIANTS} variants"),
            ));
        }
        insert_variant(&mut tx, product_id, &currency, variant, next_position, now).await?;
        self.commit_product_change(tx, product_id).await?;
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
        self.commit_product_change(tx, product_id).await?;
        Ok(())
    }
}

impl Store {
    /// Refreshes the product's index entry, records that it changed, commits, and drops it from the cache.
    async fn commit_product_change(&self, mut tx: Tx, product_id: &str) -> ServiceResult<()> {
        refresh_product(&mut tx, self.db.backend(), product_id).await?;
        events::record(
            &mut tx,
            PRODUCT_CHANGED,
            product_id,
            &serde_json::json!({ "product_id": product_id }),
        )
        .await?;
        tx.commit().await?;
        self.forget_products_now(&[product_id.to_owned()]).await;
        Ok(())
    }
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
