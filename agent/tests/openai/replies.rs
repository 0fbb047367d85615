//! What the backend sends, and how it reads whole and streamed replies.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use tokshop_agent::model::{ChatModel, ModelResponse, ToolCall, Usage};

use super::fake::*;

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
