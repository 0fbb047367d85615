//! The OpenAI-compatible backend against a fake chat-completions server on a local port: what it
//! sends, how it reads whole and streamed replies, and how each kind of failure reaches the caller.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use tokshop_agent::model::{
    ChatMessage, ChatModel, ModelError, ModelRequest, ModelResponse, ToolCall, ToolSpec, Usage,
};
use tokshop_agent::openai::{OpenAiCompatible, OpenAiConfig};

const MODEL: &str = "shop-model-1";

/// One request the fake server received.
#[derive(Debug, Clone)]
struct Seen {
    authorization: Option<String>,
    body: Value,
}

/// A fake OpenAI-compatible server: where it listens, and every request it answered.
struct Fake {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// A server answering `POST /v1/chat/completions` with what `reply` builds.
    async fn start(reply: impl Fn() -> Response + Clone + Send + Sync + 'static) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let app = Router::new().route(
            "/v1/chat/completions",
            post(move |headers: HeaderMap, body: Bytes| {
                let reply = reply.clone();
                let record = Arc::clone(&record);
                async move {
                    record.lock().unwrap().push(Seen {
                        authorization: headers
                            .get(header::AUTHORIZATION)
                            .map(|value| value.to_str().unwrap().to_owned()),
                        body: serde_json::from_slice(&body).unwrap(),
                    });
                    reply()
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base_url: format!("http://{address}/v1"),
            seen,
        }
    }

    fn model(&self, api_key: Option<&str>) -> OpenAiCompatible {
        backend(&self.base_url, api_key, 10)
    }

    fn only_request(&self) -> Seen {
        let seen = self.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "the server saw {} requests", seen.len());
        seen[0].clone()
    }
}

fn backend(base_url: &str, api_key: Option<&str>, timeout_secs: u64) -> OpenAiCompatible {
    OpenAiCompatible::new(OpenAiConfig {
        base_url: base_url.to_owned(),
        api_key: api_key.map(str::to_owned),
        model: MODEL.to_owned(),
        timeout_secs,
    })
    .unwrap()
}

fn json_reply(status: StatusCode, body: &Value) -> Response {
    text_reply(status, "application/json", &body.to_string())
}

fn text_reply(status: StatusCode, content_type: &str, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// An event stream of `events`, each sent as one `data:` line, then `[DONE]`. When `gate` is given
/// the stream holds back everything after its first `hold_after` events until the gate opens.
fn sse_reply(
    events: Vec<Value>,
    hold_after: usize,
    gate: Option<oneshot::Receiver<()>>,
) -> Response {
    let frames: Vec<String> = events
        .iter()
        .map(|event| format!("data: {event}\n\n"))
        .chain(["data: [DONE]\n\n".to_owned()])
        .collect();
    let stream = futures::stream::unfold(
        (frames.into_iter().enumerate(), gate),
        move |(mut frames, mut gate)| async move {
            let (at, frame) = frames.next()?;
            if at == hold_after
                && let Some(gate) = gate.take()
            {
                gate.await.unwrap();
            }
            Some((Ok::<_, std::io::Error>(frame), (frames, gate)))
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn search_tool() -> ToolSpec {
    ToolSpec {
        name: "search_products".to_owned(),
        description: "Search the catalogue by free text".to_owned(),
        parameters: json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "what to look for"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50}
            },
            "required": ["query"]
        }),
    }
}

fn add_to_cart_tool() -> ToolSpec {
    ToolSpec {
        name: "add_to_cart".to_owned(),
        description: "Put a product in the buyer's cart".to_owned(),
        parameters: json!({
            "type": "object",
            "properties": {
                "product_id": {"type": "string"},
                "quantity": {"type": "integer", "minimum": 1}
            },
            "required": ["product_id", "quantity"]
        }),
    }
}

/// A conversation one tool round in: the user asked, the model searched, the search answered.
fn request_after_a_search() -> ModelRequest {
    let search = ToolCall {
        id: "call_search_1".to_owned(),
        name: "search_products".to_owned(),
        arguments: json!({"query": "blue mug"}),
    };
    let found = json!({"items": [{"id": "p-1", "title": "Blue mug", "price_cents": 1299}]});
    ModelRequest {
        system: "You are the tokshop assistant.".to_owned(),
        messages: vec![
            ChatMessage::user("Put two blue mugs in my cart"),
            ChatMessage::assistant("Let me look for blue mugs.", vec![search.clone()]),
            ChatMessage::tool(&search, &found),
        ],
        tools: vec![search_tool(), add_to_cart_tool()],
        max_output_tokens: Some(256),
    }
}

fn simple_request() -> ModelRequest {
    ModelRequest {
        system: "You are the tokshop assistant.".to_owned(),
        messages: vec![ChatMessage::user("What is in my cart?")],
        tools: vec![search_tool()],
        max_output_tokens: None,
    }
}

fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 412, "completion_tokens": 23, "total_tokens": 435}
    })
}

fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    })
}

/// A message's text whether the client sent it as a string or as text parts.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|part| {
                assert_eq!(part["type"], "text", "unexpected part {part}");
                part["text"].as_str().unwrap().to_owned()
            })
            .collect(),
        other => panic!("no text in {other}"),
    }
}

#[tokio::test]
async fn a_whole_reply_with_a_tool_call_is_sent_and_read_in_full() {
    let fake = Fake::start(|| {
        json_reply(
            StatusCode::OK,
            &completion(
                json!({
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [{
                        "id": "call_cart_7",
                        "type": "function",
                        "function": {
                            "name": "add_to_cart",
                            "arguments": "{\"product_id\":\"p-1\",\"quantity\":2}"
                        }
                    }]
                }),
                "tool_calls",
            ),
        )
    })
    .await;
    let model = fake.model(Some("sk-test-key"));
    assert_eq!(model.provider(), "openai");
    assert_eq!(model.model(), MODEL);

    let reply = model
        .complete(&request_after_a_search(), &None)
        .await
        .unwrap();

    assert_eq!(
        reply,
        ModelResponse {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id: "call_cart_7".to_owned(),
                name: "add_to_cart".to_owned(),
                arguments: json!({"product_id": "p-1", "quantity": 2}),
            }],
            usage: Usage {
                input_tokens: 412,
                output_tokens: 23
            },
            finish_reason: "tool_calls".to_owned(),
        }
    );

    let seen = fake.only_request();
    assert_eq!(seen.authorization.as_deref(), Some("Bearer sk-test-key"));
    let body = seen.body;
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["max_tokens"], 256);
    assert_ne!(body["stream"], json!(true));

    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0]["type"], "function");
    assert_eq!(tools[0]["function"]["name"], "search_products");
    assert_eq!(
        tools[0]["function"]["description"],
        "Search the catalogue by free text"
    );
    assert_eq!(tools[0]["function"]["parameters"], search_tool().parameters);
    assert_eq!(tools[1]["function"]["name"], "add_to_cart");
    assert_eq!(
        tools[1]["function"]["parameters"],
        add_to_cart_tool().parameters
    );

    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4, "messages: {messages:#?}");
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(
        text_of(&messages[0]["content"]),
        "You are the tokshop assistant."
    );
    assert_eq!(messages[1]["role"], "user");
    assert_eq!(
        text_of(&messages[1]["content"]),
        "Put two blue mugs in my cart"
    );

    let assistant = &messages[2];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(text_of(&assistant["content"]), "Let me look for blue mugs.");
    let calls = assistant["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["id"], "call_search_1");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "search_products");
    let arguments: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({"query": "blue mug"}));

    let result = &messages[3];
    assert_eq!(result["role"], "tool");
    assert_eq!(result["tool_call_id"], "call_search_1");
    let content: Value = serde_json::from_str(&text_of(&result["content"])).unwrap();
    assert_eq!(content["items"][0]["id"], "p-1");
}

#[tokio::test]
async fn a_local_server_gets_no_authorization_header_without_a_key() {
    let fake = Fake::start(|| {
        json_reply(
            StatusCode::OK,
            &completion(
                json!({"role": "assistant", "content": "Your cart is empty."}),
                "stop",
            ),
        )
    })
    .await;

    let reply = fake
        .model(None)
        .complete(&simple_request(), &None)
        .await
        .unwrap();

    assert_eq!(reply.text, "Your cart is empty.");
    assert!(reply.tool_calls.is_empty());
    assert_eq!(reply.finish_reason, "stop");
    let seen = fake.only_request();
    assert_eq!(seen.authorization, None);
    assert_eq!(seen.body["max_tokens"], Value::Null);
}

#[tokio::test]
async fn a_streamed_reply_forwards_text_as_it_arrives_and_reassembles_the_tool_call() {
    let events = vec![
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Two blue mugs"}), None),
        chunk(json!({"content": " are going"}), None),
        chunk(json!({"content": " in your cart."}), None),
        chunk(
            json!({"tool_calls": [{
                "index": 0,
                "id": "call_cart_9",
                "type": "function",
                "function": {"name": "add_to_cart", "arguments": ""}
            }]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"product_"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "id\": \"p-1\", "}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"quantity\": 2}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
        json!({
            "id": "chatcmpl-2",
            "object": "chat.completion.chunk",
            "model": MODEL,
            "choices": [],
            "usage": {"prompt_tokens": 530, "completion_tokens": 41, "total_tokens": 571}
        }),
    ];
    // The server holds the rest of the reply until the test has seen the first words, so they can
    // only have arrived while the reply was still being written.
    let (open_gate, gate) = oneshot::channel();
    let gate = Arc::new(Mutex::new(Some(gate)));
    let fake = Fake::start(move || sse_reply(events.clone(), 2, gate.lock().unwrap().take())).await;
    let model = fake.model(Some("sk-test-key"));
    let (sink, mut deltas) = mpsc::unbounded_channel();

    let watch = async {
        let first = deltas.recv().await;
        open_gate.send(()).unwrap();
        first
    };
    let (request, sink) = (request_after_a_search(), Some(sink));
    let (reply, first) = tokio::join!(model.complete(&request, &sink), watch);
    let reply = reply.unwrap();

    let mut received = vec![first.unwrap()];
    while let Ok(delta) = deltas.try_recv() {
        received.push(delta);
    }
    received.retain(|delta| !delta.is_empty());
    assert_eq!(received, ["Two blue mugs", " are going", " in your cart."]);
    assert_eq!(reply.text, received.concat());
    assert_eq!(
        reply.tool_calls,
        [ToolCall {
            id: "call_cart_9".to_owned(),
            name: "add_to_cart".to_owned(),
            arguments: json!({"product_id": "p-1", "quantity": 2}),
        }]
    );
    assert_eq!(
        reply.usage,
        Usage {
            input_tokens: 530,
            output_tokens: 41
        }
    );
    assert_eq!(reply.finish_reason, "tool_calls");

    let body = fake.only_request().body;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["model"], MODEL);
}

#[tokio::test]
async fn error_statuses_carry_the_servers_message() {
    let cases = [
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}),
            "The server had an error while processing your request.",
        ),
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": {"message": "Incorrect API key provided: sk-wrong.", "type": "invalid_request_error", "code": "invalid_api_key"}}),
            "Incorrect API key provided: sk-wrong.",
        ),
        (
            StatusCode::BAD_REQUEST,
            json!({"object": "error", "message": "This model's maximum context length is 4096 tokens.", "type": "BadRequestError", "code": 400}),
            "This model's maximum context length is 4096 tokens.",
        ),
    ];
    for (status, body, expected) in cases {
        let fake = Fake::start(move || json_reply(status, &body)).await;
        let model = fake.model(Some("sk-wrong"));
        for deltas in [None, Some(mpsc::unbounded_channel().0)] {
            let streaming = deltas.is_some();
            match model.complete(&simple_request(), &deltas).await {
                Err(ModelError::Http {
                    status: got,
                    message,
                }) => {
                    assert_eq!(got, status.as_u16(), "streaming: {streaming}");
                    assert_eq!(message, expected, "streaming: {streaming}");
                }
                other => panic!("{status} (streaming: {streaming}) gave {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn an_error_body_that_is_not_json_is_the_message() {
    let fake = Fake::start(|| {
        text_reply(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            "upstream connect error",
        )
    })
    .await;

    let error = fake
        .model(None)
        .complete(&simple_request(), &None)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ModelError::Http { status: 502, message } if message == "upstream connect error"),
        "{error:?}"
    );
    assert_eq!(error.kind(), "http_error");
}

/// A server that accepts connections and never says a word.
async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}/v1")
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_limit() {
    let model = backend(&silent_server().await, None, 1);
    for deltas in [None, Some(mpsc::unbounded_channel().0)] {
        let started = Instant::now();
        let error = model
            .complete(&simple_request(), &deltas)
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(matches!(error, ModelError::Timeout(1)), "{error:?}");
        assert_eq!(error.kind(), "timeout");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "took {took:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let model = backend(&format!("http://{address}/v1"), None, 5);

    for deltas in [None, Some(mpsc::unbounded_channel().0)] {
        let error = model
            .complete(&simple_request(), &deltas)
            .await
            .unwrap_err();
        assert!(matches!(error, ModelError::Unreachable(_)), "{error:?}");
        assert_eq!(error.kind(), "unreachable");
    }
}

#[tokio::test]
async fn tool_arguments_that_are_not_json_come_back_as_the_raw_text() {
    let raw = "{\"product_id\": \"p-1\", \"quantity\": 2";
    let fake = Fake::start(move || {
        json_reply(
            StatusCode::OK,
            &completion(
                json!({
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{
                        "id": "call_bad",
                        "type": "function",
                        "function": {"name": "add_to_cart", "arguments": raw}
                    }]
                }),
                "tool_calls",
            ),
        )
    })
    .await;

    let reply = fake
        .model(None)
        .complete(&simple_request(), &None)
        .await
        .unwrap();

    assert_eq!(
        reply.tool_calls,
        [ToolCall {
            id: "call_bad".to_owned(),
            name: "add_to_cart".to_owned(),
            arguments: Value::String(raw.to_owned()),
        }]
    );
}

#[tokio::test]
async fn streamed_tool_arguments_that_are_not_json_come_back_as_the_raw_text() {
    let events = vec![
        chunk(
            json!({"role": "assistant", "tool_calls": [{
                "index": 0,
                "id": "call_bad",
                "type": "function",
                "function": {"name": "add_to_cart", "arguments": "{\"quantity\": "}
            }]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "two}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
    ];
    let fake = Fake::start(move || sse_reply(events.clone(), 0, None)).await;
    let (sink, _deltas) = mpsc::unbounded_channel();

    let reply = fake
        .model(None)
        .complete(&simple_request(), &Some(sink))
        .await
        .unwrap();

    assert_eq!(
        reply.tool_calls,
        [ToolCall {
            id: "call_bad".to_owned(),
            name: "add_to_cart".to_owned(),
            arguments: Value::String("{\"quantity\": two}".to_owned()),
        }]
    );
}

#[tokio::test]
async fn a_reply_that_is_not_json_is_a_protocol_error() {
    let fake =
        Fake::start(|| text_reply(StatusCode::OK, "application/json", "<html>oops</html>")).await;

    let error = fake
        .model(None)
        .complete(&simple_request(), &None)
        .await
        .unwrap_err();

    assert!(matches!(error, ModelError::Protocol(_)), "{error:?}");
}

#[tokio::test]
async fn a_stream_cut_off_before_the_model_finished_is_a_protocol_error() {
    let fake = Fake::start(|| {
        let frames = format!(
            "data: {}\n\ndata: {{\"choices\": [{{\"index\": 0, \"delta\": {{\"content\": \"Hel",
            chunk(json!({"content": "Hi"}), None)
        );
        text_reply(StatusCode::OK, "text/event-stream", &frames)
    })
    .await;
    let (sink, _deltas) = mpsc::unbounded_channel();

    let error = fake
        .model(None)
        .complete(&simple_request(), &Some(sink))
        .await
        .unwrap_err();

    assert!(matches!(error, ModelError::Protocol(_)), "{error:?}");
}

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
