//! The shopper's decision on a pending action: an approval re-computes the effect from live state and runs it
//! only if its digest is unchanged (otherwise nothing runs and a new proposal is made); a rejection runs nothing.
//! Either way the outcome is recorded in the conversation and the trace, and told to the shopper.

use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokshop_platform::{ServiceError, ServiceResult, time::now_ms};
use tokshop_tools::{Lang, ToolError, guard::canonical};
use tracing::Instrument;

use super::calls::Proposed;
use super::{Agent, AgentEvent, Caller, TurnState, emit};
use crate::{
    action::ActionRecord,
    approval::{Reply, classify},
    model::{ChatMessage, ToolCall},
    store::{Conversation, PendingAction, Step},
};

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

impl Agent {
    /// A message right after a proposal that is nothing but an affirmation approves it, when it is the only
    /// action waiting; a rejection drops whatever waits. Anything else settles nothing.
    pub(super) async fn answer_in_words(
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
    pub(super) async fn settle(
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
                ActionRecord::Rejected {
                    result: json!({"status": "rejected", "message": "the shopper said no; nothing was done"}),
                },
                None,
            )
        };
        let replaced_id = outcome.new_pending_action_id();
        // From here on the action has happened (or definitely not): failing to write it down must not turn it
        // into an error the shopper would retry. Each record is written on its own, and a failure is logged.
        if approve
            && let Err(err) = self
                .store
                .finish_action(
                    &action.id,
                    outcome.status(),
                    outcome.result(),
                    outcome.reason(),
                    replaced_id,
                )
                .await
        {
            tracing::error!(error = %err, pending_action_id = %action.id, status = outcome.status(), "could not record how an approved action ended");
        }
        let duration_ms = clock.elapsed().as_millis() as i64;
        emit(
            events,
            AgentEvent::ToolResult {
                id: call_id.clone(),
                name: action.tool.clone(),
                result: outcome.result().clone(),
                duration_ms,
            },
        );
        let message = outcome_message(action, &outcome, replaced_by.as_ref(), lang);
        emit(
            events,
            AgentEvent::ActionResult {
                pending_action_id: action.id.clone(),
                tool: action.tool.clone(),
                status: outcome.status().to_owned(),
                reason: outcome.reason().to_owned(),
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
                           "status": outcome.status(), "reason": outcome.reason(), "result": outcome.result(),
                           "replaced_by": replaced_id})
            .to_string(),
            outcome: outcome.status().to_owned(),
        };
        if let Err(err) = self.store.record_step(&action.conversation_id, &step).await {
            tracing::error!(error = %err, pending_action_id = %action.id, "could not record a decision in the trace");
        }
        if let Err(err) = self
            .store
            .append(
                &action.conversation_id,
                turn,
                &decided_messages(action, &outcome.to_json()),
            )
            .await
        {
            tracing::error!(error = %err, pending_action_id = %action.id, "could not record a decision in the conversation");
        }
        Ok(Decision {
            pending_action_id: action.id.clone(),
            status: outcome.status().to_owned(),
            result: outcome.result().clone(),
            reason: outcome.reason().to_owned(),
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
    ) -> (ActionRecord, Option<PendingAction>) {
        let failed = |err: ToolError| ActionRecord::Failed {
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
                    ActionRecord::Changed {
                        reason: format!("changed since it was proposed: {what}"),
                        result: json!({"status": "changed", "changed": what,
                                       "message": "nothing was done; the shopper must approve the new summary"}),
                        new_pending_action_id: new.id.clone(),
                    },
                    Some(new),
                ),
                Err(err) => (failed(err), None),
            };
        }
        match tool.commit(&ctx, effect).await {
            Ok(result) => (ActionRecord::Approved { result }, None),
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
        let (conversation, _claim) = self.claim(&caller.user_id, conversation_id).await?;
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
    outcome: &ActionRecord,
    replaced_by: Option<&PendingAction>,
    lang: Lang,
) -> String {
    let code = outcome
        .result()
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
    if matches!(outcome, ActionRecord::Failed { .. }) && unclear(code) {
        return lang
            .pick(
                "I couldn't confirm whether that went through. Please check your orders and payments before trying again.",
                "无法确认这个操作是否已完成。请先查看你的订单和付款记录，再决定是否重试。",
            )
            .to_owned();
    }
    let reason = outcome.reason();
    match (outcome, lang) {
        (ActionRecord::Approved { .. }, Lang::En) => format!("Done: {}", action.summary),
        (ActionRecord::Approved { .. }, Lang::Zh) => format!("已完成：{}", action.summary),
        (ActionRecord::Rejected { .. }, Lang::En) => {
            "OK, I won't do that. Nothing was done.".to_owned()
        }
        (ActionRecord::Rejected { .. }, Lang::Zh) => "好的，已取消，未做任何操作。".to_owned(),
        (ActionRecord::Changed { .. }, Lang::En) => format!(
            "Nothing was done: this changed since you were asked ({}). Now it would be: {} Approve this instead?",
            reason.trim_start_matches("changed since it was proposed: "),
            replaced_by.map(|a| a.summary.as_str()).unwrap_or("")
        ),
        (ActionRecord::Changed { .. }, Lang::Zh) => format!(
            "未做任何操作：内容在你确认前有变化（{}）。现在是：{} 要确认这个吗？",
            reason.trim_start_matches("changed since it was proposed: "),
            replaced_by.map(|a| a.summary.as_str()).unwrap_or("")
        ),
        (_, Lang::En) => format!(
            "That did not go through: {}.{next}",
            reason.trim_end_matches('.')
        ),
        (_, Lang::Zh) => format!("没有成功：{}。{next}", reason.trim_end_matches('.')),
    }
}
