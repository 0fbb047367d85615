//! Runs a suite: every scenario `trials` times, `concurrency` trials at once, each in its own instance; grades
//! them, adds up pass^k, tokens, latency and cost, and compares with a baseline.
//!
//! What a run adds up to (results per trial and scenario, by tag, overall) is in [`results`].

mod results;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use anyhow::Context;
use futures::{StreamExt, stream};
use serde::Deserialize;
use tokshop_agent::{
    model::{ChatModel, ModelResponse, ToolCall, Usage},
    openai::{OpenAiCompatible, OpenAiConfig},
    rules::RulePlanner,
    runner::Limits,
    scripted::ScriptedModel,
};
use tracing::Instrument as _;

use serde_json::Value;

use crate::{
    fixture::Loaded,
    grade::{self, Failure},
    gullible::GullibleModel,
    scenario::{Scenario, Suite},
    transcript::Transcript,
    trial::{self, Instance},
};

pub use results::{Overall, Report, SCHEMA_VERSION, ScenarioResult, TagSummary, TrialResult};
use results::{aggregate, summarize};

/// The agent's model for a run.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The built-in rule planner.
    Rules,
    /// An OpenAI-compatible chat-completions server.
    OpenAi(OpenAiConfig),
    /// Each scenario's own `script`.
    Scripted,
    /// Each scenario's `script`, played by a model that also obeys every `CALL` instruction it reads.
    Gullible,
}

impl Backend {
    /// The model name reports and prices use.
    pub fn name(&self) -> String {
        match self {
            Backend::Rules => RulePlanner.model().to_owned(),
            Backend::OpenAi(config) => config.model.clone(),
            Backend::Scripted => "scripted".into(),
            Backend::Gullible => "gullible".into(),
        }
    }

    fn model_for(
        &self,
        scenario: &Scenario,
        shared: &Option<Arc<dyn ChatModel>>,
        loaded: &Loaded,
    ) -> Arc<dyn ChatModel> {
        match (self, shared) {
            (Backend::Gullible, _) => {
                Arc::new(GullibleModel::new(script(scenario, loaded), loaded))
            }
            (Backend::Scripted, _) | (_, None) => {
                Arc::new(ScriptedModel::new(script(scenario, loaded)))
            }
            (_, Some(model)) => model.clone(),
        }
    }
}

/// The scenario's script as model responses. A string argument `$key:<fixture key>` becomes the id that key
/// stands for.
fn script(scenario: &Scenario, loaded: &Loaded) -> Vec<ModelResponse> {
    fn resolve(value: &Value, loaded: &Loaded) -> Value {
        match value {
            Value::String(s) => match s.strip_prefix("$key:").and_then(|key| loaded.ids.get(key)) {
                Some(id) => Value::String(id.clone()),
                None => value.clone(),
            },
            Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, loaded)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), resolve(v, loaded)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    scenario
        .script
        .iter()
        .enumerate()
        .map(|(step, entry)| ModelResponse {
            text: entry.say.clone().unwrap_or_default(),
            tool_calls: entry
                .calls
                .iter()
                .enumerate()
                .map(|(i, call)| ToolCall {
                    id: format!("call_{step}_{i}"),
                    name: call.tool.clone(),
                    arguments: resolve(&call.args, loaded),
                })
                .collect(),
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
            },
            finish_reason: if entry.calls.is_empty() {
                "stop"
            } else {
                "tool_calls"
            }
            .into(),
        })
        .collect()
}

/// Dollars per million tokens, by model name (`evals/prices.toml`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Prices {
    #[serde(default)]
    pub models: BTreeMap<String, Price>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl Prices {
    pub fn load(path: &Path) -> anyhow::Result<Prices> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Cost in dollars, or `None` when the model has no price.
    pub fn cost(&self, model: &str, input: u64, output: u64) -> Option<f64> {
        self.models.get(model).map(|p| {
            (input as f64 * p.input_per_mtok + output as f64 * p.output_per_mtok) / 1_000_000.0
        })
    }
}

/// How to run a suite.
#[derive(Clone)]
pub struct RunConfig {
    pub backend: Backend,
    /// The simulated shopper's model; scenarios with a simulated shopper are skipped without one.
    pub shopper: Option<OpenAiConfig>,
    pub trials: usize,
    pub concurrency: usize,
    pub limits: Limits,
    pub prices: Prices,
    /// Where transcripts are written (`<out>/transcripts/`), if anywhere.
    pub out_dir: Option<PathBuf>,
}

/// Runs every scenario of `suite`; `progress` is told after each trial.
pub async fn run_suite(
    suite: &Suite,
    config: &RunConfig,
    progress: impl Fn(&str, bool) + Send + Sync,
) -> anyhow::Result<Report> {
    anyhow::ensure!(config.trials >= 1, "--trials must be at least 1");
    anyhow::ensure!(config.concurrency >= 1, "--concurrency must be at least 1");
    let started_at_ms = tokshop_platform::time::now_ms();
    let clock = Instant::now();
    let shared: Option<Arc<dyn ChatModel>> = match &config.backend {
        Backend::Rules => Some(Arc::new(RulePlanner)),
        Backend::OpenAi(model) => Some(Arc::new(OpenAiCompatible::new(model.clone())?)),
        Backend::Scripted | Backend::Gullible => None,
    };
    let shopper: Option<Arc<dyn ChatModel>> = match &config.shopper {
        Some(model) => Some(Arc::new(OpenAiCompatible::new(model.clone())?)),
        None => None,
    };
    if let Some(dir) = &config.out_dir {
        std::fs::create_dir_all(dir.join("transcripts"))
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let scripted = matches!(config.backend, Backend::Scripted | Backend::Gullible);
    let jobs: Vec<(usize, usize)> = suite
        .scenarios
        .iter()
        .enumerate()
        .filter(|(_, s)| s.skip_reason(scripted, shopper.is_some()).is_none())
        .flat_map(|(i, _)| (1..=config.trials).map(move |t| (i, t)))
        .collect();
    let progress = &progress;
    let outcomes: Vec<(usize, TrialResult)> = stream::iter(jobs)
        .map(|(index, trial)| {
            let scenario = &suite.scenarios[index];
            let shared = shared.clone();
            let shopper = shopper.clone();
            async move {
                let result = run_trial(scenario, trial, &shared, shopper.as_ref(), config).await;
                progress(&scenario.id, result.passed);
                (index, result)
            }
        })
        .buffer_unordered(config.concurrency)
        .collect()
        .await;

    let mut by_scenario: BTreeMap<usize, Vec<TrialResult>> = BTreeMap::new();
    for (index, result) in outcomes {
        by_scenario.entry(index).or_default().push(result);
    }
    let model_name = config.backend.name();
    let shopper_name = config.shopper.as_ref().map(|s| s.model.clone());
    let scenarios: Vec<ScenarioResult> = suite
        .scenarios
        .iter()
        .enumerate()
        .map(|(index, scenario)| {
            let mut results = by_scenario.remove(&index).unwrap_or_default();
            results.sort_by_key(|r| r.trial);
            summarize(
                scenario,
                results,
                scenario.skip_reason(scripted, shopper.is_some()),
                config,
                &model_name,
                shopper_name.as_deref(),
            )
        })
        .collect();
    Ok(aggregate(
        suite,
        scenarios,
        config,
        model_name,
        shopper_name,
        started_at_ms,
        u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
    ))
}

/// One trial in its own instance. Whatever goes wrong becomes a failure of this trial, never of the run.
async fn run_trial(
    scenario: &Scenario,
    trial: usize,
    shared: &Option<Arc<dyn ChatModel>>,
    shopper: Option<&Arc<dyn ChatModel>>,
    config: &RunConfig,
) -> TrialResult {
    let model_name = config.backend.name();
    let span = tracing::info_span!(
        "evaluate",
        otel.name = %format!("evaluate {}", scenario.id),
        gen_ai.operation.name = "evaluate",
        gen_ai.evaluation.name = %scenario.id,
        gen_ai.request.model = %model_name,
        tokshop.eval.trial = trial,
    );
    async move {
        let (mut transcript, failures) =
            match attempt(scenario, trial, shared, shopper, config).await {
                Ok(done) => done,
                Err(err) => (
                    Transcript {
                        scenario: scenario.id.clone(),
                        trial,
                        error: Some(format!("{err:#}")),
                        ..Transcript::default()
                    },
                    vec![Failure {
                        check: "harness".into(),
                        detail: format!("{err:#}"),
                    }],
                ),
            };
        transcript.model = model_name.clone();
        let passed = failures.is_empty();
        let explanation: String = failures
            .iter()
            .map(|f| format!("{}: {}", f.check, f.detail))
            .collect::<Vec<_>>()
            .join("; ");
        // The evaluation result as an event on the trial's trace, read with the same tools as production.
        tracing::info!(
            gen_ai.evaluation.name = %scenario.id,
            gen_ai.evaluation.score.value = if passed { 1.0 } else { 0.0 },
            gen_ai.evaluation.score.label = if passed { "pass" } else { "fail" },
            gen_ai.evaluation.explanation = %explanation,
            "gen_ai.evaluation.result"
        );
        let (steps, input_tokens, output_tokens) = transcript.usage();
        let transcript_file = config.out_dir.as_ref().and_then(|dir| {
            let name = format!("transcripts/{}.trial{trial}.json", scenario.id);
            let written = serde_json::to_vec_pretty(&transcript)
                .ok()
                .and_then(|bytes| std::fs::write(dir.join(&name), bytes).ok());
            written.map(|()| name)
        });
        TrialResult {
            trial,
            passed,
            failures,
            steps,
            input_tokens: input_tokens + transcript.shopper_usage.input_tokens,
            output_tokens: output_tokens + transcript.shopper_usage.output_tokens,
            latency_ms: transcript.duration_ms,
            transcript_file,
            transcript,
        }
    }
    .instrument(span)
    .await
}

async fn attempt(
    scenario: &Scenario,
    trial: usize,
    shared: &Option<Arc<dyn ChatModel>>,
    shopper: Option<&Arc<dyn ChatModel>>,
    config: &RunConfig,
) -> anyhow::Result<(Transcript, Vec<Failure>)> {
    let instance = Instance::start().await?;
    let outcome = async {
        let (loaded, caller) = trial::prepare(scenario, &instance).await?;
        let model = config.backend.model_for(scenario, shared, &loaded);
        let agent = instance.agent(model, config.limits).await?;
        let transcript = trial::converse(
            scenario,
            trial,
            &agent,
            &caller,
            shopper,
            &loaded,
            &instance.clients,
        )
        .await;
        let mut failures = grade::grade_transcript(scenario, &transcript, &loaded);
        failures
            .extend(grade::grade_state(scenario, &instance.clients, &loaded, &caller.token).await);
        anyhow::Ok((transcript, failures))
    }
    .await;
    let stopped = instance.stop().await;
    let outcome = outcome?;
    stopped.context("stopping the trial's shop")?;
    Ok(outcome)
}
