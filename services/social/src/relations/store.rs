//! Every SQL statement of follows and profile counts.

use serde_json::json;
use sqlx::FromRow;
use tokshop_platform::{ServiceResult, db::Db, events, page::Cursor};

use crate::counts::{self, UserCount};

/// One entry of a following, followers or friends list: the other user and when the relation began.
#[derive(Debug, Clone, FromRow)]
pub struct RelationRow {
    pub user_id: String,
    pub since_ms: i64,
}

/// A user's stored counts (all zero for a user nothing has happened to yet).
#[derive(Debug, Clone, Default, FromRow)]
pub struct UserCounts {
    pub following: i64,
    pub followers: i64,
    pub posts: i64,
    pub likes_received: i64,
    pub favorites: i64,
}

/// Which list of a user's relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Following,
    Followers,
}

/// Mutual follows of `$1` with the later of the two follow times, as rows `(user_id, since_ms)`.
const FRIENDS: &str = "SELECT a.followee_id AS user_id, \
     CASE WHEN a.created_at_ms > b.created_at_ms THEN a.created_at_ms ELSE b.created_at_ms END AS since_ms \
     FROM follows a JOIN follows b ON b.follower_id = a.followee_id AND b.followee_id = a.follower_id \
     WHERE a.follower_id = $1";

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Makes `follower` follow (or, with `follow == false`, stop following) `followee`. True when a row changed;
    /// the counts and the event move only then.
    pub async fn set_follow(
        &self,
        follower: &str,
        followee: &str,
        follow: bool,
    ) -> ServiceResult<bool> {
        let mut tx = self.db.begin_write().await?;
        let changed = counts::FOLLOWS
            .set(&mut tx, follower, followee, follow)
            .await?;
        if changed {
            let delta = if follow { 1 } else { -1 };
            counts::bump_user(&mut tx, follower, UserCount::Following, delta).await?;
            counts::bump_user(&mut tx, followee, UserCount::Followers, delta).await?;
            let topic = if follow {
                "social.followed"
            } else {
                "social.unfollowed"
            };
            events::record(
                &mut tx,
                topic,
                followee,
                &json!({ "follower_id": follower, "followee_id": followee }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Whether `follower` follows `followee`.
    pub async fn follows(&self, follower: &str, followee: &str) -> ServiceResult<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2")
                .bind(follower)
                .bind(followee)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.is_some())
    }

    /// A user's stored counts.
    pub async fn counts(&self, user_id: &str) -> ServiceResult<UserCounts> {
        let row = sqlx::query_as::<_, UserCounts>(
            "SELECT following, followers, posts, likes_received, favorites FROM user_counts WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.unwrap_or_default())
    }

    /// How many mutual follows a user has.
    pub async fn friend_count(&self, user_id: &str) -> ServiceResult<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM follows a JOIN follows b \
             ON b.follower_id = a.followee_id AND b.followee_id = a.follower_id WHERE a.follower_id = $1",
        )
        .bind(user_id)
        .fetch_one(self.db.pool())
        .await?;
        Ok(n)
    }

    /// One page (`limit + 1` rows, for [`tokshop_platform::page::finish`]) of whom a user follows or who follows them,
    /// newest first.
    pub async fn relations(
        &self,
        user_id: &str,
        direction: Direction,
        after: &Cursor,
        limit: i64,
    ) -> ServiceResult<Vec<RelationRow>> {
        let sql = match direction {
            Direction::Following => {
                "SELECT followee_id AS user_id, created_at_ms AS since_ms FROM follows WHERE follower_id = $1 \
                 AND (created_at_ms < $2 OR (created_at_ms = $2 AND followee_id < $3)) \
                 ORDER BY created_at_ms DESC, followee_id DESC LIMIT $4"
            }
            Direction::Followers => {
                "SELECT follower_id AS user_id, created_at_ms AS since_ms FROM follows WHERE followee_id = $1 \
                 AND (created_at_ms < $2 OR (created_at_ms = $2 AND follower_id < $3)) \
                 ORDER BY created_at_ms DESC, follower_id DESC LIMIT $4"
            }
        };
        Ok(sqlx::query_as::<_, RelationRow>(sql)
            .bind(user_id)
            .bind(after.at_ms)
            .bind(&after.id)
            .bind(limit + 1)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// One page (`limit + 1` rows) of a user's friends, newest friendship first.
    pub async fn friends(
        &self,
        user_id: &str,
        after: &Cursor,
        limit: i64,
    ) -> ServiceResult<Vec<RelationRow>> {
        let sql = format!(
            "SELECT user_id, since_ms FROM ({FRIENDS}) f \
             WHERE since_ms < $2 OR (since_ms = $2 AND user_id < $3) \
             ORDER BY since_ms DESC, user_id DESC LIMIT $4"
        );
        // Built from constant text and numbered placeholders only.
        Ok(sqlx::query_as::<_, RelationRow>(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(after.at_ms)
            .bind(&after.id)
            .bind(limit + 1)
            .fetch_all(self.db.pool())
            .await?)
    }
}
