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
//!
//! By concern: `config` (where the server is, from settings or `TOKSHOP_LLM_*`), `request` (our conversation
//! as rig-core's request), `response` (its reply as ours) and `failure` (what went wrong, as a [`ModelError`]);
//! this file holds the client and its time limit.

mod config;
mod failure;
mod request;
mod response;

use std::time::Duration;

use futures::StreamExt;
use rig_core::Model;
use rig_core::completion::{CompletionRequest, CompletionResponse};
use rig_core::providers::openai::OpenAIConfig;
use rig_core::providers::openai::wire::{Auth, Chat};
use rig_core::streaming::{Item, StreamEvent};
use rig_reqwest::{ReqwestClient, reqwest};
use tokio::sync::mpsc::UnboundedSender;

use crate::model::{ChatModel, DeltaSink, ModelError, ModelRequest, ModelResponse};

pub use config::OpenAiConfig;
use failure::{chain, model_error};
use request::completion_request;
use response::model_response;

/// The `gen_ai.provider.name` of every OpenAI-compatible server, whoever runs it.
const PROVIDER: &str = "openai";

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
