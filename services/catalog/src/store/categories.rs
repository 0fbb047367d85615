//! The category tree.

use tokshop_platform::{
    ServiceError, ServiceResult, error::is_unique_violation, events, ids::new_id, time::now_ms,
};

use super::{CategoryRow, Store, Tx, cached::CATEGORIES_CHANGED};

impl Store {
    /// The whole tree from the database; [`Store::categories`] is the cached read.
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
        events::record(
            &mut tx,
            CATEGORIES_CHANGED,
            &row.id,
            &serde_json::json!({ "category_id": row.id }),
        )
        .await?;
        tx.commit().await?;
        self.forget_categories_now().await;
        Ok(row)
    }
}

pub(super) async fn ensure_category(tx: &mut Tx, category_id: &str) -> ServiceResult<()> {
    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM categories WHERE id = $1")
        .bind(category_id)
        .fetch_optional(&mut **tx)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| ServiceError::invalid("category_id", "no category has that id"))
}

/// Names from the top-level category down to `category_id`.
pub(super) async fn category_path(tx: &mut Tx, category_id: &str) -> ServiceResult<Vec<String>> {
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
