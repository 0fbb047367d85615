//! Limits on abuse that live in the gateway process rather than in storage (so one database is enough): password
//! guessing per account and per address, and which address counts as the client's.

use serde_json::json;

use crate::common::{Backend, Reply, TestApp, spawn_with};

async fn login(app: &TestApp, login: &str, password: &str, forwarded_for: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = forwarded_for
        .map(|ip| vec![("x-forwarded-for", ip)])
        .unwrap_or_default();
    app.call_with(
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"login": login, "password": password})),
        &headers,
    )
    .await
}

fn retry_after(reply: &Reply) -> u64 {
    reply
        .headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Three wrong passwords lock the account (even the right password gets 429 with Retry-After, and no password is
/// checked); other accounts from the same address still sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_account_for_a_while() {
    let app = spawn_with(Backend::Sqlite, |s| {
        s.gateway.login_failures_per_account = 3;
        s.gateway.login_failure_window_secs = 120;
    })
    .await;
    app.register("guessed").await;
    app.register("bystander").await;
    for _ in 0..3 {
        login(&app, "guessed", "wrong-password", None)
            .await
            .expect_error(401, "unauthenticated", None);
    }
    let locked = login(&app, "GUESSED", "s3cret-pass", None)
        .await
        .expect_error(429, "too_many_login_failures", None);
    assert!((1..=120).contains(&retry_after(&locked)));
    login(&app, "bystander", "s3cret-pass", None)
        .await
        .expect(200);
    app.stop().await;
}

/// One address guessing across many accounts is stopped; a success on the attacker's own account does not clear
/// the address's count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_guessing_many_accounts_is_stopped() {
    let app = spawn_with(Backend::Sqlite, |s| {
        s.gateway.login_failures_per_ip = 4;
    })
    .await;
    app.register("mine").await;
    for n in 0..4 {
        login(&app, &format!("victim{n}"), "guess", None)
            .await
            .expect(401);
        if n < 3 {
            login(&app, "mine", "s3cret-pass", None).await.expect(200);
        }
    }
    login(&app, "mine", "s3cret-pass", None).await.expect_error(
        429,
        "too_many_login_failures",
        None,
    );
    app.stop().await;
}

/// Without trusted proxies X-Forwarded-For is ignored (a guesser cannot rotate it to escape the limit); behind a
/// trusted proxy it names the client, and only the rightmost untrusted entry counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let untrusted = spawn_with(Backend::Sqlite, |s| {
        s.gateway.login_failures_per_ip = 2;
    })
    .await;
    for n in 0..2 {
        let forged = format!("198.51.100.{n}");
        login(&untrusted, &format!("x{n}"), "guess", Some(&forged))
            .await
            .expect(401);
    }
    login(&untrusted, "x9", "guess", Some("198.51.100.77"))
        .await
        .expect_error(429, "too_many_login_failures", None);
    untrusted.stop().await;

    let proxied = spawn_with(Backend::Sqlite, |s| {
        s.gateway.login_failures_per_ip = 2;
        s.gateway.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    for n in 0..2 {
        login(&proxied, &format!("y{n}"), "guess", Some("203.0.113.5"))
            .await
            .expect(401);
    }
    login(&proxied, "y9", "guess", Some("203.0.113.5"))
        .await
        .expect_error(429, "too_many_login_failures", None);
    // Another client behind the same proxy is not blocked, and a forged leftmost entry does not help the first.
    login(&proxied, "y9", "guess", Some("203.0.113.6"))
        .await
        .expect(401);
    login(&proxied, "y8", "guess", Some("192.0.2.1, 203.0.113.5"))
        .await
        .expect_error(429, "too_many_login_failures", None);
    proxied.stop().await;
}

/// With a metrics listener of its own, `/metrics` is served there and the public listener answers 404; label
/// values stay bounded whatever method or path a client sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_have_their_own_listener() {
    let app = spawn_with(Backend::Sqlite, |s| {
        s.gateway.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    app.get("/metrics", None)
        .await
        .expect_error(404, "route_not_found", None);
    for n in 0..20 {
        app.get(&format!("/api/v1/no-such-thing-{n}"), None)
            .await
            .expect(404);
    }
    let custom = reqwest::Method::from_bytes(b"PROBE").unwrap();
    app.call(custom, "/api/v1/products", None, None).await;
    let addr = app.running().metrics_addr.expect("metrics listener");
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(
        metrics.contains(r#"route="unmatched""#),
        "unknown paths share one label: {metrics}"
    );
    assert!(!metrics.contains("no-such-thing") && !metrics.contains("PROBE"));
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
    let other = reqwest::get(format!("http://{addr}/api/v1/products"))
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves nothing else"
    );
    app.stop().await;
}

/// A chat turn over the per-user limit is a plain JSON 429 with Retry-After, streaming or not, and starts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_turns_over_the_limit_are_429() {
    let app = spawn_with(Backend::Sqlite, |s| {
        s.agent.turns_per_minute = 2;
    })
    .await;
    let token = app.buyer("chatty").await;
    let conversation = app.conversation(&token).await;
    let path = format!("/api/v1/chat/conversations/{conversation}/messages");
    for _ in 0..2 {
        app.post(&path, Some(&token), json!({"text": "hello"}))
            .await
            .expect(200);
    }
    let limited = app
        .post(&path, Some(&token), json!({"text": "hello"}))
        .await
        .expect_error(429, "agent_turns_per_minute", None);
    assert!((1..=60).contains(&retry_after(&limited)));
    let streamed = app
        .call_with(
            reqwest::Method::POST,
            &path,
            Some(&token),
            Some(json!({"text": "hello"})),
            &[("accept", "text/event-stream")],
        )
        .await
        .expect_error(429, "agent_turns_per_minute", None);
    assert!(retry_after(&streamed) >= 1);
    let detail = app
        .get(
            &format!("/api/v1/chat/conversations/{conversation}"),
            Some(&token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        detail["conversation"]["turns"], 2,
        "refused turns are not counted"
    );
}

/// A fake OpenAI-compatible model: the first call never answers, later ones stream "Hello." Returns its base URL
/// and every request body it received.
async fn stalling_model() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
) {
    use axum::{body::Bytes, response::Response, routing::post};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |body: Bytes| {
            let record = record.clone();
            async move {
                let first = {
                    let mut seen = record.lock().unwrap();
                    seen.push(serde_json::from_slice(&body).unwrap());
                    seen.len() == 1
                };
                if first {
                    tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                }
                let chunk = |delta: serde_json::Value, finish: Option<&str>| {
                    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "stall",
                           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
                };
                let frames = [
                    chunk(json!({"role": "assistant", "content": "Hello."}), None),
                    chunk(json!({}), Some("stop")),
                    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "stall",
                           "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}}),
                ];
                let body: String = frames
                    .iter()
                    .map(|f| format!("data: {f}\n\n"))
                    .chain(["data: [DONE]\n\n".to_owned()])
                    .collect();
                Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(axum::body::Body::from(body))
                    .unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), seen)
}

/// A model slower than the turn's deadline: the chat request (even with a shorter general request deadline)
/// answers 200 with a clean stopped reply at the turn deadline, not a 504; its Idempotency-Key is settled (a retry
/// replays the same answer instead of 409); and the next turn does not show the model the timed-out request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_model_ends_the_turn_cleanly() {
    let (base_url, seen) = stalling_model().await;
    let app = spawn_with(Backend::Sqlite, |s| {
        s.llm.base_url = Some(base_url);
        s.llm.model = Some("stall".into());
        s.llm.timeout_secs = 60;
        s.agent.turn_timeout_secs = 2;
        s.gateway.request_timeout_secs = 1;
    })
    .await;
    let token = app.buyer("patient").await;
    let conversation = app.conversation(&token).await;
    let path = format!("/api/v1/chat/conversations/{conversation}/messages");
    let send = |text: &'static str, key: &'static str| {
        let (app, path, token) = (&app, path.clone(), token.clone());
        async move {
            app.call_with(
                reqwest::Method::POST,
                &path,
                Some(&token),
                Some(json!({"text": text})),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let started = std::time::Instant::now();
    let stopped = send("buy the whole shop", "turn-1").await.expect(200);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let done = stopped.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "done")
        .cloned()
        .unwrap();
    assert_eq!(done["stopped"], "max_seconds", "{}", stopped.text);
    let replayed = send("buy the whole shop", "turn-1").await.expect(200);
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(replayed.body, stopped.body);
    let answered = send("hello", "turn-2").await.expect(200);
    assert_eq!(answered.body["reply"], "Hello.");
    let second = seen.lock().unwrap().last().cloned().unwrap();
    let shown = second["messages"].to_string();
    assert!(shown.contains("hello"), "{shown}");
    assert!(!shown.contains("buy the whole shop"), "{shown}");
    app.stop().await;
}
