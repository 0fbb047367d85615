//! The OpenAI-compatible chat-completions backend: one client for every server that speaks
//! `POST {base_url}/chat/completions` (OpenAI, DeepSeek, Qwen, Doubao/Ark, vLLM, Ollama, llama.cpp's
//! server).
//!
//! The wire format is rig-core's chat-completions wire, pointed at the configured base URL: it encodes
//! the conversation (system prompt, tool calls and their results, function tools with their JSON
//! schemas), reads a whole reply or a server-sent-event stream (text deltas, tool-call argument
//! fragments joined by their index, the usage chunk asked for with `stream_options`), and keeps
//! tool-call arguments that are not a JSON object as the raw text the model sent. This module maps
//! our [`ModelRequest`] onto it and its reply and failures back onto [`ModelResponse`] and
//! [`ModelError`], and owns the time limit, so that a silent server ends in
//! [`ModelError::Timeout`] whichever way the reply is read.
//!
//! Requests go through reqwest with rustls on the aws-lc-rs provider, the one provider the rest of the
//! binary uses: a second rustls provider in one process fails at start-up.

use std::error::Error as StdError;
use std::time::Duration;

use futures::StreamExt;
use rig_core::completion::{CompletionRequest, CompletionResponse, FinishReason, ToolDefinition};
use rig_core::error::ProviderError;
use rig_core::message::{
    AssistantContent, AssistantMessage, CallId, Message, ToolName, ToolResultContent, UserContent,
};
use rig_core::providers::openai::OpenAIConfig;
use rig_core::providers::openai::wire::{Auth, Chat};
use rig_core::streaming::{Item, StreamEvent};
use rig_core::{Model, http_client};
use rig_reqwest::{ReqwestClient, reqwest};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::model::{
    ChatMessage, ChatModel, DeltaSink, ModelError, ModelRequest, ModelResponse, Role, ToolCall,
    Usage,
};

/// The `gen_ai.provider.name` of every OpenAI-compatible server, whoever runs it.
const PROVIDER: &str = "openai";

/// The time limit when `TOKSHOP_LLM_TIMEOUT_SECS` does not set one.
const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// How much of an error body that is not JSON goes into an error message.
const MAX_ERROR_BODY_CHARS: usize = 500;

/// Where the server is and which model it should run.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// The API root the chat-completions path is appended to, typically ending in `/v1`
    /// (`https://api.openai.com/v1`, `http://localhost:11434/v1`).
    pub base_url: String,
    /// Sent as a bearer token; `None` for local servers that take no credential.
    pub api_key: Option<String>,
    pub model: String,
    /// How long one model call may take. A streamed reply may run longer as long as the server never
    /// goes silent for this long.
    pub timeout_secs: u64,
}

/// Shows whether a key is set, never the key: configurations end up in logs.
impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("model", &self.model)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl OpenAiConfig {
    /// The configuration `TOKSHOP_LLM_BASE_URL`, `TOKSHOP_LLM_API_KEY`, `TOKSHOP_LLM_MODEL` and
    /// `TOKSHOP_LLM_TIMEOUT_SECS` (default 60) describe; `None` when neither the base URL nor the
    /// model is set, which means "no model configured", not an error.
    pub fn from_env() -> Option<Result<Self, ModelError>> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any source of variables (a settings file, a test's map); an empty
    /// value counts as unset.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Option<Result<Self, ModelError>> {
        let read = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let base_url = read("TOKSHOP_LLM_BASE_URL");
        let model = read("TOKSHOP_LLM_MODEL");
        if base_url.is_none() && model.is_none() {
            return None;
        }
        Some(Self::from_parts(
            base_url,
            model,
            read("TOKSHOP_LLM_API_KEY"),
            read("TOKSHOP_LLM_TIMEOUT_SECS"),
        ))
    }

    fn from_parts(
        base_url: Option<String>,
        model: Option<String>,
        api_key: Option<String>,
        timeout: Option<String>,
    ) -> Result<Self, ModelError> {
        let missing = |name: &str| {
            ModelError::Other(format!(
                "{name} must be set when a model server is configured"
            ))
        };
        let timeout_secs = match timeout {
            None => DEFAULT_TIMEOUT_SECS,
            Some(text) => text.trim().parse().map_err(|_| {
                ModelError::Other(format!(
                    "TOKSHOP_LLM_TIMEOUT_SECS must be a whole number of seconds, not `{text}`"
                ))
            })?,
        };
        Ok(Self {
            base_url: base_url.ok_or_else(|| missing("TOKSHOP_LLM_BASE_URL"))?,
            api_key,
            model: model.ok_or_else(|| missing("TOKSHOP_LLM_MODEL"))?,
            timeout_secs,
        })
    }

    /// Reject settings that could only fail later, on the first model call.
    fn check(&self) -> Result<(), ModelError> {
        let base_url = self.base_url.trim();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ModelError::Other(format!(
                "the model server's base URL must start with http:// or https://, not `{}`",
                self.base_url
            )));
        }
        if self.model.trim().is_empty() {
            return Err(ModelError::Other("no model name is configured".to_owned()));
        }
        if self.timeout_secs == 0 {
            return Err(ModelError::Other(
                "the model timeout must be at least 1 s".to_owned(),
            ));
        }
        Ok(())
    }
}

/// A chat model on an OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    chat: Model<Chat>,
    model: String,
    timeout_secs: u64,
}

impl OpenAiCompatible {
    pub fn new(config: OpenAiConfig) -> Result<Self, ModelError> {
        config.check()?;
        let timeout = Duration::from_secs(config.timeout_secs);
        // The connect timeout only makes a dead address fail as a timeout rather than hang in the
        // connector; the whole call is bounded in `complete`.
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .build()
            .map_err(|error| {
                ModelError::Other(format!(
                    "the HTTP client could not be built: {}",
                    chain(&error)
                ))
            })?;
        // The OpenAI dialect with the configured base URL: chat completions, the legacy `max_tokens`
        // cap except for OpenAI's own reasoning models, and no `Authorization` header without a key,
        // which some local servers reject.
        let chat = OpenAIConfig::new(config.api_key.unwrap_or_default())
            .with_base_url(config.base_url.trim().trim_end_matches('/'))
            .with_auth(Auth::OptionalBearer)
            .connect(ReqwestClient::from(http))
            .chat(config.model.clone());
        Ok(Self {
            chat,
            model: config.model,
            timeout_secs: config.timeout_secs,
        })
    }

    /// The backend the `TOKSHOP_LLM_*` variables describe (see [`OpenAiConfig::from_env`]); `None`
    /// when no model server is configured.
    pub fn from_env() -> Option<Result<Self, ModelError>> {
        OpenAiConfig::from_env().map(|config| config.and_then(Self::new))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// A plain request: the whole call, reply included, within the timeout.
    async fn call(&self, request: CompletionRequest) -> Result<CompletionResponse, ModelError> {
        match tokio::time::timeout(self.timeout(), self.chat.call(request)).await {
            Ok(reply) => reply.map_err(|error| model_error(error, self.timeout_secs)),
            Err(_) => Err(ModelError::Timeout(self.timeout_secs)),
        }
    }

    /// A streamed request: text goes to `sink` as it arrives, and the server may not stay silent
    /// for longer than the timeout, before its first event or between two.
    async fn stream(
        &self,
        request: CompletionRequest,
        sink: &UnboundedSender<String>,
    ) -> Result<CompletionResponse, ModelError> {
        let fail = |error| model_error(error, self.timeout_secs);
        let mut stream = self.chat.stream(request).map_err(fail)?;
        loop {
            let next = tokio::time::timeout(self.timeout(), stream.next())
                .await
                .map_err(|_| ModelError::Timeout(self.timeout_secs))?;
            match next {
                None => break,
                Some(Err(error)) => return Err(fail(error)),
                Some(Ok(Item::Event(StreamEvent::Text { text, .. }))) => {
                    // A listener that went away only stops hearing the text; the reply still
                    // completes and carries all of it.
                    let _ = sink.send(text);
                }
                Some(Ok(_)) => {}
            }
        }
        stream.finish().await.map_err(fail)
    }
}

/// [`OpenAiCompatible::from_env`], for callers that pick a backend at start-up.
pub fn from_env() -> Option<Result<OpenAiCompatible, ModelError>> {
    OpenAiCompatible::from_env()
}

#[async_trait::async_trait]
impl ChatModel for OpenAiCompatible {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(
        &self,
        request: &ModelRequest,
        deltas: &DeltaSink,
    ) -> Result<ModelResponse, ModelError> {
        let request = completion_request(request)?;
        let reply = match deltas {
            Some(sink) => self.stream(request, sink).await?,
            None => self.call(request).await?,
        };
        Ok(model_response(&reply))
    }
}

/// The request as rig-core's wire takes it: the system prompt as the leading system message, then
/// the conversation, the tools and the output cap.
fn completion_request(request: &ModelRequest) -> Result<CompletionRequest, ModelError> {
    let mut history = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.trim().is_empty() {
        history.push(Message::system(request.system.clone()));
    }
    for (at, message) in request.messages.iter().enumerate() {
        let earlier = request.messages.get(..at).unwrap_or_default();
        history.extend(rig_message(message, earlier)?);
    }
    let Some(first) = history.first().cloned() else {
        return Err(ModelError::Other(
            "a model request needs a system prompt or at least one message".to_owned(),
        ));
    };
    let tools = request
        .tools
        .iter()
        .map(|tool| {
            Ok(ToolDefinition::new(
                tool_name(&tool.name)?,
                tool.description.clone(),
                tool.parameters.clone(),
            ))
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let mut completion = CompletionRequest::new(first)
        .tools(tools)
        .max_tokens(request.max_output_tokens.map(u64::from));
    completion.chat_history = history;
    Ok(completion)
}

/// One of our messages as rig-core's; an assistant message with neither text nor calls says
/// nothing and is left out, as chat-completions servers reject it. `earlier` is the conversation
/// before it, where a tool result without a name finds the call it answers.
fn rig_message(
    message: &ChatMessage,
    earlier: &[ChatMessage],
) -> Result<Option<Message>, ModelError> {
    Ok(match message.role {
        Role::User => Some(Message::user(message.content.clone())),
        Role::Assistant => assistant_message(message)?,
        Role::Tool => Some(tool_result(message, earlier)?),
    })
}

fn assistant_message(message: &ChatMessage) -> Result<Option<Message>, ModelError> {
    let mut content = Vec::with_capacity(message.tool_calls.len() + 1);
    if !message.content.is_empty() {
        content.push(AssistantContent::text(message.content.clone()));
    }
    for call in &message.tool_calls {
        // Arguments that were never a JSON object (kept as the model's raw text) go back as the
        // part of an object that could be read, or `{}`.
        content.push(AssistantContent::tool_call(
            call.id.clone(),
            tool_name(&call.name)?,
            call.arguments.clone(),
        ));
    }
    Ok((!content.is_empty()).then(|| Message::Assistant(AssistantMessage::new(content))))
}

/// A tool's result, answering the call with the same id; its content is the tool's JSON as text.
fn tool_result(message: &ChatMessage, earlier: &[ChatMessage]) -> Result<Message, ModelError> {
    let id = message
        .tool_call_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ModelError::Other("a tool result message names no tool call id".to_owned())
        })?;
    let name = match &message.tool_name {
        Some(name) => name.clone(),
        None => called_tool(id, earlier).ok_or_else(|| {
            ModelError::Other(format!(
                "the tool result for call `{id}` names no tool and answers no earlier call"
            ))
        })?,
    };
    Ok(Message::User {
        content: vec![UserContent::tool_result(
            CallId::from_wire(id),
            tool_name(&name)?,
            vec![ToolResultContent::text(message.content.clone())],
        )],
    })
}

/// The name of the tool the assistant called with `id`, latest call first.
fn called_tool(id: &str, earlier: &[ChatMessage]) -> Option<String> {
    earlier
        .iter()
        .rev()
        .flat_map(|message| message.tool_calls.iter())
        .find(|call| call.id == id)
        .map(|call| call.name.clone())
}

fn tool_name(name: &str) -> Result<ToolName, ModelError> {
    ToolName::new(name).map_err(|_| ModelError::Other("a tool has an empty name".to_owned()))
}

/// The reply in our terms. Arguments that are not a JSON object stay the raw text the model sent, as
/// a JSON string, so the agent loop can tell the model what was wrong with them.
fn model_response(reply: &CompletionResponse) -> ModelResponse {
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

/// A failed call in our terms: the server's answer with its status, a transport failure by what
/// went wrong, and anything unreadable as a protocol error.
fn model_error(error: ProviderError, timeout_secs: u64) -> ModelError {
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
fn chain(error: &(dyn StdError + 'static)) -> String {
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
