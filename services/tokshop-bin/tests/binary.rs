//! The real `tokshop` binary with no configuration but a data folder: it starts every service, seeds the demo
//! shop, answers over HTTP, and exits cleanly on SIGTERM; a second start finds the seed already there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value,
    trace::v1::{Span, span},
};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server process; killed if the test fails before stopping it, so no stray server outlives the test.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `tokshop serve` in `dir` on `port` and waits for its "ready" line.
fn start(dir: &std::path::Path, port: u16) -> Server {
    start_with(dir, port, &[])
}

/// `start` with extra environment variables.
fn start_with(dir: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokshop"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TOKSHOP_GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("TOKSHOP_SEED_PRODUCTS", "24")
        .env("TOKSHOP_LOG_LEVEL", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tokshop");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tokshop did not become ready");
        }
        match lines.next() {
            Some(Ok(line)) if line.contains("tokshop is ready") => break,
            Some(Ok(_)) => continue,
            _ => {
                let _ = child.kill();
                panic!("tokshop exited before it was ready")
            }
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server(Some(child))
}

fn terminate(mut server: Server) -> std::process::ExitStatus {
    let mut child = server.0.take().unwrap();
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "tokshop did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn listed_products(client: &reqwest::Client, base: &str) -> usize {
    let page: serde_json::Value = client
        .get(format!("{base}/api/v1/products?limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["products"].as_array().unwrap().len()
}

#[tokio::test]
async fn embedded_default_runs_seeds_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = start(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    assert_eq!(listed_products(&client, &base).await, 24);
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"login": "demo", "password": "demo-shopper-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(
        dir.path().join("data/tokshop.db").exists(),
        "SQLite file under ./data"
    );

    // A newcomer can talk to the shop in one command (the demo shopper, the rule planner).
    let mut chat = Command::new(env!("CARGO_BIN_EXE_tokshop"))
        .args(["chat", "--url", &base])
        .current_dir(dir.path())
        .env_clear()
        .env("TOKSHOP_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tokshop chat");
    {
        use std::io::Write;
        let mut stdin = chat.stdin.take().unwrap();
        stdin
            .write_all(b"find shoes\nwhat is in my cart\n")
            .unwrap();
    }
    let output = chat.wait_with_output().unwrap();
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{transcript}");
    assert!(transcript.contains("rule-planner"), "{transcript}");
    assert_eq!(transcript.matches("shop> ").count(), 2, "{transcript}");

    let status = terminate(child);
    assert!(status.success(), "exit status after SIGTERM: {status:?}");

    // A restart on the same data keeps everything and seeds nothing twice.
    let child = start(dir.path(), port);
    let client = reqwest::Client::new();
    assert_eq!(listed_products(&client, &base).await, 24);
    let status = terminate(child);
    assert!(status.success());

    // The books can be checked offline, straight from the database.
    let verified = Command::new(env!("CARGO_BIN_EXE_tokshop"))
        .arg("verify-ledger")
        .current_dir(dir.path())
        .env_clear()
        .env("TOKSHOP_LOG_LEVEL", "warn")
        .output()
        .expect("run verify-ledger");
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{stdout}");
    assert!(stdout.contains("balanced"), "{stdout}");
}

/// An OTLP/gRPC receiver that keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<(String, Span)>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .map(|kv| format!("{:?}", kv.value))
                .unwrap_or_default();
            for scope in resource.scope_spans {
                spans.extend(scope.spans.into_iter().map(|span| (service.clone(), span)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key == key).map(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            Some(any_value::Value::IntValue(i)) => i.to_string(),
            other => format!("{other:?}"),
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_of_a_chat_turn_reach_the_otlp_collector_as_one_trace() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let endpoint = format!("http://{collector_addr}");
    let child = start_with(
        dir.path(),
        port,
        &[
            ("TOKSHOP_OTLP_ENDPOINT", &endpoint),
            ("TOKSHOP_LOG_LEVEL", "info"),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let session: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"login": "demo", "password": "demo-shopper-pass"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();
    let conversation: serde_json::Value = client
        .post(format!("{base}/api/v1/chat/conversations"))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversation_id = conversation["id"].as_str().unwrap().to_owned();
    let reply = client
        .post(format!(
            "{base}/api/v1/chat/conversations/{conversation_id}/messages"
        ))
        .bearer_auth(&token)
        .json(&serde_json::json!({"text": "find shoes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);

    // SIGTERM flushes what the batch exporter still holds.
    let status = terminate(child);
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let spans = collector.0.lock().unwrap().clone();
    assert!(
        spans.iter().all(|(service, _)| service.contains("tokshop")),
        "service.name on every span"
    );
    let named = |name: &str| -> Vec<&Span> {
        spans
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s.name == name)
            .collect()
    };

    let turn = named("invoke_agent tokshop");
    assert_eq!(turn.len(), 1, "one turn span");
    let turn = turn[0];
    assert_eq!(
        attribute(turn, "gen_ai.operation.name").as_deref(),
        Some("invoke_agent")
    );
    assert_eq!(
        attribute(turn, "gen_ai.conversation.id").as_deref(),
        Some(conversation_id.as_str())
    );
    assert_eq!(
        attribute(turn, "gen_ai.provider.name").as_deref(),
        Some("tokshop.rules")
    );
    let trace = &turn.trace_id;
    let http = named("POST /api/v1/chat/conversations/{id}/messages");
    assert!(
        http.iter()
            .any(|s| &s.trace_id == trace && s.span_id == turn.parent_span_id),
        "the turn is a child of its HTTP request"
    );

    let model_call = named("chat rule-planner-1");
    assert!(!model_call.is_empty(), "a chat span per model call");
    assert!(model_call.iter().all(|s| &s.trace_id == trace));
    assert!(attribute(model_call[0], "gen_ai.usage.input_tokens").is_some());

    let tool = named("execute_tool search_products");
    assert_eq!(tool.len(), 1, "one search tool call");
    let tool = tool[0];
    assert_eq!(&tool.trace_id, trace);
    assert_eq!(
        attribute(tool, "gen_ai.tool.name").as_deref(),
        Some("search_products")
    );
    assert!(attribute(tool, "gen_ai.tool.call.id").is_some());

    // The tool's gRPC call: a client span under the tool, the server span under the client span, same trace.
    let rpc = "tokshop.catalog.v1.CatalogService/SearchProducts";
    let client_span = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name == rpc && s.kind == span::SpanKind::Client as i32 && &s.trace_id == trace)
        .expect("a gRPC client span in the turn's trace");
    assert_eq!(client_span.parent_span_id, tool.span_id);
    let server_span = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name == rpc && s.kind == span::SpanKind::Server as i32 && &s.trace_id == trace)
        .expect("the gRPC server span joins the same trace");
    assert_eq!(server_span.parent_span_id, client_span.span_id);
    assert_eq!(
        attribute(server_span, "rpc.system").as_deref(),
        Some("grpc")
    );
}
