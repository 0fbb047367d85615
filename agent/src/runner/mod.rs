//! The ReAct loop and the confirmation guard. A turn: the shopper's message (or their yes/no to the one action
//! waiting), then model call -> tool calls (run in parallel) -> results -> model, until a final answer or a
//! limit. Consequential tools never run when the model calls them: the guard freezes the call's concrete effect
//! from live state, renders its summary in the conversation's language, stores it with a digest, and supersedes
//! older proposals. Only the shopper's approval runs it: the confirmation endpoint naming the digest, or a message
//! that is nothing but an affirmation, right after the proposal, with exactly one action waiting. At approval the
//! effect is computed again from live state; if its digest differs nothing runs and the shopper is asked again,
//! shown what changed. Nothing the model writes and nothing inside a tool result can approve.
//!
//! By concern: [`admission`] (limits, one turn at a time per conversation), [`events`] (what a turn reports),
//! [`calls`] (a model round and its tool calls, proposals included) and [`decisions`] (settling the shopper's
//! decision on a pending action, re-checked against live state).

mod admission;
mod calls;
mod decisions;
mod events;
mod shared_turns;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use tokshop_platform::ServiceResult;
use tokshop_tools::{Clients, Registry, ToolContext};
use tracing::Instrument;

use crate::{
    approval::{Reply, classify},
    model::{ChatMessage, ChatModel, ModelRequest, Role, ToolSpec, Usage},
    prompt,
    store::{Conversation, Step, Store, trim_history},
};
use tokshop_tools::Lang;

use admission::Users;
pub use admission::{Admitted, Limits};
pub use decisions::{Decision, changes, confirmation_block};
use events::emit;
pub use events::{AgentEvent, StopReason};

/// The signed-in shopper a turn acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    /// Their access token, forwarded to every service the tools call.
    pub token: String,
}

pub struct Agent {
    store: Store,
    /// Conversations (with the user who claimed each) that have a turn or a decision under way in this process: one
    /// at a time each.
    busy: Arc<std::sync::Mutex<std::collections::HashSet<(String, String)>>>,
    /// This agent's name on the turn leases it takes (other gateway replicas have their own).
    instance: String,
    /// Per-user turn counts for the per-user limits, in this process.
    users: Arc<std::sync::Mutex<Users>>,
    /// The same counts shared with every replica, when Redis is configured (and this process's own while it is
    /// unreachable).
    shared: Option<Arc<shared_turns::SharedTurns>>,
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
    /// The user's model tokens of the day (all their turns), as of admission or this turn's latest model call.
    tokens_today: u64,
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
            instance: tokshop_platform::ids::new_id("agent"),
            users: Arc::default(),
            shared: None,
            model,
            tools,
            specs,
            clients,
            currency,
            limits,
        }
    }

    /// Counts the per-user turn limits in `redis`, shared with every replica that uses it.
    #[must_use]
    pub fn with_shared_limits(mut self, redis: tokshop_platform::redis::Redis) -> Self {
        self.shared = Some(Arc::new(shared_turns::SharedTurns::new(redis)));
        self
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

    /// Runs an admitted turn; events go to `events` as they happen. Returns the final reply.
    pub async fn run_admitted(
        &self,
        admitted: Admitted,
        events: &UnboundedSender<AgentEvent>,
        cancel: CancellationToken,
    ) -> ServiceResult<String> {
        let turn = self
            .store
            .begin_turn(
                &admitted.conversation.id,
                &ChatMessage::user(admitted.text.as_str()),
            )
            .await?;
        let span = tracing::info_span!(
            "invoke_agent tokshop",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.agent.name = "tokshop",
            gen_ai.conversation.id = %admitted.conversation.id,
            gen_ai.provider.name = %self.model.provider(),
            gen_ai.request.model = %self.model.model(),
        );
        self.run_turn(&admitted, turn, events, &cancel)
            .instrument(span)
            .await
    }

    async fn run_turn(
        &self,
        admitted: &Admitted,
        turn: i64,
        events: &UnboundedSender<AgentEvent>,
        cancel: &CancellationToken,
    ) -> ServiceResult<String> {
        let Admitted {
            caller,
            conversation,
            text,
            tokens_today,
            ..
        } = admitted;
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
            tokens_today: *tokens_today,
        };
        self.answer_in_words(caller, conversation, text, &mut state, events)
            .await?;
        // What the model is shown, read once and then kept here: the turn's own messages are added as they are
        // stored (nothing else writes to the conversation while the turn holds it).
        let mut history = self
            .store
            .history(&conversation.id, self.limits.history_messages)
            .await?;
        let mut steps = 0;
        loop {
            if steps >= self.limits.max_steps {
                return self
                    .finish(conversation, &mut state, events, "I stopped here: that took more steps than one message may use. Tell me how you'd like to continue.", Some(StopReason::MaxSteps))
                    .await;
            }
            if state.usage.input_tokens + state.usage.output_tokens >= self.limits.max_tokens {
                return self
                    .finish(conversation, &mut state, events, "I stopped here: this message used up its token budget. Ask again, more specifically, and I'll continue.", Some(StopReason::MaxTokens))
                    .await;
            }
            if started.elapsed() >= Duration::from_secs(self.limits.max_seconds) {
                return self
                    .stop(conversation, &mut state, events, StopReason::MaxSeconds)
                    .await;
            }
            if cancel.is_cancelled() {
                return self
                    .stop(conversation, &mut state, events, StopReason::Cancelled)
                    .await;
            }
            // Updated each round, not once a turn: the shopper's other turns may be spending the same allowance,
            // and each model call's count returns the day's total, theirs included.
            if self.limits.tokens_per_day > 0 && state.tokens_today >= self.limits.tokens_per_day {
                return self
                    .finish(conversation, &mut state, events, "I stopped here: you have used today's assistant allowance. It renews at midnight UTC.", Some(StopReason::DailyTokens))
                    .await;
            }
            steps += 1;
            state.round += 1;
            let request = ModelRequest {
                system: prompt::SYSTEM.to_owned(),
                messages: history.clone(),
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
                    StopReason::Cancelled
                } else {
                    StopReason::MaxSeconds
                };
                return self.stop(conversation, &mut state, events, why).await;
            };
            let (response, model_step) = match called {
                Ok(called) => called,
                Err(reply) => {
                    return self
                        .finish(
                            conversation,
                            &mut state,
                            events,
                            &reply,
                            Some(StopReason::ModelError),
                        )
                        .await;
                }
            };
            if response.tool_calls.is_empty() {
                let reply = self
                    .with_summaries(conversation, &state, &response.text, events)
                    .await?;
                let answer = ChatMessage::assistant(&reply, Vec::new());
                self.store
                    .record_model_reply(conversation, response.usage, &model_step, &[answer])
                    .await?;
                return Ok(done(&state, events, reply, None));
            }
            let asked = ChatMessage::assistant(&response.text, response.tool_calls.clone());
            if let Some(today) = self
                .store
                .record_model_reply(
                    conversation,
                    response.usage,
                    &model_step,
                    std::slice::from_ref(&asked),
                )
                .await?
            {
                state.tokens_today = today;
            }
            history.push(asked);
            let results = futures::future::join_all(
                response
                    .tool_calls
                    .iter()
                    .map(|call| self.run_call(caller, conversation, &state, call, events)),
            )
            .await;
            let mut messages = Vec::with_capacity(results.len());
            let mut steps = Vec::with_capacity(results.len());
            for (call, (result, started_at_ms, duration_ms)) in
                response.tool_calls.iter().zip(results)
            {
                state.step += 1;
                let outcome = result
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("ok")
                    .to_owned();
                steps.push(Step {
                    turn,
                    step: state.step,
                    kind: "tool".into(),
                    name: call.name.clone(),
                    call_id: call.id.clone(),
                    started_at_ms,
                    duration_ms,
                    input_tokens: 0,
                    output_tokens: 0,
                    detail: json!({"arguments": call.arguments, "result": result}).to_string(),
                    outcome,
                });
                if let Some(id) = result.get("pending_action_id").and_then(Value::as_str) {
                    state.proposed.push(id.to_owned());
                }
                messages.push(ChatMessage::tool(call, &result));
            }
            // The round's tool steps and results in one transaction.
            self.store
                .record_tool_results(conversation, turn, &steps, &messages)
                .await?;
            history.extend(messages);
            trim_history(&mut history, self.limits.history_messages);
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

    /// Ends a turn that timed out or whose client went away. The shopper is told (and shown anything it proposed);
    /// the model is not: the turn's messages leave its history (see `finish`), so the request is not acted on in a
    /// later turn.
    async fn stop(
        &self,
        conversation: &Conversation,
        state: &mut TurnState,
        events: &UnboundedSender<AgentEvent>,
        why: StopReason,
    ) -> ServiceResult<String> {
        let reply = if why == StopReason::Cancelled {
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
        stopped: Option<StopReason>,
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
        if stopped.is_some_and(StopReason::interrupted) {
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
    stopped: Option<StopReason>,
) -> String {
    emit(
        events,
        AgentEvent::Done {
            reply: reply.clone(),
            steps: state.step as usize,
            input_tokens: state.usage.input_tokens,
            output_tokens: state.usage.output_tokens,
            model_ms: state.model_ms,
            stopped: stopped.map(|reason| reason.as_str().to_owned()),
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
