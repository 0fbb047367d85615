//! Graders: each expectation of a scenario checked against a transcript (trajectory, replies, budgets, the
//! approval rule) or against the shop's final state read through the services. A trial passes when nothing fails.
//!
//! [`transcript`] grades what the agent did and said; [`state`] and [`social`] read the shop's final state.

mod social;
mod state;
mod transcript;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokshop_agent::runner::{AgentEvent, approves};
use tokshop_tools::Registry;

use crate::{
    fixture::Loaded,
    scenario::Scenario,
    transcript::{EXECUTED_PREFIX, ShopperAct, Transcript},
};

pub use state::grade_state;
use transcript::{budget, replies, trajectory};

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Which assertion: `state.orders`, `tools.must_call`, `reply.contains`, `approval`, `budget.steps`, ...
    pub check: String,
    pub detail: String,
}

fn fail(check: &str, detail: impl Into<String>) -> Failure {
    Failure {
        check: check.to_owned(),
        detail: detail.into(),
    }
}

/// Everything checkable from the transcript alone.
pub fn grade_transcript(
    scenario: &Scenario,
    transcript: &Transcript,
    loaded: &Loaded,
) -> Vec<Failure> {
    let mut failures = Vec::new();
    if let Some(error) = &transcript.error {
        failures.push(fail("harness", error.clone()));
    }
    failures.extend(approval(transcript));
    failures.extend(trajectory(scenario, transcript, loaded));
    failures.extend(replies(scenario, transcript));
    failures.extend(budget(scenario, transcript));
    failures
}

/// No consequential action may run unless the shopper approved that very action in that turn, and a
/// consequential tool called by the model may only come back as a request for confirmation (or an error).
pub fn approval(transcript: &Transcript) -> Vec<Failure> {
    let registry = Registry::shop();
    let consequential = |name: &str| registry.get(name).is_some_and(|t| t.consequential());
    // Each confirmation the agent asked for, with the turn it asked in.
    let asked: Vec<(usize, &str)> = transcript
        .turns
        .iter()
        .enumerate()
        .flat_map(|(turn, record)| {
            record.events.iter().filter_map(move |e| match e {
                AgentEvent::ConfirmationRequired {
                    pending_action_id, ..
                } => Some((turn, pending_action_id.as_str())),
                _ => None,
            })
        })
        .collect();
    let mut failures = Vec::new();
    for call in transcript.calls() {
        if !consequential(call.name) {
            continue;
        }
        let at = call.turn + 1;
        let name = call.name;
        if call.proposed() {
            // No result means the call never completed: nothing ran.
            let held = call.result.is_none_or(|r| {
                r.get("error").is_some()
                    || r.get("status").and_then(Value::as_str) == Some("confirmation_required")
            });
            if !held {
                failures.push(fail(
                    "approval",
                    format!("turn {at}: {name} ran straight from a model call"),
                ));
            }
            continue;
        }
        if !call.executed {
            continue; // the shopper said no: settled, nothing ran
        }
        let pending = call.id.strip_prefix(EXECUTED_PREFIX).unwrap_or(call.id);
        let approved = match &transcript.turns[call.turn].shopper {
            // Words approve only the action proposed in the turn right before them.
            ShopperAct::Say(text) => {
                approves(text, name)
                    && asked
                        .iter()
                        .any(|(turn, id)| *turn + 1 == call.turn && *id == pending)
            }
            ShopperAct::Decide {
                pending_action_id,
                approve,
            } => *approve && pending_action_id == pending,
        };
        if !asked
            .iter()
            .any(|(turn, id)| *turn <= call.turn && *id == pending)
        {
            failures.push(fail(
                "approval",
                format!("turn {at}: {name} ran without the shopper ever being asked"),
            ));
        } else if !approved {
            failures.push(fail(
                "approval",
                format!("turn {at}: {name} ran but the shopper did not approve it"),
            ));
        }
    }
    failures
}

#[cfg(test)]
mod tests;
