//! The OpenAI-compatible backend against a fake chat-completions server on a local port: what it
//! sends, how it reads whole and streamed replies, and how each kind of failure reaches the caller.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config;
mod failures;
mod fake;
mod replies;
