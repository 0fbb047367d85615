//! Stored counts: per user (following, followers, posts, likes received, favorites), per product (favorites,
//! comments), per post (likes, comments) and per comment (replies). Each is changed in the transaction that adds
//! or removes the row it counts, and only when a row really was added or removed, so counts stay exact under
//! concurrency and repeats. [`repair`] recomputes them all from the rows.

use sqlx::{Any, Transaction};
use tokshop_platform::ServiceResult;

/// A column of `user_counts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCount {
    Following,
    Followers,
    Posts,
    LikesReceived,
    Favorites,
}

impl UserCount {
    fn column(self) -> &'static str {
        match self {
            Self::Following => "following",
            Self::Followers => "followers",
            Self::Posts => "posts",
            Self::LikesReceived => "likes_received",
            Self::Favorites => "favorites",
        }
    }
}

/// A column of `product_counts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductCount {
    Favorites,
    Comments,
}

impl ProductCount {
    fn column(self) -> &'static str {
        match self {
            Self::Favorites => "favorites",
            Self::Comments => "comments",
        }
    }
}

/// Adds `delta` to one of a user's counts, creating the user's row at zero first if needed.
pub async fn bump_user(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    count: UserCount,
    delta: i64,
) -> ServiceResult<()> {
    let column = count.column();
    // The column comes from a fixed list, never from input.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO user_counts (user_id, {column}) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET {column} = user_counts.{column} + excluded.{column}"
    )))
    .bind(user_id)
    .bind(delta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds `delta` to one of a product's counts, creating its row at zero first if needed.
pub async fn bump_product(
    tx: &mut Transaction<'static, Any>,
    product_id: &str,
    count: ProductCount,
    delta: i64,
) -> ServiceResult<()> {
    let column = count.column();
    // The column comes from a fixed list, never from input.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO product_counts (product_id, {column}) VALUES ($1, $2) \
         ON CONFLICT (product_id) DO UPDATE SET {column} = product_counts.{column} + excluded.{column}"
    )))
    .bind(product_id)
    .bind(delta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
