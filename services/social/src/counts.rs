//! Stored counts: per user (following, followers, posts, likes received, favorites), per product (favorites,
//! comments), per post (likes, comments) and per comment (replies). Each is changed in the transaction that adds
//! or removes the row it counts, and only when a row really was added or removed, so counts stay exact under
//! concurrency and repeats. [`repair`] recomputes them all from the rows.

use sqlx::{Any, Transaction};
use tokshop_platform::{ServiceResult, db::Db, time::now_ms};
use tokshop_proto::social as pb;

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

/// A relation kept as one row per pair (a follow, a like, a favorite), whose rows the counts above count.
#[derive(Debug, Clone, Copy)]
pub struct PairTable {
    table: &'static str,
    left: &'static str,
    right: &'static str,
}

pub const FOLLOWS: PairTable = PairTable {
    table: "follows",
    left: "follower_id",
    right: "followee_id",
};
pub const POST_LIKES: PairTable = PairTable {
    table: "post_likes",
    left: "post_id",
    right: "user_id",
};
pub const FAVORITES: PairTable = PairTable {
    table: "favorites",
    left: "user_id",
    right: "product_id",
};

impl PairTable {
    /// Adds (`present`) or removes the row for (`left`, `right`); true only when a row really was added or
    /// removed, so a repeat changes nothing and the caller bumps counts only for a real change.
    pub async fn set(
        self,
        tx: &mut Transaction<'static, Any>,
        left: &str,
        right: &str,
        present: bool,
    ) -> ServiceResult<bool> {
        let Self {
            table,
            left: l,
            right: r,
        } = self;
        // Table and column names come from the constants above, never from input.
        let query = if present {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} ({l}, {r}, created_at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT ({l}, {r}) DO NOTHING"
            )))
            .bind(left)
            .bind(right)
            .bind(now_ms())
        } else {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE {l} = $1 AND {r} = $2"
            )))
            .bind(left)
            .bind(right)
        };
        let done = query.execute(&mut **tx).await?;
        Ok(done.rows_affected() == 1)
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

/// Recomputes every stored count from the rows it counts, in one transaction, and reports how many rows of each
/// kind were wrong (and are now corrected).
pub async fn repair(db: &Db) -> ServiceResult<pb::RepairCountsResponse> {
    let mut tx = db.begin_write().await?;
    // Every user and product something is counted for gets a row, so a missing row is repaired too.
    for sql in [
        "INSERT INTO user_counts (user_id) SELECT id FROM (\
         SELECT follower_id AS id FROM follows UNION SELECT followee_id FROM follows \
         UNION SELECT author_id FROM posts UNION SELECT user_id FROM favorites) AS ids \
         WHERE true ON CONFLICT (user_id) DO NOTHING",
        "INSERT INTO product_counts (product_id) SELECT id FROM (\
         SELECT product_id AS id FROM favorites UNION SELECT product_id FROM comments WHERE product_id <> '') AS ids \
         WHERE true ON CONFLICT (product_id) DO NOTHING",
    ] {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    let users = format!(
        "UPDATE user_counts SET following = {following}, followers = {followers}, posts = {posts}, \
         likes_received = {likes}, favorites = {favorites} \
         WHERE following <> {following} OR followers <> {followers} OR posts <> {posts} \
         OR likes_received <> {likes} OR favorites <> {favorites}",
        following = "(SELECT COUNT(*) FROM follows f WHERE f.follower_id = user_counts.user_id)",
        followers = "(SELECT COUNT(*) FROM follows f WHERE f.followee_id = user_counts.user_id)",
        posts = "(SELECT COUNT(*) FROM posts p WHERE p.author_id = user_counts.user_id)",
        likes = "(SELECT COUNT(*) FROM post_likes l JOIN posts p ON p.id = l.post_id \
                 WHERE p.author_id = user_counts.user_id)",
        favorites = "(SELECT COUNT(*) FROM favorites v WHERE v.user_id = user_counts.user_id)",
    );
    let posts = format!(
        "UPDATE posts SET like_count = {likes}, comment_count = {comments} \
         WHERE like_count <> {likes} OR comment_count <> {comments}",
        likes = "(SELECT COUNT(*) FROM post_likes l WHERE l.post_id = posts.id)",
        comments = "(SELECT COUNT(*) FROM comments c WHERE c.post_id = posts.id)",
    );
    let products = format!(
        "UPDATE product_counts SET favorites = {favorites}, comments = {comments} \
         WHERE favorites <> {favorites} OR comments <> {comments}",
        favorites =
            "(SELECT COUNT(*) FROM favorites v WHERE v.product_id = product_counts.product_id)",
        comments =
            "(SELECT COUNT(*) FROM comments c WHERE c.product_id = product_counts.product_id)",
    );
    let comments = format!(
        "UPDATE comments SET reply_count = {replies} WHERE reply_count <> {replies}",
        replies = "(SELECT COUNT(*) FROM comments r WHERE r.parent_id = comments.id)",
    );
    let mut fixed = [0_i64; 4];
    for (slot, sql) in fixed.iter_mut().zip([users, posts, products, comments]) {
        // Built from constant text only.
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
        *slot = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
    }
    tx.commit().await?;
    let [users_fixed, posts_fixed, products_fixed, comments_fixed] = fixed;
    Ok(pb::RepairCountsResponse {
        users_fixed,
        posts_fixed,
        products_fixed,
        comments_fixed,
    })
}
