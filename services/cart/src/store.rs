//! Every SQL statement of the cart service.

use sqlx::FromRow;
use tokshop_platform::{ServiceError, ServiceResult, db::Db, time::now_ms};

pub use tokshop_platform::limits::cart::MAX_QUANTITY;

/// Most lines in a cart, as the count query returns it.
pub const MAX_LINES: i64 = tokshop_platform::limits::cart::MAX_LINES as i64;

#[derive(Debug, Clone, FromRow)]
pub struct LineRow {
    pub variant_id: String,
    pub quantity: i64,
    pub added_at_ms: i64,
}

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

fn too_many(total: i64) -> ServiceError {
    ServiceError::invalid(
        "quantity",
        format!("a line holds at most {MAX_QUANTITY} units; this would make {total}"),
    )
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn lines(&self, user_id: &str) -> ServiceResult<Vec<LineRow>> {
        Ok(sqlx::query_as::<_, LineRow>(
            "SELECT variant_id, quantity, added_at_ms FROM cart_lines WHERE user_id = $1 \
             ORDER BY added_at_ms, variant_id",
        )
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Adds `quantity` units, growing an existing line; refuses past [`MAX_QUANTITY`] or [`MAX_LINES`].
    pub async fn add(&self, user_id: &str, variant_id: &str, quantity: i64) -> ServiceResult<()> {
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        let existing: Option<(i64,)> = sqlx::query_as(
            "SELECT quantity FROM cart_lines WHERE user_id = $1 AND variant_id = $2",
        )
        .bind(user_id)
        .bind(variant_id)
        .fetch_optional(&mut *tx)
        .await?;
        match existing {
            Some((current,)) => {
                let total = current + quantity;
                if total > MAX_QUANTITY {
                    return Err(too_many(total));
                }
                sqlx::query(
                    "UPDATE cart_lines SET quantity = $3, updated_at_ms = $4 WHERE user_id = $1 AND variant_id = $2",
                )
                .bind(user_id)
                .bind(variant_id)
                .bind(total)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                let (lines,): (i64,) =
                    sqlx::query_as("SELECT COUNT(*) FROM cart_lines WHERE user_id = $1")
                        .bind(user_id)
                        .fetch_one(&mut *tx)
                        .await?;
                if lines >= MAX_LINES {
                    return Err(ServiceError::conflict(
                        "cart_full",
                        format!("a cart holds at most {MAX_LINES} lines; remove one first"),
                    ));
                }
                sqlx::query(
                    "INSERT INTO cart_lines (user_id, variant_id, quantity, added_at_ms, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(user_id)
                .bind(variant_id)
                .bind(quantity)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets a line's quantity; the line must exist.
    pub async fn set_quantity(
        &self,
        user_id: &str,
        variant_id: &str,
        quantity: i64,
    ) -> ServiceResult<()> {
        let updated = sqlx::query(
            "UPDATE cart_lines SET quantity = $3, updated_at_ms = $4 WHERE user_id = $1 AND variant_id = $2",
        )
        .bind(user_id)
        .bind(variant_id)
        .bind(quantity)
        .bind(now_ms())
        .execute(self.db.pool())
        .await?;
        if updated.rows_affected() == 0 {
            return Err(ServiceError::not_found("cart line"));
        }
        Ok(())
    }

    pub async fn remove(&self, user_id: &str, variant_id: &str) -> ServiceResult<()> {
        let deleted = sqlx::query("DELETE FROM cart_lines WHERE user_id = $1 AND variant_id = $2")
            .bind(user_id)
            .bind(variant_id)
            .execute(self.db.pool())
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(ServiceError::not_found("cart line"));
        }
        Ok(())
    }

    pub async fn clear(&self, user_id: &str) -> ServiceResult<()> {
        sqlx::query("DELETE FROM cart_lines WHERE user_id = $1")
            .bind(user_id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

/// Checks a requested quantity: 1..=99.
pub fn check_quantity(quantity: i64) -> ServiceResult<()> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "quantity",
            format!("quantity must be 1 to {MAX_QUANTITY}"),
        ))
    }
}

#[cfg(test)]
mod tests;
