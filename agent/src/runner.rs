//! The ReAct loop and the confirmation guard. A turn: the shopper's message (or their yes/no to the one action
//! waiting), then model call -> tool calls (run in parallel) -> results -> model, until a final answer or a
//! limit. Consequential tools never run when the model calls them: the guard freezes the call's concrete effect
//! from live state, renders its summary in the conversation's language, stores it with a digest, and supersedes
//! older proposals. Only the shopper's approval runs it: the confirmation endpoint naming the digest, or a message
//! that is nothing but an affirmation, right after the proposal, with exactly one action waiting. At approval the
//! effect is computed again from live state; if its digest differs nothing runs and the shopper is asked again,
//! shown what changed. Nothing the model writes and nothing inside a tool result can approve.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use tokshop_platform::{ServiceError, ServiceResult, time::now_ms};
use tokshop_tools::{Clients, Registry, ToolContext, ToolError};
use tracing::Instrument;

use crate::{
    approval::{Reply, classify},
    model::{ChatMessage, ChatModel, ModelRequest, Role, ToolCall, ToolSpec, Usage},
    prompt,
    store::{Conversation, NewPending, PendingAction, Step, Store},
};
use tokshop_tools::{Lang, guard::canonical};

/// Bounds on one turn (reaching one ends the turn with an explanation instead of an error) and on each user (a
/// turn over one is refused with 429 before it starts). A user limit of 0 is no limit.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_steps: usize,
    pub max_tokens: u64,
    /// The turn's deadline: a model call still running then is abandoned, and the turn ends with a clean reply.
    pub max_seconds: u64,
    /// How long a pending action waits for the shopper.
    pub pending_ttl_secs: i64,
    /// Most messages of the conversation the model is shown (the current turn is always shown whole).
    pub history_messages: usize,
    /// Turns one user may start per minute, over all their conversations.
    pub turns_per_minute: u32,
    /// Model tokens (input and output) one user's turns may use per UTC day.
    pub tokens_per_day: u64,
    /// Turns one user may have running at once.
    pub concurrent_turns: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_steps: 8,
            max_tokens: 60_000,
            max_seconds: 90,
            pending_ttl_secs: 600,
            history_messages: 60,
            turns_per_minute: 0,
            tokens_per_day: 0,
            concurrent_turns: 0,
        }
    }
}

/// What each user has under way in this process: turns running, and when their recent turns started.
#[derive(Debug, Default)]
struct Activity {
    running: u32,
    started: std::collections::VecDeque<Instant>,
}

/// A running turn counted against its user; dropping it (however the turn ends) gives the slot back.
struct Slot {
    users: Arc<std::sync::Mutex<std::collections::HashMap<String, Activity>>>,
    user_id: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(activity) = users.get_mut(&self.user_id) {
            activity.running = activity.running.saturating_sub(1);
            if activity.running == 0 && activity.started.is_empty() {
                users.remove(&self.user_id);
            }
        }
    }
}

/// A turn allowed to start: it holds its conversation and its user's slot until it is run and dropped.
pub struct Admitted {
    caller: Caller,
    conversation: Conversation,
    text: String,
    _claim: Claim,
    _slot: Slot,
}

/// Why a turn stopped early without keeping its request for later turns.
const CANCELLED: &str = "cancelled";
const TIMED_OUT: &str = "max_seconds";

/// What a turn reports as it goes: streamed to the client (each as an SSE event named by its `type`), and
/// collected for the JSON reply.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// Words of the reply as they come.
    Text {
        delta: String,
    },
    /// The model called a tool (consequential tools only propose: see confirmation_required).
    ToolCall {
        id: String,
        name: String,
        #[schema(value_type = Object)]
        arguments: Value,
    },
    /// A tool's result, or `{"error": code, "message": ...}`.
    ToolResult {
        id: String,
        name: String,
        #[schema(value_type = Object)]
        result: Value,
        duration_ms: i64,
    },
    ConfirmationRequired {
        pending_action_id: String,
        tool: String,
        /// Rendered by the server from the frozen effect, in the conversation's language.
        summary: String,
        /// What an approval through the confirmation endpoint names.
        digest: String,
        expires_at_ms: i64,
    },
    /// How an action the shopper decided on ended: approved (it ran), failed (with the reason), rejected, or
    /// changed (live state moved; a new confirmation follows).
    ActionResult {
        pending_action_id: String,
        tool: String,
        status: String,
        reason: String,
        /// What happened, for the shopper, in the conversation's language.
        message: String,
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
    /// approved, failed, rejected or changed.
    pub status: String,
    pub result: Value,
    /// Why it failed or changed.
    pub reason: String,
    /// What happened, for the shopper.
    pub message: String,
    /// When live state had changed: the new proposal to approve instead.
    pub replaced_by: Option<PendingAction>,
}

pub struct Agent {
    store: Store,
    /// Conversations with a turn or a decision under way in this process: one at a time each.
    busy: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Per-user turn counts for the per-user limits.
    users: Arc<std::sync::Mutex<std::collections::HashMap<String, Activity>>>,
    model: Arc<dyn ChatModel>,
    tools: Registry,
    /// The tools as offered to the model, built once: their schemas do not change while the process runs.
    specs: Vec<ToolSpec>,
    clients: Clients,
    currency: String,
    limits: Limits,
}

/// Whether `text`, said right after a proposal of `tool`, approves it.
pub fn approves(text: &str, tool: &str) -> bool {
    classify(text, tool) == Reply::Approve
}

fn emit(events: &UnboundedSender<AgentEvent>, event: AgentEvent) {
    // A client that went away stops listening; the turn still completes and is stored.
    let _ = events.send(event);
}

/// The assistant call and tool result that record a decided action in the conversation.
fn decided_messages(action: &PendingAction, result: &Value) -> [ChatMessage; 2] {
    let call = ToolCall {
        id: format!("confirm_{}", action.id),
        name: action.tool.clone(),
        arguments: action.arguments_value(),
    };
    [
        ChatMessage::assistant("", vec![call.clone()]),
        ChatMessage::tool(&call, result),
    ]
}

struct TurnState {
    turn: i64,
    step: i64,
    /// Model calls so far in the turn: proposals of one round may wait together.
    round: i64,
    usage: Usage,
    model_ms: i64,
    /// The shopper's language this turn, for the summaries the server renders.
    lang: Lang,
    /// Pending actions proposed this turn: the shopper must read their summaries before a yes can approve them.
    proposed: Vec<String>,
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
            busy: Arc::default(),
            users: Arc::default(),
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

    /// Claims the conversation for one turn or decision; a second one at the same time is refused (409), so
    /// messages keep their order and a yes can never race the turn whose proposal it would approve.
    fn claim(&self, conversation_id: &str) -> ServiceResult<Claim> {
        let mut busy = self
            .busy
            .lock()
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("turn registry poisoned")))?;
        if !busy.insert(conversation_id.to_owned()) {
            return Err(ServiceError::conflict_on(
                "turn_in_progress",
                "conversation_id",
                "the assistant is still answering in this conversation; wait for that answer, then try again",
            ));
        }
        Ok(Claim {
            busy: self.busy.clone(),
            conversation_id: conversation_id.to_owned(),
        })
    }

    /// Counts a new turn against its user, or refuses it (429 with when to retry) if it would pass a limit.
    async fn admit(&self, user_id: &str) -> ServiceResult<Slot> {
        let limits = &self.limits;
        if limits.tokens_per_day > 0 {
            let used = self.store.tokens_today(user_id).await?;
            if used >= limits.tokens_per_day {
                let now = now_ms();
                let midnight = (crate::store::utc_day(now) + 1) * crate::store::DAY_MS;
                return Err(ServiceError::limited(
                    "agent_daily_tokens",
                    "you have used today's assistant allowance; it renews at midnight UTC",
                    u64::try_from(midnight - now).map_or(1, |ms| ms.div_ceil(1000)),
                ));
            }
        }
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let activity = users.entry(user_id.to_owned()).or_default();
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        while activity
            .started
            .front()
            .is_some_and(|t| now.duration_since(*t) >= minute)
        {
            activity.started.pop_front();
        }
        if limits.concurrent_turns > 0 && activity.running >= limits.concurrent_turns {
            return Err(ServiceError::limited(
                "agent_concurrent_turns",
                format!(
                    "the assistant is already answering {} of your messages; wait for one to finish",
                    activity.running
                ),
                1,
            ));
        }
        if limits.turns_per_minute > 0
            && activity.started.len() >= limits.turns_per_minute as usize
            && let Some(oldest) = activity.started.front()
        {
            let wait = minute.saturating_sub(now.duration_since(*oldest));
            return Err(ServiceError::limited(
                "agent_turns_per_minute",
                "too many messages to the assistant in a minute; wait a moment",
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            ));
        }
        activity.running += 1;
        if limits.turns_per_minute > 0 {
            activity.started.push_back(now);
        }
        Ok(Slot {
            users: self.users.clone(),
            user_id: user_id.to_owned(),
        })
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
        self.turn_until(
            caller,
            conversation_id,
            text,
            events,
            CancellationToken::new(),
        )
        .await
    }

    /// A turn that stops calling the model once `cancel` fires (the client went away): the model call in flight is
    /// abandoned, tool calls already running finish and are recorded, and the turn ends as if timed out. Approvals
    /// settled at the start of the turn have already run and are recorded either way.
    pub async fn turn_until(
        &self,
        caller: &Caller,
        conversation_id: &str,
        text: &str,
        events: &UnboundedSender<AgentEvent>,
        cancel: CancellationToken,
    ) -> ServiceResult<String> {
        let admitted = self.admit_turn(caller, conversation_id, text).await?;
        self.run_admitted(admitted, events, cancel).await
    }

    /// Everything that may refuse a turn before it starts: the text, the conversation (the caller's own), one turn
    /// at a time per conversation, and the caller's limits. A refusal changes nothing.
    pub async fn admit_turn(
        &self,
        caller: &Caller,
        conversation_id: &str,
        text: &str,
    ) -> ServiceResult<Admitted> {
        let text = text.trim();
        tokshop_platform::check_len("text", text, 1, 4000)?;
        let conversation = self.store.get(&caller.user_id, conversation_id).await?;
        let claim = self.claim(&conversation.id)?;
        let slot = self.admit(&caller.user_id).await?;
        Ok(Admitted {
            caller: caller.clone(),
            conversation,
            text: text.to_owned(),
            _claim: claim,
            _slot: slot,
        })
    }

    /// Runs an admitted turn; events go to `events` as they happen. Returns the final reply.
    pub async fn run_admitted(
        &self,
        admitted: Admitted,
        events: &UnboundedSender<AgentEvent>,
        cancel: CancellationToken,
    ) -> ServiceResult<String> {
        let Admitted {
            caller,
            conversation,
            text,
            ..
        } = &admitted;
        let turn = self.store.begin_turn(&conversation.id).await?;
        let span = tracing::info_span!(
            "invoke_agent tokshop",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.agent.name = "tokshop",
            gen_ai.conversation.id = %conversation.id,
            gen_ai.provider.name = %self.model.provider(),
            gen_ai.request.model = %self.model.model(),
        );
        self.run_turn(caller, conversation, turn, text, events, &cancel)
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
        cancel: &CancellationToken,
    ) -> ServiceResult<String> {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.limits.max_seconds);
        let mut state = TurnState {
            turn,
            step: 0,
            round: 0,
            usage: Usage::default(),
            model_ms: 0,
            lang: Lang::of(text),
            proposed: Vec::new(),
        };
        self.store
            .append(&conversation.id, turn, &[ChatMessage::user(text)])
            .await?;
        self.answer_in_words(caller, conversation, text, &mut state, events)
            .await?;
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
                return self.stop(conversation, &mut state, events, TIMED_OUT).await;
            }
            if cancel.is_cancelled() {
                return self.stop(conversation, &mut state, events, CANCELLED).await;
            }
            if self.limits.tokens_per_day > 0
                && self.store.tokens_today(&caller.user_id).await? >= self.limits.tokens_per_day
            {
                return self
                    .finish(conversation, &mut state, events, "I stopped here: you have used today's assistant allowance. It renews at midnight UTC.", Some("daily_tokens"))
                    .await;
            }
            steps += 1;
            state.round += 1;
            let request = ModelRequest {
                system: prompt::SYSTEM.to_owned(),
                messages: self
                    .store
                    .history(&conversation.id, self.limits.history_messages)
                    .await?,
                tools: self.specs.clone(),
                max_output_tokens: Some(1024),
            };
            let called = tokio::select! {
                response = self.call_model(conversation, &mut state, &request, events) => Some(response),
                () = cancel.cancelled() => None,
                () = tokio::time::sleep_until(deadline) => None,
            };
            let Some(called) = called else {
                let why = if cancel.is_cancelled() {
                    CANCELLED
                } else {
                    TIMED_OUT
                };
                return self.stop(conversation, &mut state, events, why).await;
            };
            let response = match called {
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
            if response.tool_calls.is_empty() {
                let reply = self
                    .with_summaries(conversation, &state, &response.text, events)
                    .await?;
                self.store
                    .append(
                        &conversation.id,
                        turn,
                        &[ChatMessage::assistant(&reply, Vec::new())],
                    )
                    .await?;
                return Ok(done(&state, events, reply, None));
            }
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
            let results = futures::future::join_all(
                response
                    .tool_calls
                    .iter()
                    .map(|call| self.run_call(caller, conversation, &state, call, events)),
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
                if let Some(id) = result.get("pending_action_id").and_then(Value::as_str) {
                    state.proposed.push(id.to_owned());
                }
                messages.push(ChatMessage::tool(call, &result));
            }
            self.store.append(&conversation.id, turn, &messages).await?;
        }
    }

    /// The model's final words, then the server's own confirmation block for every action proposed this turn and
    /// still waiting: a yes approves only what the shopper was shown, in the shop's words, whatever the model wrote
    /// (or failed to write) around it.
    async fn with_summaries(
        &self,
        conversation: &Conversation,
        state: &TurnState,
        text: &str,
        events: &UnboundedSender<AgentEvent>,
    ) -> ServiceResult<String> {
        if state.proposed.is_empty() {
            return Ok(text.to_owned());
        }
        let open = self.store.open_actions(&conversation.id).await?;
        let mut reply = text.trim_end().to_owned();
        for action in open.iter().filter(|a| state.proposed.contains(&a.id)) {
            let ask = confirmation_block(action);
            let added = if reply.is_empty() {
                ask
            } else {
                format!("\n\n{ask}")
            };
            emit(
                events,
                AgentEvent::Text {
                    delta: added.clone(),
                },
            );
            reply.push_str(&added);
        }
        Ok(reply)
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
                if let Err(err) = self.store.add_usage(conversation, response.usage).await {
                    tracing::warn!(error = %err, "could not count a model call's tokens");
                }
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
        state: &TurnState,
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
            .execute(caller, conversation, state, call, events)
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
        state: &TurnState,
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
        let proposed = Proposed {
            tool: &call.name,
            arguments: &call.arguments,
            turn: state.turn,
            round: state.round,
            lang: state.lang,
        };
        match self
            .propose(caller, &conversation.id, &proposed, events)
            .await
        {
            Ok(action) => json!({
                "status": "confirmation_required", "pending_action_id": action.id,
                "expires_in_seconds": self.limits.pending_ttl_secs,
                "note": "Nothing has happened yet. After your reply the shop shows the shopper its own summary of this \
                         exact action and asks for their approval; only that approval runs it.",
            }),
            Err(err) => err.to_json(),
        }
    }

    /// Freezes a consequential call's effect from live state, renders its summary and stores the pending action
    /// (superseding older ones). Nothing is stored when there is nothing to propose.
    async fn propose(
        &self,
        caller: &Caller,
        conversation_id: &str,
        proposed: &Proposed<'_>,
        events: &UnboundedSender<AgentEvent>,
    ) -> Result<PendingAction, ToolError> {
        let tool = self
            .tools
            .get(proposed.tool)
            .ok_or_else(|| ToolError::new("unknown_tool", "that tool no longer exists"))?;
        let ctx = self.context(caller, String::new());
        let proposal = tool.propose(&ctx, proposed.arguments).await?;
        let summary = tool.describe(&proposal.effect, proposed.lang)?;
        let action = self
            .store
            .create_pending(NewPending {
                conversation_id,
                user_id: &caller.user_id,
                tool: proposed.tool,
                arguments: proposed.arguments,
                effect: &proposal.effect,
                digest: &proposal.digest,
                summary: &summary,
                language: proposed.lang.label(),
                turn: proposed.turn,
                round: proposed.round,
                ttl_ms: self.limits.pending_ttl_secs * 1000,
            })
            .await
            .map_err(|err| ToolError::new("internal", err.to_string()))?;
        emit(
            events,
            AgentEvent::ConfirmationRequired {
                pending_action_id: action.id.clone(),
                tool: action.tool.clone(),
                summary: action.summary.clone(),
                digest: action.digest.clone(),
                expires_at_ms: action.expires_at_ms,
            },
        );
        Ok(action)
    }

    /// A message right after a proposal that is nothing but an affirmation approves it, when it is the only
    /// action waiting; a rejection drops whatever waits. Anything else settles nothing.
    async fn answer_in_words(
        &self,
        caller: &Caller,
        conversation: &Conversation,
        text: &str,
        state: &mut TurnState,
        events: &UnboundedSender<AgentEvent>,
    ) -> ServiceResult<()> {
        let open = self.store.open_actions(&conversation.id).await?;
        let Some(last) = open.last() else {
            return Ok(());
        };
        let settled = match classify(text, &last.tool) {
            Reply::Approve if open.len() == 1 && last.turn == state.turn - 1 => vec![(last, true)],
            Reply::Reject => open.iter().map(|a| (a, false)).collect(),
            _ => Vec::new(),
        };
        for (action, approve) in settled {
            match self
                .settle(caller, action, approve, None, state.turn, events)
                .await
            {
                Ok(decision) => state
                    .proposed
                    .extend(decision.replaced_by.map(|new| new.id)),
                // Decided a moment ago through the endpoint: this message is an ordinary one.
                Err(ServiceError::Conflict { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// Approves or rejects a pending action once, and records the outcome in the conversation and the trace.
    /// An approval names the digest it saw (the endpoint) or the action itself (words); either way the effect is
    /// recomputed from live state first, and only an unchanged effect is committed.
    async fn settle(
        &self,
        caller: &Caller,
        action: &PendingAction,
        approve: bool,
        digest: Option<&str>,
        turn: i64,
        events: &UnboundedSender<AgentEvent>,
    ) -> ServiceResult<Decision> {
        if let Some(digest) = digest
            && digest != action.digest
        {
            return Err(ServiceError::conflict_on(
                "digest_mismatch",
                "digest",
                format!(
                    "this approval names another version of the action; it now reads: {}",
                    action.summary
                ),
            ));
        }
        let claim = if approve { "executing" } else { "rejected" };
        if !self.store.decide(&action.id, claim).await? {
            let current = self
                .store
                .pending(&caller.user_id, &action.conversation_id, &action.id)
                .await?;
            return Err(ServiceError::conflict_on(
                "action_decided",
                "pending_action_id",
                format!(
                    "this action is {}; nothing was done",
                    current.current_status()
                ),
            ));
        }
        let lang = Lang::from_label(&action.language);
        let call_id = format!("confirm_{}", action.id);
        // The frozen effect, read once for the event, the commit and the trace.
        let effect = action.effect_value();
        emit(
            events,
            AgentEvent::ToolCall {
                id: call_id.clone(),
                name: action.tool.clone(),
                arguments: effect.clone(),
            },
        );
        let started_at_ms = now_ms();
        let clock = Instant::now();
        let (outcome, replaced_by) = if approve {
            self.execute_approved(caller, action, &effect, turn, events)
                .instrument(tracing::info_span!("execute_tool", otel.name = %format!("execute_tool {}", action.tool), gen_ai.operation.name = "execute_tool", gen_ai.tool.name = %action.tool, gen_ai.tool.call.id = %call_id, gen_ai.conversation.id = %action.conversation_id))
                .await
        } else {
            (
                Outcome {
                    status: "rejected",
                    result: json!({"status": "rejected", "message": "the shopper said no; nothing was done"}),
                    reason: String::new(),
                },
                None,
            )
        };
        let replaced_id = replaced_by
            .as_ref()
            .map(|a| a.id.clone())
            .unwrap_or_default();
        // From here on the action has happened (or definitely not): failing to write it down must not turn it
        // into an error the shopper would retry. Each record is written on its own, and a failure is logged.
        if approve
            && let Err(err) = self
                .store
                .finish_action(
                    &action.id,
                    outcome.status,
                    &outcome.result,
                    &outcome.reason,
                    &replaced_id,
                )
                .await
        {
            tracing::error!(error = %err, pending_action_id = %action.id, status = outcome.status, "could not record how an approved action ended");
        }
        let duration_ms = clock.elapsed().as_millis() as i64;
        emit(
            events,
            AgentEvent::ToolResult {
                id: call_id.clone(),
                name: action.tool.clone(),
                result: outcome.result.clone(),
                duration_ms,
            },
        );
        let message = outcome_message(action, &outcome, replaced_by.as_ref(), lang);
        emit(
            events,
            AgentEvent::ActionResult {
                pending_action_id: action.id.clone(),
                tool: action.tool.clone(),
                status: outcome.status.to_owned(),
                reason: outcome.reason.clone(),
                message: message.clone(),
            },
        );
        let step = Step {
            turn,
            step: 1000
                + self
                    .store
                    .next_decision(&action.conversation_id, turn)
                    .await
                    .unwrap_or(0),
            kind: "decision".into(),
            name: action.tool.clone(),
            call_id,
            started_at_ms,
            duration_ms,
            input_tokens: 0,
            output_tokens: 0,
            detail: json!({"pending_action_id": action.id, "digest": action.digest, "effect": effect,
                           "status": outcome.status, "reason": outcome.reason, "result": outcome.result,
                           "replaced_by": replaced_id})
            .to_string(),
            outcome: outcome.status.to_owned(),
        };
        if let Err(err) = self.store.record_step(&action.conversation_id, &step).await {
            tracing::error!(error = %err, pending_action_id = %action.id, "could not record a decision in the trace");
        }
        let mut recorded = json!({"status": outcome.status, "result": outcome.result});
        if !outcome.reason.is_empty() {
            recorded["reason"] = json!(outcome.reason);
        }
        if let Some(new) = &replaced_by {
            recorded["new_pending_action_id"] = json!(new.id);
        }
        if let Err(err) = self
            .store
            .append(
                &action.conversation_id,
                turn,
                &decided_messages(action, &recorded),
            )
            .await
        {
            tracing::error!(error = %err, pending_action_id = %action.id, "could not record a decision in the conversation");
        }
        Ok(Decision {
            pending_action_id: action.id.clone(),
            status: outcome.status.to_owned(),
            result: outcome.result,
            reason: outcome.reason,
            message,
            replaced_by,
        })
    }

    /// Recomputes an approved action's effect from live state and commits it only when its digest is unchanged;
    /// otherwise proposes the new effect in its place.
    async fn execute_approved(
        &self,
        caller: &Caller,
        action: &PendingAction,
        effect: &Value,
        turn: i64,
        events: &UnboundedSender<AgentEvent>,
    ) -> (Outcome, Option<PendingAction>) {
        let failed = |err: ToolError| Outcome {
            status: "failed",
            reason: err.message.clone(),
            result: err.to_json(),
        };
        let Some(tool) = self.tools.get(&action.tool) else {
            return (
                failed(ToolError::new("unknown_tool", "that tool no longer exists")),
                None,
            );
        };
        // The pending action's id is the request id, so even a retried service call acts once.
        let ctx = self.context(caller, action.id.clone());
        let arguments = action.arguments_value();
        let live = match tool.propose(&ctx, &arguments).await {
            Ok(live) => live,
            Err(err) => return (failed(err), None),
        };
        if live.digest != action.digest {
            let what = changes(effect, &live.effect);
            let proposed = Proposed {
                tool: &action.tool,
                arguments: &arguments,
                turn,
                round: 0,
                lang: Lang::from_label(&action.language),
            };
            return match self
                .propose(caller, &action.conversation_id, &proposed, events)
                .await
            {
                Ok(new) => (
                    Outcome {
                        status: "changed",
                        reason: format!("changed since it was proposed: {what}"),
                        result: json!({"status": "changed", "changed": what,
                                       "message": "nothing was done; the shopper must approve the new summary"}),
                    },
                    Some(new),
                ),
                Err(err) => (failed(err), None),
            };
        }
        match tool.commit(&ctx, effect).await {
            Ok(result) => (
                Outcome {
                    status: "approved",
                    reason: String::new(),
                    result,
                },
                None,
            ),
            Err(err) => (failed(err), None),
        }
    }

    /// The shopper's explicit decision on a pending action (`POST .../confirmations/{id}`).
    pub async fn decide(
        &self,
        caller: &Caller,
        conversation_id: &str,
        pending_id: &str,
        approve: bool,
        digest: Option<&str>,
        events: &UnboundedSender<AgentEvent>,
    ) -> ServiceResult<Decision> {
        let conversation = self.store.get(&caller.user_id, conversation_id).await?;
        let _claim = self.claim(&conversation.id)?;
        let action = self
            .store
            .pending(&caller.user_id, &conversation.id, pending_id)
            .await?;
        let decision = self
            .settle(caller, &action, approve, digest, conversation.turns, events)
            .await?;
        // No model turn follows a decision made outside the chat: the server's own words tell the shopper.
        self.store
            .append(
                &conversation.id,
                conversation.turns,
                &[ChatMessage::assistant(&decision.message, Vec::new())],
            )
            .await?;
        Ok(decision)
    }

    /// Ends a turn that timed out or whose client went away. The shopper is told (and shown anything it proposed);
    /// the model is not: the turn's messages leave its history (see `finish`), so the request is not acted on in a
    /// later turn.
    async fn stop(
        &self,
        conversation: &Conversation,
        state: &mut TurnState,
        events: &UnboundedSender<AgentEvent>,
        why: &'static str,
    ) -> ServiceResult<String> {
        let reply = if why == CANCELLED {
            "I stopped here: the connection closed before I finished. Nothing else was done; ask again when you're back."
        } else {
            "I stopped here: this took longer than one message may take. Nothing else was done; please try again."
        };
        self.finish(conversation, state, events, reply, Some(why))
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
        emit(
            events,
            AgentEvent::Text {
                delta: reply.to_owned(),
            },
        );
        // A turn cut short still shows what it proposed: nothing unseen may wait for the next "ok".
        let reply = self
            .with_summaries(conversation, state, reply, events)
            .await?;
        let answer = ChatMessage::assistant(&reply, Vec::new());
        if matches!(stopped, Some(CANCELLED | TIMED_OUT)) {
            // Said to the shopper, never replayed to the model, and the request with it.
            self.store
                .drop_from_history(&conversation.id, state.turn)
                .await?;
            self.store
                .append_note(&conversation.id, state.turn, &answer)
                .await?;
        } else {
            self.store
                .append(&conversation.id, state.turn, &[answer])
                .await?;
        }
        Ok(done(state, events, reply, stopped))
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

/// A consequential call about to be proposed.
struct Proposed<'a> {
    tool: &'a str,
    arguments: &'a Value,
    turn: i64,
    round: i64,
    lang: Lang,
}

/// How a decided action ended.
struct Outcome {
    status: &'static str,
    result: Value,
    reason: String,
}

/// What changed between two effects, field by field: "total.minor: 6490 -> 6990".
pub fn changes(before: &Value, after: &Value) -> String {
    let mut out = Vec::new();
    diff("", before, after, &mut out);
    if out.is_empty() {
        "the action".to_owned()
    } else {
        out.join("; ")
    }
}

fn diff(path: &str, before: &Value, after: &Value, out: &mut Vec<String>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(a), Value::Object(b)) if is_amount(before) && is_amount(after) => {
            let text = |m: &serde_json::Map<String, Value>| {
                tokshop_platform::money::format(
                    m.get("minor").and_then(Value::as_i64).unwrap_or(0),
                    m.get("currency").and_then(Value::as_str).unwrap_or(""),
                )
            };
            out.push(format!("{path}: {} -> {}", text(a), text(b)));
        }
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff(
                    &at,
                    a.get(key.as_str()).unwrap_or(&Value::Null),
                    b.get(key.as_str()).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ => out.push(format!("{path}: {} -> {}", leaf(before), leaf(after))),
    }
}

/// A changed value as the shopper reads it: text (titles, names) quoted and cleaned like any label, anything else
/// as short JSON.
fn leaf(value: &Value) -> String {
    match value {
        Value::String(text) => tokshop_tools::guard::quote(text, 60),
        other => {
            let text = canonical(other);
            if text.chars().count() > 80 {
                format!("{}…", text.chars().take(80).collect::<String>())
            } else {
                text
            }
        }
    }
}

fn is_amount(value: &Value) -> bool {
    value.get("minor").is_some_and(Value::is_i64) && value.get("currency").is_some()
}

/// The server's request for approval of one pending action, in its language.
pub fn confirmation_block(action: &PendingAction) -> String {
    match Lang::from_label(&action.language) {
        Lang::En => format!(
            "Please confirm: {} Reply \"yes\" to go ahead or \"no\" to cancel.",
            action.summary
        ),
        Lang::Zh => format!("请确认：{} 回复“是”继续，回复“否”取消。", action.summary),
    }
}

/// Failures after which the shop cannot say whether the action happened (the call may have run).
fn unclear(code: &str) -> bool {
    matches!(
        code,
        "service_unavailable" | "unavailable" | "internal" | "internal_error" | "timeout"
    )
}

/// What the shopper is told about a decided action, in their language.
fn outcome_message(
    action: &PendingAction,
    outcome: &Outcome,
    replaced_by: Option<&PendingAction>,
    lang: Lang,
) -> String {
    let code = outcome
        .result
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("");
    let next = match (code, lang) {
        ("card_declined" | "insufficient_funds", Lang::En) => {
            " Pay with another method, such as your wallet?"
        }
        ("card_declined" | "insufficient_funds", Lang::Zh) => " 要换一种方式付款吗，比如钱包？",
        ("out_of_stock", Lang::En) => " Choose fewer units or another variant?",
        ("out_of_stock", Lang::Zh) => " 要减少数量或换一个款式吗？",
        ("address_required", Lang::En) => " Tell me the shipping address to add first.",
        ("address_required", Lang::Zh) => " 请先告诉我收货地址。",
        (_, Lang::En) => " Nothing was done.",
        (_, Lang::Zh) => " 未做任何操作。",
    };
    if outcome.status == "failed" && unclear(code) {
        return lang
            .pick(
                "I couldn't confirm whether that went through. Please check your orders and payments before trying again.",
                "无法确认这个操作是否已完成。请先查看你的订单和付款记录，再决定是否重试。",
            )
            .to_owned();
    }
    match (outcome.status, lang) {
        ("approved", Lang::En) => format!("Done: {}", action.summary),
        ("approved", Lang::Zh) => format!("已完成：{}", action.summary),
        ("rejected", Lang::En) => "OK, I won't do that. Nothing was done.".to_owned(),
        ("rejected", Lang::Zh) => "好的，已取消，未做任何操作。".to_owned(),
        ("changed", Lang::En) => format!(
            "Nothing was done: this changed since you were asked ({}). Now it would be: {} Approve this instead?",
            outcome
                .reason
                .trim_start_matches("changed since it was proposed: "),
            replaced_by.map(|a| a.summary.as_str()).unwrap_or("")
        ),
        ("changed", Lang::Zh) => format!(
            "未做任何操作：内容在你确认前有变化（{}）。现在是：{} 要确认这个吗？",
            outcome
                .reason
                .trim_start_matches("changed since it was proposed: "),
            replaced_by.map(|a| a.summary.as_str()).unwrap_or("")
        ),
        (_, Lang::En) => format!(
            "That did not go through: {}.{next}",
            outcome.reason.trim_end_matches('.')
        ),
        (_, Lang::Zh) => format!("没有成功：{}。{next}", outcome.reason.trim_end_matches('.')),
    }
}

/// A conversation claimed for one turn or decision; dropping it frees the conversation.
struct Claim {
    busy: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    conversation_id: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(&self.conversation_id);
        }
    }
}
