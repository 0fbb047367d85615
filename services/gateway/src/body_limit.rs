//! How large request bodies may be: media uploads up to the largest media cap, everything else up to
//! `gateway.body_limit_bytes`. A declared length over the limit is refused at once (after reading what the client
//! sends anyway, bounded), and a body that grows past it fails as it is read.

use axum::{
    body::Body,
    extract::Request,
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::StreamExt as _;
use http_body_util::Limited;
use tokshop_platform::config::Settings;

use crate::error::ApiError;

/// The upload route, whose body limit is the media caps rather than the default.
const UPLOAD_PATH: &str = "/api/v1/media";
/// Room above the largest media cap, so the service (not the limit) refuses an oversized file with its own error.
const UPLOAD_SLACK: usize = 64 * 1024;

/// How large request bodies may be: uploads up to the largest media cap, everything else up to
/// `gateway.body_limit_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    default: usize,
    upload: usize,
}

impl BodyLimits {
    pub fn new(settings: &Settings) -> Self {
        let largest = settings
            .social
            .max_image_bytes
            .max(settings.social.max_video_bytes);
        let upload = usize::try_from(largest)
            .unwrap_or(usize::MAX)
            .saturating_add(UPLOAD_SLACK);
        Self {
            default: settings.gateway.body_limit_bytes,
            upload: upload.max(settings.gateway.body_limit_bytes),
        }
    }

    /// A media upload: its body is a file streamed through, not a JSON request.
    pub fn is_upload(request: &Request) -> bool {
        request.method() == Method::POST && request.uri().path() == UPLOAD_PATH
    }
}

/// Holds each request body to its limit: a declared length over it is refused at once, and a body that grows past
/// it fails as it is read.
pub async fn limit_body<F, Fut>(limits: BodyLimits, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let upload = BodyLimits::is_upload(&request);
    let limit = if upload {
        limits.upload
    } else {
        limits.default
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        let error = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            if upload {
                "too_large"
            } else {
                "payload_too_large"
            },
            format!("the request body may be at most {limit} bytes"),
        );
        let error = if upload {
            error.with_param("file")
        } else {
            error
        };
        // Read what the client is sending anyway (bounded), so it reads the 413 instead of a reset connection.
        if declared.is_some_and(|len| len <= DRAIN_CAP as u64) {
            drain(&mut request.into_body().into_data_stream()).await;
        }
        return error.into_response();
    }
    next(request.map(|body| Body::new(Limited::new(body, limit)))).await
}

/// Most of a refused request's remaining body read (and dropped) before the refusal is sent.
const DRAIN_CAP: usize = 128 * 1024 * 1024;

/// Reads and drops the rest of a body, at most [`DRAIN_CAP`] bytes.
pub async fn drain(frames: &mut axum::body::BodyDataStream) {
    let mut drained = 0usize;
    while drained < DRAIN_CAP {
        match frames.next().await {
            Some(Ok(bytes)) => drained += bytes.len(),
            _ => break,
        }
    }
}
