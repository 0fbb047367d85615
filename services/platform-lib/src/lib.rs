//! Shared platform code for every tokshop service: typed settings, telemetry, the database handle and its
//! migration runner, the service error type and its gRPC mapping, the auth context that travels in gRPC metadata,
//! ids, money, and the gRPC server plumbing (health, optional reflection, graceful shutdown).

pub mod address;
pub mod auth;
pub mod cache;
pub mod config;
pub mod context;
pub mod db;
pub mod error;
pub mod events;
pub mod grpc;
pub mod ids;
pub mod limits;
pub mod metrics;
pub mod money;
pub mod page;
pub mod redis;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod trace_context;

pub use context::ServiceContext;
pub use error::{ServiceError, ServiceResult};

/// Lowercase hex SHA-256 of `parts` fed in order: checksums, token hashes and request fingerprints.
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for part in parts {
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

/// `Some(value)` unless it is empty: proto3 sends an absent optional string as `""`. Trim first where surrounding
/// blanks should count as absent (`non_empty(req.cursor.trim())`).
pub fn non_empty<S: AsRef<str>>(value: S) -> Option<S> {
    (!value.as_ref().is_empty()).then_some(value)
}

/// Checks that `value` has between `min` and `max` characters; the error names `param`.
pub fn check_len(param: &str, value: &str, min: usize, max: usize) -> ServiceResult<()> {
    let len = value.chars().count();
    if len < min || len > max {
        let message = if min == max {
            format!("{param} must be {min} characters")
        } else if min == 0 {
            format!("{param} must be at most {max} characters")
        } else {
            format!("{param} must be {min} to {max} characters")
        };
        return Err(ServiceError::invalid(param, message));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ServiceError::invalid(
            param,
            format!("{param} must not contain control characters"),
        ));
    }
    Ok(())
}

/// Checks that `value` is an absolute http(s) URL of reasonable length, or empty.
pub fn check_url(param: &str, value: &str) -> ServiceResult<()> {
    if value.is_empty() {
        return Ok(());
    }
    check_len(param, value, 1, limits::MAX_URL)?;
    let ok = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() > "https://".len()
        && !value.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            param,
            format!("{param} must be an http(s) URL"),
        ))
    }
}
