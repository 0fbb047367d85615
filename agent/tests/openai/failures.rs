//! How each kind of failure reaches the caller.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use tokshop_agent::model::{ChatModel, ModelError};

use super::fake::*;

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
