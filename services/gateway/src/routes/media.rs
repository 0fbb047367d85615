//! Media: upload an image or video as the raw request body (streamed to the posts service, never held whole), and
//! download it again with long-lived caching. Its larger body limit is in `crate::body_limit`.

use axum::{
    body::Body,
    extract::Query,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use futures::{StreamExt as _, TryStreamExt as _};
use http_body_util::LengthLimitError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokshop_proto::social::{self as pb, media_chunk, upload_media_chunk};

use crate::{body_limit::drain, error::ApiError, handler::prelude::*, shapes::Media};

/// Largest piece of an upload sent to the posts service in one message.
const PIECE: usize = 64 * 1024;

/// The file's bytes, sent as the raw request body.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code, reason = "only describes the body in the API document")]
pub struct FileBytes(Vec<u8>);

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, for the record; the type is read from the bytes.
    pub filename: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_media))
        .routes(routes!(get_media))
}

/// Why a request body could not be read to its end.
fn body_error(err: axum::Error) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(cause) = source {
        if cause.is::<LengthLimitError>() {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the file is larger than any upload may be",
            )
            .with_param("file");
        }
        source = cause.source();
    }
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "truncated_upload",
        "the upload broke off before its end; nothing was kept",
    )
    .with_param("file")
}

fn data(bytes: &[u8]) -> pb::UploadMediaChunk {
    pb::UploadMediaChunk {
        part: Some(upload_media_chunk::Part::Data(bytes.to_vec())),
    }
}

/// Feeds the request body into the upload stream. An error returns while the stream is still open, so the upload
/// is abandoned (never completed short).
async fn pump(body: Body, tx: mpsc::Sender<pb::UploadMediaChunk>) -> Result<(), ApiError> {
    let mut frames = body.into_data_stream();
    while let Some(frame) = frames.next().await {
        let bytes = frame.map_err(body_error)?;
        for piece in bytes.chunks(PIECE) {
            if tx.send(data(piece)).await.is_err() {
                // The service has answered already (a refusal); its answer is what counts. The rest of the body
                // is read and dropped, up to a bound, so the client gets that answer rather than a reset.
                drain(&mut frames).await;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Upload an image (JPEG, PNG, GIF, WebP) or a video (MP4, WebM) as the raw body. The type is read from the
/// bytes; the same file twice is the same media (`existed` is then true) and takes no more of the uploader's
/// quota. Videos get a cover frame. Media that no post carries is deleted after `social.media_gc_after_secs`.
#[utoipa::path(post, path = "/api/v1/media", tag = "posts", security(("bearer" = [])),
    params(UploadQuery),
    request_body(description = "The file, at most `social.max_image_bytes` (images) or `social.max_video_bytes` \
        (videos). Its type is read from its bytes, whatever Content-Type says; Content-Length, when sent, must match.",
        content((FileBytes = "image/jpeg"), (FileBytes = "image/png"), (FileBytes = "image/gif"),
            (FileBytes = "image/webp"), (FileBytes = "video/mp4"), (FileBytes = "video/webm"),
            (FileBytes = "application/octet-stream"))),
    responses((status = 201, description = "The stored media", body = Media),
        (status = 409, description = "Over the uploader's storage quota (`upload_quota_exceeded`) or daily upload \
            count (`too_many_uploads`); nothing is kept", body = ErrorBody),
        (status = 413, description = "Larger than the cap for its kind", body = ErrorBody),
        (status = 422, description = "Not an accepted type (`unsupported_media_type`), or cut short \
            (`truncated_upload`); nothing is kept", body = ErrorBody)))]
async fn upload_media(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Media>)> {
    let header_value = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let declared_size = header_value(header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let header = pb::UploadMediaHeader {
        filename: query.filename.unwrap_or_default(),
        declared_type: header_value(header::CONTENT_TYPE).unwrap_or_default(),
        declared_size,
    };
    let (tx, rx) = mpsc::channel(8);
    let first = pb::UploadMediaChunk {
        part: Some(upload_media_chunk::Part::Header(header)),
    };
    if tx.send(first).await.is_err() {
        return Err(ApiError::internal(
            "the upload stream closed before it began",
        ));
    }
    let mut posts = state.posts();
    let call = posts.upload_media(authorized(ReceiverStream::new(rx), user.token()));
    let pumped = pump(body, tx);
    tokio::pin!(call, pumped);
    let media = tokio::select! {
        answer = &mut call => {
            if answer.is_err() {
                // A refusal before the body ended: let the client finish sending first (bounded by DRAIN_CAP and
                // the upload deadline), so it reads the refusal on an intact connection.
                let _ = (&mut pumped).await;
            }
            answer?
        }
        read = &mut pumped => {
            // On a body error `call` is dropped unfinished: the service sees the upload abandoned.
            read?;
            call.await?
        }
    };
    Ok((StatusCode::CREATED, Json(media.into_inner().into())))
}

/// Download media: the stored bytes with their type, cacheable forever (the id is the content's hash).
#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "posts",
    params(("id" = String, Path, description = "Media id")),
    responses((status = 200, description = "The bytes, with the type read from them at upload, Content-Length, and \
            immutable caching headers", content((FileBytes = "image/jpeg"), (FileBytes = "image/png"),
            (FileBytes = "image/gif"), (FileBytes = "image/webp"), (FileBytes = "video/mp4"), (FileBytes = "video/webm"))),
        (status = 404, description = "No such media", body = ErrorBody)))]
async fn get_media(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let mut chunks = state
        .posts()
        .get_media(pb::GetMediaRequest { id })
        .await?
        .into_inner();
    let info = match chunks.message().await? {
        Some(pb::MediaChunk {
            part: Some(media_chunk::Part::Info(info)),
        }) => info,
        _ => return Err(ApiError::internal("media stream began without its info")),
    };
    let bytes = chunks.map_ok(|chunk| match chunk.part {
        Some(media_chunk::Part::Data(data)) => data,
        _ => Vec::new(),
    });
    let content_type = HeaderValue::from_str(&info.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, HeaderValue::from(info.size)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        Body::from_stream(bytes),
    );
    Ok(response.into_response())
}
