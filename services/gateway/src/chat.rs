//! Which model the shopping agent runs with: an OpenAI-compatible endpoint when `llm.base_url` and `llm.model` are
//! set, otherwise the rule planner, which needs no model at all and says so.

use std::sync::Arc;

use anyhow::Context;
use tokshop_agent::{
    model::ChatModel,
    openai::{OpenAiCompatible, OpenAiConfig},
    rules::RulePlanner,
};
use tokshop_platform::config::LlmSettings;

pub fn model(settings: &LlmSettings) -> anyhow::Result<Arc<dyn ChatModel>> {
    match (&settings.base_url, &settings.model) {
        (Some(base_url), Some(model)) => {
            let config = OpenAiConfig {
                base_url: base_url.clone(),
                api_key: settings.api_key.as_ref().map(|k| k.expose().to_owned()),
                model: model.clone(),
                timeout_secs: settings.timeout_secs,
            };
            let backend = OpenAiCompatible::new(config)
                .map_err(|err| anyhow::anyhow!("{err}"))
                .context("configuring the OpenAI-compatible model (llm.*)")?;
            tracing::info!(%base_url, %model, "shopping agent uses an OpenAI-compatible model");
            Ok(Arc::new(backend))
        }
        (None, None) => {
            tracing::info!("shopping agent uses the rule planner (no model configured)");
            Ok(Arc::new(RulePlanner))
        }
        _ => anyhow::bail!(
            "set both llm.base_url and llm.model (TOKSHOP_LLM_BASE_URL, TOKSHOP_LLM_MODEL), or neither"
        ),
    }
}
