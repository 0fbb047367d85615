//! Every SQL statement of likes, favorites and comments. Each write changes its counts in the same transaction,
//! and only by the rows it really added or removed.

use serde_json::json;
use sqlx::FromRow;
use tokshop_platform::{
    ServiceError, ServiceResult, db::Db, error::is_unique_violation, events, ids::new_id,
    non_empty, page::Cursor, time::now_ms,
};

use crate::counts::{self, ProductCount, UserCount};

#[derive(Debug, Clone, FromRow)]
pub struct FavoriteRow {
    pub product_id: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct CommentRow {
    pub id: String,
    pub product_id: String,
    pub post_id: String,
    pub parent_id: String,
    pub author_id: String,
    pub text: String,
    pub reply_count: i64,
    pub created_at_ms: i64,
}

const COMMENT_COLUMNS: &str =
    "id, product_id, post_id, parent_id, author_id, text, reply_count, created_at_ms";

/// What a comment is on: a product or a post, and for a reply, its top-level comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub product_id: String,
    pub post_id: String,
    pub parent_id: String,
}

/// Which comments a list shows.
#[derive(Debug, Clone)]
pub enum Thread {
    Product(String),
    Post(String),
    Replies(String),
}

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Likes (or unlikes) a post. Returns whether a row changed and the post's like count after; `post not found`
    /// when there is no such post.
    pub async fn set_like(
        &self,
        post_id: &str,
        user_id: &str,
        like: bool,
    ) -> ServiceResult<(bool, i64)> {
        let mut tx = self.db.begin_write().await?;
        let author: Option<(String,)> = sqlx::query_as("SELECT author_id FROM posts WHERE id = $1")
            .bind(post_id)
            .fetch_optional(&mut *tx)
            .await?;
        let (author,) = author.ok_or(ServiceError::not_found("post"))?;
        let changed = counts::POST_LIKES
            .set(&mut tx, post_id, user_id, like)
            .await?;
        if changed {
            let delta: i64 = if like { 1 } else { -1 };
            sqlx::query("UPDATE posts SET like_count = like_count + $2 WHERE id = $1")
                .bind(post_id)
                .bind(delta)
                .execute(&mut *tx)
                .await?;
            counts::bump_user(&mut tx, &author, UserCount::LikesReceived, delta).await?;
            let topic = if like {
                "social.post_liked"
            } else {
                "social.post_unliked"
            };
            events::record(
                &mut tx,
                topic,
                post_id,
                &json!({ "post_id": post_id, "user_id": user_id, "author_id": author }),
            )
            .await?;
        }
        let (count,): (i64,) = sqlx::query_as("SELECT like_count FROM posts WHERE id = $1")
            .bind(post_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((changed, count))
    }

    /// Favorites (or unfavorites) a product. Returns whether a row changed and the product's favorite count after.
    pub async fn set_favorite(
        &self,
        product_id: &str,
        user_id: &str,
        favorite: bool,
    ) -> ServiceResult<(bool, i64)> {
        let mut tx = self.db.begin_write().await?;
        let changed = counts::FAVORITES
            .set(&mut tx, user_id, product_id, favorite)
            .await?;
        if changed {
            let delta: i64 = if favorite { 1 } else { -1 };
            counts::bump_product(&mut tx, product_id, ProductCount::Favorites, delta).await?;
            counts::bump_user(&mut tx, user_id, UserCount::Favorites, delta).await?;
            let topic = if favorite {
                "social.product_favorited"
            } else {
                "social.product_unfavorited"
            };
            events::record(
                &mut tx,
                topic,
                product_id,
                &json!({ "product_id": product_id, "user_id": user_id }),
            )
            .await?;
        }
        let count: Option<(i64,)> =
            sqlx::query_as("SELECT favorites FROM product_counts WHERE product_id = $1")
                .bind(product_id)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok((changed, count.map_or(0, |(n,)| n)))
    }

    /// One page (`limit + 1` rows) of a user's favorites, newest first.
    pub async fn favorites(
        &self,
        user_id: &str,
        after: &Cursor,
        limit: i64,
    ) -> ServiceResult<Vec<FavoriteRow>> {
        Ok(sqlx::query_as::<_, FavoriteRow>(
            "SELECT product_id, created_at_ms FROM favorites WHERE user_id = $1 \
             AND (created_at_ms < $2 OR (created_at_ms = $2 AND product_id < $3)) \
             ORDER BY created_at_ms DESC, product_id DESC LIMIT $4",
        )
        .bind(user_id)
        .bind(after.at_ms)
        .bind(&after.id)
        .bind(limit + 1)
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Whether a post exists.
    pub async fn post_exists(&self, post_id: &str) -> ServiceResult<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM posts WHERE id = $1")
            .bind(post_id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.is_some())
    }

    pub async fn comment(&self, id: &str) -> ServiceResult<Option<CommentRow>> {
        let sql = format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE id = $1");
        // Constant column list and one placeholder.
        Ok(sqlx::query_as::<_, CommentRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?)
    }

    async fn comment_by_request(
        &self,
        author_id: &str,
        request_id: &str,
    ) -> ServiceResult<Option<CommentRow>> {
        let sql = format!(
            "SELECT {COMMENT_COLUMNS} FROM comments WHERE author_id = $1 AND request_id = $2"
        );
        // Constant column list and placeholders.
        Ok(sqlx::query_as::<_, CommentRow>(sqlx::AssertSqlSafe(sql))
            .bind(author_id)
            .bind(request_id)
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// Adds a comment, or with a `request_id` seen before from this author, returns the first one. The parent
    /// comment (for a reply) or the post must still exist when the row is written; the product was checked by
    /// the caller.
    pub async fn add_comment(
        &self,
        target: &Target,
        author_id: &str,
        text: &str,
        request_id: &str,
    ) -> ServiceResult<CommentRow> {
        if !request_id.is_empty()
            && let Some(first) = self.comment_by_request(author_id, request_id).await?
        {
            return Ok(first);
        }
        let row = CommentRow {
            id: new_id("cmt"),
            product_id: target.product_id.clone(),
            post_id: target.post_id.clone(),
            parent_id: target.parent_id.clone(),
            author_id: author_id.to_owned(),
            text: text.to_owned(),
            reply_count: 0,
            created_at_ms: now_ms(),
        };
        let mut tx = self.db.begin_write().await?;
        // Counting first locks the parent (or post) row, so a concurrent delete cannot leave an orphan behind.
        if !row.parent_id.is_empty() {
            let updated = sqlx::query(
                "UPDATE comments SET reply_count = reply_count + 1 WHERE id = $1 AND parent_id = ''",
            )
            .bind(&row.parent_id)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                return Err(ServiceError::not_found("comment"));
            }
        }
        if !row.post_id.is_empty() {
            let updated =
                sqlx::query("UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1")
                    .bind(&row.post_id)
                    .execute(&mut *tx)
                    .await?;
            if updated.rows_affected() == 0 {
                return Err(ServiceError::not_found("post"));
            }
        } else {
            counts::bump_product(&mut tx, &row.product_id, ProductCount::Comments, 1).await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO comments (id, product_id, post_id, parent_id, author_id, text, reply_count, request_id, \
             created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
        )
        .bind(&row.id)
        .bind(&row.product_id)
        .bind(&row.post_id)
        .bind(&row.parent_id)
        .bind(&row.author_id)
        .bind(&row.text)
        .bind(non_empty(request_id))
        .bind(row.created_at_ms)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // A concurrent retry with the same request id won: answer with its comment.
            Err(err) if is_unique_violation(&err) => {
                tx.rollback().await?;
                return self
                    .comment_by_request(author_id, request_id)
                    .await?
                    .ok_or(ServiceError::not_found("comment"));
            }
            Err(err) => return Err(err.into()),
        }
        events::record(
            &mut tx,
            "social.comment_added",
            &row.id,
            &json!({
                "comment_id": row.id,
                "author_id": row.author_id,
                "product_id": row.product_id,
                "post_id": row.post_id,
                "parent_id": row.parent_id,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes a comment and its replies; returns how many rows went. Counts move by exactly that.
    pub async fn delete_comment(&self, comment: &CommentRow, by: &str) -> ServiceResult<i64> {
        let mut tx = self.db.begin_write().await?;
        // The comment first: that waits for any reply being added to it, so the replies below include it.
        let own = sqlx::query("DELETE FROM comments WHERE id = $1")
            .bind(&comment.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let own = i64::try_from(own).unwrap_or(0);
        if own == 0 {
            // Someone else deleted it meanwhile; its replies went with it.
            return Ok(0);
        }
        let replies = sqlx::query("DELETE FROM comments WHERE parent_id = $1")
            .bind(&comment.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let deleted = own + i64::try_from(replies).unwrap_or(0);
        if !comment.parent_id.is_empty() {
            sqlx::query("UPDATE comments SET reply_count = reply_count - 1 WHERE id = $1")
                .bind(&comment.parent_id)
                .execute(&mut *tx)
                .await?;
        }
        if !comment.post_id.is_empty() {
            sqlx::query("UPDATE posts SET comment_count = comment_count - $2 WHERE id = $1")
                .bind(&comment.post_id)
                .bind(deleted)
                .execute(&mut *tx)
                .await?;
        } else {
            counts::bump_product(
                &mut tx,
                &comment.product_id,
                ProductCount::Comments,
                -deleted,
            )
            .await?;
        }
        events::record(
            &mut tx,
            "social.comment_deleted",
            &comment.id,
            &json!({ "comment_id": comment.id, "deleted_by": by, "deleted": deleted }),
        )
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// One page (`limit + 1` rows) of a thread, newest first.
    pub async fn comments(
        &self,
        thread: &Thread,
        after: &Cursor,
        limit: i64,
    ) -> ServiceResult<Vec<CommentRow>> {
        let (filter, key) = match thread {
            Thread::Product(id) => ("product_id = $1 AND parent_id = ''", id),
            Thread::Post(id) => ("post_id = $1 AND parent_id = ''", id),
            Thread::Replies(id) => ("parent_id = $1", id),
        };
        let sql = format!(
            "SELECT {COMMENT_COLUMNS} FROM comments WHERE {filter} \
             AND (created_at_ms < $2 OR (created_at_ms = $2 AND id < $3)) \
             ORDER BY created_at_ms DESC, id DESC LIMIT $4"
        );
        // Constant text and numbered placeholders only.
        Ok(sqlx::query_as::<_, CommentRow>(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .bind(after.at_ms)
            .bind(&after.id)
            .bind(limit + 1)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// Comments on a product or post, replies included; or the replies of a comment.
    pub async fn comment_total(&self, thread: &Thread) -> ServiceResult<i64> {
        let (sql, key) = match thread {
            Thread::Product(id) => ("SELECT COUNT(*) FROM comments WHERE product_id = $1", id),
            Thread::Post(id) => ("SELECT COUNT(*) FROM comments WHERE post_id = $1", id),
            Thread::Replies(id) => ("SELECT COUNT(*) FROM comments WHERE parent_id = $1", id),
        };
        let (n,): (i64,) = sqlx::query_as(sql)
            .bind(key)
            .fetch_one(self.db.pool())
            .await?;
        Ok(n)
    }
}
