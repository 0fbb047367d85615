//! What the store holds, as rows and as the agent uses them: conversations, messages, pending actions and trace
//! steps; and the history a model is shown, made consistent whatever a crash left behind.

use serde::Serialize;
use sqlx::FromRow;
use tokshop_platform::time::now_ms;

use crate::model::{ChatMessage, Role};

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Conversation {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    pub title: String,
    pub model: String,
    pub prompt_version: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub turns: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, FromRow)]
pub(super) struct MessageRow {
    pub(super) role: String,
    content: String,
    tool_calls: String,
    tool_call_id: String,
    tool_name: String,
}

/// A consequential action the agent proposed, frozen: the tool, the model's arguments, the concrete effect
/// (canonical JSON) with its digest, and the summary the server rendered from it.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct PendingAction {
    pub id: String,
    pub conversation_id: String,
    #[serde(skip)]
    pub user_id: String,
    pub tool: String,
    #[serde(skip)]
    pub arguments: String,
    #[serde(skip)]
    pub effect: String,
    /// SHA-256 of the tool name and the canonical effect: what an approval names.
    pub digest: String,
    pub summary: String,
    /// pending, executing, approved (ran), failed (ran and failed, or could no longer run), rejected,
    /// superseded (a newer proposal replaced it), changed (live state moved; see `replaced_by`) or expired.
    pub status: String,
    #[serde(skip)]
    pub result: String,
    /// Why it failed or changed.
    pub reason: String,
    /// The proposal that replaced it after live state changed.
    pub replaced_by: String,
    /// The turn (and model round within it) that proposed it.
    pub turn: i64,
    #[serde(skip)]
    pub round: i64,
    /// The language its summary is in (`en`, `zh`).
    pub language: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub decided_at_ms: i64,
}

impl PendingAction {
    /// The frozen effect as JSON.
    pub fn effect_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.effect).unwrap_or(serde_json::Value::Null)
    }

    /// The model's arguments as JSON.
    pub fn arguments_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.arguments).unwrap_or(serde_json::Value::Null)
    }

    /// Its status as the shopper should read it: a pending action past its time is expired.
    pub fn current_status(&self) -> &str {
        if self.status == "pending" && self.expires_at_ms <= now_ms() {
            "expired"
        } else {
            &self.status
        }
    }
}

/// A proposal about to become a pending action.
pub struct NewPending<'a> {
    pub conversation_id: &'a str,
    pub user_id: &'a str,
    pub tool: &'a str,
    pub arguments: &'a serde_json::Value,
    pub effect: &'a serde_json::Value,
    pub digest: &'a str,
    pub summary: &'a str,
    pub language: &'a str,
    pub turn: i64,
    pub round: i64,
    pub ttl_ms: i64,
}

/// One step of a turn, as traces show it.
#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Step {
    pub turn: i64,
    pub step: i64,
    /// `model`, `tool` or `decision` (the shopper's approval or rejection of a pending action, and its outcome).
    pub kind: String,
    pub name: String,
    pub call_id: String,
    pub started_at_ms: i64,
    pub duration_ms: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Tool arguments and result, the model's reply, or the decision and its outcome: stored as JSON text,
    /// served as the JSON object itself.
    #[serde(serialize_with = "json_text")]
    #[schema(value_type = Object)]
    pub detail: String,
    /// `ok`, or an error kind.
    pub outcome: String,
}

/// Serializes stored JSON text as the JSON it holds (text that is not JSON stays a string).
fn json_text<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => value.serialize(serializer),
        Err(_) => serializer.serialize_str(text),
    }
}

pub(super) const CONVERSATION_COLUMNS: &str = "id, user_id, title, model, prompt_version, input_tokens, output_tokens, turns, \
     created_at_ms, updated_at_ms";
pub(super) const PENDING_COLUMNS: &str = "id, conversation_id, user_id, tool, arguments, effect, digest, summary, status, \
     result, reason, replaced_by, turn, round, language, created_at_ms, expires_at_ms, decided_at_ms";

/// Milliseconds in a day.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The UTC day `ms` falls on, counted from the epoch.
pub fn utc_day(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

impl MessageRow {
    pub(super) fn into_message(self) -> ChatMessage {
        ChatMessage {
            role: match self.role.as_str() {
                "assistant" => Role::Assistant,
                "tool" => Role::Tool,
                _ => Role::User,
            },
            content: self.content,
            tool_calls: serde_json::from_str(&self.tool_calls).unwrap_or_default(),
            tool_call_id: (!self.tool_call_id.is_empty()).then_some(self.tool_call_id),
            tool_name: (!self.tool_name.is_empty()).then_some(self.tool_name),
        }
    }
}

/// A history every model API accepts, whatever a crash left behind: a tool call without its result is dropped
/// (with its assistant message when nothing else is left of it), so is a result without its call, and a shopper's
/// message that was never answered (another follows it directly) is not replayed.
pub fn consistent(messages: Vec<ChatMessage>) -> Vec<ChatMessage> {
    use std::collections::HashSet;
    let answered: HashSet<&str> = messages
        .iter()
        .filter_map(|m| m.tool_call_id.as_deref())
        .collect();
    let asked: HashSet<&str> = messages
        .iter()
        .flat_map(|m| m.tool_calls.iter().map(|c| c.id.as_str()))
        .collect();
    let mut kept: Vec<ChatMessage> = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        match message.role {
            Role::User => {
                if messages
                    .get(i + 1)
                    .is_some_and(|next| next.role == Role::User)
                {
                    continue;
                }
            }
            Role::Tool => {
                if !message
                    .tool_call_id
                    .as_deref()
                    .is_some_and(|id| asked.contains(id))
                {
                    continue;
                }
            }
            Role::Assistant => {
                let calls: Vec<_> = message
                    .tool_calls
                    .iter()
                    .filter(|c| answered.contains(c.id.as_str()))
                    .cloned()
                    .collect();
                if calls.len() != message.tool_calls.len() {
                    if calls.is_empty() && message.content.is_empty() {
                        continue;
                    }
                    let mut trimmed = message.clone();
                    trimmed.tool_calls = calls;
                    kept.push(trimmed);
                    continue;
                }
            }
        }
        kept.push(message.clone());
    }
    kept
}

pub(super) fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}
