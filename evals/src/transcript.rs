//! What a trial did, turn by turn: the shopper's acts, the agent's events, and the tool calls as the grader reads
//! them. Written by the trial runner and the simulated shopper, read by the graders and the reports.

use serde::{Deserialize, Serialize};
use tokshop_agent::{model::Usage, runner::AgentEvent};

/// What the shopper did in one turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShopperAct {
    Say(String),
    Decide {
        pending_action_id: String,
        approve: bool,
    },
}

/// One shopper act and what the agent did about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    pub shopper: ShopperAct,
    pub events: Vec<AgentEvent>,
    pub reply: String,
    /// The turn failed outright (an error answer, not a reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// Everything a trial did, for grading and for people.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub scenario: String,
    pub trial: usize,
    pub model: String,
    pub turns: Vec<TurnRecord>,
    /// Wall time of the agent's turns.
    pub duration_ms: u64,
    /// Tokens the simulated shopper's model used.
    #[serde(default)]
    pub shopper_usage: Usage,
    /// The trial could not run to its end (the fixture did not load, a scripted decision had nothing to decide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A tool call as the grader sees it: the model's own calls, and the settling of pending actions the shopper
/// decided on.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub arguments: &'a serde_json::Value,
    /// What the call returned, if it finished.
    pub result: Option<&'a serde_json::Value>,
    /// A consequential action that ran after the shopper's approval (not a model proposal, not a rejection).
    pub executed: bool,
    /// The turn it happened in.
    pub turn: usize,
}

/// The id a settled pending action's call carries.
pub const EXECUTED_PREFIX: &str = "confirm_";

/// The result answering the call `id`: the first one after it (ids may repeat across a conversation's steps).
fn result_of<'a>(after: &'a [AgentEvent], id: &str) -> Option<&'a serde_json::Value> {
    after.iter().find_map(|event| match event {
        AgentEvent::ToolResult {
            id: answered,
            result,
            ..
        } if answered == id => Some(result),
        _ => None,
    })
}

/// A settled action that did not run: the shopper turned it down, or live state had changed since it was shown.
fn did_not_run(result: Option<&serde_json::Value>) -> bool {
    matches!(
        result
            .and_then(|r| r.get("status"))
            .and_then(serde_json::Value::as_str),
        Some("rejected" | "changed")
    )
}

impl CallRecord<'_> {
    /// Made by the model (not the settling of a pending action).
    pub fn proposed(&self) -> bool {
        !self.id.starts_with(EXECUTED_PREFIX)
    }
}

impl Transcript {
    pub fn calls(&self) -> Vec<CallRecord<'_>> {
        let mut calls = Vec::new();
        for (turn, record) in self.turns.iter().enumerate() {
            for (at, event) in record.events.iter().enumerate() {
                if let AgentEvent::ToolCall {
                    id,
                    name,
                    arguments,
                } = event
                {
                    let result = result_of(&record.events[at + 1..], id);
                    calls.push(CallRecord {
                        id,
                        name,
                        arguments,
                        result,
                        executed: id.starts_with(EXECUTED_PREFIX) && !did_not_run(result),
                        turn,
                    });
                }
            }
        }
        calls
    }

    /// (steps, input tokens, output tokens) over the conversation.
    pub fn usage(&self) -> (usize, u64, u64) {
        let mut totals = (0, 0, 0);
        for event in self.turns.iter().flat_map(|t| &t.events) {
            if let AgentEvent::Done {
                steps,
                input_tokens,
                output_tokens,
                ..
            } = event
            {
                totals.0 += steps;
                totals.1 += input_tokens;
                totals.2 += output_tokens;
            }
        }
        totals
    }

    pub fn replies(&self) -> impl Iterator<Item = &str> {
        self.turns.iter().map(|t| t.reply.as_str())
    }

    /// The last thing the agent said (a decision through the endpoint gets no reply of its own).
    pub fn final_reply(&self) -> &str {
        self.turns
            .iter()
            .rev()
            .find(|t| !t.reply.is_empty())
            .map_or("", |t| t.reply.as_str())
    }

    /// The most recent pending action the agent asked the shopper about.
    pub fn last_pending(&self) -> Option<&str> {
        self.turns
            .iter()
            .flat_map(|t| &t.events)
            .rev()
            .find_map(|e| match e {
                AgentEvent::ConfirmationRequired {
                    pending_action_id, ..
                } => Some(pending_action_id.as_str()),
                _ => None,
            })
    }
}
