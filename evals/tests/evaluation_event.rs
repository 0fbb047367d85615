//! The evaluation result of each trial as a `gen_ai.evaluation.result` event on the trial's own trace, under
//! which the agent's turns run too. Alone in its test binary: it installs a thread-local subscriber, which
//! tests running beside it on other threads would interfere with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use tokshop_agent::runner::Limits;
use tokshop_evals::{
    run::{Backend, Prices, RunConfig, run_suite},
    scenario::Suite,
};

mod support;
use support::{LANTERN_SHOP, LAST_LANTERN, evals_dir};

/// A span's name and its parent's id.
type SpanSeen = (String, Option<u64>);
/// An event's span and its fields.
type EventSeen = (Option<u64>, BTreeMap<String, String>);

/// A tracing layer that keeps span names with their parents and the evaluation events with their fields.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<HashMap<u64, SpanSeen>>>,
    events: Arc<Mutex<Vec<EventSeen>>>,
}

struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S> tracing_subscriber::Layer<S> for Capture
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.id().into_u64());
        self.spans
            .lock()
            .unwrap()
            .insert(id.into_u64(), (attrs.metadata().name().to_owned(), parent));
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields(Default::default());
        event.record(&mut fields);
        if fields
            .0
            .get("message")
            .is_some_and(|m| m == "gen_ai.evaluation.result")
        {
            let parent = ctx.event_span(event).map(|s| s.id().into_u64());
            self.events.lock().unwrap().push((parent, fields.0));
        }
    }
}

#[test]
fn each_trial_puts_its_evaluation_result_on_its_own_trace() {
    use tracing_subscriber::prelude::*;
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    // One thread, so every task of the trial reports to this test's subscriber.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let root = evals_dir(LANTERN_SHOP, &[("last-lantern", LAST_LANTERN)]);
    let suite = Suite::load(root.path(), "t").unwrap();
    let config = RunConfig {
        backend: Backend::Rules,
        shopper: None,
        trials: 2,
        concurrency: 1,
        limits: Limits::default(),
        prices: Prices::default(),
        out_dir: None,
    };
    let report = runtime
        .block_on(run_suite(&suite, &config, |_, _| {}))
        .unwrap();
    assert_eq!(report.scenarios[0].successes, 2);

    let events = capture.events.lock().unwrap().clone();
    let spans = capture.spans.lock().unwrap().clone();
    assert_eq!(
        events.len(),
        2,
        "one evaluation result per trial; {} spans seen",
        spans.len()
    );
    let mut trial_spans = Vec::new();
    for (parent, fields) in &events {
        assert_eq!(fields["gen_ai.evaluation.name"], "last-lantern");
        assert_eq!(fields["gen_ai.evaluation.score.value"], "1");
        assert_eq!(fields["gen_ai.evaluation.score.label"], "pass");
        let parent = parent.expect("the event belongs to the trial's span");
        assert_eq!(spans[&parent].0, "evaluate");
        trial_spans.push(parent);
    }
    assert_ne!(
        trial_spans[0], trial_spans[1],
        "each trial has its own trace"
    );
    // The agent's turns ran inside the trial's span, so they are on the same trace as its result.
    let under_a_trial = |mut id: u64| loop {
        match spans.get(&id) {
            Some((name, _)) if name == "evaluate" => return Some(id),
            Some((_, Some(parent))) => id = *parent,
            _ => return None,
        }
    };
    let turns: Vec<u64> = spans
        .iter()
        .filter(|(_, (name, _))| name == "invoke_agent tokshop")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(turns.len(), 8, "four turns in each of two trials");
    for turn in turns {
        assert!(trial_spans.contains(&under_a_trial(turn).unwrap()));
    }
}
