//! Posts as readers see them: author card with the viewer's relation, media with URLs, linked products priced
//! now, counts, whether the viewer liked each, and notices.

use std::collections::HashMap;

use tokshop_platform::ServiceResult;
use tokshop_proto::social as pb;

use super::store::{MediaRow, PostRow, Store};
use crate::{Social, directory::unknown_user, media::PLACEHOLDER_ID};

/// The gateway path of a media object.
pub fn media_url(id: &str) -> String {
    format!("/api/v1/media/{id}")
}

/// A media row as clients see it.
pub fn media_view(row: &MediaRow, existed: bool) -> pb::Media {
    let cover_url = match (row.kind.as_str(), row.cover_placeholder) {
        ("video", true) => media_url(PLACEHOLDER_ID),
        ("video", false) if !row.cover_id.is_empty() => media_url(&row.cover_id),
        _ => String::new(),
    };
    pb::Media {
        id: row.id.clone(),
        kind: row.kind.clone(),
        content_type: row.content_type.clone(),
        size: row.size,
        url: media_url(&row.id),
        cover_url,
        cover_placeholder: row.kind == "video" && row.cover_placeholder,
        existed,
    }
}

/// The notice a post carries for each video whose cover is the placeholder.
pub fn placeholder_notice(media_id: &str) -> String {
    format!(
        "The cover of video {media_id} is a placeholder image: no frame could be extracted because ffmpeg is not \
         installed on the server (or could not read the video)."
    )
}

/// Builds the reader's view of `rows`, in order, with a handful of batch lookups.
pub async fn views(
    social: &Social,
    store: &Store,
    viewer: Option<&str>,
    rows: Vec<PostRow>,
) -> ServiceResult<Vec<pb::Post>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let authors: Vec<String> = rows.iter().map(|r| r.author_id.clone()).collect();
    let product_ids: Vec<String> = rows.iter().flat_map(|r| r.product_ids.clone()).collect();
    let media_ids: Vec<String> = rows.iter().flat_map(|r| r.media_ids.clone()).collect();
    let post_ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let cards = social.directory.user_cards(viewer, &authors).await?;
    let products = if product_ids.is_empty() {
        HashMap::new()
    } else {
        social.directory.products(&product_ids).await?
    };
    let media: HashMap<String, MediaRow> = store
        .media(&media_ids)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    let liked = match viewer {
        Some(viewer) => store.liked_by(viewer, &post_ids).await?,
        None => Default::default(),
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let author = cards
                .get(&row.author_id)
                .cloned()
                .unwrap_or_else(|| unknown_user(&row.author_id));
            pb::Post {
                author: Some(author),
                media: row
                    .media_ids
                    .iter()
                    .filter_map(|id| media.get(id))
                    .map(|m| media_view(m, true))
                    .collect(),
                products: row
                    .product_ids
                    .iter()
                    .map(|id| {
                        products
                            .get(id)
                            .cloned()
                            .unwrap_or_else(|| pb::ProductCard {
                                id: id.clone(),
                                title: "no longer available".into(),
                                ..Default::default()
                            })
                    })
                    .collect(),
                viewer_liked: liked.contains(&row.id),
                like_count: row.like_count,
                comment_count: row.comment_count,
                created_at_ms: row.created_at_ms,
                notices: row.notices,
                text: row.text,
                id: row.id,
            }
        })
        .collect())
}
