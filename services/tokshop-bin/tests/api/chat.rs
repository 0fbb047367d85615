//! The chat API on the embedded server with the rule planner (the offline default): a whole journey from search to
//! a paid order, the event stream of a turn, and owner-only conversations.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    common::{TestApp, product_body},
    shop::{fund_wallet, shopper, wallet_balance},
};

async fn trail_shoes(app: &TestApp) {
    let category = app.category("trail").await;
    let (_, seller) = app.seller("trailshop").await;
    for (title, price) in [
        ("Ridge trail shoes", 5000),
        ("Summit trail shoes", 7000),
        ("Alpine trail shoes", 12000),
    ] {
        app.post(
            "/api/v1/seller/products",
            Some(&seller),
            product_body(&category, title, price, 5),
        )
        .await
        .expect(201);
    }
}

async fn say(app: &TestApp, token: &str, conversation: &str, text: &str) -> Value {
    app.post(
        &format!("/api/v1/chat/conversations/{conversation}/messages"),
        Some(token),
        json!({"text": text}),
    )
    .await
    .expect(200)
    .body
}

fn confirmation(turn: &Value) -> Option<String> {
    turn["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "confirmation_required")
        .map(|e| e["pending_action_id"].as_str().unwrap().to_owned())
}

async fn rule_planner_takes_a_shopper_from_search_to_a_paid_order(app: &TestApp) {
    trail_shoes(app).await;
    let (buyer, _) = shopper(app, "riley").await;
    fund_wallet(app, &buyer, 20_000).await;
    let conversation = app
        .post(
            "/api/v1/chat/conversations",
            Some(&buyer),
            json!({"title": "shoes"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(conversation["model"], "rule-planner-1");
    assert_eq!(conversation["prompt_version"], "shop-system.v2");
    let id = conversation["id"].as_str().unwrap();

    let found = say(app, &buyer, id, "find trail shoes under 80, cheapest first").await;
    let reply = found["reply"].as_str().unwrap();
    assert!(
        reply.contains("Ridge trail shoes") && reply.contains("Summit trail shoes"),
        "{reply}"
    );
    assert!(!reply.contains("Alpine"), "{reply}");

    let added = say(app, &buyer, id, "add the second one to my cart").await;
    let cart = app.get("/api/v1/cart", Some(&buyer)).await.expect(200).body;
    assert_eq!(
        cart["lines"][0]["title"], "Summit trail shoes",
        "{}",
        added["reply"]
    );

    let asked = say(app, &buyer, id, "check out").await;
    assert!(confirmation(&asked).is_some(), "{}", asked["reply"]);
    let orders = app
        .get("/api/v1/orders", Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(
        orders["orders"].as_array().unwrap().len(),
        0,
        "nothing ordered before the shopper's yes"
    );
    say(app, &buyer, id, "yes").await;
    let orders = app
        .get("/api/v1/orders", Some(&buyer))
        .await
        .expect(200)
        .body;
    assert_eq!(orders["orders"][0]["status"], "pending_payment");

    let asked = say(app, &buyer, id, "pay with my wallet").await;
    assert!(confirmation(&asked).is_some(), "{}", asked["reply"]);
    assert_eq!(wallet_balance(app, &buyer).await, 20_000);
    say(app, &buyer, id, "yes").await;
    assert_eq!(
        wallet_balance(app, &buyer).await,
        20_000 - 7000,
        "7000 ships free"
    );

    let status = say(app, &buyer, id, "where is my order?").await;
    assert!(
        status["reply"].as_str().unwrap().contains("paid"),
        "{}",
        status["reply"]
    );
    let trace = app
        .get(
            &format!("/api/v1/chat/conversations/{id}/trace"),
            Some(&buyer),
        )
        .await
        .expect(200)
        .body;
    assert!(
        trace["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "pay_order")
    );
    // Operators see the agent in Prometheus: tool calls, confirmations, turns, tokens.
    let metrics = app.get("/metrics", None).await.expect(200).text;
    assert!(
        metrics.contains(r#"agent_tool_calls_total{outcome="ok",tool="search_products"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"agent_confirmations_total{event="requested"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"agent_confirmations_total{event="approved"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"agent_turns_total{outcome="answered"} 7"#),
        "{metrics}"
    );
    assert!(metrics.contains("agent_tool_seconds_bucket"));
    crate::shop::ledger_balances(app).await;
}

async fn a_turn_streams_its_events(app: &TestApp) {
    trail_shoes(app).await;
    let (buyer, _) = shopper(app, "sasha").await;
    let id = app.conversation(&buyer).await;
    say(app, &buyer, &id, "find trail shoes under 80").await;
    say(app, &buyer, &id, "add the first one").await;
    let response = app
        .client
        .post(format!(
            "{}/api/v1/chat/conversations/{id}/messages",
            app.base
        ))
        .bearer_auth(&buyer)
        .header("accept", "text/event-stream")
        .json(&json!({"text": "check out"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = response.text().await.unwrap();
    let names: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    let position = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("{name} in {names:?}"))
    };
    assert!(position("tool_call") < position("confirmation_required"));
    assert!(position("confirmation_required") < position("tool_result"));
    assert!(position("tool_result") < position("done"));
    assert_eq!(names.last(), Some(&"done"));
    assert!(names.contains(&"text"));
}

async fn conversations_belong_to_their_shopper(app: &TestApp) {
    let (owner, _) = shopper(app, "owen").await;
    let (other, _) = shopper(app, "olive").await;
    let id = app.conversation(&owner).await;
    app.get(&format!("/api/v1/chat/conversations/{id}"), Some(&other))
        .await
        .expect_error(404, "conversation_not_found", None);
    app.get(
        &format!("/api/v1/chat/conversations/{id}/trace"),
        Some(&other),
    )
    .await
    .expect_error(404, "conversation_not_found", None);
    app.post(
        &format!("/api/v1/chat/conversations/{id}/messages"),
        Some(&other),
        json!({"text": "hi"}),
    )
    .await
    .expect_error(404, "conversation_not_found", None);
    app.call(
        Method::POST,
        &format!("/api/v1/chat/conversations/{id}/confirmations/pa_x"),
        Some(&other),
        Some(json!({"decision": "approve", "digest": "0".repeat(64)})),
    )
    .await
    .expect_error(404, "conversation_not_found", None);
    app.post(
        &format!("/api/v1/chat/conversations/{id}/messages"),
        Some(&owner),
        json!({"text": ""}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("text"));
    let mine = app
        .get("/api/v1/chat/conversations", Some(&other))
        .await
        .expect(200)
        .body;
    assert_eq!(mine["conversations"].as_array().unwrap().len(), 0);
}

crate::on_both_databases!(
    rule_planner_takes_a_shopper_from_search_to_a_paid_order,
    a_turn_streams_its_events,
    conversations_belong_to_their_shopper,
);
