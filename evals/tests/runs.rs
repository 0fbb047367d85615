//! Whole trials against real embedded shops: isolation between concurrent trials, the scripted model, a
//! simulated shopper played by a fake OpenAI-compatible server, the evaluation event on each trial's trace, and
//! the reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::{Json, Router, routing::post};
use serde_json::{Value, json};
use tokshop_agent::{openai::OpenAiConfig, runner::Limits};
use tokshop_evals::{
    report,
    run::{Backend, Prices, Report, RunConfig, run_suite},
    scenario::Suite,
    trial::Instance,
};
use tokshop_platform::auth::authorized;
use tokshop_proto::cart as cartpb;

mod support;
use support::{LANTERN_SHOP, LAST_LANTERN, evals_dir};

/// Suite `t` holding `scenarios` (file name -> YAML) over the lantern shop.
fn suite(scenarios: &[(&str, &str)]) -> (tempfile::TempDir, Suite) {
    let root = evals_dir(LANTERN_SHOP, scenarios);
    let suite = Suite::load(root.path(), "t").unwrap();
    (root, suite)
}

fn config(backend: Backend, trials: usize, concurrency: usize) -> RunConfig {
    RunConfig {
        backend,
        shopper: None,
        trials,
        concurrency,
        limits: Limits::default(),
        prices: Prices::default(),
        out_dir: None,
    }
}

fn failures(report: &Report) -> String {
    report
        .scenarios
        .iter()
        .flat_map(|s| &s.results)
        .flat_map(|r| &r.failures)
        .map(|f| format!("{}: {}\n", f.check, f.detail))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_trials_never_see_each_others_data() {
    // Three trials at once each buy the one lantern of their shop: they can all succeed only if no two share a
    // database.
    let (_root, suite) = suite(&[("last-lantern", LAST_LANTERN)]);
    let report = run_suite(&suite, &config(Backend::Rules, 3, 3), |_, _| {})
        .await
        .unwrap();
    let scenario = &report.scenarios[0];
    assert_eq!(scenario.successes, 3, "{}", failures(&report));
    assert_eq!(scenario.pass_k, vec![1.0, 1.0, 1.0]);

    // And directly: what one instance does is invisible to another loaded with the same fixture.
    let (a, b) = tokio::join!(Instance::start(), Instance::start());
    let (a, b) = (a.unwrap(), b.unwrap());
    let (loaded_a, caller_a) = tokshop_evals::trial::prepare(&suite.scenarios[0], &a)
        .await
        .unwrap();
    let (_, caller_b) = tokshop_evals::trial::prepare(&suite.scenarios[0], &b)
        .await
        .unwrap();
    let mut cart_a = a.clients.cart.clone();
    cart_a
        .add_item(authorized(
            cartpb::AddItemRequest {
                variant_id: loaded_a.id("lantern-one").unwrap().to_owned(),
                quantity: 1,
            },
            Some(&caller_a.token),
        ))
        .await
        .unwrap();
    let mut cart_b = b.clients.cart.clone();
    let seen_by_b = cart_b
        .get_cart(authorized(cartpb::GetCartRequest {}, Some(&caller_b.token)))
        .await
        .unwrap()
        .into_inner();
    assert!(seen_by_b.lines.is_empty());
    // A token from one instance means nothing to the other.
    let foreign = cart_b
        .get_cart(authorized(cartpb::GetCartRequest {}, Some(&caller_a.token)))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), tonic::Code::Unauthenticated);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

const SCRIPTED: &str = r#"
id: scripted-checkout
purpose: A scripted model adds the lantern and checks out; the shopper approves.
tags: [checkout]
shopper:
  turns:
    - say: I want the lantern
    - say: "yes"
expect:
  state:
    orders: {count: 1, each: [{status: pending_payment, total: "25.00"}]}
  tools:
    order: [add_to_cart, checkout]
    calls:
      - {tool: add_to_cart, args: {variant_id: {key: lantern-one}, quantity: 1}}
script:
  - calls: [{tool: add_to_cart, args: {variant_id: "$key:lantern-one", quantity: 1}}]
  - calls: [{tool: checkout, args: {}}]
  - say: Shall I place the order for the lantern?
  - say: Your order is placed.
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_model_runs_and_the_state_is_graded_through_the_services() {
    let said_no = SCRIPTED
        .replace("id: scripted-checkout", "id: scripted-refused")
        .replace("say: \"yes\"", "say: \"no\"");
    let (_root, scripted) = suite(&[("a", SCRIPTED), ("b", &said_no)]);
    let report = run_suite(&scripted, &config(Backend::Scripted, 1, 2), |_, _| {})
        .await
        .unwrap();
    let approved = report
        .scenarios
        .iter()
        .find(|s| s.id == "scripted-checkout")
        .unwrap();
    assert_eq!(approved.successes, 1, "{}", failures(&report));
    // The same script with a shopper who says no: no order, and the grader says which assertion failed.
    let refused = report
        .scenarios
        .iter()
        .find(|s| s.id == "scripted-refused")
        .unwrap();
    assert_eq!(refused.successes, 0);
    let checks: Vec<&str> = refused.results[0]
        .failures
        .iter()
        .map(|f| f.check.as_str())
        .collect();
    assert!(checks.iter().all(|c| *c == "state.orders"), "{checks:?}");
    assert!(!checks.is_empty());
    // Scripted tokens are counted like any model's.
    assert!(approved.mean_input_tokens > 0.0);
    // A scenario without a script is skipped under the scripted model.
    let (_root, plain) = suite(&[("c", LAST_LANTERN)]);
    let report = run_suite(&plain, &config(Backend::Scripted, 1, 1), |_, _| {})
        .await
        .unwrap();
    assert!(report.scenarios[0].skipped.is_some());
    assert_eq!(report.overall.skipped, 1);
}

const SIMULATED: &str = r#"
id: simulated-lantern
purpose: A simulated shopper finds the lantern and puts it in the cart.
tags: [cart]
shopper:
  simulated:
    instructions: You want a lantern for camping and want it in your cart. Do not buy yet.
    facts: {budget: "30 USD"}
    max_turns: 5
expect:
  state:
    cart: [{variant: lantern-one, quantity: 1}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_shopper_drives_the_conversation_and_says_when_it_is_done() {
    // The shopper's model: a fake OpenAI-compatible server that plays a shopper's lines in order.
    let lines = [
        "find the solo lantern",
        "add the first one to my cart",
        "Thanks! ###STOP###",
    ];
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let record = seen.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move |Json(body): Json<Value>| {
            let record = record.clone();
            async move {
                let mut seen = record.lock().unwrap();
                let line = lines[seen.len().min(lines.len() - 1)];
                seen.push(body);
                Json(json!({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "shopper-sim",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": line}}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 8, "total_tokens": 108}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (_root, simulated) = suite(&[("s", SIMULATED)]);
    // Without a shopper model the scenario is skipped, not failed.
    let report = run_suite(&simulated, &config(Backend::Rules, 1, 1), |_, _| {})
        .await
        .unwrap();
    assert!(report.scenarios[0].skipped.is_some());

    let mut with_shopper = config(Backend::Rules, 1, 1);
    with_shopper.shopper = Some(OpenAiConfig {
        base_url: format!("http://{addr}/v1"),
        api_key: None,
        model: "shopper-sim".into(),
        timeout_secs: 10,
    });
    let report = run_suite(&simulated, &with_shopper, |_, _| {})
        .await
        .unwrap();
    let result = &report.scenarios[0];
    assert_eq!(result.successes, 1, "{}", failures(&report));
    let transcript = &result.results[0].transcript;
    assert_eq!(
        transcript.turns.len(),
        2,
        "the stop line ends the conversation"
    );
    assert_eq!(transcript.shopper_usage.input_tokens, 300);

    // The shopper model got its instructions and facts, and heard the agent's replies as the other side.
    let requests = seen.lock().unwrap();
    let last = requests.last().unwrap();
    let messages = last["messages"].as_array().unwrap();
    let system = messages[0].to_string();
    assert!(system.contains("You want a lantern"), "{system}");
    assert!(system.contains("budget: 30 USD"), "{system}");
    assert!(
        messages
            .iter()
            .any(|m| m["role"] == "user" && m["content"].to_string().contains("Solo Lantern")),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_render_as_json_html_and_a_table() {
    let hostile = LAST_LANTERN
        .replace("id: last-lantern", "id: hostile")
        .replace(
            "purpose: Buy the only lantern in stock.",
            "purpose: \"<script>alert(1)</script> and an unmet expectation\"",
        )
        .replace("stock: {lantern-one: 0}", "stock: {lantern-one: 5}");
    let (_root, suite) = suite(&[("a", LAST_LANTERN), ("b", &hostile)]);
    let out = tempfile::tempdir().unwrap();
    let mut run = config(Backend::Rules, 2, 2);
    run.out_dir = Some(out.path().to_owned());
    run.prices = toml::from_str(
        "[models.\"rule-planner-1\"]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n",
    )
    .unwrap();
    let mut report = run_suite(&suite, &run, |_, _| {}).await.unwrap();

    // pass^k over the suite: one scenario always passes, one never does.
    assert_eq!(report.overall.pass_k, vec![0.5, 0.5]);
    assert_eq!(report.overall.trial_pass_rates, vec![0.5, 0.5]);
    assert_eq!(report.by_tag["checkout"].scenarios, 2);
    let cost = report.overall.cost_usd.unwrap();
    let expected =
        (report.overall.input_tokens as f64 + 2.0 * report.overall.output_tokens as f64) / 1e6;
    assert!((cost - expected).abs() < 1e-12 && cost > 0.0);

    // A baseline of this run, then a comparison: the same results are no regression.
    let baseline = report.baseline();
    assert_eq!(baseline.scenarios["hostile"].pass_1, 0.0);
    assert!(!report.compare_with(&baseline, 0.0).failed);

    // JSON round-trips under the stable schema.
    let json = serde_json::to_string(&report).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back.schema_version, 1);
    assert_eq!(back.scenarios.len(), 2);
    let failed = back.scenarios.iter().find(|s| s.id == "hostile").unwrap();
    assert_eq!(failed.results[0].failures[0].check, "state.stock");
    // Each trial's transcript is a file next to the report.
    let file = failed.results[0].transcript_file.as_ref().unwrap();
    let transcript: Value =
        serde_json::from_slice(&std::fs::read(out.path().join(file)).unwrap()).unwrap();
    assert_eq!(transcript["scenario"], "hostile");

    let html = report::html(&report);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("Solo Lantern"), "transcripts are in the page");
    assert!(html.contains("state.stock"));
    let table = report::terminal(&report);
    assert!(table.contains("pass^1 50.0%"), "{table}");
    assert!(table.contains("hostile trial 1: state.stock"), "{table}");
    assert!(table.contains("no regression"), "{table}");
}
