//! What every model backend speaks: a conversation (system prompt, messages with tool calls and results), the
//! tools on offer, and a reply that is text, tool calls, or both. Backends: an OpenAI-compatible server, the
//! rule-based planner (no model at all), and a scripted model for tests.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    /// A tool's result, answering the assistant's tool call with the same id.
    Tool,
}

/// A function call the model asks for; `arguments` is the JSON object it produced (possibly invalid).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

/// One message of the conversation as models see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    /// User text, assistant text, or (for `Tool`) the tool's JSON result as text.
    pub content: String,
    /// Calls the assistant made in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For `Tool` messages: the call answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For `Tool` messages: the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

impl ChatMessage {
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: text.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            tool_name: None,
        }
    }

    pub fn assistant(text: impl Into<String>, tool_calls: Vec<ToolCall>) -> Self {
        Self {
            role: Role::Assistant,
            content: text.into(),
            tool_calls,
            tool_call_id: None,
            tool_name: None,
        }
    }

    pub fn tool(call: &ToolCall, result: &Value) -> Self {
        Self {
            role: Role::Tool,
            content: result.to_string(),
            tool_calls: Vec::new(),
            tool_call_id: Some(call.id.clone()),
            tool_name: Some(call.name.clone()),
        }
    }
}

/// A tool as offered to the model: name, description and JSON schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    pub system: String,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolSpec>,
    pub max_output_tokens: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelResponse {
    /// The assistant's text (may be empty when it only calls tools).
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    /// `stop`, `tool_calls`, `length`, ... as the provider reports it.
    pub finish_reason: String,
}

/// Where a streaming backend sends text as it arrives; the full text is still returned in the response.
pub type DeltaSink = Option<UnboundedSender<String>>;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model did not answer within {0} s")]
    Timeout(u64),
    #[error("the model endpoint answered {status}: {message}")]
    Http { status: u16, message: String },
    #[error("the model endpoint could not be reached: {0}")]
    Unreachable(String),
    #[error("the model's answer could not be read: {0}")]
    Protocol(String),
    #[error("{0}")]
    Other(String),
}

impl ModelError {
    /// The `error.type` of a failed model call in traces and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Http { .. } => "http_error",
            Self::Unreachable(_) => "unreachable",
            Self::Protocol(_) => "protocol_error",
            Self::Other(_) => "other",
        }
    }
}

/// A model backend.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync {
    /// `gen_ai.provider.name`: `openai` for OpenAI-compatible servers, `tokshop.rules`, `tokshop.scripted`.
    fn provider(&self) -> &str;
    /// `gen_ai.request.model`.
    fn model(&self) -> &str;
    /// One model call. Streaming backends also send text deltas to `deltas` as they arrive.
    async fn complete(
        &self,
        request: &ModelRequest,
        deltas: &DeltaSink,
    ) -> Result<ModelResponse, ModelError>;
}
