//! `Idempotency-Key` for every state-changing call. The first request with a key runs and its response is
//! stored; the same key with the same request replays that response with `Idempotent-Replayed: true`; the same
//! key with another request is 422 `idempotency_conflict`; while the first is still running it is 409
//! `idempotency_in_flight`. Keys are scoped per caller (the token's subject), method and path, and kept for 24
//! hours. Calls without a signed-in caller (register, login, refresh) ignore the header: their responses carry
//! tokens, which are never stored, and anonymous callers would otherwise share one key space. Fingerprints are
//! keyed HMACs, so a stored one says nothing about a body that held a password or a card number. Once a request
//! has claimed its key it runs to the end even if the client goes away, and its response is stored for the retry.

use axum::{
    body::{Body, to_bytes},
    extract::{FromRequestParts, Request},
    http::{HeaderValue, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use sqlx::FromRow;
use tokshop_platform::{
    db::{Db, Migrations},
    migrations,
    time::now_ms,
};

use crate::{error::ApiError, extract::verified_caller, state::AppState};

pub const MIGRATIONS: Migrations = migrations!(1 => "0001_idempotency");

pub const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// How long a key is remembered.
const KEEP_MS: i64 = 24 * 60 * 60 * 1000;
/// A request still marked in flight after this long died with its process; its key may be used again.
const ABANDONED_MS: i64 = 5 * 60 * 1000;
/// Responses larger than this are not stored (the key is released instead).
const MAX_STORED_BODY: usize = 1024 * 1024;

/// The request id a state-changing call passes to its service: the client's `Idempotency-Key` when it sent one,
/// so a retried call has no second effect even past this gateway's own replay store; a fresh id otherwise.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty());
        Ok(Self(key.map_or_else(
            || tokshop_platform::ids::new_id("req"),
            str::to_owned,
        )))
    }
}

#[derive(Debug, FromRow)]
struct KeyRow {
    fingerprint: String,
    state: String,
    response_status: Option<i64>,
    response_type: Option<String>,
    response_body: Option<String>,
    created_at_ms: i64,
}

/// The key space a key lives in: the verified caller, the method and the path. None for calls without a signed-in
/// caller, which do not use keys.
fn scope(state: &AppState, parts: &Parts) -> Option<String> {
    if parts.uri.path().starts_with("/api/v1/auth/") {
        return None;
    }
    let principal = verified_caller(&state.keys, &parts.headers)?;
    Some(format!(
        "{} {} {}",
        principal.user_id,
        parts.method,
        parts.uri.path()
    ))
}

pub async fn layer<F, Fut>(state: &AppState, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut + Send + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let mutating = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let Some(key) = request.headers().get(HEADER).cloned() else {
        return next(request).await;
    };
    // An upload is streamed, not buffered here, and needs no key: its id is its content hash, so sending the
    // same file again stores nothing new and answers with the same media.
    if !mutating || crate::body_limit::BodyLimits::is_upload(&request) {
        return next(request).await;
    }
    let key = match key.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= 255 => k.trim().to_owned(),
        _ => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible characters",
            )
            .into_response();
        }
    };
    let (parts, body) = request.into_parts();
    let Some(scope) = scope(state, &parts) else {
        return next(Request::from_parts(parts, body)).await;
    };
    let Ok(bytes) = to_bytes(body, state.settings.gateway.body_limit_bytes).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        )
        .into_response();
    };
    let fingerprint = state.keys.fingerprint(&[
        parts.method.as_str().as_bytes(),
        b" ",
        parts.uri.path().as_bytes(),
        b"?",
        parts.uri.query().unwrap_or_default().as_bytes(),
        b"\n",
        &bytes,
    ]);

    // From the claim on, the work runs detached from the connection: a client that gives up mid-request leaves no
    // key stuck in flight and no work half done; its retry replays the stored outcome.
    let request = Request::from_parts(parts, Body::from(bytes));
    let state = state.clone();
    let task = tokio::spawn(async move {
        let db = state.db();
        match claim(db, &scope, &key, &fingerprint).await {
            Ok(Claim::Fresh) => {}
            Ok(Claim::Replay(response)) => return response,
            Ok(Claim::Refused(error)) => return error.into_response(),
            Err(err) => {
                return ApiError::internal(format!("idempotency store: {err:#}")).into_response();
            }
        }
        let running = tokio::spawn(run_and_store(
            state.clone(),
            next,
            request,
            scope.clone(),
            key.clone(),
        ));
        match running.await {
            Ok(response) => response,
            Err(err) => {
                release(state.db(), &scope, &key).await;
                ApiError::internal(format!("the request's task failed: {err}")).into_response()
            }
        }
    });
    task.await.unwrap_or_else(|err| {
        ApiError::internal(format!("the request's task failed: {err}")).into_response()
    })
}

/// Runs a request that holds its key, then stores its response for replay (or releases the key).
async fn run_and_store<F, Fut>(
    state: AppState,
    next: F,
    request: Request,
    scope: String,
    key: String,
) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let db = state.db();
    let response = next(request).await;
    let status = response.status();
    // Failures that say nothing happened (or that the caller should retry) release the key for a retry.
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        release(db, &scope, &key).await;
        return response;
    }
    let (mut response_parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, MAX_STORED_BODY).await else {
        release(db, &scope, &key).await;
        return ApiError::internal("response too large to store for Idempotency-Key")
            .into_response();
    };
    let content_type = response_parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Err(err) = store(db, &scope, &key, status, content_type.as_deref(), &body).await {
        tracing::error!(error = ?err, "storing an idempotent response failed");
        release(db, &scope, &key).await;
    }
    response_parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(response_parts, Body::from(body))
}

enum Claim {
    Fresh,
    Replay(Response),
    Refused(ApiError),
}

/// Claims the key for this request, or says what to answer instead.
async fn claim(db: &Db, scope: &str, key: &str, fingerprint: &str) -> anyhow::Result<Claim> {
    let now = now_ms();
    sqlx::query("DELETE FROM idempotency_keys WHERE expires_at_ms < $1")
        .bind(now)
        .execute(db.pool())
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, state, created_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, 'in_flight', $4, $5) ON CONFLICT (scope, idem_key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .bind(now + KEEP_MS)
    .execute(db.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Fresh);
    }
    let row: Option<KeyRow> = sqlx::query_as(
        "SELECT fingerprint, state, response_status, response_type, response_body, created_at_ms \
         FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        // Released between our insert and read: the caller may simply retry.
        return Ok(Claim::Refused(in_flight()));
    };
    if row.fingerprint != fingerprint {
        return Ok(Claim::Refused(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_conflict",
            "this Idempotency-Key was already used with a different request",
        )));
    }
    if row.state == "in_flight" {
        if now - row.created_at_ms > ABANDONED_MS {
            // Its first request died with its process: take the key over.
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET created_at_ms = $3 WHERE scope = $1 AND idem_key = $2 \
                 AND state = 'in_flight' AND created_at_ms = $4",
            )
            .bind(scope)
            .bind(key)
            .bind(now)
            .bind(row.created_at_ms)
            .execute(db.pool())
            .await?;
            if taken.rows_affected() == 1 {
                return Ok(Claim::Fresh);
            }
        }
        return Ok(Claim::Refused(in_flight()));
    }
    let status = row
        .response_status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = (status, row.response_body.unwrap_or_default()).into_response();
    if let Some(value) = row
        .response_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(Claim::Replay(response))
}

fn in_flight() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_in_flight",
        "a request with this Idempotency-Key is still running; retry shortly",
    )
}

async fn store(
    db: &Db,
    scope: &str,
    key: &str,
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', response_status = $3, response_type = $4, response_body = $5 \
         WHERE scope = $1 AND idem_key = $2",
    )
    .bind(scope)
    .bind(key)
    .bind(i64::from(status.as_u16()))
    .bind(content_type)
    .bind(String::from_utf8_lossy(body).into_owned())
    .execute(db.pool())
    .await?;
    Ok(())
}

async fn release(db: &Db, scope: &str, key: &str) {
    let result = sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND state = 'in_flight'",
    )
    .bind(scope)
    .bind(key)
    .execute(db.pool())
    .await;
    if let Err(err) = result {
        tracing::error!(error = ?err, "releasing an Idempotency-Key failed; it frees itself after 5 minutes");
    }
}
