//! The REST error: an HTTP status plus the flat JSON body `{type, code, message, param}`, and the one mapping from
//! gRPC statuses to it. Internal failures are logged with their cause and shown as "internal error".

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use tonic::Code;

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "invalid_request_error", "code": "invalid_parameter", "message": "title must be 1 to 200 characters", "param": "title"}))]
pub struct ErrorBody {
    /// invalid_request_error, authentication_error, permission_error, not_found_error, conflict_error,
    /// rate_limit_error or api_error.
    #[serde(rename = "type")]
    pub kind: String,
    /// Machine-readable code such as `username_taken`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field the error is about, if any.
    pub param: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub param: Option<String>,
    /// Seconds to wait before retrying (rate limits).
    pub retry_after_secs: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "a backend service is unavailable; try again shortly",
        )
    }

    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            param: None,
            retry_after_secs: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
            message,
        )
        .with_param(param)
    }

    pub fn unauthenticated(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; slow down",
            )
        }
    }

    /// Too many wrong passwords for an account or from an address.
    pub fn login_throttled(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_login_failures",
                "too many wrong passwords; try again later",
            )
        }
    }

    /// A failure that is ours: logged with its cause, shown without it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            kind: error_type(self.status).to_owned(),
            code: self.code.clone(),
            message: self.message.clone(),
            param: self.param.clone(),
        }
    }
}

/// The error `type` clients switch on, by HTTP status.
pub fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        409 => "conflict_error",
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let (code, param) = tokshop_platform::error::status_details(&status);
        let (http, default_code) = match status.code() {
            Code::InvalidArgument => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter"),
            Code::OutOfRange => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Code::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Code::PermissionDenied => (StatusCode::FORBIDDEN, "forbidden"),
            Code::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => {
                (StatusCode::CONFLICT, "conflict")
            }
            Code::ResourceExhausted => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            // A status made here from a transport error (the connection reset or closed mid-call, as when the
            // backend process dies) says the backend is gone, not that it failed: it carries that error as its
            // source, which a status a backend sent never does.
            Code::Unknown | Code::Internal | Code::Cancelled
                if std::error::Error::source(&status).is_some() =>
            {
                tracing::warn!(message = status.message(), "backend connection lost");
                return Self::unavailable();
            }
            Code::Unavailable => {
                tracing::warn!(message = status.message(), "backend service unavailable");
                return Self::unavailable();
            }
            _ => {
                tracing::error!(grpc_code = ?status.code(), message = status.message(), "backend call failed");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "internal error",
                );
            }
        };
        Self {
            status: http,
            code: code.unwrap_or_else(|| default_code.to_owned()),
            message: status.message().to_owned(),
            param,
            retry_after_secs: (status.code() == Code::ResourceExhausted)
                .then(|| tokshop_platform::error::status_retry_after(&status).unwrap_or(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokshop_platform::ServiceError;

    use super::*;

    #[test]
    fn statuses_map_to_http_and_keep_code_and_param() {
        let status = tonic::Status::from(ServiceError::invalid("title", "title is too long"));
        let err = ApiError::from(status);
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.code, "invalid_parameter");
        assert_eq!(err.param.as_deref(), Some("title"));
        assert_eq!(err.body().kind, "invalid_request_error");

        let taken = ApiError::from(tonic::Status::from(ServiceError::conflict_on(
            "username_taken",
            "username",
            "taken",
        )));
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert_eq!(taken.code, "username_taken");
        assert_eq!(taken.body().kind, "conflict_error");

        let cases = [
            (Code::Unauthenticated, 401, "authentication_error"),
            (Code::PermissionDenied, 403, "permission_error"),
            (Code::NotFound, 404, "not_found_error"),
            (Code::FailedPrecondition, 409, "conflict_error"),
            (Code::Aborted, 409, "conflict_error"),
            (Code::ResourceExhausted, 429, "rate_limit_error"),
            (Code::Unavailable, 503, "api_error"),
            (Code::Internal, 500, "api_error"),
            (Code::DataLoss, 500, "api_error"),
        ];
        for (code, http, kind) in cases {
            let err = ApiError::from(tonic::Status::new(code, "boom"));
            assert_eq!(err.status.as_u16(), http, "{code:?}");
            assert_eq!(err.body().kind, kind, "{code:?}");
        }
    }

    /// A call whose connection died mid-way (tonic makes an Unknown status with the I/O error as its source) is a
    /// 503, like a refused connection; the same code sent by a backend stays a 500.
    #[test]
    fn a_lost_backend_connection_is_unavailable() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
        let lost = tonic::Status::from_error(Box::new(reset));
        assert_eq!(lost.code(), Code::Unknown);
        assert_eq!(ApiError::from(lost).status, StatusCode::SERVICE_UNAVAILABLE);
        let sent = tonic::Status::new(Code::Unknown, "boom");
        assert_eq!(
            ApiError::from(sent).status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn limits_keep_their_code_and_wait() {
        let err = ApiError::from(tonic::Status::from(ServiceError::limited(
            "agent_turns_per_minute",
            "slow down",
            17,
        )));
        assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(err.code, "agent_turns_per_minute");
        assert_eq!(err.retry_after_secs, Some(17));
        let response = err.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "17");
    }

    #[test]
    fn internal_errors_hide_the_backend_message() {
        let err = ApiError::from(tonic::Status::internal("db at /var/secret exploded"));
        assert_eq!(err.message, "internal error");
        let unavailable = ApiError::from(tonic::Status::unavailable("tcp connect error 10.0.0.3"));
        assert_eq!(unavailable.code, "service_unavailable");
        assert!(!unavailable.message.contains("10.0.0.3"));
    }

    #[test]
    fn client_errors_are_invalid_request_errors() {
        assert_eq!(error_type(StatusCode::BAD_REQUEST), "invalid_request_error");
        assert_eq!(
            error_type(StatusCode::PAYLOAD_TOO_LARGE),
            "invalid_request_error"
        );
        assert_eq!(
            error_type(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            "invalid_request_error"
        );
        assert_eq!(error_type(StatusCode::GATEWAY_TIMEOUT), "api_error");
    }
}
