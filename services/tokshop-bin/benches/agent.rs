//! Agent benchmark: what the loop adds to a tool call (a zero-latency scripted model, real gRPC to the services,
//! conversation storage), and how many tokens (tiktoken o200k) the tool catalogue and a typical search result
//! cost a model.
//!
//! `cargo bench -p tokshop --bench agent` (both databases), or `-- sqlite` / `-- postgres` for one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use support::{ms, percentile};
use tokshop_agent::{
    model::ChatMessage,
    runner::{Agent, Caller, Limits},
    scripted::ScriptedModel,
    store::Store,
};
use tokshop_platform::{db::Db, grpc};
use tokshop_tools::{Clients, Registry, ToolContext};

/// Turns measured per conversation length.
const TURNS: usize = 100;
/// Messages a conversation already holds when its turns are measured.
const PRIOR_MESSAGES: [usize; 3] = [10, 100, 1000];

fn tokens(text: &str) -> usize {
    tiktoken_rs::o200k_base_singleton()
        .encode_with_special_tokens(text)
        .len()
}

async fn run(backend: &str) {
    let bench = support::start(backend, |settings| {
        settings.seed.demo = true;
        // Sandbox cards are the test provider: a demo shop, whatever its database.
        settings.mode = Some(tokshop_platform::config::Mode::Demo);
        settings.seed.products = 200;
    })
    .await;
    let client = reqwest::Client::new();
    let session: Value = client
        .post(format!("{}/api/v1/auth/login", bench.base))
        .json(&json!({"login": "demo", "password": "demo-shopper-pass"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    let running = &bench.running;
    let channel = |addr: Option<std::net::SocketAddr>| {
        grpc::channel(&format!("http://{}", addr.unwrap())).unwrap()
    };
    let clients = Clients::new(
        channel(running.identity_addr),
        channel(running.catalog_addr),
        channel(running.cart_addr),
        channel(running.orders_addr),
        channel(running.social_addr),
    );
    let registry = Registry::shop();

    // Tokens: the whole catalogue as an OpenAI `tools` array, and a typical search result.
    let catalogue: Vec<Value> = registry
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name(), "description": t.description(), "parameters": t.parameters()}}))
        .collect();
    let catalogue_text = serde_json::to_string(&catalogue).unwrap();
    let ctx = ToolContext::new(clients.clone(), token.clone(), "USD".into(), "bench".into());
    let search = registry.get("search_products").unwrap();
    let result = search
        .call(&ctx, &json!({"query": "trail shoes", "limit": 5}))
        .await
        .unwrap();
    let result_text = result.to_string();

    // Direct tool calls: the gRPC round trip alone.
    let view_cart = registry.get("view_cart").unwrap();
    let mut direct = Vec::with_capacity(TURNS);
    for _ in 0..TURNS {
        let t = Instant::now();
        view_cart.call(&ctx, &json!({})).await.unwrap();
        direct.push(t.elapsed());
    }
    direct.sort();

    // Turns through the loop: model (zero latency) -> view_cart -> model -> answer, everything stored; in a
    // conversation that already holds `prior` messages, so the cost's growth with its length shows.
    let db = Db::connect(&bench.settings.database_url(), 4)
        .await
        .unwrap();
    let caller = Caller { user_id, token };
    println!("\n## {backend}\n");
    println!("| measure | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: |");
    println!(
        "| view_cart tool called directly (gRPC round trip) | {} | {} |",
        ms(percentile(&direct, 0.5)),
        ms(percentile(&direct, 0.99))
    );
    for prior in PRIOR_MESSAGES {
        let script = (0..TURNS)
            .flat_map(|i| {
                [
                    ScriptedModel::calls(&[(&format!("c{i}"), "view_cart", json!({}))]),
                    ScriptedModel::says("ok"),
                ]
            })
            .collect();
        let agent = Agent::new(
            Store::new(db.clone()),
            Arc::new(ScriptedModel::new(script)),
            Registry::shop(),
            clients.clone(),
            "USD".into(),
            Limits::default(),
        );
        let conversation = agent.start(&caller, "bench").await.unwrap();
        let earlier: Vec<ChatMessage> = (0..prior / 2)
            .flat_map(|i| {
                [
                    ChatMessage::user(format!("earlier question {i}")),
                    ChatMessage::assistant(format!("earlier answer {i}"), Vec::new()),
                ]
            })
            .collect();
        agent
            .store()
            .append(&conversation.id, 0, &earlier)
            .await
            .unwrap();
        let mut turns = Vec::with_capacity(TURNS);
        for _ in 0..TURNS {
            let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
            let t = Instant::now();
            agent
                .turn(&caller, &conversation.id, "what is in my cart", &sender)
                .await
                .unwrap();
            turns.push(t.elapsed());
        }
        turns.sort();
        let mut overhead: Vec<Duration> = turns
            .iter()
            .zip(&direct)
            .map(|(t, d)| t.saturating_sub(*d))
            .collect();
        overhead.sort();
        println!(
            "| {prior} prior messages: a turn with one view_cart call (2 model calls, tool, storage) | {} | {} |",
            ms(percentile(&turns, 0.5)),
            ms(percentile(&turns, 0.99))
        );
        println!(
            "| {prior} prior messages: loop overhead (turn minus direct call, by rank) | {} | {} |",
            ms(percentile(&overhead, 0.5)),
            ms(percentile(&overhead, 0.99))
        );
    }
    println!(
        "\nTokens (o200k): tool catalogue of {} tools = {} ({} bytes of JSON); `search_products` for \"trail shoes\", 5 results = {} ({} bytes); system prompt {} = {} ({} bytes).",
        catalogue.len(),
        tokens(&catalogue_text),
        catalogue_text.len(),
        tokens(&result_text),
        result_text.len(),
        tokshop_agent::prompt::VERSION,
        tokens(tokshop_agent::prompt::SYSTEM),
        tokshop_agent::prompt::SYSTEM.len()
    );
    bench.stop().await;
}

#[tokio::main]
async fn main() {
    println!(
        "# tokshop agent benchmark ({} cores, {TURNS} turns per conversation length)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for backend in support::backends() {
        run(backend).await;
    }
}
