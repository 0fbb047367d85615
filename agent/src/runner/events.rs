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
        /// Why the turn ended before the model's own answer: a [`StopReason`]'s string form.
        stopped: Option<String>,
    },
    Error {
        kind: String,
        message: String,
    },
}

/// Declares [`StopReason`] with each reason's string form, and the list of them all, in one place.
macro_rules! stop_reasons {
    ($($(#[$doc:meta])* $reason:ident = $text:literal,)*) => {
        /// Why a turn ended before the model's own final answer. Its string form is the done event's `stopped`
        /// and the turn's outcome in the metrics; it never changes once published.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum StopReason {
            $($(#[$doc])* $reason,)*
        }

        impl StopReason {
            /// Every reason, so whoever counts them cannot miss a new one.
            pub const ALL: &[StopReason] = &[$(StopReason::$reason),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(StopReason::$reason => $text,)*
                }
            }
        }
    };
}

stop_reasons! {
    /// The turn made as many model calls as one message may.
    MaxSteps = "max_steps",
    /// The turn used up its token budget.
    MaxTokens = "max_tokens",
    /// The turn reached its deadline.
    MaxSeconds = "max_seconds",
    /// The client went away.
    Cancelled = "cancelled",
    /// The user has used today's token allowance.
    DailyTokens = "daily_tokens",
    /// The model did not answer.
    ModelError = "model_error",
}

impl StopReason {
    /// The reason a `stopped` string names; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|reason| reason.as_str() == text)
    }

    /// Whether the turn was cut off from outside (its deadline, or its client leaving) rather than by a budget
    /// or the model: its request then leaves the model's history, so it is not acted on in a later turn.
    pub fn interrupted(self) -> bool {
        matches!(self, StopReason::MaxSeconds | StopReason::Cancelled)
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(super) fn emit(events: &UnboundedSender<AgentEvent>, event: AgentEvent) {
    // A client that went away stops listening; the turn still completes and is stored.
    let _ = events.send(event);
}

#[cfg(test)]
mod tests {
    use super::StopReason;

    #[test]
    fn every_stop_reason_reads_back_from_its_string() {
        let mut seen = std::collections::HashSet::new();
        for reason in StopReason::ALL {
            assert!(seen.insert(reason.as_str()), "{reason} is listed twice");
            assert_eq!(StopReason::parse(reason.as_str()), Some(*reason));
        }
        assert_eq!(StopReason::parse("answered"), None);
    }
}
