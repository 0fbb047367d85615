//! A scripted model for tests: it answers each call with the next response of its script, and records what it was
//! asked, so tests can drive the loop deterministically and check what the model saw.

use std::sync::Mutex;

use crate::model::{
    ChatModel, DeltaSink, ModelError, ModelRequest, ModelResponse, ToolCall, Usage,
};

pub struct ScriptedModel {
    script: Mutex<Vec<ModelResponse>>,
    seen: Mutex<Vec<ModelRequest>>,
}

impl ScriptedModel {
    pub fn new(responses: Vec<ModelResponse>) -> Self {
        let mut script = responses;
        script.reverse();
        Self {
            script: Mutex::new(script),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// A response that calls tools.
    pub fn calls(calls: &[(&str, &str, serde_json::Value)]) -> ModelResponse {
        ModelResponse {
            text: String::new(),
            tool_calls: calls
                .iter()
                .map(|(id, name, arguments)| ToolCall {
                    id: (*id).to_owned(),
                    name: (*name).to_owned(),
                    arguments: arguments.clone(),
                })
                .collect(),
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
            },
            finish_reason: "tool_calls".into(),
        }
    }

    /// A final text response.
    pub fn says(text: &str) -> ModelResponse {
        ModelResponse {
            text: text.to_owned(),
            tool_calls: Vec::new(),
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
            },
            finish_reason: "stop".into(),
        }
    }

    /// Every request the model received, in order.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl ChatModel for ScriptedModel {
    fn provider(&self) -> &str {
        "tokshop.scripted"
    }

    fn model(&self) -> &str {
        "scripted"
    }

    async fn complete(
        &self,
        request: &ModelRequest,
        deltas: &DeltaSink,
    ) -> Result<ModelResponse, ModelError> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(request.clone());
        }
        let next = self
            .script
            .lock()
            .map_err(|_| ModelError::Other("script lock poisoned".into()))?
            .pop()
            .unwrap_or_else(|| Self::says("(script finished)"));
        if let Some(sink) = deltas
            && !next.text.is_empty()
        {
            let _ = sink.send(next.text.clone());
        }
        Ok(next)
    }
}
