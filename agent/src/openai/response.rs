//! rig-core's reply in our terms: text, tool calls (arguments that are not a JSON object kept as the raw text),
//! usage and the finish reason.

use rig_core::completion::{CompletionResponse, FinishReason};
use serde_json::Value;

use crate::model::{ModelResponse, ToolCall, Usage};

/// The reply in our terms. Arguments that are not a JSON object stay the raw text the model sent, as
/// a JSON string, so the agent loop can tell the model what was wrong with them.
pub(super) fn model_response(reply: &CompletionResponse) -> ModelResponse {
    let tool_calls = reply
        .tool_calls()
        .map(|call| ToolCall {
            id: call.id.wire().into_owned(),
            name: call.function.name.as_str().to_owned(),
            arguments: match &call.function.invalid_arguments {
                Some(raw) => Value::String(raw.clone()),
                None => Value::Object(call.function.arguments.clone()),
            },
        })
        .collect();
    ModelResponse {
        text: reply.text(),
        tool_calls,
        usage: Usage {
            input_tokens: reply.usage.input_tokens.unwrap_or_default(),
            output_tokens: reply.usage.output_tokens.unwrap_or_default(),
        },
        finish_reason: finish_reason(reply.finish_reason()),
    }
}

/// The OpenAI spelling of a finish reason; a server's own reason is kept as it sent it.
fn finish_reason(reason: Option<FinishReason>) -> String {
    match reason {
        Some(FinishReason::Stop) => "stop".to_owned(),
        Some(FinishReason::Length) => "length".to_owned(),
        Some(FinishReason::ToolCalls) => "tool_calls".to_owned(),
        Some(FinishReason::ContentFilter) => "content_filter".to_owned(),
        Some(FinishReason::Other(reason)) => reason,
        // A reason a later rig-core adds: its snake_case name.
        Some(reason) => serde_json::to_value(&reason)
            .ok()
            .and_then(|name| name.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{reason:?}").to_lowercase()),
        None => "unknown".to_owned(),
    }
}
