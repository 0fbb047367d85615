//! A failed model call as a [`ModelError`]: the server's own answer with its status, a transport failure by what
//! went wrong (a timeout, an unreachable server, an unreadable reply).

use std::error::Error as StdError;

use rig_core::error::ProviderError;
use rig_core::http_client;
use rig_reqwest::reqwest;
use serde_json::Value;

use crate::model::ModelError;

/// How much of an error body that is not JSON goes into an error message.
const MAX_ERROR_BODY_CHARS: usize = 500;

/// A failed call in our terms: the server's answer with its status, a transport failure by what
/// went wrong, and anything unreadable as a protocol error.
pub(super) fn model_error(error: ProviderError, timeout_secs: u64) -> ModelError {
    match error {
        ProviderError::ProviderResponse(response)
        | ProviderError::InvalidAuthentication(response)
        | ProviderError::CacheExpired { response, .. } => {
            let message = error_message(&response.body);
            match response.status {
                Some(status) => ModelError::Http {
                    status: status.as_u16(),
                    message,
                },
                None => ModelError::Other(format!("the model server reported an error: {message}")),
            }
        }
        ProviderError::Http(error) => transport_error(&error, timeout_secs),
        ProviderError::Json(error) => ModelError::Protocol(error.to_string()),
        ProviderError::Response(message) => ModelError::Protocol(message),
        ProviderError::Truncated => {
            ModelError::Protocol("the reply ended before the model server finished it".to_owned())
        }
        other => ModelError::Other(other.to_string()),
    }
}

/// A failure of the HTTP exchange itself, classified by the first cause in its chain that says what
/// it was.
fn transport_error(error: &http_client::Error, timeout_secs: u64) -> ModelError {
    if let http_client::Error::InvalidStatusCodeWithDetails { status, body, .. } = error {
        return ModelError::Http {
            status: status.as_u16(),
            message: error_message(body),
        };
    }
    let described = chain(error);
    let mut cause: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(error) = current.downcast_ref::<reqwest::Error>() {
            if error.is_timeout() {
                return ModelError::Timeout(timeout_secs);
            }
            if error.is_connect() {
                return ModelError::Unreachable(described);
            }
            if error.is_decode() || error.is_body() {
                return ModelError::Protocol(described);
            }
        }
        if let Some(error) = current.downcast_ref::<std::io::Error>()
            && error.kind() == std::io::ErrorKind::TimedOut
        {
            return ModelError::Timeout(timeout_secs);
        }
        cause = current.source();
    }
    match error {
        http_client::Error::InvalidContentType(_) | http_client::Error::StreamEnded => {
            ModelError::Protocol(described)
        }
        _ => ModelError::Unreachable(described),
    }
}

/// The message of an error body: the `error.message` OpenAI-compatible servers send, the other
/// shapes some of them use (`error` as a string, a top-level `message` or `detail`), or else the
/// body itself, shortened.
fn error_message(body: &str) -> String {
    let parsed = serde_json::from_str::<Value>(body).ok();
    let field = parsed.as_ref().and_then(|value| {
        [
            value.pointer("/error/message"),
            value.get("error"),
            value.get("message"),
            value.get("detail"),
        ]
        .into_iter()
        .flatten()
        .find_map(|field| field.as_str().filter(|text| !text.trim().is_empty()))
    });
    match field {
        Some(message) => message.to_owned(),
        None if body.trim().is_empty() => "the response body was empty".to_owned(),
        None => body.trim().chars().take(MAX_ERROR_BODY_CHARS).collect(),
    }
}

/// An error and its causes, outermost first, as one line.
pub(super) fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let part = current.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = current.source();
    }
    text
}
