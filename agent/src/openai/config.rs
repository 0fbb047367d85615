//! Where the model server is and which model it runs: from settings or the `TOKSHOP_LLM_*` variables, checked
//! before the first call.

use crate::model::ModelError;

/// The time limit when `TOKSHOP_LLM_TIMEOUT_SECS` does not set one.
const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Where the server is and which model it should run.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// The API root the chat-completions path is appended to, typically ending in `/v1`
    /// (`https://api.openai.com/v1`, `http://localhost:11434/v1`).
    pub base_url: String,
    /// Sent as a bearer token; `None` for local servers that take no credential.
    pub api_key: Option<String>,
    pub model: String,
    /// How long one model call may take. A streamed reply may run longer as long as the server never
    /// goes silent for this long.
    pub timeout_secs: u64,
}

/// Shows whether a key is set, never the key: configurations end up in logs.
impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("model", &self.model)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl OpenAiConfig {
    /// The configuration `TOKSHOP_LLM_BASE_URL`, `TOKSHOP_LLM_API_KEY`, `TOKSHOP_LLM_MODEL` and
    /// `TOKSHOP_LLM_TIMEOUT_SECS` (default 60) describe; `None` when neither the base URL nor the
    /// model is set, which means "no model configured", not an error.
    pub fn from_env() -> Option<Result<Self, ModelError>> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any source of variables (a settings file, a test's map); an empty
    /// value counts as unset.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Option<Result<Self, ModelError>> {
        let read = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let base_url = read("TOKSHOP_LLM_BASE_URL");
        let model = read("TOKSHOP_LLM_MODEL");
        if base_url.is_none() && model.is_none() {
            return None;
        }
        Some(Self::from_parts(
            base_url,
            model,
            read("TOKSHOP_LLM_API_KEY"),
            read("TOKSHOP_LLM_TIMEOUT_SECS"),
        ))
    }

    fn from_parts(
        base_url: Option<String>,
        model: Option<String>,
        api_key: Option<String>,
        timeout: Option<String>,
    ) -> Result<Self, ModelError> {
        let missing = |name: &str| {
            ModelError::Other(format!(
                "{name} must be set when a model server is configured"
            ))
        };
        let timeout_secs = match timeout {
            None => DEFAULT_TIMEOUT_SECS,
            Some(text) => text.trim().parse().map_err(|_| {
                ModelError::Other(format!(
                    "TOKSHOP_LLM_TIMEOUT_SECS must be a whole number of seconds, not `{text}`"
                ))
            })?,
        };
        Ok(Self {
            base_url: base_url.ok_or_else(|| missing("TOKSHOP_LLM_BASE_URL"))?,
            api_key,
            model: model.ok_or_else(|| missing("TOKSHOP_LLM_MODEL"))?,
            timeout_secs,
        })
    }

    /// Reject settings that could only fail later, on the first model call.
    pub(super) fn check(&self) -> Result<(), ModelError> {
        let base_url = self.base_url.trim();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ModelError::Other(format!(
                "the model server's base URL must start with http:// or https://, not `{}`",
                self.base_url
            )));
        }
        if self.model.trim().is_empty() {
            return Err(ModelError::Other("no model name is configured".to_owned()));
        }
        if self.timeout_secs == 0 {
            return Err(ModelError::Other(
                "the model timeout must be at least 1 s".to_owned(),
            ));
        }
        Ok(())
    }
}
