//! The shopping agent: model backends behind [`model::ChatModel`], the ReAct loop, the server-enforced
//! confirmation guard for consequential tools, and stored conversations.

pub mod model;
