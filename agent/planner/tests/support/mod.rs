//! What the rule-planner test files share: a conversation under construction, and the two ways to read a
//! response (one tool call, or a plain reply).

#![allow(dead_code)]

use serde_json::Value;
use tokshop_chat::model::{ChatMessage, ModelRequest, ModelResponse, ToolCall};
use tokshop_planner::RulePlanner;

/// A conversation under construction.
#[derive(Default, Clone)]
pub struct Convo {
    pub messages: Vec<ChatMessage>,
    calls: usize,
}

impl Convo {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn user(mut self, text: &str) -> Self {
        self.messages.push(ChatMessage::user(text));
        self
    }

    pub fn assistant(mut self, text: &str) -> Self {
        self.messages.push(ChatMessage::assistant(text, Vec::new()));
        self
    }

    fn push(mut self, id: String, name: &str, args: Value, result: Value) -> Self {
        let call = ToolCall {
            id,
            name: name.to_owned(),
            arguments: args,
        };
        self.messages
            .push(ChatMessage::assistant("", vec![call.clone()]));
        self.messages.push(ChatMessage::tool(&call, &result));
        self
    }

    /// An assistant call of `name` and its result.
    pub fn tool(mut self, name: &str, args: Value, result: Value) -> Self {
        self.calls += 1;
        let id = format!("c{}", self.calls);
        self.push(id, name, args, result)
    }

    /// One assistant message calling several tools, then their results.
    pub fn round(mut self, calls: Vec<(&str, Value, Value)>) -> Self {
        let mut made = Vec::new();
        for (name, args, result) in calls {
            self.calls += 1;
            let call = ToolCall {
                id: format!("c{}", self.calls),
                name: name.to_owned(),
                arguments: args,
            };
            made.push((call, result));
        }
        self.messages.push(ChatMessage::assistant(
            "",
            made.iter().map(|(call, _)| call.clone()).collect(),
        ));
        for (call, result) in &made {
            self.messages.push(ChatMessage::tool(call, result));
        }
        self
    }

    /// An action the shopper approved, as the agent records it.
    pub fn approved(self, name: &str, args: Value, result: Value) -> Self {
        self.push("confirm_pa_1".to_owned(), name, args, result)
    }

    pub fn request(&self) -> ModelRequest {
        ModelRequest {
            system: "You are the tokshop shopping assistant.".to_owned(),
            messages: self.messages.clone(),
            tools: Vec::new(),
            max_output_tokens: None,
        }
    }

    pub fn respond(&self) -> ModelResponse {
        RulePlanner.respond(&self.request())
    }
}

/// The single call of a response, as (name, arguments).
pub fn one_call(response: &ModelResponse) -> (&str, &Value) {
    assert_eq!(
        response.tool_calls.len(),
        1,
        "expected one call, got {:?} / {:?}",
        response.tool_calls,
        response.text
    );
    let call = &response.tool_calls[0];
    (call.name.as_str(), &call.arguments)
}

/// The reply of a response that ends the turn without calls.
pub fn reply(response: &ModelResponse) -> &str {
    assert!(
        response.tool_calls.is_empty(),
        "expected a reply, got calls {:?}",
        response.tool_calls
    );
    assert_eq!(response.finish_reason, "stop");
    &response.text
}
