//! The one error type every service returns, and its mapping to `tonic::Status` at the gRPC edge.
//!
//! A machine-readable `code` and the offending `param` ride along in status metadata so the gateway can render
//! the flat REST error `{type, code, message, param}` without guessing.

use tonic::{Code, Status, metadata::MetadataValue};

/// Metadata key carrying the machine-readable error code (`username_taken`, `out_of_stock`, ...).
pub const ERROR_CODE_KEY: &str = "x-tokshop-error-code";
/// Metadata key carrying the request field the error is about.
pub const ERROR_PARAM_KEY: &str = "x-tokshop-error-param";
/// Metadata key carrying how many seconds a rate-limited caller should wait.
pub const RETRY_AFTER_KEY: &str = "x-tokshop-retry-after";

pub type ServiceResult<T> = Result<T, ServiceError>;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is well-formed but a field's value is not acceptable.
    #[error("{message}")]
    Invalid { param: String, message: String },
    /// Well-formed, but refused by a rule that has its own code (`content_policy`, `unsupported_media_type`).
    #[error("{message}")]
    Refused {
        code: &'static str,
        param: String,
        message: String,
    },
    /// Larger than the configured limit (an upload, say).
    #[error("{message}")]
    TooLarge { param: String, message: String },
    /// No caller identity, or one that is expired, tampered with or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The request clashes with existing state (a taken username, an order in the wrong state).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        param: Option<String>,
    },
    /// A limit on how much or how often the caller may do something; `retry_after_secs` says when it lifts.
    #[error("{message}")]
    RateLimited {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// A service this one depends on did not answer; the caller may retry.
    #[error("{0} is unavailable; try again shortly")]
    Unavailable(&'static str),
    /// A failure that is ours, not the caller's. The cause is logged, never shown.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            param: param.into(),
            message: message.into(),
        }
    }

    pub fn refused(
        code: &'static str,
        param: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Refused {
            code,
            param: param.into(),
            message: message.into(),
        }
    }

    pub fn too_large(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::TooLarge {
            param: param.into(),
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            param: None,
        }
    }

    pub fn conflict_on(
        code: &'static str,
        param: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            param: Some(param.into()),
        }
    }

    /// A dependency failed: logged with its status, shown to the caller as a retryable 503.
    pub fn unavailable(dependency: &'static str, cause: impl std::fmt::Display) -> Self {
        tracing::warn!(dependency, %cause, "dependency call failed");
        Self::Unavailable(dependency)
    }

    pub fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated(message.into())
    }

    /// A limit reached: 429 with `code`, and Retry-After `retry_after_secs`.
    pub fn limited(code: &'static str, message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::RateLimited {
            code,
            message: message.into(),
            retry_after_secs,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// The machine-readable code shown to clients.
    pub fn code(&self) -> String {
        match self {
            Self::Invalid { .. } => "invalid_parameter".into(),
            Self::Refused { code, .. } => (*code).into(),
            Self::TooLarge { .. } => "too_large".into(),
            Self::Unauthenticated(_) => "unauthenticated".into(),
            Self::Forbidden(_) => "forbidden".into(),
            Self::NotFound { what } => format!("{}_not_found", what.replace(' ', "_")),
            Self::Conflict { code, .. } => (*code).into(),
            Self::RateLimited { code, .. } => (*code).into(),
            Self::Unavailable(_) => "service_unavailable".into(),
            Self::Internal(_) => "internal".into(),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    /// A database too busy or unreachable to serve in time (no connection free within the pool's limit, a
    /// connection the server dropped, SQLite's write lock still taken after its busy timeout) is a retryable 503;
    /// anything else is ours.
    fn from(err: sqlx::Error) -> Self {
        let unavailable = match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
            // SQLITE_BUSY (5) and its extended codes (5 + 256 * n). SQLite's codes are numbers of at most three
            // digits; PostgreSQL's are five-character SQLSTATEs, never taken for these.
            // PostgreSQL: a connection exception (class 08) or the server shutting down or starting (57P0x).
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                (code.len() <= 3 && code.parse::<u32>().is_ok_and(|n| n & 0xff == 5))
                    || code.starts_with("08")
                    || code.starts_with("57P0")
            }),
            _ => false,
        };
        if unavailable {
            Self::unavailable("database", err)
        } else {
            Self::Internal(anyhow::Error::new(err))
        }
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Self {
        let code = err.code();
        let (grpc_code, param) = match &err {
            ServiceError::Invalid { param, .. } | ServiceError::Refused { param, .. } => {
                (Code::InvalidArgument, Some(param.clone()))
            }
            ServiceError::TooLarge { param, .. } => (Code::OutOfRange, Some(param.clone())),
            ServiceError::Unauthenticated(_) => (Code::Unauthenticated, None),
            ServiceError::Forbidden(_) => (Code::PermissionDenied, None),
            ServiceError::NotFound { .. } => (Code::NotFound, None),
            ServiceError::Conflict { param, .. } => (Code::AlreadyExists, param.clone()),
            ServiceError::RateLimited { .. } => (Code::ResourceExhausted, None),
            ServiceError::Unavailable(_) => (Code::Unavailable, None),
            ServiceError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                (Code::Internal, None)
            }
        };
        let mut status = Status::new(grpc_code, err.to_string());
        if let Ok(value) = MetadataValue::try_from(code.as_str()) {
            status.metadata_mut().insert(ERROR_CODE_KEY, value);
        }
        if let Some(value) = param.and_then(|p| MetadataValue::try_from(p.as_str()).ok()) {
            status.metadata_mut().insert(ERROR_PARAM_KEY, value);
        }
        if let ServiceError::RateLimited {
            retry_after_secs, ..
        } = err
            && let Ok(value) = MetadataValue::try_from(retry_after_secs.max(1).to_string())
        {
            status.metadata_mut().insert(RETRY_AFTER_KEY, value);
        }
        status
    }
}

/// The seconds to wait a rate-limited status carries, if any.
pub fn status_retry_after(status: &Status) -> Option<u64> {
    status
        .metadata()
        .get(RETRY_AFTER_KEY)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The error code and param a service attached to a status, if any.
pub fn status_details(status: &Status) -> (Option<String>, Option<String>) {
    let read = |key| {
        status
            .metadata()
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    (read(ERROR_CODE_KEY), read(ERROR_PARAM_KEY))
}

/// True when a database error is a unique-key violation (the caller tried to create something that exists).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_code_and_param() {
        let status = Status::from(ServiceError::conflict_on(
            "username_taken",
            "username",
            "that username is taken",
        ));
        assert_eq!(status.code(), Code::AlreadyExists);
        assert_eq!(
            status_details(&status),
            (Some("username_taken".into()), Some("username".into()))
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status = Status::from(ServiceError::Internal(anyhow::anyhow!(
            "disk on fire at /secret"
        )));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
