//! Every SQL statement of the identity service: accounts, profiles, seller onboarding and refresh tokens here,
//! shipping addresses in `addresses`.

use const_format::concatcp;
use sqlx::{Any, FromRow, Transaction};
use tokshop_platform::{
    ServiceError, ServiceResult,
    db::{Db, flag},
    error::is_unique_violation,
    ids::new_id,
    page::placeholders,
    time::now_ms,
};

mod addresses;
#[cfg(test)]
mod tests;

pub use addresses::AddressRow;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    pub avatar_url: String,
    pub bio: String,
    pub is_seller: i64,
    pub is_admin: i64,
    pub shop_name: Option<String>,
    pub created_at_ms: i64,
}

const USER_COLUMNS: &str = "id, username, email, password_hash, display_name, avatar_url, bio, \
                            is_seller, is_admin, shop_name, created_at_ms";

pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub is_admin: bool,
}

#[derive(Debug, FromRow)]
struct RefreshTokenRow {
    session_id: String,
    user_id: String,
    expires_at_ms: i64,
    used_at_ms: Option<i64>,
    revoked_at_ms: Option<i64>,
}

/// What became of a presented refresh token.
pub enum Rotation {
    /// The token was live; it is now spent and `user_id`'s session continues.
    Rotated { user_id: String },
    /// Unknown, expired or revoked.
    Invalid,
    /// Already spent once: someone replayed it, so the whole session was revoked.
    Reused,
}

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

/// Turns a unique-key violation on `users` into a 409 naming the field that clashed.
fn user_conflict(err: sqlx::Error) -> ServiceError {
    if !is_unique_violation(&err) {
        return err.into();
    }
    let message = err
        .as_database_error()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    if message.contains("email_key") {
        ServiceError::conflict_on("email_taken", "email", "an account with that email exists")
    } else if message.contains("shop_key") {
        ServiceError::conflict_on("shop_name_taken", "shop_name", "that shop name is taken")
    } else {
        ServiceError::conflict_on("username_taken", "username", "that username is taken")
    }
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn create_user(&self, user: NewUser<'_>) -> ServiceResult<UserRow> {
        let now = now_ms();
        let sql: &str = concatcp!(
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash, display_name, \
             is_admin, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING ",
            USER_COLUMNS
        );
        sqlx::query_as::<_, UserRow>(sql)
            .bind(new_id("usr"))
            .bind(user.username)
            .bind(user.username.to_ascii_lowercase())
            .bind(user.email)
            .bind(user.email.to_ascii_lowercase())
            .bind(user.password_hash)
            .bind(user.display_name)
            .bind(flag(user.is_admin))
            .bind(now)
            .fetch_one(self.db.pool())
            .await
            .map_err(user_conflict)
    }

    /// The user whose username or email is `login` (either, case-insensitively).
    pub async fn find_by_login(&self, login: &str) -> ServiceResult<Option<UserRow>> {
        let sql: &str = concatcp!(
            "SELECT ",
            USER_COLUMNS,
            " FROM users WHERE username_key = $1 OR email_key = $1"
        );
        Ok(sqlx::query_as::<_, UserRow>(sql)
            .bind(login.to_ascii_lowercase())
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// The user with this username, case-insensitively; never matched by email.
    pub async fn find_by_username(&self, username: &str) -> ServiceResult<UserRow> {
        let sql: &str = concatcp!(
            "SELECT ",
            USER_COLUMNS,
            " FROM users WHERE username_key = $1"
        );
        sqlx::query_as::<_, UserRow>(sql)
            .bind(username.to_ascii_lowercase())
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(ServiceError::not_found("user"))
    }

    pub async fn get_user(&self, id: &str) -> ServiceResult<UserRow> {
        let sql: &str = concatcp!("SELECT ", USER_COLUMNS, " FROM users WHERE id = $1");
        sqlx::query_as::<_, UserRow>(sql)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(ServiceError::not_found("user"))
    }

    /// Users by id, at most 100; unknown ids are left out.
    pub async fn get_users(&self, ids: &[String]) -> ServiceResult<Vec<UserRow>> {
        if ids.len() > 100 {
            return Err(ServiceError::invalid(
                "user_ids",
                "at most 100 ids at a time",
            ));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        // Built only from numbered placeholders; every value is bound.
        let mut query = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        Ok(query.fetch_all(self.db.pool()).await?)
    }

    pub async fn update_profile(
        &self,
        id: &str,
        display_name: Option<&str>,
        avatar_url: Option<&str>,
        bio: Option<&str>,
    ) -> ServiceResult<UserRow> {
        let sql: &str = concatcp!(
            "UPDATE users SET display_name = COALESCE($2, display_name), avatar_url = COALESCE($3, avatar_url), \
             bio = COALESCE($4, bio), updated_at_ms = $5 WHERE id = $1 RETURNING ",
            USER_COLUMNS
        );
        sqlx::query_as::<_, UserRow>(sql)
            .bind(id)
            .bind(display_name)
            .bind(avatar_url)
            .bind(bio)
            .bind(now_ms())
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(ServiceError::not_found("user"))
    }

    /// Grants the seller role with `shop_name` (or renames the shop of an existing seller).
    pub async fn make_seller(&self, id: &str, shop_name: &str) -> ServiceResult<UserRow> {
        let sql: &str = concatcp!(
            "UPDATE users SET is_seller = 1, shop_name = $2, shop_key = $3, updated_at_ms = $4 \
             WHERE id = $1 RETURNING ",
            USER_COLUMNS
        );
        sqlx::query_as::<_, UserRow>(sql)
            .bind(id)
            .bind(shop_name)
            .bind(shop_name.to_lowercase())
            .bind(now_ms())
            .fetch_optional(self.db.pool())
            .await
            .map_err(user_conflict)?
            .ok_or(ServiceError::not_found("user"))
    }

    pub async fn insert_refresh_token(
        &self,
        token_hash: &str,
        session_id: &str,
        user_id: &str,
        expires_at_ms: i64,
    ) -> ServiceResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, user_id, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(session_id)
        .bind(user_id)
        .bind(now_ms())
        .bind(expires_at_ms)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Spends the refresh token `old_hash` and records `new_hash` in the same session, atomically. Two racing
    /// callers with the same token cannot both succeed: the spend is a conditional update.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at_ms: i64,
    ) -> ServiceResult<Rotation> {
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query_as::<_, RefreshTokenRow>(
            "SELECT session_id, user_id, expires_at_ms, used_at_ms, revoked_at_ms \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(RefreshTokenRow {
            session_id,
            user_id,
            expires_at_ms,
            used_at_ms,
            revoked_at_ms,
        }) = row
        else {
            return Ok(Rotation::Invalid);
        };
        if revoked_at_ms.is_some() || expires_at_ms <= now {
            return Ok(Rotation::Invalid);
        }
        let spent = if used_at_ms.is_some() {
            0
        } else {
            sqlx::query(
                "UPDATE refresh_tokens SET used_at_ms = $2 WHERE token_hash = $1 AND used_at_ms IS NULL \
                 AND revoked_at_ms IS NULL",
            )
            .bind(old_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if spent != 1 {
            revoke_session(&mut tx, &session_id, now).await?;
            tx.commit().await?;
            return Ok(Rotation::Reused);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, user_id, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new_hash)
        .bind(&session_id)
        .bind(&user_id)
        .bind(now)
        .bind(new_expires_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Rotation::Rotated { user_id })
    }

    /// Revokes the session the refresh token belongs to. Unknown tokens are ignored: logout is idempotent.
    pub async fn revoke_session_of(&self, token_hash: &str) -> ServiceResult<()> {
        let mut tx = self.db.begin_write().await?;
        let session: Option<(String,)> =
            sqlx::query_as("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((session_id,)) = session {
            revoke_session(&mut tx, &session_id, now_ms()).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn revoke_session(
    tx: &mut Transaction<'static, Any>,
    session_id: &str,
    now: i64,
) -> ServiceResult<()> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at_ms = $2 WHERE session_id = $1 AND revoked_at_ms IS NULL")
        .bind(session_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
