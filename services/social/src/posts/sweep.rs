//! The media sweep: media that no post carries and that stayed unused past the grace period is deleted from the
//! database and the object store, a video's cover with it unless something else still uses the cover. Uploads and
//! posts that race with the sweep are settled row by row in `store` (see [`Store::forget_media`]).

use tokshop_platform::{ServiceResult, db::Db};

use super::store::Store;
use crate::media::Library;

/// Most media one sweep looks at; the next sweep carries on.
const BATCH: i64 = 500;

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaSwept {
    /// Media objects deleted (covers not included).
    pub media: u64,
    /// Covers deleted with their videos.
    pub covers: u64,
    /// Media whose deletion failed; the rows are kept and the next sweep tries again.
    pub failed: u64,
}

/// Deletes media unused since before `idle_before_ms`.
pub async fn sweep(db: &Db, library: &Library, idle_before_ms: i64) -> ServiceResult<MediaSwept> {
    let store = Store::new(db.clone());
    let mut swept = MediaSwept::default();
    for id in store.unused_media(idle_before_ms, BATCH).await? {
        match store.forget_media(&id, idle_before_ms, library).await {
            Ok(Some(forgotten)) => {
                tracing::info!(media_id = %forgotten.id, cover_id = ?forgotten.cover_id, "deleted unused media");
                swept.media += 1;
                swept.covers += u64::from(forgotten.cover_id.is_some());
            }
            // Uploaded again or put in a post since it was listed.
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(media_id = %id, error = ?err, "deleting unused media failed; the next sweep retries");
                swept.failed += 1;
            }
        }
    }
    Ok(swept)
}
