//! The derived parts of a product: its price range over listed variants and its full-text entry (FTS5 table on
//! SQLite, a weighted tsvector column on PostgreSQL).

use anyhow::Context;
use tokshop_platform::{ServiceResult, db::Backend, time::now_ms};

use super::{OptionPair, Tx, categories::category_path};

/// Recomputes the price range over listed variants and rewrites the full-text entry.
pub(super) async fn refresh_product(
    tx: &mut Tx,
    backend: Backend,
    product_id: &str,
) -> ServiceResult<()> {
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
