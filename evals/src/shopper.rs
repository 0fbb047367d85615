//! A simulated shopper: a model plays the customer from instructions and known facts, answers the agent's
//! questions, approves or rejects confirmations as told, and says when it is done.

use std::sync::Arc;

use tokshop_agent::{
    model::{ChatMessage, ChatModel, ModelRequest, Usage},
    runner::AgentEvent,
};

use crate::{
    fixture::Loaded,
    scenario::Simulated,
    transcript::{ShopperAct, Transcript},
};

/// What the shopper writes when the conversation is over for them.
pub const STOP: &str = "###STOP###";

pub struct SimulatedShopper {
    model: Arc<dyn ChatModel>,
    system: String,
    opening: Option<String>,
    /// Tokens the shopper's model used (cost is reported apart from the agent's).
    pub usage: Usage,
}

impl SimulatedShopper {
    pub fn new(model: Arc<dyn ChatModel>, sim: &Simulated, loaded: &Loaded) -> Self {
        let facts: String = sim
            .facts
            .iter()
            .map(|(name, value)| format!("- {name}: {value}\n"))
            .collect();
        let system = format!(
            "You are a customer chatting with an online shop's assistant. Play the customer only: write the \
             customer's next message, short and natural, in the language your instructions use. Never act as \
             the assistant and never invent products.\n\n\
             Your goal and how to behave:\n{instructions}\n\n\
             Facts you know (give one only when the assistant asks for it):\n{facts}\n\
             When the assistant asks you to confirm an action, decide as your goal says and answer plainly \
             (\"yes\" or \"no\"). When your goal is reached, or clearly cannot be reached, reply with exactly {STOP}.\n\
             Prices are in {currency}.",
            instructions = sim.instructions.trim(),
            facts = if facts.is_empty() {
                "- (none)\n".into()
            } else {
                facts
            },
            currency = loaded.currency,
        );
        Self {
            model,
            system,
            opening: sim.opening.clone(),
            usage: Usage::default(),
        }
    }

    /// The shopper's next message, or `None` once they are done.
    pub async fn next(&mut self, transcript: &Transcript) -> anyhow::Result<Option<String>> {
        if transcript.turns.is_empty()
            && let Some(opening) = self.opening.take()
        {
            return Ok(Some(opening));
        }
        // From the shopper model's side, the shop assistant is the "user" and the shopper is the "assistant".
        let mut messages = vec![ChatMessage::user(
            "(The shop's assistant is ready: \"Hi! How can I help?\")",
        )];
        for turn in &transcript.turns {
            if let ShopperAct::Say(text) = &turn.shopper {
                messages.push(ChatMessage::assistant(text, Vec::new()));
            }
            let mut heard = turn.reply.clone();
            for event in &turn.events {
                if let AgentEvent::ConfirmationRequired { summary, .. } = event {
                    heard.push_str(&format!("\n[The shop asks you to confirm: {summary}]"));
                }
            }
            messages.push(ChatMessage::user(heard));
        }
        let request = ModelRequest {
            system: self.system.clone(),
            messages,
            tools: Vec::new(),
            max_output_tokens: Some(300),
        };
        let response = self.model.complete(&request, &None).await?;
        self.usage.input_tokens += response.usage.input_tokens;
        self.usage.output_tokens += response.usage.output_tokens;
        let text = response.text.trim();
        if text.is_empty() || text.contains(STOP) {
            return Ok(None);
        }
        Ok(Some(text.to_owned()))
    }
}
