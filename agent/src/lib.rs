//! The shopping agent: model backends behind [`model::ChatModel`], the ReAct loop, the server-enforced
//! confirmation guard for consequential tools, and stored conversations.

use tokshop_platform::{db::Migrations, migrations};

/// The agent's tables (conversations, messages, pending actions, trace steps).
pub const MIGRATIONS: Migrations = migrations!(
    1 => "0001_init",
    2 => "0002_bound_approvals",
    3 => "0003_limits",
    4 => "0004_turn_lease"
);

pub mod openai;
pub mod prompt;
pub mod runner;
pub mod scripted;
pub mod store;

/// The conversation and the model trait every backend implements, what a message approves, and the record of a
/// proposal and its decision (shared with the rule planner, so they live below both).
pub use tokshop_chat::{action, approval, model};
/// The rule-based planner, a model backend that needs no LLM (its own crate, `tokshop-planner`).
pub use tokshop_planner as rules;
