//! Shipping addresses: at most [`MAX_ADDRESSES`] per user, exactly one of them the default while any exist, each
//! visible only to its owner.

use const_format::concatcp;
use sqlx::{Any, FromRow, Transaction};
use tokshop_platform::{ServiceError, ServiceResult, db::flag, ids::new_id, time::now_ms};

use super::Store;
use tokshop_platform::address::PostalAddress;

/// Most addresses one user may keep.
pub const MAX_ADDRESSES: i64 = 20;

#[derive(Debug, Clone, FromRow)]
pub struct AddressRow {
    pub id: String,
    #[sqlx(flatten)]
    pub fields: PostalAddress,
    pub is_default: i64,
    pub created_at_ms: i64,
}

const ADDRESS_COLUMNS: &str = "id, recipient, phone, line1, line2, city, region, postal_code, country, \
                               is_default, created_at_ms";

impl Store {
    pub async fn list_addresses(&self, user_id: &str) -> ServiceResult<Vec<AddressRow>> {
        let sql: &str = concatcp!(
            "SELECT ",
            ADDRESS_COLUMNS,
            " FROM addresses WHERE user_id = $1 ORDER BY is_default DESC, created_at_ms, id"
        );
        Ok(sqlx::query_as::<_, AddressRow>(sql)
            .bind(user_id)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// The address `id` if it belongs to `user_id`; someone else's address is "not found".
    pub async fn get_address(&self, user_id: &str, id: &str) -> ServiceResult<AddressRow> {
        let sql: &str = concatcp!(
            "SELECT ",
            ADDRESS_COLUMNS,
            " FROM addresses WHERE id = $1 AND user_id = $2"
        );
        sqlx::query_as::<_, AddressRow>(sql)
            .bind(id)
            .bind(user_id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(ServiceError::not_found("address"))
    }

    /// Adds an address; the first one, or one asked for, becomes the default.
    pub async fn add_address(
        &self,
        user_id: &str,
        input: &PostalAddress,
        make_default: bool,
    ) -> ServiceResult<AddressRow> {
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM addresses WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        if count >= MAX_ADDRESSES {
            return Err(ServiceError::conflict(
                "address_limit_reached",
                format!("at most {MAX_ADDRESSES} addresses; delete one first"),
            ));
        }
        let is_default = make_default || count == 0;
        if is_default {
            clear_default(&mut tx, user_id).await?;
        }
        let sql: &str = concatcp!(
            "INSERT INTO addresses (id, user_id, recipient, phone, line1, line2, city, region, postal_code, \
             country, is_default, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING ",
            ADDRESS_COLUMNS
        );
        let row = sqlx::query_as::<_, AddressRow>(sql)
            .bind(new_id("adr"))
            .bind(user_id)
            .bind(&input.recipient)
            .bind(&input.phone)
            .bind(&input.line1)
            .bind(&input.line2)
            .bind(&input.city)
            .bind(&input.region)
            .bind(&input.postal_code)
            .bind(&input.country)
            .bind(flag(is_default))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn update_address(
        &self,
        user_id: &str,
        id: &str,
        input: &PostalAddress,
    ) -> ServiceResult<AddressRow> {
        let sql: &str = concatcp!(
            "UPDATE addresses SET recipient = $3, phone = $4, line1 = $5, line2 = $6, city = $7, region = $8, \
             postal_code = $9, country = $10, updated_at_ms = $11 WHERE id = $1 AND user_id = $2 \
             RETURNING ",
            ADDRESS_COLUMNS
        );
        sqlx::query_as::<_, AddressRow>(sql)
            .bind(id)
            .bind(user_id)
            .bind(&input.recipient)
            .bind(&input.phone)
            .bind(&input.line1)
            .bind(&input.line2)
            .bind(&input.city)
            .bind(&input.region)
            .bind(&input.postal_code)
            .bind(&input.country)
            .bind(now_ms())
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(ServiceError::not_found("address"))
    }

    /// Deletes an address; if it was the default, the oldest remaining one becomes the default.
    pub async fn delete_address(&self, user_id: &str, id: &str) -> ServiceResult<()> {
        let mut tx = self.db.begin_write().await?;
        let deleted: Option<(i64,)> = sqlx::query_as(
            "DELETE FROM addresses WHERE id = $1 AND user_id = $2 RETURNING is_default",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((was_default,)) = deleted else {
            return Err(ServiceError::not_found("address"));
        };
        if was_default == 1 {
            sqlx::query(
                "UPDATE addresses SET is_default = 1 WHERE id = \
                 (SELECT id FROM addresses WHERE user_id = $1 ORDER BY created_at_ms, id LIMIT 1)",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_default_address(&self, user_id: &str, id: &str) -> ServiceResult<AddressRow> {
        let mut tx = self.db.begin_write().await?;
        clear_default(&mut tx, user_id).await?;
        let sql: &str = concatcp!(
            "UPDATE addresses SET is_default = 1, updated_at_ms = $3 WHERE id = $1 AND user_id = $2 \
             RETURNING ",
            ADDRESS_COLUMNS
        );
        let row = sqlx::query_as::<_, AddressRow>(sql)
            .bind(id)
            .bind(user_id)
            .bind(now_ms())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ServiceError::not_found("address"))?;
        tx.commit().await?;
        Ok(row)
    }
}

async fn clear_default(tx: &mut Transaction<'static, Any>, user_id: &str) -> ServiceResult<()> {
    sqlx::query("UPDATE addresses SET is_default = 0 WHERE user_id = $1 AND is_default = 1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
