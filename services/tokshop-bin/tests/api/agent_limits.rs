//! Limits on the shopping agent per user (turns per minute, turns at once, model tokens per day), the bounded
//! history the model is shown, and turns that time out or lose their client: they end cleanly and their request
//! is not replayed to the model later.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;
use tokshop_agent::{
    model::{ChatModel, DeltaSink, ModelError, ModelRequest, ModelResponse, Role},
    runner::{Agent, AgentEvent, Caller, Limits},
    scripted::ScriptedModel,
};

use crate::{
    agent::{agent, caller, say},
    common::TestApp,
    shop::shopper,
};

/// Answers every call, the first one only after `stall`; records what it was asked.
struct Stalling {
    stall: Duration,
    calls: AtomicUsize,
    seen: Mutex<Vec<ModelRequest>>,
}

impl Stalling {
    fn new(stall: Duration) -> Arc<Self> {
        Arc::new(Self {
            stall,
            calls: AtomicUsize::new(0),
            seen: Mutex::default(),
        })
    }

    fn last_request(&self) -> ModelRequest {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

#[async_trait::async_trait]
impl ChatModel for Stalling {
    fn provider(&self) -> &str {
        "test.stalling"
    }

    fn model(&self) -> &str {
        "stalling"
    }

    async fn complete(
        &self,
        request: &ModelRequest,
        _: &DeltaSink,
    ) -> Result<ModelResponse, ModelError> {
        self.seen.lock().unwrap().push(request.clone());
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            tokio::time::sleep(self.stall).await;
        }
        Ok(ScriptedModel::says("Here you are."))
    }
}

async fn try_say(
    agent: &Agent,
    who: &Caller,
    conversation: &str,
    text: &str,
) -> Result<String, String> {
    let (sender, _receiver) = unbounded_channel();
    agent
        .turn(who, conversation, text, &sender)
        .await
        .map_err(|e| e.code())
}

fn texts(request: &ModelRequest) -> Vec<String> {
    request.messages.iter().map(|m| m.content.clone()).collect()
}

/// Turns per minute are counted per user over all their conversations; another user is not affected.
async fn turns_per_minute_are_limited_per_user(app: &TestApp) {
    let (ann, _) = shopper(app, "ann").await;
    let (bob, _) = shopper(app, "bob").await;
    let model = Arc::new(ScriptedModel::new(Vec::new()));
    let limits = Limits {
        turns_per_minute: 3,
        ..Limits::default()
    };
    let agent = agent(app, model, limits).await;
    let (ann, bob) = (caller(app, &ann), caller(app, &bob));
    let first = agent.start(&ann, "").await.unwrap().id;
    let second = agent.start(&ann, "").await.unwrap().id;
    for conversation in [&first, &second, &first] {
        try_say(&agent, &ann, conversation, "hi").await.unwrap();
    }
    assert_eq!(
        try_say(&agent, &ann, &second, "hi").await.unwrap_err(),
        "agent_turns_per_minute"
    );
    let theirs = agent.start(&bob, "").await.unwrap().id;
    try_say(&agent, &bob, &theirs, "hi").await.unwrap();
    // A refused turn left nothing behind: the conversation holds the three answered turns only.
    let stored = agent.store().messages(&first).await.unwrap();
    assert_eq!(stored.iter().filter(|m| m.role == Role::User).count(), 2);
}

/// One user may have `concurrent_turns` turns running at once, in any conversations.
async fn concurrent_turns_are_limited_per_user(app: &TestApp) {
    let (ann, _) = shopper(app, "ann").await;
    let (bob, _) = shopper(app, "bob").await;
    let limits = Limits {
        concurrent_turns: 1,
        ..Limits::default()
    };
    let agent = agent(app, Stalling::new(Duration::from_millis(600)), limits).await;
    let (ann, bob) = (caller(app, &ann), caller(app, &bob));
    let one = agent.start(&ann, "").await.unwrap().id;
    let two = agent.start(&ann, "").await.unwrap().id;
    let theirs = agent.start(&bob, "").await.unwrap().id;
    let (first, second, other) = tokio::join!(
        try_say(&agent, &ann, &one, "hello"),
        async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            try_say(&agent, &ann, &two, "hello too").await
        },
        async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            try_say(&agent, &bob, &theirs, "hi").await
        }
    );
    assert_eq!(first.unwrap(), "Here you are.");
    assert_eq!(second.unwrap_err(), "agent_concurrent_turns");
    other.unwrap();
    // The slot is given back when the turn ends.
    try_say(&agent, &ann, &two, "again").await.unwrap();
}

/// Model tokens per UTC day: a turn that would start past the allowance is refused, and a turn that reaches it
/// stops calling the model.
async fn daily_tokens_are_limited_per_user(app: &TestApp) {
    let (ann, _) = shopper(app, "ann").await;
    let looping = (0..6)
        .map(|i| ScriptedModel::calls(&[(&format!("c{i}"), "view_cart", serde_json::json!({}))]))
        .collect();
    let limits = Limits {
        tokens_per_day: 40,
        ..Limits::default()
    };
    let agent = agent(app, Arc::new(ScriptedModel::new(looping)), limits).await;
    let ann = caller(app, &ann);
    let conversation = agent.start(&ann, "").await.unwrap().id;
    // Each scripted call counts 15 tokens: the third call reaches 45, and the turn stops there.
    let (_, events) = say(&agent, &ann, &conversation, "what is in my cart").await;
    let Some(AgentEvent::Done { stopped, .. }) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(stopped.as_deref(), Some("daily_tokens"));
    assert_eq!(agent.store().tokens_today(&ann.user_id).await.unwrap(), 45);
    let (sender, _receiver) = unbounded_channel();
    let refused = agent
        .turn(&ann, &conversation, "and now?", &sender)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "agent_daily_tokens");
    let status = tonic::Status::from(refused);
    let wait = tokshop_platform::error::status_retry_after(&status).unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
}

/// However long the conversation, the model is shown at most `history_messages` messages, starting at one of the
/// shopper's and ending with the message being answered.
async fn the_history_sent_to_the_model_is_bounded(app: &TestApp) {
    let (ann, _) = shopper(app, "ann").await;
    let model = Arc::new(ScriptedModel::new(Vec::new()));
    let limits = Limits {
        history_messages: 5,
        ..Limits::default()
    };
    let agent = agent(app, model.clone(), limits).await;
    let ann = caller(app, &ann);
    let conversation = agent.start(&ann, "").await.unwrap().id;
    for n in 0..12 {
        say(&agent, &ann, &conversation, &format!("message {n}")).await;
    }
    let requests = model.requests();
    let last = requests.last().unwrap();
    assert!(last.messages.len() <= 5, "{:?}", texts(last));
    assert_eq!(last.messages[0].role, Role::User);
    assert_eq!(last.messages.last().unwrap().content, "message 11");
    assert_eq!(
        agent.store().messages(&conversation).await.unwrap().len(),
        24,
        "the whole conversation is still stored"
    );
}

/// A turn past its deadline ends with a clean reply while the model is still thinking; the next turn does not
/// show the model the timed-out request, though the shopper still sees it.
async fn a_timed_out_turn_is_not_replayed(app: &TestApp) {
    let (ann, _) = shopper(app, "ann").await;
    let model = Stalling::new(Duration::from_secs(30));
    let limits = Limits {
        max_seconds: 1,
        ..Limits::default()
    };
    let agent = agent(app, model.clone(), limits).await;
    let ann = caller(app, &ann);
    let conversation = agent.start(&ann, "").await.unwrap().id;
    let started = std::time::Instant::now();
    let (reply, events) = say(&agent, &ann, &conversation, "order the red boots").await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the stalled call was abandoned"
    );
    assert!(reply.contains("took longer"), "{reply}");
    let Some(AgentEvent::Done { stopped, .. }) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(stopped.as_deref(), Some("max_seconds"));
    say(&agent, &ann, &conversation, "hello").await;
    let shown = texts(&model.last_request());
    assert_eq!(shown, vec!["hello".to_owned()], "{shown:?}");
    let stored: Vec<String> = agent
        .store()
        .messages(&conversation)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert!(
        stored.iter().any(|t| t == "order the red boots"),
        "{stored:?}"
    );
}

/// A client that goes away stops the turn's model calls: the call in flight is abandoned and nothing more is
/// asked of the model; the request is not replayed later.
async fn a_turn_whose_client_left_stops_calling_the_model(app: &TestApp) {
    let (ann, _) = shopper(app, "ann").await;
    let model = Stalling::new(Duration::from_secs(30));
    let agent = agent(app, model.clone(), Limits::default()).await;
    let ann = caller(app, &ann);
    let conversation = agent.start(&ann, "").await.unwrap().id;
    let cancel = CancellationToken::new();
    let (sender, _receiver) = unbounded_channel();
    let (reply, ()) = tokio::join!(
        agent.turn_until(
            &ann,
            &conversation,
            "buy everything",
            &sender,
            cancel.clone()
        ),
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            cancel.cancel();
        }
    );
    assert!(reply.unwrap().contains("connection closed"));
    assert_eq!(model.calls.load(Ordering::SeqCst), 1);
    say(&agent, &ann, &conversation, "hi again").await;
    assert_eq!(texts(&model.last_request()), vec!["hi again".to_owned()]);
}

crate::on_both_databases!(
    turns_per_minute_are_limited_per_user,
    concurrent_turns_are_limited_per_user,
    daily_tokens_are_limited_per_user,
    the_history_sent_to_the_model_is_bounded,
    a_timed_out_turn_is_not_replayed,
    a_turn_whose_client_left_stops_calling_the_model,
);

/// A turn of `who` on `agent`, sent again while the only refusal is that their one slot is still held (a turn
/// that just ended gives it back in the background); an error after two seconds.
async fn once_the_slot_is_back(agent: &Agent, who: &Caller, conversation: &str) {
    for _ in 0..40 {
        match try_say(agent, who, conversation, "hello again").await {
            Ok(_) => return,
            Err(code) => assert_eq!(code, "agent_concurrent_turns"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the slot was not given back within two seconds");
}

/// Why a turn is refused, once `conversation`'s turn lease is back: the replica that ran its last turn releases it
/// in the background, and until that lands another replica is told the conversation is busy.
async fn refusal_once_released(agent: &Agent, who: &Caller, conversation: &str) -> String {
    for _ in 0..40 {
        match try_say(agent, who, conversation, "too much").await {
            Err(code) if code == "turn_in_progress" => {}
            Err(code) => return code,
            Ok(reply) => panic!("the turn was admitted: {reply}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the turn lease was not given back within two seconds");
}

/// Two gateway replicas (two agents on one database and one Redis) count one user's turns together, at once and
/// per minute; with Redis unreachable each replica counts its own. Needs the test Redis (skips outside CI).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_turn_limits_hold_across_replicas() {
    let Some(settings) = tokshop_platform::testing::redis().await else {
        return;
    };
    let app = crate::common::spawn_app(crate::common::Backend::Sqlite).await;
    let (ann, _) = shopper(&app, "ann").await;
    let ann = caller(&app, &ann);
    let limits = Limits {
        concurrent_turns: 1,
        turns_per_minute: 3,
        ..Limits::default()
    };
    let replica = |model: Arc<dyn ChatModel>, redis: tokshop_platform::config::RedisSettings| {
        let app = &app;
        async move {
            let redis = tokshop_platform::redis::Redis::connect(&redis)
                .await
                .unwrap()
                .unwrap();
            agent(app, model, limits).await.with_shared_limits(redis)
        }
    };
    let a = replica(Stalling::new(Duration::from_millis(600)), settings.clone()).await;
    let b = replica(Arc::new(ScriptedModel::new(Vec::new())), settings.clone()).await;
    let one = a.start(&ann, "").await.unwrap().id;
    let two = b.start(&ann, "").await.unwrap().id;

    // A turn running on A holds ann's one slot on B too.
    let (first, second) = tokio::join!(try_say(&a, &ann, &one, "hello"), async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        try_say(&b, &ann, &two, "hello too").await
    });
    first.unwrap();
    assert_eq!(second.unwrap_err(), "agent_concurrent_turns");
    // A gives the slot back as the turn ends (in the background): B admits her within a moment, and the same for
    // A after B's turn.
    once_the_slot_is_back(&b, &ann, &two).await;
    // Two turns this minute (refusals charge nothing); the third on A, then a fourth is refused on either.
    once_the_slot_is_back(&a, &ann, &one).await;
    for replica in [&a, &b] {
        assert_eq!(
            refusal_once_released(replica, &ann, &two).await,
            "agent_turns_per_minute"
        );
    }

    // Redis unreachable (nothing listens on its port): each replica counts on its own.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut away = settings.clone();
    away.url = Some(tokshop_platform::config::Secret::new(format!(
        "redis://{}",
        closed.local_addr().unwrap()
    )));
    away.timeout_ms = 200;
    drop(closed);
    let limits = Limits {
        turns_per_minute: 1,
        ..Limits::default()
    };
    let (bob, _) = shopper(&app, "bob").await;
    let bob = caller(&app, &bob);
    for _ in 0..2 {
        let model: Arc<dyn ChatModel> = Arc::new(ScriptedModel::new(Vec::new()));
        let redis = tokshop_platform::redis::Redis::connect(&away)
            .await
            .unwrap()
            .unwrap();
        let alone = agent(&app, model, limits).await.with_shared_limits(redis);
        let conversation = alone.start(&bob, "").await.unwrap().id;
        try_say(&alone, &bob, &conversation, "hi").await.unwrap();
        assert_eq!(
            try_say(&alone, &bob, &conversation, "hi")
                .await
                .unwrap_err(),
            "agent_turns_per_minute"
        );
    }
}
