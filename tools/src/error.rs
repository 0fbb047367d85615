//! A failed tool call as the model sees it: `{"error": "<code>", "message": ..., "param"?, "available"?}`, so it
//! can recover (pick another variant, ask for an address) instead of the turn failing.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokshop_platform::error::status_details;
use tonic::{Code, Status};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolError {
    #[serde(rename = "error")]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// For `out_of_stock`: how many units there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}

impl ToolError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            param: None,
            available: None,
        }
    }

    pub fn invalid_arguments(message: impl Into<String>) -> Self {
        Self::new("invalid_arguments", message)
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The failure as the model reads it: `{"error": code, "message", "param"?, "available"?}`.
    pub fn to_json(&self) -> Value {
        // A struct of strings and numbers always serializes; the code alone is the fallback all the same.
        serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({ "error": self.code }))
    }
}

/// "only 2 of Trail Runner (B-42) in stock; 3 asked" -> 2.
fn available_in(message: &str) -> Option<i64> {
    message
        .strip_prefix("only ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl From<Status> for ToolError {
    fn from(status: Status) -> Self {
        let (code, param) = status_details(&status);
        let code = code.unwrap_or_else(|| match status.code() {
            Code::NotFound => "not_found".into(),
            Code::InvalidArgument => "invalid_parameter".into(),
            Code::PermissionDenied => "forbidden".into(),
            Code::Unauthenticated => "unauthenticated".into(),
            Code::AlreadyExists | Code::FailedPrecondition => "conflict".into(),
            Code::Unavailable | Code::DeadlineExceeded => "service_unavailable".into(),
            _ => "internal".into(),
        });
        let message = if status.code() == Code::Internal {
            "something went wrong on our side; try again".to_owned()
        } else if crate::untrusted::looks_like_instructions(status.message()) {
            // Service messages can quote what sellers wrote (a title in "only 2 of ... in stock").
            format!(
                "the request was refused ({code}); the details quote text that reads like instructions"
            )
        } else {
            status.message().to_owned()
        };
        let available = (code == "out_of_stock")
            .then(|| available_in(&message))
            .flatten();
        Self {
            code,
            message,
            param,
            available,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn out_of_stock_carries_what_is_available() {
        let status = Status::from(tokshop_platform::ServiceError::conflict_on(
            "out_of_stock",
            "items[0].quantity",
            "only 2 of Trail Runner (B-42) in stock; 3 asked",
        ));
        let err = ToolError::from(status);
        assert_eq!(
            err.to_json(),
            json!({"error": "out_of_stock", "message": "only 2 of Trail Runner (B-42) in stock; 3 asked",
                   "param": "items[0].quantity", "available": 2})
        );
    }
}
