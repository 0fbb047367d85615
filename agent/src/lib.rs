//! The shopping agent: model backends behind [`model::ChatModel`], the ReAct loop, the server-enforced
//! confirmation guard for consequential tools, and stored conversations.

use tokshop_platform::{db::Migrations, migrations};

/// The agent's tables (conversations, messages, pending actions, trace steps).
pub const MIGRATIONS: Migrations = migrations!(
    1 => "0001_init",
    2 => "0002_bound_approvals",
    3 => "0003_limits"
);

pub mod approval;
pub mod model;
pub mod openai;
pub mod prompt;
pub mod rules;
pub mod runner;
pub mod scripted;
pub mod store;
