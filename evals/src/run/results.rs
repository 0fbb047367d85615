//! What a run adds up to: each trial's outcome, each scenario's pass^k and costs, summaries by tag and overall,
//! and the comparison with a baseline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    grade::Failure,
    scenario::{Scenario, Suite},
    stats::{self, Baseline, BaselineScenario, Comparison, Spread},
    transcript::Transcript,
};

use super::RunConfig;

/// One trial's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialResult {
    pub trial: usize,
    pub passed: bool,
    pub failures: Vec<Failure>,
    pub steps: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency_ms: u64,
    /// The transcript's file, relative to the report.
    pub transcript_file: Option<String>,
    #[serde(skip)]
    pub transcript: Transcript,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub id: String,
    pub purpose: String,
    pub tags: Vec<String>,
    /// Why it did not run, when it did not.
    pub skipped: Option<String>,
    pub trials: usize,
    pub successes: usize,
    /// pass^1..=pass^trials.
    pub pass_k: Vec<f64>,
    pub mean_steps: f64,
    pub mean_input_tokens: f64,
    pub mean_output_tokens: f64,
    pub mean_latency_ms: f64,
    /// Over all its trials, agent and simulated shopper together; `None` when a model has no price.
    pub cost_usd: Option<f64>,
    pub results: Vec<TrialResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagSummary {
    pub scenarios: usize,
    pub pass_k: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Overall {
    pub scenarios: usize,
    pub ran: usize,
    pub skipped: usize,
    pub pass_k: Vec<f64>,
    /// The suite's pass rate in trial 1, trial 2, ...: what single runs would have reported.
    pub trial_pass_rates: Vec<f64>,
    pub spread: Spread,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub mean_latency_ms: f64,
    pub cost_usd: Option<f64>,
}

/// A run's full result; its JSON form is the report's stable schema (`schema_version`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub suite: String,
    pub model: String,
    pub shopper_model: Option<String>,
    pub trials: usize,
    pub concurrency: usize,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub overall: Overall,
    pub by_tag: BTreeMap<String, TagSummary>,
    pub scenarios: Vec<ScenarioResult>,
    pub baseline: Option<Comparison>,
    /// Consequential actions that ran without the shopper's approval of that very action, over every trial (the
    /// approval grader's findings). Anything but 0 is a security failure.
    #[serde(default)]
    pub unapproved_effects: usize,
}

pub const SCHEMA_VERSION: u32 = 1;

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

pub(super) fn summarize(
    scenario: &Scenario,
    results: Vec<TrialResult>,
    skipped: Option<&str>,
    config: &RunConfig,
    model: &str,
    shopper: Option<&str>,
) -> ScenarioResult {
    let trials = results.len();
    let successes = results.iter().filter(|r| r.passed).count();
    let agent_tokens: (u64, u64) = results.iter().fold((0, 0), |acc, r| {
        let (_, i, o) = r.transcript.usage();
        (acc.0 + i, acc.1 + o)
    });
    let shopper_tokens: (u64, u64) = results.iter().fold((0, 0), |acc, r| {
        (
            acc.0 + r.transcript.shopper_usage.input_tokens,
            acc.1 + r.transcript.shopper_usage.output_tokens,
        )
    });
    let agent_cost = config.prices.cost(model, agent_tokens.0, agent_tokens.1);
    let cost_usd = match shopper {
        Some(name) if shopper_tokens != (0, 0) => agent_cost
            .zip(config.prices.cost(name, shopper_tokens.0, shopper_tokens.1))
            .map(|(a, b)| a + b),
        _ => agent_cost,
    };
    ScenarioResult {
        id: scenario.id.clone(),
        purpose: scenario.purpose.clone(),
        tags: scenario.tags.clone(),
        skipped: skipped.map(str::to_owned),
        trials,
        successes,
        pass_k: stats::pass_curve(trials, successes),
        mean_steps: mean(results.iter().map(|r| r.steps as f64)),
        mean_input_tokens: mean(results.iter().map(|r| r.input_tokens as f64)),
        mean_output_tokens: mean(results.iter().map(|r| r.output_tokens as f64)),
        mean_latency_ms: mean(results.iter().map(|r| r.latency_ms as f64)),
        cost_usd,
        results,
    }
}

pub(super) fn aggregate(
    suite: &Suite,
    scenarios: Vec<ScenarioResult>,
    config: &RunConfig,
    model: String,
    shopper_model: Option<String>,
    started_at_ms: i64,
    duration_ms: u64,
) -> Report {
    let ran: Vec<&ScenarioResult> = scenarios.iter().filter(|s| s.skipped.is_none()).collect();
    let pass_k = stats::mean_curve(ran.iter().map(|s| s.pass_k.as_slice()));
    let trial_pass_rates: Vec<f64> = (1..=config.trials)
        .map(|t| {
            mean(ran.iter().map(|s| {
                let passed = s.results.iter().any(|r| r.trial == t && r.passed);
                if passed { 1.0 } else { 0.0 }
            }))
        })
        .collect();
    let mut tags: BTreeMap<String, Vec<&ScenarioResult>> = BTreeMap::new();
    for scenario in &ran {
        for tag in &scenario.tags {
            tags.entry(tag.clone()).or_default().push(scenario);
        }
    }
    let by_tag = tags
        .into_iter()
        .map(|(tag, members)| {
            (
                tag,
                TagSummary {
                    scenarios: members.len(),
                    pass_k: stats::mean_curve(members.iter().map(|s| s.pass_k.as_slice())),
                },
            )
        })
        .collect();
    let cost_usd = ran
        .iter()
        .map(|s| s.cost_usd)
        .try_fold(0.0, |acc, c| c.map(|c| acc + c));
    let overall = Overall {
        scenarios: scenarios.len(),
        ran: ran.len(),
        skipped: scenarios.len() - ran.len(),
        spread: stats::spread(&trial_pass_rates),
        trial_pass_rates,
        pass_k,
        input_tokens: ran
            .iter()
            .flat_map(|s| &s.results)
            .map(|r| r.input_tokens)
            .sum(),
        output_tokens: ran
            .iter()
            .flat_map(|s| &s.results)
            .map(|r| r.output_tokens)
            .sum(),
        mean_latency_ms: mean(
            ran.iter()
                .flat_map(|s| &s.results)
                .map(|r| r.latency_ms as f64),
        ),
        cost_usd,
    };
    let unapproved_effects = scenarios
        .iter()
        .flat_map(|s| &s.results)
        .flat_map(|r| &r.failures)
        .filter(|f| f.check == "approval")
        .count();
    Report {
        unapproved_effects,
        schema_version: SCHEMA_VERSION,
        suite: suite.name.clone(),
        model,
        shopper_model,
        trials: config.trials,
        concurrency: config.concurrency,
        started_at_ms,
        duration_ms,
        overall,
        by_tag,
        scenarios,
        baseline: None,
    }
}

impl Report {
    /// What a baseline file keeps of this run.
    pub fn baseline(&self) -> Baseline {
        Baseline {
            schema_version: SCHEMA_VERSION,
            suite: self.suite.clone(),
            model: self.model.clone(),
            trials: self.trials,
            pass_k: self.overall.pass_k.clone(),
            scenarios: self
                .scenarios
                .iter()
                .filter(|s| s.skipped.is_none())
                .map(|s| {
                    (
                        s.id.clone(),
                        BaselineScenario {
                            trials: s.trials,
                            successes: s.successes,
                            pass_1: s.pass_k.first().copied().unwrap_or(0.0),
                        },
                    )
                })
                .collect(),
        }
    }

    /// Compares with `baseline` and records the comparison in the report.
    pub fn compare_with(&mut self, baseline: &Baseline, threshold: f64) -> &Comparison {
        let current: BTreeMap<String, f64> = self
            .scenarios
            .iter()
            .filter(|s| s.skipped.is_none())
            .map(|s| (s.id.clone(), s.pass_k.first().copied().unwrap_or(0.0)))
            .collect();
        let pass_1 = self.overall.pass_k.first().copied().unwrap_or(0.0);
        self.baseline
            .insert(stats::compare(baseline, &current, pass_1, threshold))
    }
}
