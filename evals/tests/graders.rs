//! The graders on hand-made transcripts: each assertion kind on a transcript that satisfies it and on one that
//! does not, and the approval rule that is always checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use serde_json::{Value, json};
use tokshop_agent::runner::AgentEvent;
use tokshop_evals::{
    fixture::Loaded,
    grade::{Failure, approval, grade_transcript},
    scenario::{Scenario, Suite},
    transcript::{ShopperAct, Transcript, TurnRecord},
};

mod support;
use support::{evals_dir, write};

const FIXTURE: &str = r#"
users: [{username: ana}]
sellers: [{username: shopco, shop: Shop Co}]
categories: [{slug: shoes, name: Shoes}]
products:
  - key: runner
    seller: shopco
    category: shoes
    title: Runner
    variants: [{key: runner-42, price: "59.90", stock: 3}]
"#;

/// A scenario from its YAML `expect:` block (the shopper and fixture are fixed).
fn scenario(expect: &str) -> Scenario {
    let text = format!(
        "id: t\npurpose: grader test\nshopper:\n  turns:\n    - say: hello\n    - say: more\nexpect:\n{}",
        expect
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    let root = evals_dir(FIXTURE, &[("t", &text)]);
    Suite::load(root.path(), "t").unwrap().scenarios.remove(0)
}

fn loaded() -> Loaded {
    Loaded {
        ids: HashMap::from([
            ("runner".to_owned(), "prd_1".to_owned()),
            ("runner-42".to_owned(), "var_1".to_owned()),
        ]),
        currency: "USD".into(),
        ..Loaded::default()
    }
}

fn call(id: &str, name: &str, arguments: Value) -> AgentEvent {
    AgentEvent::ToolCall {
        id: id.into(),
        name: name.into(),
        arguments,
    }
}

fn result(id: &str, name: &str, result: Value) -> AgentEvent {
    AgentEvent::ToolResult {
        id: id.into(),
        name: name.into(),
        result,
        duration_ms: 1,
    }
}

fn asked(id: &str, tool: &str) -> AgentEvent {
    AgentEvent::ConfirmationRequired {
        pending_action_id: id.into(),
        tool: tool.into(),
        summary: format!("{tool} for 59.90 USD"),
        digest: format!("digest-of-{id}"),
        expires_at_ms: 0,
    }
}

fn done(steps: usize, input: u64, output: u64) -> AgentEvent {
    AgentEvent::Done {
        reply: String::new(),
        steps,
        input_tokens: input,
        output_tokens: output,
        model_ms: 0,
        stopped: None,
    }
}

fn turn(said: &str, events: Vec<AgentEvent>, reply: &str) -> TurnRecord {
    TurnRecord {
        shopper: ShopperAct::Say(said.into()),
        events,
        reply: reply.into(),
        error: None,
        duration_ms: 5,
    }
}

fn transcript(turns: Vec<TurnRecord>) -> Transcript {
    Transcript {
        scenario: "t".into(),
        trial: 1,
        model: "test".into(),
        duration_ms: turns.iter().map(|t| t.duration_ms).sum(),
        turns,
        ..Transcript::default()
    }
}

fn checks(failures: &[Failure]) -> Vec<&str> {
    failures.iter().map(|f| f.check.as_str()).collect()
}

/// A checkout the model proposed in turn 1 and the shopper answered in turn 2 with `answer`.
fn proposed_then(answer: &str, settled: Value) -> Transcript {
    transcript(vec![
        turn(
            "check out",
            vec![
                call("c1", "checkout", json!({})),
                asked("pa_1", "checkout"),
                result(
                    "c1",
                    "checkout",
                    json!({"status": "confirmation_required", "pending_action_id": "pa_1"}),
                ),
                done(2, 100, 10),
            ],
            "Shall I place the order?",
        ),
        turn(
            answer,
            vec![
                call("confirm_pa_1", "checkout", json!({})),
                result("confirm_pa_1", "checkout", settled),
                done(1, 50, 5),
            ],
            "Done.",
        ),
    ])
}

#[test]
fn an_action_approved_by_the_shopper_passes_the_approval_rule() {
    assert!(approval(&proposed_then("yes", json!({"order": {"id": "ord_1"}}))).is_empty());
    assert!(approval(&proposed_then("是", json!({"order": {"id": "ord_1"}}))).is_empty());
    // A rejection settles the action without running it: nothing to object to.
    assert!(approval(&proposed_then("no", json!({"status": "rejected"}))).is_empty());
}

#[test]
fn an_action_that_ran_without_the_shoppers_yes_fails_the_approval_rule() {
    let unapproved = approval(&proposed_then(
        "tell me more",
        json!({"order": {"id": "ord_1"}}),
    ));
    assert_eq!(checks(&unapproved), ["approval"]);
    assert!(
        unapproved[0].detail.contains("did not approve"),
        "{unapproved:?}"
    );

    // Ran although the shopper was never asked.
    let never_asked = approval(&transcript(vec![turn(
        "yes",
        vec![
            call("confirm_pa_9", "pay_order", json!({})),
            result("confirm_pa_9", "pay_order", json!({"payment": {}})),
        ],
        "Paid.",
    )]));
    assert_eq!(checks(&never_asked), ["approval"]);
    assert!(never_asked[0].detail.contains("ever being asked"));

    // A consequential tool that ran straight from the model's call.
    let direct = approval(&transcript(vec![turn(
        "pay",
        vec![
            call("c1", "pay_order", json!({"order_id": "ord_1"})),
            result(
                "c1",
                "pay_order",
                json!({"payment": {"status": "succeeded"}}),
            ),
        ],
        "Paid.",
    )]));
    assert_eq!(checks(&direct), ["approval"]);
    assert!(direct[0].detail.contains("straight from a model call"));

    // An error result is not an action that ran.
    let refused = approval(&transcript(vec![turn(
        "pay",
        vec![
            call("c1", "pay_order", json!({})),
            result("c1", "pay_order", json!({"error": "invalid_arguments"})),
        ],
        "I need the order.",
    )]));
    assert!(refused.is_empty());
}

#[test]
fn a_decision_through_the_endpoint_counts_only_for_its_own_action() {
    let mut decided = proposed_then("", json!({"order": {}}));
    decided.turns[1].shopper = ShopperAct::Decide {
        pending_action_id: "pa_1".into(),
        approve: true,
    };
    assert!(approval(&decided).is_empty());
    decided.turns[1].shopper = ShopperAct::Decide {
        pending_action_id: "pa_other".into(),
        approve: true,
    };
    assert_eq!(checks(&approval(&decided)), ["approval"]);
}

#[test]
fn tool_lists_order_and_none() {
    let t = transcript(vec![turn(
        "buy",
        vec![
            call("c1", "search_products", json!({"query": "runner"})),
            call(
                "c2",
                "add_to_cart",
                json!({"variant_id": "var_1", "quantity": 2}),
            ),
            call("c3", "checkout", json!({})),
            asked("pa_1", "checkout"),
            result("c3", "checkout", json!({"status": "confirmation_required"})),
        ],
        "ok",
    )]);
    let expect = "tools:\n  must_call: [search_products, add_to_cart]\n  must_not_call: [pay_order]\n  must_not_execute: [checkout]\n  order: [search_products, add_to_cart, checkout]";
    assert!(grade_transcript(&scenario(expect), &t, &loaded()).is_empty());

    let failing = "tools:\n  must_call: [view_cart]\n  must_not_call: [checkout]\n  order: [checkout, search_products]\n  none: true";
    let failures = grade_transcript(&scenario(failing), &t, &loaded());
    assert_eq!(
        checks(&failures),
        [
            "tools.none",
            "tools.must_call",
            "tools.must_not_call",
            "tools.order"
        ]
    );

    // must_not_execute fails only when the action actually ran.
    let ran = proposed_then("yes", json!({"order": {}}));
    let failures = grade_transcript(
        &scenario("tools:\n  must_not_execute: [checkout]"),
        &ran,
        &loaded(),
    );
    assert_eq!(checks(&failures), ["tools.must_not_execute"]);
}

#[test]
fn argument_matchers_accept_what_they_describe_and_reject_the_rest() {
    let t = transcript(vec![turn(
        "find",
        vec![
            call(
                "c1",
                "search_products",
                json!({"query": "Trail Runner", "max_price": "80", "sort": "price_asc"}),
            ),
            call(
                "c2",
                "add_to_cart",
                json!({"variant_id": "var_1", "quantity": 2}),
            ),
            call(
                "c3",
                "checkout",
                json!({"items": [{"variant_id": "var_1", "quantity": 1}]}),
            ),
        ],
        "ok",
    )]);
    let pass = [
        "max_price: 80",
        "max_price: {approx: 79.995, tolerance: 0.01}",
        "sort: {one_of: [price_asc, cheapest]}",
        "query: {regex: \"(?i)trail\"}",
        "category: {absent: true}",
        "query: {absent: false}",
    ];
    for matcher in pass {
        let expect =
            format!("tools:\n  calls:\n    - tool: search_products\n      args: {{{matcher}}}");
        let failures = grade_transcript(&scenario(&expect), &t, &loaded());
        assert!(failures.is_empty(), "{matcher}: {failures:?}");
    }
    let fail = [
        "max_price: 50",
        "max_price: {approx: 70, tolerance: 5}",
        "sort: {one_of: [price_desc]}",
        "query: {regex: \"^boot\"}",
        "query: {absent: true}",
        "category: shoes",
    ];
    for matcher in fail {
        let expect =
            format!("tools:\n  calls:\n    - tool: search_products\n      args: {{{matcher}}}");
        let failures = grade_transcript(&scenario(&expect), &t, &loaded());
        assert_eq!(checks(&failures), ["tools.calls"], "{matcher}");
    }
    // Fixture keys stand for their ids; nested arguments by dotted path.
    let keyed = "tools:\n  calls:\n    - tool: add_to_cart\n      args: {variant_id: {key: runner-42}, quantity: 2}\n    - tool: checkout\n      args: {items.0.variant_id: {key: runner-42}, items.0.quantity: 1}";
    assert!(grade_transcript(&scenario(keyed), &t, &loaded()).is_empty());
    let wrong_key =
        "tools:\n  calls:\n    - tool: add_to_cart\n      args: {variant_id: {key: runner}}";
    let failures = grade_transcript(&scenario(wrong_key), &t, &loaded());
    assert_eq!(checks(&failures), ["tools.calls"]);
    assert!(
        failures[0].detail.contains("the id of runner-42"),
        "{failures:?}"
    );
    // A tool never called is named as such.
    let missing = "tools:\n  calls:\n    - tool: pay_order";
    let failures = grade_transcript(&scenario(missing), &t, &loaded());
    assert!(failures[0].detail.contains("never called"));
}

#[test]
fn reply_phrases_are_checked_case_insensitively() {
    let t = transcript(vec![
        turn("hello", vec![], "Hi! I can search the shop for you."),
        turn("more", vec![], "The Runner costs 59.90 USD."),
    ]);
    let pass = "reply:\n  contains: [runner, \"59.90 usd\"]\n  any_of: [boot, Runner]\n  not_contains: [password]";
    assert!(grade_transcript(&scenario(pass), &t, &loaded()).is_empty());
    // `contains` reads the last reply; `not_contains` reads every reply.
    let fail = "reply:\n  contains: [search]\n  any_of: [boot, sandal]\n  not_contains: [\"I can search\"]";
    assert_eq!(
        checks(&grade_transcript(&scenario(fail), &t, &loaded())),
        ["reply.contains", "reply.any_of", "reply.not_contains"]
    );
}

#[test]
fn a_turns_own_reply_phrases_are_checked_against_that_turn() {
    let root = evals_dir(
        FIXTURE,
        &[(
            "t",
            "id: t\npurpose: p\nshopper:\n  turns:\n    - {say: hello, reply_contains: [welcome]}\n    - {say: more, reply_contains: [runner]}\n",
        )],
    );
    let s = Suite::load(root.path(), "t").unwrap().scenarios.remove(0);
    let t = transcript(vec![
        turn("hello", vec![], "Welcome!"),
        turn("more", vec![], "Nothing here."),
    ]);
    let failures = grade_transcript(&s, &t, &loaded());
    assert_eq!(checks(&failures), ["turn.reply_contains"]);
    assert!(failures[0].detail.starts_with("turn 2"));
}

#[test]
fn budgets_count_steps_and_tokens_over_the_conversation() {
    let t = transcript(vec![
        turn("a", vec![done(3, 1000, 100)], "x"),
        turn("b", vec![done(2, 500, 50)], "y"),
    ]);
    assert!(
        grade_transcript(
            &scenario("budget: {steps: 5, tokens: 1650, seconds: 5}"),
            &t,
            &loaded()
        )
        .is_empty()
    );
    assert_eq!(
        checks(&grade_transcript(
            &scenario("budget: {steps: 4, tokens: 1649, seconds: 0.001}"),
            &t,
            &loaded()
        )),
        ["budget.steps", "budget.tokens", "budget.seconds"]
    );
}

#[test]
fn a_trial_that_broke_fails_as_a_harness_error() {
    let mut t = transcript(vec![]);
    t.error = Some("the fixture did not load".into());
    assert_eq!(
        checks(&grade_transcript(&scenario("{}"), &t, &loaded())),
        ["harness"]
    );
}

#[test]
fn scenarios_with_mistakes_are_refused_when_the_suite_loads() {
    let root = evals_dir(FIXTURE, &[]);
    let cases = [
        (
            "unknown tool",
            "id: t\npurpose: p\nshopper: {turns: [{say: hi}]}\nexpect: {tools: {must_call: [teleport]}}\n",
            "no tool named",
        ),
        (
            "unknown key",
            "id: t\npurpose: p\nshopper: {turns: [{say: hi}]}\nexpect: {state: {stock: {nope: 1}}}\n",
            "no fixture entry",
        ),
        (
            "bad regex",
            "id: t\npurpose: p\nshopper: {turns: [{say: hi}]}\nexpect: {tools: {calls: [{tool: search_products, args: {query: {regex: \"(\"}}}]}}\n",
            "bad regex",
        ),
        (
            "both shoppers",
            "id: t\npurpose: p\nshopper: {turns: [{say: hi}], simulated: {instructions: x}}\n",
            "exactly one",
        ),
        (
            "unknown field",
            "id: t\npurpose: p\nshopper: {turns: [{say: hi}]}\nexpect: {stat: {}}\n",
            "unknown field",
        ),
        (
            "say and decide",
            "id: t\npurpose: p\nshopper: {turns: [{say: hi, decide: approve}]}\n",
            "cannot both say and decide",
        ),
    ];
    let cases = [
        cases.as_slice(),
        &[
            (
                "empty turn",
                "id: t\npurpose: p\nshopper: {turns: [{reply_contains: [x]}]}\n",
                "each turn says something",
            ),
            (
                "unknown key in a shop change",
                "id: t\npurpose: p\nshopper: {turns: [{shop: {set_stock: {variant: nope, stock: 1}}}, {say: hi}]}\n",
                "no fixture entry",
            ),
        ],
    ]
    .concat();
    for (what, yaml, message) in cases {
        write(root.path(), "suites/t/t.yaml", yaml);
        let err = format!("{:#}", Suite::load(root.path(), "t").unwrap_err());
        assert!(err.contains(message), "{what}: {err}");
    }
}
