//! What a turn reports as it goes.

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

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

pub(super) fn emit(events: &UnboundedSender<AgentEvent>, event: AgentEvent) {
    // A client that went away stops listening; the turn still completes and is stored.
    let _ = events.send(event);
}
