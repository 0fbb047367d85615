//! The system prompt: a versioned file under `prompts/`, compiled in, its version recorded on every conversation.

/// The version of the system prompt in force (its file name without extension).
pub const VERSION: &str = "shop-system.v2";

/// The system prompt text.
pub const SYSTEM: &str = include_str!("../../prompts/shop-system.v2.md");
