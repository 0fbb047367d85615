//! Extractors whose rejections are our JSON errors: the bearer caller, a JSON body and a query string.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Query, Request},
    http::{HeaderMap, StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;
use tokshop_platform::{
    ServiceError,
    auth::{Principal, TokenKeys},
};

use crate::{error::ApiError, state::AppState};

/// The verified caller; 401 without a valid bearer token. The raw token is kept to forward to the services.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub token: String,
    pub principal: Principal,
}

impl AuthUser {
    pub fn token(&self) -> Option<&str> {
        Some(&self.token)
    }
}

/// The caller if a bearer token is present (and then it must be valid), anonymous otherwise.
#[derive(Debug, Clone, Default)]
pub struct MaybeAuth(pub Option<AuthUser>);

impl MaybeAuth {
    pub fn token(&self) -> Option<&str> {
        self.0.as_ref().map(|user| user.token.as_str())
    }
}

/// The bearer token of a request, if it sends one; a malformed header is a 401.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::unauthenticated(
            "invalid_token",
            "authorization must be `Bearer <access token>`",
        )
    };
    let value = value.to_str().map_err(|_| invalid())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(invalid)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(invalid());
    }
    Ok(Some(token))
}

/// The caller a request's bearer token names, if it sends one and it verifies; for middleware that keys on the
/// caller and leaves refusing bad tokens to the handlers.
pub(crate) fn verified_caller(keys: &TokenKeys, headers: &HeaderMap) -> Option<Principal> {
    let token = bearer(headers).ok().flatten()?;
    keys.verify(token).ok()
}

fn verify(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    match state.keys.verify(token) {
        Ok(principal) => {
            let user = AuthUser {
                token: token.to_owned(),
                principal,
            };
            // The request span declares `user_id` empty; fill it so every log line of the request names the caller.
            tracing::Span::current().record("user_id", user.principal.user_id.as_str());
            Ok(user)
        }
        Err(ServiceError::Unauthenticated(message)) if message.contains("expired") => Err(
            ApiError::unauthenticated("token_expired", "access token expired; refresh the session"),
        ),
        Err(_) => Err(ApiError::unauthenticated(
            "invalid_token",
            "invalid access token",
        )),
    }
}

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(&parts.headers)? {
            Some(token) => verify(state, token).map(|user| Self(Some(user))),
            None => Ok(Self(None)),
        }
    }
}

/// The same check as [`MaybeAuth`], with the token required.
impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let MaybeAuth(user) = MaybeAuth::from_request_parts(parts, state).await?;
        user.ok_or_else(|| {
            ApiError::unauthenticated(
                "missing_token",
                "sign in first: send `Authorization: Bearer <access token>`",
            )
        })
    }
}

/// A JSON request body. Rejections: 415 without a JSON content type, 413 over the body limit, 400 for malformed
/// JSON, 422 (with the field as `param`) when the JSON does not fit the expected shape.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(
            req.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        ) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body is too large",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    rejection.body_text(),
                )
            }
        })?;
        parse_json(&bytes).map(Self)
    }
}

fn is_json(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Deserializes a JSON body, telling syntax errors (400) from shape errors (422, naming the field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        json_error(&path, &inner)
    })?;
    deserializer
        .end()
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", err.to_string()))?;
    Ok(value)
}

fn json_error(path: &str, err: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Data => {
            let message = err.to_string();
            let base = if path == "." { "" } else { path };
            let param = match missing_field(&message) {
                Some(field) if base.is_empty() => field.to_owned(),
                Some(field) => format!("{base}.{field}"),
                None => base.to_owned(),
            };
            let error = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_parameter",
                message,
            );
            if param.is_empty() {
                error
            } else {
                error.with_param(param)
            }
        }
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON body: {err}"),
        ),
    }
}

/// `missing field `title` at line 1 column 2` -> `title`.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// A query string; a value of the wrong type is a 400 `invalid_query` naming the parameter.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text)
                    .to_owned();
                let error = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format!("invalid query string: {detail}"),
                );
                Err(match query_param(&detail) {
                    Some(param) => error.with_param(param),
                    None => error,
                })
            }
        }
    }
}

/// `price_min: invalid digit found in string` -> `price_min`.
fn query_param(detail: &str) -> Option<&str> {
    let (param, _) = detail.split_once(": ")?;
    let plain = !param.is_empty() && param.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    plain.then_some(param)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Variant {
        sku: String,
        price_minor: i64,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        variants: Vec<Variant>,
    }

    #[test]
    fn malformed_json_is_400() {
        let err = parse_json::<Body>(b"{\"title\": ").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.code, "malformed_json");
        let trailing = parse_json::<Body>(b"{\"title\":\"a\",\"variants\":[]} x").unwrap_err();
        assert_eq!(trailing.code, "malformed_json");
    }

    #[test]
    fn shape_errors_are_422_with_the_field() {
        let err = parse_json::<Body>(
            br#"{"title": "a", "variants": [{"sku": "x", "price_minor": "cheap"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.param.as_deref(), Some("variants[0].price_minor"));

        let missing = parse_json::<Body>(br#"{"variants": []}"#).unwrap_err();
        assert_eq!(missing.param.as_deref(), Some("title"));
        let nested =
            parse_json::<Body>(br#"{"title": "a", "variants": [{"sku": "x"}]}"#).unwrap_err();
        assert_eq!(nested.param.as_deref(), Some("variants[0].price_minor"));
    }

    #[test]
    fn content_types() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(is_json(Some("application/merge-patch+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }

    #[test]
    fn query_errors_name_the_parameter() {
        assert_eq!(
            query_param("price_min: invalid digit found in string"),
            Some("price_min")
        );
        assert_eq!(query_param("invalid type: something odd"), None);
    }
}
