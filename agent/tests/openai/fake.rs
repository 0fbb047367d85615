//! A fake chat-completions server on a local port, and the requests and replies the tests use.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use tokshop_agent::model::{ChatMessage, ModelRequest, ToolCall, ToolSpec};
use tokshop_agent::openai::{OpenAiCompatible, OpenAiConfig};

pub(crate) const MODEL: &str = "shop-model-1";

/// One request the fake server received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) authorization: Option<String>,
    pub(crate) body: Value,
}

/// A fake OpenAI-compatible server: where it listens, and every request it answered.
pub(crate) struct Fake {
    pub(crate) base_url: String,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// A server answering `POST /v1/chat/completions` with what `reply` builds.
    pub(crate) async fn start(
        reply: impl Fn() -> Response + Clone + Send + Sync + 'static,
    ) -> Self {
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

    pub(crate) fn model(&self, api_key: Option<&str>) -> OpenAiCompatible {
        backend(&self.base_url, api_key, 10)
    }

    pub(crate) fn only_request(&self) -> Seen {
        let seen = self.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "the server saw {} requests", seen.len());
        seen[0].clone()
    }
}

pub(crate) fn backend(
    base_url: &str,
    api_key: Option<&str>,
    timeout_secs: u64,
) -> OpenAiCompatible {
    OpenAiCompatible::new(OpenAiConfig {
        base_url: base_url.to_owned(),
        api_key: api_key.map(str::to_owned),
        model: MODEL.to_owned(),
        timeout_secs,
    })
    .unwrap()
}

pub(crate) fn json_reply(status: StatusCode, body: &Value) -> Response {
    text_reply(status, "application/json", &body.to_string())
}

pub(crate) fn text_reply(status: StatusCode, content_type: &str, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// An event stream of `events`, each sent as one `data:` line, then `[DONE]`. When `gate` is given
/// the stream holds back everything after its first `hold_after` events until the gate opens.
pub(crate) fn sse_reply(
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

pub(crate) fn search_tool() -> ToolSpec {
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

pub(crate) fn add_to_cart_tool() -> ToolSpec {
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
pub(crate) fn request_after_a_search() -> ModelRequest {
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

pub(crate) fn simple_request() -> ModelRequest {
    ModelRequest {
        system: "You are the tokshop assistant.".to_owned(),
        messages: vec![ChatMessage::user("What is in my cart?")],
        tools: vec![search_tool()],
        max_output_tokens: None,
    }
}

pub(crate) fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 412, "completion_tokens": 23, "total_tokens": 435}
    })
}

pub(crate) fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    })
}

/// A message's text whether the client sent it as a string or as text parts.
pub(crate) fn text_of(content: &Value) -> String {
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
