//! Direct messages over REST: only friends may write, text is checked, history pages newest first, the
//! conversation list, and the live inbox over server-sent events (resume by Last-Event-ID, seqs in order).
//!
//! Long because each case is a whole flow over real HTTP, storage and streams; one file per area of the API.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use tokshop_platform::{auth::authorized, grpc};
use tokshop_proto::social::{SendMessageRequest, message_service_client::MessageServiceClient};

use crate::common::TestApp;

crate::on_both_databases!(
    with |s| s.social.blocked_words = vec!["scam".into()];
    friends_message_each_other,
    only_friends_can_message,
    message_text_is_checked,
    history_pages_newest_first,
    conversations_list_latest_first,
    stream_delivers_live_and_resumes_from_last_event_id,
    concurrent_senders_get_consecutive_seqs,
    request_id_makes_retries_return_the_first_message,
    the_read_messages_tool_pages_long_messages_without_gaps,
);

/// A signed-up user: (id, access token).
async fn person(app: &TestApp, name: &str) -> (String, String) {
    let session = app.register(name).await;
    (
        session["user"]["id"].as_str().unwrap().to_owned(),
        session["access_token"].as_str().unwrap().to_owned(),
    )
}

async fn follow(app: &TestApp, who: &(String, String), whom: &(String, String)) {
    app.call(
        Method::PUT,
        &format!("/api/v1/users/{}/follow", whom.0),
        Some(&who.1),
        None,
    )
    .await
    .expect(200);
}

async fn befriend(app: &TestApp, a: &(String, String), b: &(String, String)) {
    follow(app, a, b).await;
    follow(app, b, a).await;
}

async fn send(app: &TestApp, from: &(String, String), to: &(String, String), text: &str) -> Value {
    app.post(
        "/api/v1/messages",
        Some(&from.1),
        json!({"to_user_id": to.0, "text": text}),
    )
    .await
    .expect(201)
    .body
}

async fn history(app: &TestApp, viewer: &(String, String), with: &(String, String)) -> Vec<Value> {
    app.get(
        &format!("/api/v1/messages/with/{}?limit=50", with.0),
        Some(&viewer.1),
    )
    .await
    .expect(200)
    .body["messages"]
        .as_array()
        .unwrap()
        .clone()
}

fn texts(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect()
}

async fn friends_message_each_other(app: &TestApp) {
    let ann = person(app, "ann").await;
    let ben = person(app, "ben").await;
    befriend(app, &ann, &ben).await;

    let first = send(app, &ann, &ben, "  hi Ben, seen the new boots?  ").await;
    assert_eq!(first["from_user_id"], ann.0.as_str());
    assert_eq!(first["to_user_id"], ben.0.as_str());
    assert_eq!(first["text"], "hi Ben, seen the new boots?");
    assert_eq!(first["seq"], 1);
    assert!(first["sent_at_ms"].as_i64().unwrap() > 0);
    // Seqs count each recipient's inbox.
    assert_eq!(send(app, &ben, &ann, "yes, love them").await["seq"], 1);
    assert_eq!(
        send(app, &ann, &ben, "want to split a pair?").await["seq"],
        2
    );

    // A retry with the same Idempotency-Key sends nothing new.
    let headers = [("Idempotency-Key", "msg-retry-1")];
    let retry = || {
        app.call_with(
            Method::POST,
            "/api/v1/messages",
            Some(&ann.1),
            Some(json!({"to_user_id": ben.0, "text": "are you there?"})),
            &headers,
        )
    };
    let once = retry().await.expect(201).body;
    let again = retry().await.expect(201).body;
    assert_eq!(once["id"], again["id"]);
    assert_eq!(once["seq"], 3);

    let both_sides = history(app, &ben, &ann).await;
    assert_eq!(
        texts(&both_sides),
        vec![
            "are you there?",
            "want to split a pair?",
            "yes, love them",
            "hi Ben, seen the new boots?"
        ]
    );
    assert_eq!(texts(&history(app, &ann, &ben).await), texts(&both_sides));
}

async fn only_friends_can_message(app: &TestApp) {
    let ann = person(app, "ann").await;
    let fan = person(app, "fan").await;
    let stranger = person(app, "stranger").await;
    // A one-way follow is not a friendship, in either direction.
    follow(app, &fan, &ann).await;
    for (from, to) in [(&fan, &ann), (&ann, &fan), (&stranger, &ann)] {
        let refused = app
            .post(
                "/api/v1/messages",
                Some(&from.1),
                json!({"to_user_id": to.0, "text": "hello"}),
            )
            .await
            .expect_error(403, "forbidden", None);
        assert!(
            refused.body["message"]
                .as_str()
                .unwrap()
                .contains("follow you back"),
            "{}",
            refused.text
        );
    }
    assert!(history(app, &ann, &fan).await.is_empty());
    assert!(history(app, &ann, &stranger).await.is_empty());
    let conversations = app
        .get("/api/v1/conversations", Some(&ann.1))
        .await
        .expect(200)
        .body;
    assert_eq!(conversations["conversations"], json!([]));

    // Following back makes them friends.
    follow(app, &ann, &fan).await;
    assert_eq!(send(app, &fan, &ann, "hello").await["seq"], 1);

    app.post(
        "/api/v1/messages",
        Some(&ann.1),
        json!({"to_user_id": ann.0, "text": "note to self"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("to_user_id"));
    app.post(
        "/api/v1/messages",
        Some(&ann.1),
        json!({"to_user_id": "usr_0000000000000000000000000000000a", "text": "hello?"}),
    )
    .await
    .expect_error(404, "user_not_found", None);
    // A recipient id longer than any id is refused unread; at the limit it is looked up.
    let max_id = tokshop_platform::limits::MAX_ID;
    app.post(
        "/api/v1/messages",
        Some(&ann.1),
        json!({"to_user_id": "u".repeat(max_id + 1), "text": "hello?"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("to_user_id"));
    app.post(
        "/api/v1/messages",
        Some(&ann.1),
        json!({"to_user_id": "u".repeat(max_id), "text": "hello?"}),
    )
    .await
    .expect_error(404, "user_not_found", None);
    app.post(
        "/api/v1/messages",
        None,
        json!({"to_user_id": fan.0, "text": "hello"}),
    )
    .await
    .expect(401);
}

async fn message_text_is_checked(app: &TestApp) {
    let ann = person(app, "ann").await;
    let ben = person(app, "ben").await;
    befriend(app, &ann, &ben).await;
    let post = |text: String| {
        app.post(
            "/api/v1/messages",
            Some(&ann.1),
            json!({"to_user_id": ben.0, "text": text}),
        )
    };
    post("   ".into())
        .await
        .expect_error(422, "invalid_parameter", Some("text"));
    post("x".repeat(1001))
        .await
        .expect_error(422, "invalid_parameter", Some("text"));
    post("is this a SCAM?".into())
        .await
        .expect_error(422, "content_policy", Some("text"));
    post("<b>bold</b>".into())
        .await
        .expect_error(422, "content_policy", Some("text"));
    assert!(history(app, &ben, &ann).await.is_empty());

    let longest = post("é".repeat(1000)).await.expect(201).body;
    // Refused messages took no seq.
    assert_eq!(longest["seq"], 1);
}

async fn history_pages_newest_first(app: &TestApp) {
    let ann = person(app, "ann").await;
    let ben = person(app, "ben").await;
    befriend(app, &ann, &ben).await;
    let mut sent = Vec::new();
    for i in 0..7 {
        let (from, to) = if i % 2 == 0 {
            (&ann, &ben)
        } else {
            (&ben, &ann)
        };
        sent.push(send(app, from, to, &format!("message {i}")).await["id"].clone());
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/messages/with/{}?limit=3&cursor={c}", ben.0),
            None => format!("/api/v1/messages/with/{}?limit=3", ben.0),
        };
        let page = app.get(&path, Some(&ann.1)).await.expect(200).body;
        let messages = page["messages"].as_array().unwrap();
        pages.push(messages.len());
        seen.extend(messages.iter().map(|m| m["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, vec![3, 3, 1]);
    sent.reverse();
    assert_eq!(seen, sent);

    app.get(
        &format!("/api/v1/messages/with/{}?cursor=garbage!", ben.0),
        Some(&ann.1),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("cursor"));
    app.get(
        &format!("/api/v1/messages/with/{}?limit=101", ben.0),
        Some(&ann.1),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("limit"));
}

async fn conversations_list_latest_first(app: &TestApp) {
    let ann = person(app, "ann").await;
    let ben = person(app, "ben").await;
    let cat = person(app, "cat").await;
    befriend(app, &ann, &ben).await;
    befriend(app, &ann, &cat).await;
    send(app, &ann, &ben, "to ben").await;
    send(app, &ann, &cat, "to cat").await;
    send(app, &ben, &ann, "ben answers").await;

    let list = app
        .get("/api/v1/conversations", Some(&ann.1))
        .await
        .expect(200)
        .body;
    let conversations = list["conversations"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = conversations
        .iter()
        .map(|c| {
            (
                c["with"]["username"].as_str().unwrap(),
                c["last_message"]["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, vec![("ben", "ben answers"), ("cat", "to cat")]);
    assert_eq!(conversations[0]["with"]["id"], ben.0.as_str());
    assert_eq!(conversations[0]["with"]["viewer_follows"], true);
    assert_eq!(conversations[0]["with"]["follows_viewer"], true);

    let one = app
        .get("/api/v1/conversations?limit=1", Some(&ann.1))
        .await
        .expect(200)
        .body;
    assert_eq!(one["conversations"].as_array().unwrap().len(), 1);
    let cats = app
        .get("/api/v1/conversations", Some(&cat.1))
        .await
        .expect(200)
        .body;
    assert_eq!(cats["conversations"][0]["with"]["username"], "ann");
    assert_eq!(cats["conversations"].as_array().unwrap().len(), 1);
    app.get("/api/v1/conversations?limit=0", Some(&ann.1))
        .await
        .expect(200);
    app.get("/api/v1/conversations?limit=101", Some(&ann.1))
        .await
        .expect_error(422, "invalid_parameter", Some("limit"));
}

async fn request_id_makes_retries_return_the_first_message(app: &TestApp) {
    let ann = person(app, "ann").await;
    let ben = person(app, "ben").await;
    befriend(app, &ann, &ben).await;
    let channel = grpc::channel(&format!("http://{}", app.running().social_addr.unwrap())).unwrap();
    let messages = MessageServiceClient::new(channel);
    let send = |request_id: &str| {
        let mut messages = messages.clone();
        let request = SendMessageRequest {
            to_user_id: ben.0.clone(),
            text: "did you get this?".into(),
            request_id: request_id.into(),
        };
        let token = ann.1.clone();
        async move {
            messages
                .send_message(authorized(request, Some(&token)))
                .await
                .unwrap()
                .into_inner()
        }
    };
    // Retries racing each other still store one message.
    let (first, retry) = tokio::join!(send("req-1"), send("req-1"));
    assert_eq!(first.id, retry.id);
    assert_eq!(first.seq, 1);
    assert_eq!(send("req-1").await.id, first.id);
    assert_eq!(send("req-2").await.seq, 2);
    assert_eq!(history(app, &ben, &ann).await.len(), 2);
}

/// One signed-in user's live inbox: the SSE response, read frame by frame.
struct Inbox {
    response: reqwest::Response,
    buffer: String,
}

impl Inbox {
    async fn open(app: &TestApp, token: &str, headers: &[(&str, &str)], query: &str) -> Self {
        let mut request = app
            .client
            .get(format!("{}/api/v1/messages/stream{query}", app.base))
            .bearer_auth(token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next `message` event as (id, message JSON); keep-alive comments are skipped.
    async fn next(&mut self) -> (i64, Value) {
        tokio::time::timeout(Duration::from_secs(10), self.next_frame())
            .await
            .expect("a message within 10s")
    }

    async fn next_frame(&mut self) -> (i64, Value) {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, None, None);
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse::<i64>().unwrap());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = Some(serde_json::from_str::<Value>(v.trim()).unwrap());
                    }
                }
                if let Some(event) = event {
                    assert_eq!(event, "message", "{frame}");
                    return (id.unwrap(), data.unwrap());
                }
            }
            let chunk = self
                .response
                .chunk()
                .await
                .unwrap()
                .expect("stream still open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Everything left until the server ends the stream (within 15 s).
    async fn rest_until_end(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(chunk) = self.response.chunk().await.unwrap() {
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("the stream ends");
        std::mem::take(&mut self.buffer)
    }

    /// Asserts no message arrives for a while.
    async fn stays_quiet(&mut self) {
        let got = tokio::time::timeout(Duration::from_millis(400), self.next_frame()).await;
        assert!(got.is_err(), "unexpected message {:?}", got.ok());
    }
}

async fn stream_delivers_live_and_resumes_from_last_event_id(app: &TestApp) {
    let ann = person(app, "ann").await;
    let ben = person(app, "ben").await;
    befriend(app, &ann, &ben).await;

    let mut inbox = Inbox::open(app, &ben.1, &[], "").await;
    let sent = send(app, &ann, &ben, "live one").await;
    let (id, message) = inbox.next().await;
    assert_eq!(id, 1);
    assert_eq!(message, sent);
    // Ben's own messages go to Ann's inbox, not his.
    send(app, &ben, &ann, "reply").await;
    inbox.stays_quiet().await;
    drop(inbox);

    send(app, &ann, &ben, "missed two").await;
    send(app, &ann, &ben, "missed three").await;
    let mut inbox = Inbox::open(app, &ben.1, &[("Last-Event-ID", "1")], "").await;
    let (id, message) = inbox.next().await;
    assert_eq!((id, message["text"].as_str().unwrap()), (2, "missed two"));
    let (id, message) = inbox.next().await;
    assert_eq!((id, message["text"].as_str().unwrap()), (3, "missed three"));
    send(app, &ann, &ben, "live four").await;
    let (id, message) = inbox.next().await;
    assert_eq!((id, message["text"].as_str().unwrap()), (4, "live four"));
    inbox.stays_quiet().await;

    // Without the header, the query parameter resumes; without either, the whole inbox replays.
    let mut resumed = Inbox::open(app, &ben.1, &[], "?last_event_id=3").await;
    assert_eq!(resumed.next().await.0, 4);
    let mut everything = Inbox::open(app, &ben.1, &[], "").await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(everything.next().await.0);
    }
    assert_eq!(ids, vec![1, 2, 3, 4]);

    let anonymous = app.get("/api/v1/messages/stream", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    app.call_with(
        Method::GET,
        "/api/v1/messages/stream",
        Some(&ben.1),
        None,
        &[("Last-Event-ID", "soon")],
    )
    .await
    .expect_error(422, "invalid_parameter", Some("Last-Event-ID"));
}

async fn concurrent_senders_get_consecutive_seqs(app: &TestApp) {
    const SENDERS: usize = 20;
    let star = person(app, "star").await;
    let mut fans = Vec::new();
    for i in 0..SENDERS {
        let fan = person(app, &format!("fan{i}")).await;
        befriend(app, &star, &fan).await;
        fans.push(fan);
    }
    let mut inbox = Inbox::open(app, &star.1, &[], "").await;

    let texts: Vec<String> = (0..SENDERS).map(|i| format!("hi from {i}")).collect();
    let sends = fans
        .iter()
        .zip(&texts)
        .map(|(fan, text)| send(app, fan, &star, text));
    let sent = futures::future::join_all(sends).await;
    let mut seqs: Vec<i64> = sent.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    seqs.sort_unstable();
    let expected: Vec<i64> = (1..=SENDERS as i64).collect();
    assert_eq!(seqs, expected);

    // The live stream delivers each exactly once, in seq order.
    let mut streamed = Vec::new();
    for _ in 0..SENDERS {
        let (id, message) = inbox.next().await;
        assert_eq!(message["seq"], id);
        streamed.push(id);
    }
    assert_eq!(streamed, expected);
    inbox.stays_quiet().await;
}

/// A stream lives longer than the gateway's request deadline.
mod long_lived {
    use super::*;

    crate::on_both_databases!(
        with |s| s.gateway.request_timeout_secs = 1;
        stream_outlives_request_deadline,
    );

    async fn stream_outlives_request_deadline(app: &TestApp) {
        let ann = person(app, "ann").await;
        let ben = person(app, "ben").await;
        befriend(app, &ann, &ben).await;
        let mut inbox = Inbox::open(app, &ben.1, &[], "").await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        send(app, &ann, &ben, "still there?").await;
        let (id, message) = inbox.next().await;
        assert_eq!((id, message["text"].as_str().unwrap()), (1, "still there?"));
    }
}

/// A stream ends when its access token expires, with an error event saying so; the same client, signed in again,
/// resumes from the last seq it saw.
mod token_expiry {
    use super::*;

    crate::on_both_databases!(
        with |s| s.auth.access_ttl_secs = 4;
        stream_ends_when_its_token_expires,
    );

    async fn stream_ends_when_its_token_expires(app: &TestApp) {
        let ann = person(app, "ann").await;
        let ben = person(app, "ben").await;
        befriend(app, &ann, &ben).await;
        let mut inbox = Inbox::open(app, &ben.1, &[], "").await;
        send(app, &ann, &ben, "before expiry").await;
        assert_eq!(inbox.next().await.0, 1);
        let rest = inbox.rest_until_end().await;
        assert!(rest.contains("event: error"), "{rest}");
        assert!(rest.contains("access token expired"), "{rest}");
        let again = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"login": "ben", "password": "s3cret-pass"}),
            )
            .await
            .expect(200)
            .body["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let stale = app.get("/api/v1/messages/stream", Some(&ben.1)).await;
        assert_eq!(stale.status, StatusCode::UNAUTHORIZED, "{}", stale.text);
        let mut inbox = Inbox::open(app, &again, &[("Last-Event-ID", "1")], "").await;
        inbox.stays_quiet().await;
    }
}

/// Two replicas of the whole shop on one PostgreSQL database and one Redis: a message sent through replica A
/// reaches a live stream held by replica B at once (the Redis doorbell, well before B's periodic read), and B's
/// stream resumes from Last-Event-ID as on one replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_sent_through_one_replica_reaches_a_stream_on_another() {
    let Some(redis) = tokshop_platform::testing::redis().await else {
        return;
    };
    let shared = redis.clone();
    let a = crate::common::spawn_with(crate::common::Backend::Postgres, move |s| s.redis = shared)
        .await;
    let database = a.settings.database.url.clone();
    let b = crate::common::spawn_with(crate::common::Backend::Postgres, move |s| {
        s.redis = redis;
        s.database.url = database;
    })
    .await;
    let ann = person(&a, "replica_ann").await;
    let ben = person(&a, "replica_ben").await;
    befriend(&a, &ann, &ben).await;

    let mut inbox = Inbox::open(&b, &ben.1, &[], "").await;
    let started = std::time::Instant::now();
    let sent = send(&a, &ann, &ben, "across replicas").await;
    let (id, message) = tokio::time::timeout(Duration::from_secs(5), inbox.next_frame())
        .await
        .expect("the message within 5 s, through the doorbell rather than the periodic read");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(message["text"], "across replicas");
    assert_eq!(message["id"], sent["id"]);

    // Resuming on B after the first message gets only what came later, sent through A.
    drop(inbox);
    send(&a, &ann, &ben, "second").await;
    let mut resumed = Inbox::open(&b, &ben.1, &[("last-event-id", &id.to_string())], "").await;
    let (_, next) = resumed.next().await;
    assert_eq!(next["text"], "second");
    resumed.stays_quiet().await;
    // Hung up first: a server stopping waits for its open streams. B first: A's database is the one both use.
    drop(resumed);
    b.stop().await;
    a.stop().await;
}

/// A Redis server of the test's own, so the test can stop it; killed when dropped.
struct OwnRedis(std::process::Child);

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two replicas on one database and a Redis server that stops mid-test (SIGKILL): reads are still served on both
/// (the catalog cache that lived there falls back to the database, and an edit made meanwhile shows), and a
/// message sent through A still reaches B's stream, by B's periodic read of its inbox (within its 10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_redis_stopped_messages_still_arrive_and_reads_are_served() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Ok(child) = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is not installed"
        );
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let mut server = OwnRedis(child);
    let redis = tokshop_platform::config::RedisSettings {
        url: Some(tokshop_platform::config::Secret::new(format!(
            "redis://127.0.0.1:{port}"
        ))),
        key_prefix: format!("test-{}", uuid::Uuid::now_v7().simple()),
        timeout_ms: 500,
        ..Default::default()
    };
    let probe = tokshop_platform::redis::Redis::connect(&redis)
        .await
        .unwrap()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while probe.ping().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the test's redis-server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shared = redis.clone();
    let a = crate::common::spawn_with(crate::common::Backend::Postgres, move |s| s.redis = shared)
        .await;
    let database = a.settings.database.url.clone();
    let b = crate::common::spawn_with(crate::common::Backend::Postgres, move |s| {
        s.redis = redis;
        s.database.url = database;
    })
    .await;
    let ann = person(&a, "stopped_ann").await;
    let ben = person(&a, "stopped_ben").await;
    befriend(&a, &ann, &ben).await;
    let mut inbox = Inbox::open(&b, &ben.1, &[], "").await;
    // A product whose page sits in the catalog cache in that Redis.
    let product = crate::shop::shop(&a, "stoppedshop", 1000, 5).await;
    let page = format!("/api/v1/products/{}", product.product_id);
    b.get(&page, None).await.expect(200);

    let _ = server.0.kill();
    let _ = server.0.wait();
    for app in [&a, &b] {
        app.get("/api/v1/categories", None).await.expect(200);
        app.get(&page, None).await.expect(200);
    }
    // Edited with the cache out of reach: both replicas read the edit from the database.
    a.patch(
        &format!("/api/v1/seller/products/{}", product.product_id),
        Some(&product.seller),
        serde_json::json!({"title": "Edited while redis is down"}),
    )
    .await
    .expect(200);
    for app in [&a, &b] {
        let shown = app.get(&page, None).await.expect(200).body;
        assert_eq!(shown["title"], "Edited while redis is down");
    }
    send(&a, &ann, &ben, "while redis is down").await;
    let (_, message) = tokio::time::timeout(Duration::from_secs(15), inbox.next_frame())
        .await
        .expect("the message within one periodic read");
    assert_eq!(message["text"], "while redis is down");
    assert_eq!(history(&b, &ben, &ann).await.len(), 1, "stored once");

    drop(inbox);
    b.stop().await;
    a.stop().await;
}

/// The agent's `read_messages` cuts a page of long messages to its token budget and hands out a cursor after the
/// last one shown: following the cursors from the first page to the last reads every message once, newest first,
/// through the real social service's paging.
async fn the_read_messages_tool_pages_long_messages_without_gaps(app: &TestApp) {
    let ann = person(app, "ann_pager").await;
    let bob = person(app, "bob_pager").await;
    befriend(app, &ann, &bob).await;
    let filler =
        "the trail runners held on wet granite and the laces stayed tied all day long ".repeat(6);
    let mut sent = Vec::new();
    for i in 0..12 {
        let text = format!("message {i}: {}", filler.trim_end());
        send(app, &ann, &bob, &text).await;
        sent.push(text);
    }
    sent.reverse();

    let running = app.running();
    let channel = |addr: Option<std::net::SocketAddr>| {
        grpc::channel(&format!("http://{}", addr.unwrap())).unwrap()
    };
    let clients = tokshop_tools::Clients::new(
        channel(running.identity_addr),
        channel(running.catalog_addr),
        channel(running.cart_addr),
        channel(running.orders_addr),
        channel(running.social_addr),
    );
    let ctx = tokshop_tools::ToolContext::new(clients, bob.1.clone(), "USD".into(), "pager".into());
    let tool = tokshop_tools::Registry::shop()
        .get("read_messages")
        .unwrap()
        .clone();
    let mut read = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut args = json!({"user_id": ann.0, "limit": 20});
        if let Some(cursor) = &cursor {
            args["cursor"] = json!(cursor);
        }
        let page = tool.call(&ctx, &args).await.unwrap();
        pages += 1;
        let messages = page["messages"].as_array().unwrap();
        assert!(!messages.is_empty());
        let json = serde_json::to_string(messages).unwrap();
        assert!(
            tokshop_tools::view::tokens_at_most(&json) <= tokshop_tools::view::LIST_TOKENS
                || messages.len() == 1,
            "a page over the budget: {} messages",
            messages.len()
        );
        for m in messages {
            let text = m["text"].as_str().unwrap();
            read.push(tokshop_tools::untrusted::unwrap(text).0.to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 20, "the cursors never ended");
    }
    assert!(pages > 1, "twelve long messages fit one page");
    assert_eq!(read, sent, "every message once, newest first");
}
