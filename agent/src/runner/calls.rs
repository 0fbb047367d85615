//! One model round: calling the model (bounded by the turn's deadline and token budget, traced), then its tool
//! calls in parallel. Read tools run; a guarded tool only proposes: its effect is frozen from live state and
//! stored as a pending action for the shopper to approve.

use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokshop_platform::time::now_ms;
use tokshop_tools::{Lang, ToolError};
use tracing::Instrument;

use super::{Agent, AgentEvent, Caller, TurnState, emit};
use crate::{
    action::ActionRecord,
    model::{ModelRequest, ToolCall, Usage},
    store::{Conversation, NewPending, PendingAction, Step},
};

/// What the model is told in place of a guarded call's result.
const PROPOSED: &str = "Nothing has happened yet. After your reply the shop shows the shopper its own summary of \
                        this exact action and asks for their approval; only that approval runs it.";

impl Agent {
    /// One model call, traced. A failed call is recorded here and becomes the reply the shopper sees; a successful
    /// one comes back with its trace step, for the caller to record with the message it turns into.
    pub(super) async fn call_model(
        &self,
        conversation: &Conversation,
        state: &mut TurnState,
        request: &ModelRequest,
        events: &UnboundedSender<AgentEvent>,
    ) -> Result<(crate::model::ModelResponse, Step), String> {
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
                let detail = json!({"text": response.text, "tool_calls": response.tool_calls,
                                    "finish_reason": response.finish_reason});
                // Recorded by the caller with what the model said, in one transaction.
                let step = self.model_step(
                    state,
                    (started_at_ms, duration_ms),
                    response.usage,
                    detail,
                    "ok",
                );
                Ok((response, step))
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
                let step = self.model_step(
                    state,
                    (started_at_ms, duration_ms),
                    Usage::default(),
                    detail,
                    err.kind(),
                );
                if let Err(err) = self
                    .store
                    .record_model_reply(conversation, Usage::default(), &step, &[])
                    .await
                {
                    tracing::warn!(error = %err, "could not record a failed model call");
                }
                Err(format!(
                    "Sorry, the assistant's model is not answering right now ({}). Please try again in a moment.",
                    err.kind()
                ))
            }
        }
    }

    /// A model call's trace step.
    fn model_step(
        &self,
        state: &TurnState,
        (started_at_ms, duration_ms): (i64, i64),
        usage: Usage,
        detail: Value,
        outcome: &str,
    ) -> Step {
        Step {
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
        }
    }

    /// Runs one tool call (or, for a consequential tool, records the pending action). Returns the result and timing.
    pub(super) async fn run_call(
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
            Ok(action) => ActionRecord::ConfirmationRequired {
                pending_action_id: action.id,
                expires_in_seconds: self.limits.pending_ttl_secs,
                note: PROPOSED.to_owned(),
            }
            .to_json(),
            Err(err) => err.to_json(),
        }
    }

    /// Freezes a consequential call's effect from live state, renders its summary and stores the pending action
    /// (superseding older ones). Nothing is stored when there is nothing to propose.
    pub(super) async fn propose(
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
}

/// A consequential call about to be proposed.
pub(super) struct Proposed<'a> {
    pub(super) tool: &'a str,
    pub(super) arguments: &'a Value,
    pub(super) turn: i64,
    pub(super) round: i64,
    pub(super) lang: Lang,
}
