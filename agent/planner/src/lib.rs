//! The rule-based planner: a model backend that needs no LLM. It is the offline default, so it covers the
//! common shopping journeys (search with filters, picking from a list, cart edits, checkout, payment, order
//! status, cancellation, wallet, addresses, coupons) and the social ones (follows, profiles, favorites, comments,
//! feeds, messages to friends) in English and Chinese, deterministically, and says plainly what it cannot do.
//!
//! Pieces, each small and pure:
//! - [`text`]: normalisation, reply language, numbers (English words, Chinese numerals);
//! - [`slots`]: search filters, references to listed items ("the second one", "第二个"), quantities, options;
//! - [`intent`]: the intent of the latest user message (only user messages are ever read for intents);
//! - [`observation`]: one tool result, read into the type its tool returns (`tokshop_tools`' result structs), and
//!   its call's arguments into the type the tool takes, so the planner reads fields, never keys;
//! - [`context`]: the conversation's tool results paired with their calls, and lookups over them;
//! - [`journey`]: from intent and context to the next step (tool calls or a reply), with loop guards;
//! - [`reply`]: reply templates filled only from tool results;
//! - [`social`]: the social intents, journeys and replies.

use tokshop_chat::model::{
    ChatModel, DeltaSink, ModelError, ModelRequest, ModelResponse, ToolCall, ToolSpec, Usage,
};

/// Declares compiled-once regex patterns, plus (in tests) a list of them so a test can compile every one.
macro_rules! patterns {
    ($($name:ident = $pattern:expr;)*) => {
        $(
            static $name: $crate::text::Re =
                std::sync::LazyLock::new(|| regex::Regex::new($pattern).ok());
        )*
        #[cfg(test)]
        pub(crate) static ALL_PATTERNS: &[(&str, &$crate::text::Re)] = &[$((stringify!($name), &$name)),*];
    };
}

pub mod context;
pub mod intent;
pub mod journey;
pub mod observation;
pub mod reply;
pub mod slots;
pub mod social;
pub mod text;

pub use journey::{Step, plan};

/// The rule-based planner.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulePlanner;

impl RulePlanner {
    /// The planner's answer to a request; never fails.
    pub fn respond(&self, request: &ModelRequest) -> ModelResponse {
        let (step, lang) = plan(&request.messages);
        let step = restrict_to_offered(step, &request.tools, lang);
        let input_chars: usize = request.system.chars().count()
            + request
                .messages
                .iter()
                .map(|m| {
                    m.content.chars().count()
                        + m.tool_calls
                            .iter()
                            .map(|c| c.name.len() + c.arguments.to_string().len())
                            .sum::<usize>()
                })
                .sum::<usize>();
        match step {
            Step::Reply(text) => ModelResponse {
                usage: Usage {
                    input_tokens: tokens(input_chars),
                    output_tokens: tokens(text.chars().count()),
                },
                text,
                tool_calls: Vec::new(),
                finish_reason: "stop".to_owned(),
            },
            Step::Call(calls) => {
                // Ids unique within the conversation: the position in it, then the call's place in this step.
                let at = request.messages.len();
                let tool_calls: Vec<ToolCall> = calls
                    .into_iter()
                    .enumerate()
                    .map(|(i, (name, arguments))| ToolCall {
                        id: format!("call_{at}_{}", i + 1),
                        name: name.to_owned(),
                        arguments,
                    })
                    .collect();
                let output_chars = tool_calls
                    .iter()
                    .map(|c| c.name.len() + c.arguments.to_string().len())
                    .sum();
                ModelResponse {
                    text: String::new(),
                    tool_calls,
                    usage: Usage {
                        input_tokens: tokens(input_chars),
                        output_tokens: tokens(output_chars),
                    },
                    finish_reason: "tool_calls".to_owned(),
                }
            }
        }
    }
}

/// Roughly four characters a token.
fn tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(4)).unwrap_or(u64::MAX)
}

/// A call to a tool the agent did not offer becomes a plain "can't do that here" (an empty list offers all).
fn restrict_to_offered(step: Step, tools: &[ToolSpec], lang: text::Lang) -> Step {
    match &step {
        Step::Call(calls)
            if !tools.is_empty()
                && calls
                    .iter()
                    .any(|(name, _)| !tools.iter().any(|t| t.name == *name)) =>
        {
            Step::Reply(reply::tool_unavailable(lang))
        }
        _ => step,
    }
}

#[async_trait::async_trait]
impl ChatModel for RulePlanner {
    fn provider(&self) -> &str {
        "tokshop.rules"
    }

    fn model(&self) -> &str {
        "rule-planner-1"
    }

    async fn complete(
        &self,
        request: &ModelRequest,
        deltas: &DeltaSink,
    ) -> Result<ModelResponse, ModelError> {
        let response = self.respond(request);
        if let Some(sink) = deltas
            && !response.text.is_empty()
        {
            // A closed receiver only means nobody is listening any more; the full text is returned anyway.
            let _ = sink.send(response.text.clone());
        }
        Ok(response)
    }
}
