//! Media rows: the media each user uploaded (within their quota), and forgetting media no post carries.
//!
//! A media row counts the posts carrying it (`post_refs`) and, while none does, since when it has been unused
//! (`idle_since_ms`). Uploads and posts change these on the row itself, so the sweep's conditional delete and
//! their writes lock the same row and one of them sees the other's effect.

use std::collections::HashSet;

use serde_json::json;
use sqlx::{Any, AnyConnection, Transaction};
use tokshop_platform::{
    ServiceError, ServiceResult,
    db::{Backend, flag},
    events, non_empty,
    page::placeholders,
    time::now_ms,
};

use super::Store;
use crate::media::Library;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A stored media object's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRow {
    pub id: String,
    pub kind: String,
    pub content_type: String,
    pub size: i64,
    pub cover_id: String,
    pub cover_placeholder: bool,
}

/// How much media one user may keep and upload (0: no limit).
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    /// Bytes of media stored, each distinct file the user uploaded counted once.
    pub bytes: i64,
    /// Distinct files uploaded in the last 24 hours.
    pub per_day: i64,
}

/// What recording an upload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The media row is new.
    New,
    /// The media row was there already; it counts as freshly uploaded again.
    Existed,
    /// The row the upload was described from was swept meanwhile; nothing was recorded.
    Vanished,
}

/// Media rows the sweep deleted together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    pub id: String,
    /// The video's cover, when it went too.
    pub cover_id: Option<String>,
}

impl Store {
    pub async fn media(&self, ids: &[String]) -> ServiceResult<Vec<MediaRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, kind, content_type, size, cover_id, cover_placeholder FROM media WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as::<_, (String, String, String, i64, String, i64)>(
            sqlx::AssertSqlSafe(sql),
        );
        for id in ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok(rows
            .into_iter()
            .map(|r| MediaRow {
                id: r.0,
                kind: r.1,
                content_type: r.2,
                size: r.3,
                cover_id: r.4,
                cover_placeholder: r.5 != 0,
            })
            .collect())
    }

    /// Which of `ids` the user uploaded.
    pub async fn uploaded_by(
        &self,
        user_id: &str,
        ids: &[String],
    ) -> ServiceResult<HashSet<String>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "SELECT media_id FROM media_uploads WHERE user_id = $1 AND media_id IN ({})",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql)).bind(user_id);
        for id in ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Refuses an upload of `size` bytes that would take `user_id` past their quota (read without locks: the
    /// early answer, before any work; [`Store::record_media`] checks again).
    pub async fn check_quota(
        &self,
        user_id: &str,
        media_id: &str,
        size: i64,
        quota: &Quota,
    ) -> ServiceResult<()> {
        let mut conn = self.db.pool().acquire().await?;
        within_quota(&mut conn, user_id, media_id, size, quota).await
    }

    /// Records that `user_id` uploaded `media` (with its new `cover`, if extracted now), within their quota: a new
    /// row, or the existing one marked as freshly uploaded. `from_row` says `media` was described from its stored
    /// row; should that row have been swept since, nothing is recorded and the answer is `Vanished`.
    pub async fn record_media(
        &self,
        user_id: &str,
        media: &MediaRow,
        cover: Option<&MediaRow>,
        from_row: bool,
        quota: &Quota,
    ) -> ServiceResult<Recorded> {
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        if self.db.backend() == Backend::Postgres {
            // One user's uploads are recorded one at a time, so the quota counts every other upload.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("media_uploads:{user_id}"))
                .execute(&mut *tx)
                .await?;
        }
        within_quota(&mut tx, user_id, &media.id, media.size, quota).await?;
        if let Some(cover) = cover {
            keep_row(&mut tx, cover, now).await?;
        }
        let recorded = if touch(&mut tx, &media.id, now).await? {
            Recorded::Existed
        } else if from_row {
            return Ok(Recorded::Vanished);
        } else if keep_row(&mut tx, media, now).await? {
            Recorded::New
        } else {
            Recorded::Existed
        };
        sqlx::query(
            "INSERT INTO media_uploads (user_id, media_id, created_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, media_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(&media.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if recorded == Recorded::New {
            events::record(
                &mut tx,
                "social.media_uploaded",
                &media.id,
                &json!({ "media_id": media.id, "user_id": user_id, "kind": media.kind, "size": media.size }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Media no post carries, unused since before `idle_before_ms`, that is no video's cover: the oldest
    /// `limit` of them.
    pub async fn unused_media(
        &self,
        idle_before_ms: i64,
        limit: i64,
    ) -> ServiceResult<Vec<String>> {
        let rows = sqlx::query_as::<_, (String,)>(
            "SELECT m.id FROM media m WHERE m.post_refs = 0 AND m.idle_since_ms < $1 \
             AND NOT EXISTS (SELECT 1 FROM media v WHERE v.cover_id = m.id) \
             ORDER BY m.idle_since_ms, m.id LIMIT $2",
        )
        .bind(idle_before_ms)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Deletes media `id` (with its cover, when nothing else uses that) if it is still unused since before
    /// `idle_before_ms`: the rows, then the objects, in one transaction. The rows stay locked until the objects
    /// are gone, so an upload of the same file waits and then stores the object again, and a post waits and then
    /// finds no row. None when the media is in use again (or gone).
    pub async fn forget_media(
        &self,
        id: &str,
        idle_before_ms: i64,
        library: &Library,
    ) -> ServiceResult<Option<Forgotten>> {
        let mut tx = self.db.begin_write().await?;
        let Some(cover_id) = forget_row(&mut tx, id, idle_before_ms).await? else {
            return Ok(None);
        };
        let cover_id = match cover_id {
            Some(cover_id) => forget_row(&mut tx, &cover_id, idle_before_ms)
                .await?
                .map(|_| cover_id),
            None => None,
        };
        // The video before its cover: should the second delete fail, the rows stay and the next sweep retries.
        library.delete(id).await?;
        if let Some(cover_id) = &cover_id {
            library.delete(cover_id).await?;
        }
        tx.commit().await?;
        Ok(Some(Forgotten {
            id: id.to_owned(),
            cover_id,
        }))
    }
}

/// Refuses an upload that would take the user past their quota. The same file again takes no more room.
async fn within_quota(
    conn: &mut AnyConnection,
    user_id: &str,
    media_id: &str,
    size: i64,
    quota: &Quota,
) -> ServiceResult<()> {
    let (again,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM media_uploads WHERE user_id = $1 AND media_id = $2",
    )
    .bind(user_id)
    .bind(media_id)
    .fetch_one(&mut *conn)
    .await?;
    if again > 0 {
        return Ok(());
    }
    if quota.bytes > 0 {
        let (used,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(m.size), 0) AS BIGINT) FROM media_uploads u \
             JOIN media m ON m.id = u.media_id WHERE u.user_id = $1",
        )
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
        if used.saturating_add(size) > quota.bytes {
            return Err(ServiceError::conflict_on(
                "upload_quota_exceeded",
                "file",
                format!(
                    "your media takes {used} of your {} bytes; this file's {size} bytes would pass that, so \
                     nothing was kept (media no post carries is deleted after a while)",
                    quota.bytes
                ),
            ));
        }
    }
    if quota.per_day > 0 {
        let (today,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM media_uploads WHERE user_id = $1 AND created_at_ms > $2",
        )
        .bind(user_id)
        .bind(now_ms() - DAY_MS)
        .fetch_one(&mut *conn)
        .await?;
        if today >= quota.per_day {
            return Err(ServiceError::conflict_on(
                "too_many_uploads",
                "file",
                format!(
                    "you uploaded {today} files in the last 24 hours, the most allowed; nothing was kept, try \
                     again later"
                ),
            ));
        }
    }
    Ok(())
}

/// Marks an existing media row as just uploaded, so the sweep leaves it alone. False when there is no such row.
async fn touch(tx: &mut Transaction<'static, Any>, id: &str, now: i64) -> ServiceResult<bool> {
    let touched = sqlx::query("UPDATE media SET idle_since_ms = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(touched > 0)
}

/// Inserts a media row, or marks the existing one as just uploaded. True when the row is new.
async fn keep_row(
    tx: &mut Transaction<'static, Any>,
    media: &MediaRow,
    now: i64,
) -> ServiceResult<bool> {
    if touch(tx, &media.id, now).await? {
        return Ok(false);
    }
    if insert_media(tx, media, now).await? {
        return Ok(true);
    }
    // Another upload of the same file inserted it meanwhile.
    touch(tx, &media.id, now).await?;
    Ok(false)
}

/// Deletes an unused media row and who uploaded it; Some(its cover id, if any) when it was deleted.
async fn forget_row(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    idle_before_ms: i64,
) -> ServiceResult<Option<Option<String>>> {
    let deleted = sqlx::query_as::<_, (String,)>(
        "DELETE FROM media WHERE id = $1 AND post_refs = 0 AND idle_since_ms < $2 \
         AND NOT EXISTS (SELECT 1 FROM media v WHERE v.cover_id = $1) RETURNING cover_id",
    )
    .bind(id)
    .bind(idle_before_ms)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((cover_id,)) = deleted else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM media_uploads WHERE media_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(Some(non_empty(cover_id)))
}

async fn insert_media(
    tx: &mut Transaction<'static, Any>,
    media: &MediaRow,
    now: i64,
) -> ServiceResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO media (id, kind, content_type, size, cover_id, cover_placeholder, created_at_ms, \
         idle_since_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&media.id)
    .bind(&media.kind)
    .bind(&media.content_type)
    .bind(media.size)
    .bind(&media.cover_id)
    .bind(flag(media.cover_placeholder))
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}
