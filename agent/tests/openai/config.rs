//! Configuration from the environment, and settings refused up front.

use std::collections::HashMap;

use tokshop_agent::model::ModelError;
use tokshop_agent::openai::{OpenAiCompatible, OpenAiConfig};

use super::fake::*;

#[test]
fn the_environment_names_the_server_and_model() {
    let vars = |pairs: &[(&str, &str)]| {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        move |name: &str| map.get(name).cloned()
    };

    assert!(OpenAiConfig::from_vars(vars(&[])).is_none());
    assert!(OpenAiConfig::from_vars(vars(&[("TOKSHOP_LLM_API_KEY", "sk-1")])).is_none());

    let config = OpenAiConfig::from_vars(vars(&[
        ("TOKSHOP_LLM_BASE_URL", "http://localhost:11434/v1"),
        ("TOKSHOP_LLM_MODEL", "qwen3:8b"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(
        config,
        OpenAiConfig {
            base_url: "http://localhost:11434/v1".to_owned(),
            api_key: None,
            model: "qwen3:8b".to_owned(),
            timeout_secs: 60,
        }
    );

    let config = OpenAiConfig::from_vars(vars(&[
        ("TOKSHOP_LLM_BASE_URL", "https://api.deepseek.com/v1"),
        ("TOKSHOP_LLM_MODEL", "deepseek-chat"),
        ("TOKSHOP_LLM_API_KEY", "sk-1"),
        ("TOKSHOP_LLM_TIMEOUT_SECS", "90"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(config.api_key.as_deref(), Some("sk-1"));
    assert_eq!(config.timeout_secs, 90);

    let missing_model = OpenAiConfig::from_vars(vars(&[(
        "TOKSHOP_LLM_BASE_URL",
        "http://localhost:8000/v1",
    )]))
    .unwrap();
    assert!(
        matches!(&missing_model, Err(ModelError::Other(message)) if message.contains("TOKSHOP_LLM_MODEL")),
        "{missing_model:?}"
    );
}

#[test]
fn a_configuration_never_shows_its_key() {
    let config = OpenAiConfig {
        base_url: "https://api.openai.com/v1".to_owned(),
        api_key: Some("sk-secret-123".to_owned()),
        model: MODEL.to_owned(),
        timeout_secs: 60,
    };
    let model = OpenAiCompatible::new(config.clone()).unwrap();
    for shown in [format!("{config:?}"), format!("{model:?}")] {
        assert!(!shown.contains("sk-secret-123"), "{shown}");
    }
}

#[test]
fn settings_that_cannot_work_are_refused_up_front() {
    let config = |base_url: &str, model: &str, timeout_secs: u64| OpenAiConfig {
        base_url: base_url.to_owned(),
        api_key: None,
        model: model.to_owned(),
        timeout_secs,
    };
    for bad in [
        config("localhost:8000/v1", MODEL, 60),
        config("http://localhost:8000/v1", " ", 60),
        config("http://localhost:8000/v1", MODEL, 0),
    ] {
        assert!(
            matches!(
                OpenAiCompatible::new(bad.clone()),
                Err(ModelError::Other(_))
            ),
            "{bad:?} was accepted"
        );
    }
}
