//! The ReAct loop and the confirmation guard. A turn: the shopper's message (or their yes/no to the one action
//! waiting), then model call -> tool calls (run in parallel) -> results -> model, until a final answer or a
//! limit. Consequential tools never run when the model calls them: the guard stores a pending action with frozen
//! arguments and a summary, and only the shopper's approval (an explicit call, or an affirmative next message when
//! exactly one action waits) runs it. Nothing the model writes and nothing inside a tool result can approve.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokshop_platform::{ServiceError, ServiceResult, time::now_ms};
use tokshop_tools::{Clients, Registry, ToolContext, ToolError};
use tracing::Instrument;

use crate::{
    model::{ChatMessage, ChatModel, ModelRequest, Role, ToolCall, ToolSpec, Usage},
    prompt,
    store::{Conversation, PendingAction, Step, Store},
};

/// Bounds on one turn; reaching one ends the turn with an explanation instead of an error.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_steps: usize,
    pub max_tokens: u64,
    pub max_seconds: u64,
    /// How long a pending action waits for the shopper.
    pub pending_ttl_secs: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_steps: 8,
            max_tokens: 60_000,
            max_seconds: 90,
            pending_ttl_secs: 600,
        }
    }
}

/// What a turn reports as it goes: streamed to the client, and collected for the JSON reply.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    Text {
        delta: String,
    },
    ToolCall {
        id: String,
        name: String,
        arguments: Value,
    },
    ToolResult {
        id: String,
        name: String,
        result: Value,
        duration_ms: i64,
    },
    ConfirmationRequired {
        pending_action_id: String,
        tool: String,
        summary: String,
        expires_at_ms: i64,
    },
    Done {
        reply: String,
        steps: usize,
        input_tokens: u64,
        output_tokens: u64,
        /// Time spent waiting for the model over the turn.
        model_ms: i64,
        stopped: Option<String>,
    },
    Error {
        kind: String,
        message: String,
    },
}

/// The signed-in shopper a turn acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    /// Their access token, forwarded to every service the tools call.
    pub token: String,
}

/// The result of the shopper's decision on a pending action.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub pending_action_id: String,
    pub status: String,
    pub result: Value,
}

pub struct Agent {
    store: Store,
    model: Arc<dyn ChatModel>,
    tools: Registry,
    /// The tools as offered to the model, built once: their schemas do not change while the process runs.
    specs: Vec<ToolSpec>,
    clients: Clients,
    currency: String,
    limits: Limits,
}

const AFFIRMATIVE: &[&str] = &[
    "yes",
    "y",
    "yeah",
    "yep",
    "sure",
    "ok",
    "okay",
    "confirm",
    "confirmed",
    "go ahead",
    "do it",
    "approve",
    "yes please",
    "please do",
    "是",
    "是的",
    "好",
    "好的",
    "确认",
    "可以",
    "行",
    "没问题",
    "对",
];
const NEGATIVE: &[&str] = &[
    "no",
    "n",
    "nope",
    "don't",
    "do not",
    "stop",
    "reject",
    "no thanks",
    "不",
    "不要",
    "不用",
    "算了",
    "别",
];

/// "Yes!" -> Some(true), "no thanks." -> Some(false), anything else -> None.
pub fn yes_or_no(text: &str) -> Option<bool> {
    let cleaned: String = text
        .trim()
        .trim_matches(|c: char| c.is_ascii_punctuation() || "。！，？ ".contains(c))
        .to_lowercase();
    if AFFIRMATIVE.contains(&cleaned.as_str()) {
        Some(true)
    } else if NEGATIVE.contains(&cleaned.as_str()) {
        Some(false)
    } else {
        None
    }
}

fn emit(events: &UnboundedSender<AgentEvent>, event: AgentEvent) {
    // A client that went away stops listening; the turn still completes and is stored.
    let _ = events.send(event);
}

/// The assistant call and tool result that record an approved (or rejected) action in the conversation.
fn decided_messages(action: &PendingAction, result: &Value) -> [ChatMessage; 2] {
    let call = ToolCall {
        id: format!("confirm_{}", action.id),
        name: action.tool.clone(),
        arguments: serde_json::from_str(&action.arguments).unwrap_or(Value::Null),
    };
    [
        ChatMessage::assistant("", vec![call.clone()]),
        ChatMessage::tool(&call, result),
    ]
}

struct TurnState {
    turn: i64,
    step: i64,
    usage: Usage,
    model_ms: i64,
}

impl Agent {
    pub fn new(
        store: Store,
        model: Arc<dyn ChatModel>,
        tools: Registry,
        clients: Clients,
        currency: String,
        limits: Limits,
    ) -> Self {
        let specs = tools
            .iter()
            .map(|t| ToolSpec {
                name: t.name().to_owned(),
                description: t.description().to_owned(),
                parameters: t.parameters(),
            })
            .collect();
        Self {
            store,
            model,
            tools,
            specs,
            clients,
            currency,
            limits,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A new conversation, recording the model and prompt version it runs with.
    pub async fn start(&self, caller: &Caller, title: &str) -> ServiceResult<Conversation> {
        let title = title.trim();
        tokshop_platform::check_len("title", title, 0, 200)?;
        let title = if title.is_empty() { "Shopping" } else { title };
        self.store
            .create(&caller.user_id, title, self.model.model(), prompt::VERSION)
            .await
    }

    fn context(&self, caller: &Caller, request_id: String) -> ToolContext {
        ToolContext::new(
            self.clients.clone(),
            caller.token.clone(),
            self.currency.clone(),
            request_id,
        )
    }

    /// One turn of the conversation for `text`; events go to `events` as they happen. Returns the final reply.
    pub async fn turn(
        &self,
        caller: &Caller,
        conversation_id: &str,
        text: &str,
        events: &UnboundedSender<AgentEvent>,
    ) -> ServiceResult<String> {
        let text = text.trim();
        tokshop_platform::check_len("text", text, 1, 4000)?;
        let conversation = self.store.get(&caller.user_id, conversation_id).await?;
        let turn = self.store.begin_turn(&conversation.id).await?;
        let span = tracing::info_span!(
            "invoke_agent tokshop",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.agent.name = "tokshop",
            gen_ai.conversation.id = %conversation.id,
            gen_ai.provider.name = %self.model.provider(),
            gen_ai.request.model = %self.model.model(),
        );
        self.run_turn(caller, &conversation, turn, text, events)
            .instrument(span)
            .await
    }

    async fn run_turn(
        &self,
        caller: &Caller,
        conversation: &Conversation,
        turn: i64,
        text: &str,
        events: &UnboundedSender<AgentEvent>,
    ) -> ServiceResult<String> {
        let started = Instant::now();
        let mut state = TurnState {
            turn,
            step: 0,
            usage: Usage::default(),
            model_ms: 0,
        };
        self.store
            .append(&conversation.id, turn, &[ChatMessage::user(text)])
            .await?;
        // A plain yes or no answers the one action waiting, if exactly one is; otherwise it is an ordinary message.
        let open = self.store.open_actions(&conversation.id).await?;
        if let (Some(approve), [action]) = (yes_or_no(text), open.as_slice()) {
            self.settle(caller, action, approve, turn, events).await?;
        }
        let mut steps = 0;
        loop {
            if steps >= self.limits.max_steps {
                return self
                    .finish(conversation, &mut state, events, "I stopped here: that took more steps than one message may use. Tell me how you'd like to continue.", Some("max_steps"))
                    .await;
            }
            if state.usage.input_tokens + state.usage.output_tokens >= self.limits.max_tokens {
                return self
                    .finish(conversation, &mut state, events, "I stopped here: this message used up its token budget. Ask again, more specifically, and I'll continue.", Some("max_tokens"))
                    .await;
            }
            if started.elapsed() >= Duration::from_secs(self.limits.max_seconds) {
                return self
                    .finish(conversation, &mut state, events, "I stopped here: this took longer than one message may take. Please try again.", Some("max_seconds"))
                    .await;
            }
            steps += 1;
            let request = ModelRequest {
                system: prompt::SYSTEM.to_owned(),
                messages: self.store.messages(&conversation.id).await?,
                tools: self.specs.clone(),
                max_output_tokens: Some(1024),
            };
            let response = match self
                .call_model(conversation, &mut state, &request, events)
                .await
            {
                Ok(response) => response,
                Err(reply) => {
                    return self
                        .finish(
                            conversation,
                            &mut state,
                            events,
                            &reply,
                            Some("model_error"),
                        )
                        .await;
                }
            };
            self.store
                .append(
                    &conversation.id,
                    turn,
                    &[ChatMessage::assistant(
                        &response.text,
                        response.tool_calls.clone(),
                    )],
                )
                .await?;
            if response.tool_calls.is_empty() {
                return Ok(done(&state, events, response.text.clone(), None));
            }
            let results = futures::future::join_all(
                response
                    .tool_calls
                    .iter()
                    .map(|call| self.run_call(caller, conversation, call, events)),
            )
            .await;
            let mut messages = Vec::with_capacity(results.len());
            for (call, (result, started_at_ms, duration_ms)) in
                response.tool_calls.iter().zip(results)
            {
                state.step += 1;
                let outcome = result
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("ok")
                    .to_owned();
                self.store
                    .record_step(
                        &conversation.id,
                        &Step {
                            turn,
                            step: state.step,
                            kind: "tool".into(),
                            name: call.name.clone(),
                            call_id: call.id.clone(),
                            started_at_ms,
                            duration_ms,
                            input_tokens: 0,
                            output_tokens: 0,
                            detail: json!({"arguments": call.arguments, "result": result})
                                .to_string(),
                            outcome,
                        },
                    )
                    .await?;
                messages.push(ChatMessage::tool(call, &result));
            }
            self.store.append(&conversation.id, turn, &messages).await?;
        }
    }

    /// One model call, traced and recorded; a failure becomes the reply the shopper sees.
    async fn call_model(
        &self,
        conversation: &Conversation,
        state: &mut TurnState,
        request: &ModelRequest,
        events: &UnboundedSender<AgentEvent>,
    ) -> Result<crate::model::ModelResponse, String> {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<String>();
        let forward = {
            let events = events.clone();
            tokio::spawn(async move {
                while let Some(delta) = receiver.recv().await {
                    emit(&events, AgentEvent::Text { delta });
                }
            })
        };
        let span = tracing::info_span!(
            "chat",
            otel.name = %format!("chat {}", self.model.model()),
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = %self.model.provider(),
            gen_ai.request.model = %self.model.model(),
            gen_ai.conversation.id = %conversation.id,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            gen_ai.response.finish_reasons = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        let started_at_ms = now_ms();
        let clock = Instant::now();
        let result = self
            .model
            .complete(request, &Some(sender))
            .instrument(span.clone())
            .await;
        let _ = forward.await;
        state.step += 1;
        let duration_ms = clock.elapsed().as_millis() as i64;
        state.model_ms += duration_ms;
        match result {
            Ok(response) => {
                span.record("gen_ai.usage.input_tokens", response.usage.input_tokens);
                span.record("gen_ai.usage.output_tokens", response.usage.output_tokens);
                span.record(
                    "gen_ai.response.finish_reasons",
                    response.finish_reason.as_str(),
                );
                state.usage.input_tokens += response.usage.input_tokens;
                state.usage.output_tokens += response.usage.output_tokens;
                let _ = self.store.add_usage(&conversation.id, response.usage).await;
                let detail = json!({"text": response.text, "tool_calls": response.tool_calls,
                                    "finish_reason": response.finish_reason});
                self.model_step(
                    conversation,
                    state,
                    (started_at_ms, duration_ms),
                    response.usage,
                    detail,
                    "ok",
                )
                .await;
                Ok(response)
            }
            Err(err) => {
                span.record("error.type", err.kind());
                tracing::warn!(error = %err, "model call failed");
                emit(
                    events,
                    AgentEvent::Error {
                        kind: err.kind().to_owned(),
                        message: err.to_string(),
                    },
                );
                let detail = json!({"error": err.to_string()});
                self.model_step(
                    conversation,
                    state,
                    (started_at_ms, duration_ms),
                    Usage::default(),
                    detail,
                    err.kind(),
                )
                .await;
                Err(format!(
                    "Sorry, the assistant's model is not answering right now ({}). Please try again in a moment.",
                    err.kind()
                ))
            }
        }
    }

    /// Records a model call in the trace. A failure to record is logged, never fatal to the turn.
    async fn model_step(
        &self,
        conversation: &Conversation,
        state: &TurnState,
        (started_at_ms, duration_ms): (i64, i64),
        usage: Usage,
        detail: Value,
        outcome: &str,
    ) {
        let step = Step {
            turn: state.turn,
            step: state.step,
            kind: "model".into(),
            name: self.model.model().to_owned(),
            call_id: String::new(),
            started_at_ms,
            duration_ms,
            input_tokens: usage.input_tokens as i64,
            output_tokens: usage.output_tokens as i64,
            detail: detail.to_string(),
            outcome: outcome.to_owned(),
        };
        if let Err(err) = self.store.record_step(&conversation.id, &step).await {
            tracing::warn!(error = %err, "could not record a trace step");
        }
    }

    /// Runs one tool call (or, for a consequential tool, records the pending action). Returns the result and timing.
    async fn run_call(
        &self,
        caller: &Caller,
        conversation: &Conversation,
        call: &ToolCall,
        events: &UnboundedSender<AgentEvent>,
    ) -> (Value, i64, i64) {
        emit(
            events,
            AgentEvent::ToolCall {
                id: call.id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
            },
        );
        let span = tracing::info_span!(
            "execute_tool",
            otel.name = %format!("execute_tool {}", call.name),
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = %call.name,
            gen_ai.tool.call.id = %call.id,
            gen_ai.conversation.id = %conversation.id,
            error.type = tracing::field::Empty,
        );
        let started_at_ms = now_ms();
        let clock = Instant::now();
        let result = self
            .execute(caller, conversation, call, events)
            .instrument(span.clone())
            .await;
        if let Some(kind) = result.get("error").and_then(Value::as_str) {
            span.record("error.type", kind);
        }
        let duration_ms = clock.elapsed().as_millis() as i64;
        emit(
            events,
            AgentEvent::ToolResult {
                id: call.id.clone(),
                name: call.name.clone(),
                result: result.clone(),
                duration_ms,
            },
        );
        (result, started_at_ms, duration_ms)
    }

    async fn execute(
        &self,
        caller: &Caller,
        conversation: &Conversation,
        call: &ToolCall,
        events: &UnboundedSender<AgentEvent>,
    ) -> Value {
        let Some(tool) = self.tools.get(&call.name) else {
            return ToolError::new(
                "unknown_tool",
                format!("there is no tool named {}", call.name),
            )
            .to_json();
        };
        if let Err(err) = tool.check(&call.arguments) {
            return err.to_json();
        }
        let ctx = self.context(caller, call.id.clone());
        if !tool.consequential() {
            return tool
                .call(&ctx, &call.arguments)
                .await
                .unwrap_or_else(|err| err.to_json());
        }
        let summary = match tool.summarize(&ctx, &call.arguments).await {
            Ok(summary) => summary,
            Err(err) => return err.to_json(),
        };
        let ttl_ms = self.limits.pending_ttl_secs * 1000;
        match self
            .store
            .create_pending(
                &conversation.id,
                &caller.user_id,
                &call.name,
                &call.arguments,
                &summary,
                ttl_ms,
            )
            .await
        {
            Ok(action) => {
                emit(
                    events,
                    AgentEvent::ConfirmationRequired {
                        pending_action_id: action.id.clone(),
                        tool: action.tool.clone(),
                        summary: action.summary.clone(),
                        expires_at_ms: action.expires_at_ms,
                    },
                );
                json!({"status": "confirmation_required", "pending_action_id": action.id, "summary": action.summary,
                       "expires_in_seconds": self.limits.pending_ttl_secs})
            }
            Err(err) => ToolError::new("internal", err.to_string()).to_json(),
        }
    }

    /// Approves (runs) or rejects a pending action once, and records the outcome in the conversation.
    async fn settle(
        &self,
        caller: &Caller,
        action: &PendingAction,
        approve: bool,
        turn: i64,
        events: &UnboundedSender<AgentEvent>,
    ) -> ServiceResult<Decision> {
        let status = if approve { "approved" } else { "rejected" };
        if !self.store.decide(&action.id, status).await? {
            let current = self
                .store
                .pending(&caller.user_id, &action.conversation_id, &action.id)
                .await?;
            let status = if current.status == "pending" {
                "expired"
            } else {
                current.status.as_str()
            };
            return Err(ServiceError::conflict_on(
                "action_decided",
                "pending_action_id",
                format!("this action is {status}; nothing was done"),
            ));
        }
        let call_id = format!("confirm_{}", action.id);
        let arguments: Value = serde_json::from_str(&action.arguments).unwrap_or(Value::Null);
        emit(
            events,
            AgentEvent::ToolCall {
                id: call_id.clone(),
                name: action.tool.clone(),
                arguments: arguments.clone(),
            },
        );
        let clock = Instant::now();
        let result = if approve {
            match self.tools.get(&action.tool) {
                // The pending action's id is the request id, so even a retried service call acts once.
                Some(tool) => tool
                    .call(&self.context(caller, action.id.clone()), &arguments)
                    .instrument(tracing::info_span!("execute_tool", otel.name = %format!("execute_tool {}", action.tool), gen_ai.tool.name = %action.tool, gen_ai.tool.call.id = %call_id))
                    .await
                    .unwrap_or_else(|err| err.to_json()),
                None => ToolError::new("unknown_tool", "that tool no longer exists").to_json(),
            }
        } else {
            json!({"status": "rejected", "message": "the shopper said no; nothing was done"})
        };
        self.store.set_result(&action.id, &result).await?;
        emit(
            events,
            AgentEvent::ToolResult {
                id: call_id,
                name: action.tool.clone(),
                result: result.clone(),
                duration_ms: clock.elapsed().as_millis() as i64,
            },
        );
        self.store
            .append(
                &action.conversation_id,
                turn,
                &decided_messages(action, &result),
            )
            .await?;
        Ok(Decision {
            pending_action_id: action.id.clone(),
            status: status.to_owned(),
            result,
        })
    }

    /// The shopper's explicit decision on a pending action (`POST .../confirmations/{id}`).
    pub async fn decide(
        &self,
        caller: &Caller,
        conversation_id: &str,
        pending_id: &str,
        approve: bool,
        events: &UnboundedSender<AgentEvent>,
    ) -> ServiceResult<Decision> {
        let conversation = self.store.get(&caller.user_id, conversation_id).await?;
        let action = self
            .store
            .pending(&caller.user_id, &conversation.id, pending_id)
            .await?;
        self.settle(caller, &action, approve, conversation.turns, events)
            .await
    }

    async fn finish(
        &self,
        conversation: &Conversation,
        state: &mut TurnState,
        events: &UnboundedSender<AgentEvent>,
        reply: &str,
        stopped: Option<&str>,
    ) -> ServiceResult<String> {
        self.store
            .append(
                &conversation.id,
                state.turn,
                &[ChatMessage::assistant(reply, Vec::new())],
            )
            .await?;
        emit(
            events,
            AgentEvent::Text {
                delta: reply.to_owned(),
            },
        );
        Ok(done(state, events, reply.to_owned(), stopped))
    }
}

/// Ends the turn: reports its reply, steps, tokens and model time, and returns the reply.
fn done(
    state: &TurnState,
    events: &UnboundedSender<AgentEvent>,
    reply: String,
    stopped: Option<&str>,
) -> String {
    emit(
        events,
        AgentEvent::Done {
            reply: reply.clone(),
            steps: state.step as usize,
            input_tokens: state.usage.input_tokens,
            output_tokens: state.usage.output_tokens,
            model_ms: state.model_ms,
            stopped: stopped.map(str::to_owned),
        },
    );
    reply
}

/// Whether a stored message is the shopper's (for transcripts that hide tool traffic).
pub fn is_visible(message: &ChatMessage) -> bool {
    match message.role {
        Role::User => true,
        Role::Assistant => !message.content.is_empty(),
        Role::Tool => false,
    }
}
