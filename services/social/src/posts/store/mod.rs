//! Posts: publishing, deleting with the post's likes and comments, keyset pages of feeds and who liked what. With
//! `media` (the media rows each user uploaded, within their quota, and forgetting media no post carries) the only
//! place the posts area speaks SQL.

mod media;

use std::collections::HashSet;

use serde_json::json;
use tokshop_platform::{
    ServiceError, ServiceResult,
    db::Db,
    error::is_unique_violation,
    events,
    ids::new_id,
    page::{Cursor, placeholders},
    time::now_ms,
};

pub use self::media::{MediaRow, Quota, Recorded};
use crate::counts::{UserCount, bump_user};

const POST_COLUMNS: &str = "p.id, p.author_id, p.text, p.media_ids, p.product_ids, p.notices, p.like_count, \
                            p.comment_count, p.created_at_ms";

/// A stored post; media and product ids in the author's order.
#[derive(Debug, Clone)]
pub struct PostRow {
    pub id: String,
    pub author_id: String,
    pub text: String,
    pub media_ids: Vec<String>,
    pub product_ids: Vec<String>,
    pub notices: Vec<String>,
    pub like_count: i64,
    pub comment_count: i64,
    pub created_at_ms: i64,
}

type RawPost = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
);

fn json_list(raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_default()
}

impl From<RawPost> for PostRow {
    fn from(r: RawPost) -> Self {
        Self {
            id: r.0,
            author_id: r.1,
            text: r.2,
            media_ids: json_list(&r.3),
            product_ids: json_list(&r.4),
            notices: json_list(&r.5),
            like_count: r.6,
            comment_count: r.7,
            created_at_ms: r.8,
        }
    }
}

/// What a new post holds once checked.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub text: String,
    pub media_ids: Vec<String>,
    pub product_ids: Vec<String>,
    pub notices: Vec<String>,
    pub request_id: Option<String>,
}

/// Which posts a feed page reads.
#[derive(Debug, Clone, Copy)]
pub enum Feed<'a> {
    Everyone,
    Author(&'a str),
    FollowedBy(&'a str),
}

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn post(&self, id: &str) -> ServiceResult<Option<PostRow>> {
        let row = sqlx::query_as::<_, RawPost>(sqlx::AssertSqlSafe(format!(
            "SELECT {POST_COLUMNS} FROM posts p WHERE p.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(PostRow::from))
    }

    async fn post_by_request(
        &self,
        author_id: &str,
        request_id: &str,
    ) -> ServiceResult<Option<PostRow>> {
        let row = sqlx::query_as::<_, RawPost>(sqlx::AssertSqlSafe(format!(
            "SELECT {POST_COLUMNS} FROM posts p WHERE p.author_id = $1 AND p.request_id = $2"
        )))
        .bind(author_id)
        .bind(request_id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(PostRow::from))
    }

    /// Publishes a post and counts it for its author; a repeated `request_id` returns the first post instead.
    pub async fn publish(&self, author_id: &str, post: NewPost) -> ServiceResult<PostRow> {
        if let Some(request_id) = &post.request_id
            && let Some(first) = self.post_by_request(author_id, request_id).await?
        {
            return Ok(first);
        }
        let row = PostRow {
            id: new_id("pst"),
            author_id: author_id.to_owned(),
            text: post.text,
            media_ids: post.media_ids,
            product_ids: post.product_ids,
            notices: post.notices,
            like_count: 0,
            comment_count: 0,
            created_at_ms: now_ms(),
        };
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO posts (id, author_id, text, media_ids, product_ids, notices, request_id, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&row.id)
        .bind(author_id)
        .bind(&row.text)
        .bind(json!(row.media_ids).to_string())
        .bind(json!(row.product_ids).to_string())
        .bind(json!(row.notices).to_string())
        .bind(post.request_id.as_deref())
        .bind(row.created_at_ms)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => {
                drop(tx);
                let request_id = post.request_id.unwrap_or_default();
                return self
                    .post_by_request(author_id, &request_id)
                    .await?
                    .ok_or_else(|| ServiceError::from(err));
            }
            Err(err) => return Err(err.into()),
        }
        // Each media row is held for the post in this transaction; a row the sweep deleted after the checks
        // refuses the post instead of leaving it pointing at nothing.
        for media_id in in_lock_order(&row.media_ids) {
            let held = sqlx::query("UPDATE media SET post_refs = post_refs + 1 WHERE id = $1")
                .bind(media_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if held == 0 {
                return Err(ServiceError::invalid(
                    "media_ids",
                    format!(
                        "{media_id} is no longer stored (media no post carries is deleted after a while); \
                         upload it again"
                    ),
                ));
            }
        }
        bump_user(&mut tx, author_id, UserCount::Posts, 1).await?;
        events::record(
            &mut tx,
            "social.post_published",
            &row.id,
            &json!({
                "post_id": row.id,
                "author_id": author_id,
                "media_ids": row.media_ids,
                "product_ids": row.product_ids,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes a post with its likes and comments, and takes them off the author's counts. False when it was
    /// already gone.
    pub async fn delete(&self, post: &PostRow) -> ServiceResult<bool> {
        let mut tx = self.db.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM posts WHERE id = $1")
            .bind(&post.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        let now = now_ms();
        for media_id in in_lock_order(&post.media_ids) {
            sqlx::query(
                "UPDATE media SET post_refs = post_refs - 1, idle_since_ms = $2 WHERE id = $1 AND post_refs > 0",
            )
            .bind(media_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let likes = sqlx::query("DELETE FROM post_likes WHERE post_id = $1")
            .bind(&post.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let comments = sqlx::query("DELETE FROM comments WHERE post_id = $1")
            .bind(&post.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        bump_user(&mut tx, &post.author_id, UserCount::Posts, -1).await?;
        if likes > 0 {
            let likes = i64::try_from(likes).unwrap_or(i64::MAX);
            bump_user(&mut tx, &post.author_id, UserCount::LikesReceived, -likes).await?;
        }
        events::record(
            &mut tx,
            "social.post_deleted",
            &post.id,
            &json!({
                "post_id": post.id,
                "author_id": post.author_id,
                "likes_removed": likes,
                "comments_removed": comments,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// One page (plus one row, to tell whether more follow) of a feed, newest first, after `after`.
    pub async fn page(
        &self,
        feed: Feed<'_>,
        after: &Cursor,
        limit: i64,
    ) -> ServiceResult<Vec<PostRow>> {
        let keyset = "(p.created_at_ms < $1 OR (p.created_at_ms = $1 AND p.id < $2))";
        let order = "ORDER BY p.created_at_ms DESC, p.id DESC LIMIT $3";
        let (sql, who) = match feed {
            Feed::Everyone => (
                format!("SELECT {POST_COLUMNS} FROM posts p WHERE {keyset} {order}"),
                None,
            ),
            Feed::Author(author) => (
                format!(
                    "SELECT {POST_COLUMNS} FROM posts p WHERE p.author_id = $4 AND {keyset} {order}"
                ),
                Some(author),
            ),
            Feed::FollowedBy(viewer) => (
                format!(
                    "SELECT {POST_COLUMNS} FROM posts p \
                     JOIN follows f ON f.followee_id = p.author_id AND f.follower_id = $4 \
                     WHERE {keyset} {order}"
                ),
                Some(viewer),
            ),
        };
        let mut query = sqlx::query_as::<_, RawPost>(sqlx::AssertSqlSafe(sql))
            .bind(after.at_ms)
            .bind(&after.id)
            .bind(limit + 1);
        if let Some(who) = who {
            query = query.bind(who);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok(rows.into_iter().map(PostRow::from).collect())
    }

    /// Which of `post_ids` the viewer likes.
    pub async fn liked_by(
        &self,
        viewer: &str,
        post_ids: &[String],
    ) -> ServiceResult<HashSet<String>> {
        if post_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "SELECT post_id FROM post_likes WHERE user_id = $1 AND post_id IN ({})",
            placeholders(2, post_ids.len())
        );
        let mut query = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql)).bind(viewer);
        for id in post_ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

/// Media ids sorted, so transactions that lock several media rows take them in one order and never deadlock.
fn in_lock_order(ids: &[String]) -> Vec<&String> {
    let mut ids: Vec<&String> = ids.iter().collect();
    ids.sort();
    ids
}
