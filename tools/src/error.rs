//! A failed tool call as the model sees it: `{"error": "<code>", "message": ..., "param"?, "available"?}`, so it
//! can recover (pick another variant, ask for an address) instead of the turn failing.

use serde_json::{Value, json};
use tokshop_platform::error::status_details;
use tonic::{Code, Status};

#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    pub code: String,
    pub message: String,
    pub param: Option<String>,
    /// For `out_of_stock`: how many units there are.
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

    pub fn to_json(&self) -> Value {
        let mut value = json!({"error": self.code, "message": self.message});
        if let Some(param) = &self.param {
            value["param"] = json!(param);
        }
        if let Some(available) = self.available {
            value["available"] = json!(available);
        }
        value
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
