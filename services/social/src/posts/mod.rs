//! The tonic surface of posts: media uploads and downloads, publishing and deleting posts, and the feeds. Checks
//! here; SQL in `store`; views in `feed`.

mod feed;
mod store;
pub(crate) mod sweep;

use std::{collections::HashSet, pin::Pin};

use futures::{Stream, StreamExt};
use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::Principal,
    check_len,
    grpc::{Reply, anyone, reply, signed_in},
    limits::{
        MAX_ID,
        social::{MAX_ATTACHED, MAX_POST_TEXT, MEDIA_ID_LEN},
    },
    non_empty,
    page::{self, Cursor},
};
use tokshop_proto::social::{self as pb, media_chunk, post_service_server::PostService};
use tonic::{Request, Status, Streaming};

use self::{
    feed::{media_view, placeholder_notice, views},
    store::{Feed, MediaRow, NewPost, Quota, Recorded, Store},
};
use crate::{
    Social,
    media::{Library, PLACEHOLDER_ID, PLACEHOLDER_PNG, PLACEHOLDER_TYPE},
    user_or_self,
};

#[derive(Clone, Debug)]
pub(crate) struct PostApi {
    social: Social,
    store: Store,
    media: Library,
    quota: Quota,
}

/// Trimmed ids in the given order, each once, empty ones left out. At most [`MAX_ATTACHED`] may be given (repeats
/// count), each at most `max_len` characters.
fn clean_ids(ids: Vec<String>, param: &str, max_len: usize) -> ServiceResult<Vec<String>> {
    if ids.len() > MAX_ATTACHED {
        return Err(ServiceError::invalid(
            param,
            format!("a post may carry at most {MAX_ATTACHED} {param}"),
        ));
    }
    let mut seen = HashSet::new();
    let mut clean = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let id = id.trim();
        check_len(&format!("{param}[{i}]"), id, 0, max_len)?;
        if !id.is_empty() && seen.insert(id) {
            clean.push(id.to_owned());
        }
    }
    Ok(clean)
}

type MediaStream = Pin<Box<dyn Stream<Item = Result<pb::MediaChunk, Status>> + Send>>;

impl PostApi {
    pub async fn new(social: Social) -> anyhow::Result<Self> {
        let limits = &social.settings.social;
        let quota = Quota {
            bytes: i64::try_from(limits.upload_quota_bytes).unwrap_or(i64::MAX),
            per_day: i64::try_from(limits.uploads_per_day).unwrap_or(i64::MAX),
        };
        Ok(Self {
            store: Store::new(social.db.clone()),
            media: Library::open(&social.settings).await?,
            quota,
            social,
        })
    }

    /// Receives a file, checks the uploader's quota, extracts a new video's cover, records the rows and only
    /// then stores the objects: a refused upload stores nothing, and objects are put after their rows, so one the
    /// sweep deleted meanwhile is stored again.
    async fn upload(
        &self,
        uploader: Principal,
        chunks: Streaming<pb::UploadMediaChunk>,
    ) -> ServiceResult<pb::Media> {
        let user_id = uploader.user_id.as_str();
        let received = self.media.receive(chunks).await?;
        let size = i64::try_from(received.size).unwrap_or(i64::MAX);
        self.store
            .check_quota(user_id, &received.id, size, &self.quota)
            .await?;
        // A row swept between the look and the record is described afresh, once.
        for _ in 0..2 {
            let known = self
                .store
                .media(std::slice::from_ref(&received.id))
                .await?
                .pop();
            let from_row = known.is_some();
            let (row, cover) = match known {
                Some(row) => (row, None),
                None => {
                    let cover = if received.format.is_video() {
                        self.media.cover(&received).await?
                    } else {
                        None
                    };
                    let row = MediaRow {
                        id: received.id.clone(),
                        kind: received.format.kind().to_owned(),
                        content_type: received.format.content_type().to_owned(),
                        size,
                        cover_id: cover.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
                        cover_placeholder: received.format.is_video() && cover.is_none(),
                    };
                    (row, cover)
                }
            };
            let cover_row = cover.as_ref().map(|c| MediaRow {
                id: c.id.clone(),
                kind: "image".into(),
                content_type: "image/jpeg".into(),
                size: i64::try_from(c.size).unwrap_or(i64::MAX),
                cover_id: String::new(),
                cover_placeholder: false,
            });
            let recorded = self
                .store
                .record_media(user_id, &row, cover_row.as_ref(), from_row, &self.quota)
                .await?;
            if recorded == Recorded::Vanished {
                continue;
            }
            if let Some(cover) = &cover {
                self.media.keep_cover(cover).await?;
            }
            self.media.keep(&received).await?;
            return Ok(media_view(&row, recorded == Recorded::Existed));
        }
        Err(ServiceError::Internal(anyhow::anyhow!(
            "media {} was swept twice while being recorded",
            received.id
        )))
    }

    async fn download(&self, id: &str) -> ServiceResult<MediaStream> {
        let id = id.trim();
        if id == PLACEHOLDER_ID {
            let info = pb::MediaInfo {
                id: id.to_owned(),
                content_type: PLACEHOLDER_TYPE.into(),
                size: PLACEHOLDER_PNG.len() as i64,
            };
            let chunks = [
                media_chunk::Part::Info(info),
                media_chunk::Part::Data(PLACEHOLDER_PNG.to_vec()),
            ];
            return Ok(Box::pin(futures::stream::iter(
                chunks.map(|part| Ok(pb::MediaChunk { part: Some(part) })),
            )));
        }
        let row = self
            .store
            .media(&[id.to_owned()])
            .await?
            .pop()
            .ok_or(ServiceError::not_found("media"))?;
        let object = self
            .media
            .read(&row.id)
            .await?
            .ok_or(ServiceError::not_found("media"))?;
        let info = pb::MediaInfo {
            id: row.id.clone(),
            content_type: row.content_type,
            size: i64::try_from(object.size).unwrap_or(i64::MAX),
        };
        let head = futures::stream::once(async move {
            Ok(pb::MediaChunk {
                part: Some(media_chunk::Part::Info(info)),
            })
        });
        let media_id = row.id;
        let body = object.bytes.map(move |chunk| match chunk {
            Ok(bytes) => Ok(pb::MediaChunk {
                part: Some(media_chunk::Part::Data(bytes.to_vec())),
            }),
            Err(err) => {
                tracing::error!(%media_id, error = %err, "reading a media object failed mid-stream");
                Err(Status::internal("reading the media object failed"))
            }
        });
        Ok(Box::pin(head.chain(body)))
    }

    async fn publish(
        &self,
        author: Principal,
        req: pb::PublishPostRequest,
    ) -> ServiceResult<pb::Post> {
        let author_id = author.user_id.as_str();
        let text = self
            .social
            .policy
            .check("text", &req.text, 0, MAX_POST_TEXT)?;
        let media_ids = clean_ids(req.media_ids, "media_ids", MEDIA_ID_LEN)?;
        let product_ids = clean_ids(req.product_ids, "product_ids", MAX_ID)?;
        if text.is_empty() && media_ids.is_empty() {
            return Err(ServiceError::invalid("text", "a post needs text or media"));
        }
        let mine = self.store.uploaded_by(author_id, &media_ids).await?;
        if let Some(missing) = media_ids.iter().find(|id| !mine.contains(*id)) {
            return Err(ServiceError::invalid(
                "media_ids",
                format!("{missing} is not media you uploaded"),
            ));
        }
        if !product_ids.is_empty() {
            let cards = self.social.directory.products(&product_ids).await?;
            if let Some(missing) = product_ids
                .iter()
                .find(|id| !cards.get(*id).is_some_and(|card| card.available))
            {
                return Err(ServiceError::invalid(
                    "product_ids",
                    format!("{missing} is not a listed product"),
                ));
            }
        }
        let notices = self
            .store
            .media(&media_ids)
            .await?
            .iter()
            .filter(|m| m.kind == "video" && m.cover_placeholder)
            .map(|m| placeholder_notice(&m.id))
            .collect();
        let request_id = non_empty(req.request_id.trim()).map(str::to_owned);
        let post = NewPost {
            text,
            media_ids,
            product_ids,
            notices,
            request_id,
        };
        let row = self.store.publish(author_id, post).await?;
        self.one(Some(author_id), row).await
    }

    async fn one(&self, viewer: Option<&str>, row: store::PostRow) -> ServiceResult<pb::Post> {
        views(&self.social, &self.store, viewer, vec![row])
            .await?
            .pop()
            .ok_or(ServiceError::not_found("post"))
    }

    async fn get(
        &self,
        viewer: Option<Principal>,
        req: pb::GetPostRequest,
    ) -> ServiceResult<pb::Post> {
        let row = self
            .store
            .post(req.post_id.trim())
            .await?
            .ok_or(ServiceError::not_found("post"))?;
        self.one(viewer.as_ref().map(|v| v.user_id.as_str()), row)
            .await
    }

    async fn delete(
        &self,
        caller: Principal,
        req: pb::GetPostRequest,
    ) -> ServiceResult<pb::DeletePostResponse> {
        let row = self
            .store
            .post(req.post_id.trim())
            .await?
            .ok_or(ServiceError::not_found("post"))?;
        if row.author_id != caller.user_id {
            return Err(ServiceError::forbidden("only its author may delete a post"));
        }
        if !self.store.delete(&row).await? {
            return Err(ServiceError::not_found("post"));
        }
        Ok(pb::DeletePostResponse { post_id: row.id })
    }

    async fn page(
        &self,
        viewer: Option<&str>,
        feed: Feed<'_>,
        limit: i32,
        cursor: &str,
        latest_time_ms: i64,
    ) -> ServiceResult<pb::FeedPage> {
        let limit = page::limit(limit)?;
        let after = match (cursor.is_empty(), latest_time_ms) {
            (true, t) if t > 0 => Cursor {
                at_ms: t,
                id: String::new(),
            },
            _ => Cursor::decode(cursor)?,
        };
        let rows = self.store.page(feed, &after, limit).await?;
        let (rows, next_cursor) = page::finish(rows, limit, |r| (r.created_at_ms, r.id.clone()));
        let next_time_ms = rows.last().map(|r| r.created_at_ms).unwrap_or_default();
        Ok(pb::FeedPage {
            posts: views(&self.social, &self.store, viewer, rows).await?,
            next_cursor,
            next_time_ms,
        })
    }

    /// One user's posts, newest first; their own when no user is named.
    async fn user_posts(
        &self,
        viewer: Option<Principal>,
        req: pb::ListUserPostsRequest,
    ) -> ServiceResult<pb::FeedPage> {
        let user_id = user_or_self(req.user_id.trim(), viewer.as_ref())?;
        self.social.directory.profile(&user_id).await?;
        let viewer = viewer.as_ref().map(|v| v.user_id.as_str());
        self.page(viewer, Feed::Author(&user_id), req.limit, &req.cursor, 0)
            .await
    }

    /// Posts of the people the caller follows, newest first.
    async fn following(
        &self,
        caller: Principal,
        req: pb::FeedRequest,
    ) -> ServiceResult<pb::FeedPage> {
        let me = caller.user_id.as_str();
        self.page(
            Some(me),
            Feed::FollowedBy(me),
            req.limit,
            &req.cursor,
            req.latest_time_ms,
        )
        .await
    }

    /// Everyone's posts, newest first.
    async fn discovery(
        &self,
        viewer: Option<Principal>,
        req: pb::FeedRequest,
    ) -> ServiceResult<pb::FeedPage> {
        let viewer = viewer.as_ref().map(|v| v.user_id.as_str());
        self.page(
            viewer,
            Feed::Everyone,
            req.limit,
            &req.cursor,
            req.latest_time_ms,
        )
        .await
    }
}

#[tonic::async_trait]
impl PostService for PostApi {
    async fn upload_media(
        &self,
        request: Request<Streaming<pb::UploadMediaChunk>>,
    ) -> Reply<pb::Media> {
        signed_in(&self.social.keys, request, |caller, chunks| {
            self.upload(caller, chunks)
        })
        .await
    }

    type GetMediaStream = MediaStream;

    async fn get_media(
        &self,
        request: Request<pb::GetMediaRequest>,
    ) -> Reply<Self::GetMediaStream> {
        reply(self.download(&request.get_ref().id).await)
    }

    async fn publish_post(&self, request: Request<pb::PublishPostRequest>) -> Reply<pb::Post> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.publish(caller, req)
        })
        .await
    }

    async fn get_post(&self, request: Request<pb::GetPostRequest>) -> Reply<pb::Post> {
        anyone(&self.social.keys, request, |viewer, req| {
            self.get(viewer, req)
        })
        .await
    }

    async fn delete_post(
        &self,
        request: Request<pb::GetPostRequest>,
    ) -> Reply<pb::DeletePostResponse> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.delete(caller, req)
        })
        .await
    }

    async fn list_user_posts(
        &self,
        request: Request<pb::ListUserPostsRequest>,
    ) -> Reply<pb::FeedPage> {
        anyone(&self.social.keys, request, |viewer, req| {
            self.user_posts(viewer, req)
        })
        .await
    }

    async fn following_feed(&self, request: Request<pb::FeedRequest>) -> Reply<pb::FeedPage> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.following(caller, req)
        })
        .await
    }

    async fn discovery_feed(&self, request: Request<pb::FeedRequest>) -> Reply<pb::FeedPage> {
        anyone(&self.social.keys, request, |viewer, req| {
            self.discovery(viewer, req)
        })
        .await
    }
}

/// The tonic service, ready to add to the router.
pub(crate) async fn service(
    social: Social,
) -> anyhow::Result<pb::post_service_server::PostServiceServer<PostApi>> {
    Ok(pb::post_service_server::PostServiceServer::new(
        PostApi::new(social).await?,
    ))
}
