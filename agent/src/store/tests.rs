//! The store on a real SQLite file and a real PostgreSQL database: the turn lease that keeps one turn at a time
//! per conversation across gateway replicas.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokshop_platform::{db::Db, time::now_ms};

use super::Store;

tokshop_platform::storage_tests!(
    "agent",
    crate::MIGRATIONS;
    one_replica_holds_a_turn_lease_at_a_time,
    history_kept_in_memory_matches_the_stored_one,
    a_turn_is_recorded_whole_and_in_order
);

fn step(turn: i64, step: i64, kind: &str, usage: (i64, i64)) -> super::Step {
    super::Step {
        turn,
        step,
        kind: kind.into(),
        name: format!("{kind}_{step}"),
        call_id: format!("call_{step}"),
        started_at_ms: 1,
        duration_ms: 2,
        input_tokens: usage.0,
        output_tokens: usage.1,
        detail: format!(r#"{{"n":{step},"quote":"it's \"x\""}}"#),
        outcome: "ok".into(),
    }
}

/// A turn's writes (its start, each model call with its tokens, a round's tool steps and results) land whole, the
/// messages numbered in order after those stored, and each model call's count returns the user's day so far, other
/// conversations included.
async fn a_turn_is_recorded_whole_and_in_order(db: Db) {
    use crate::model::{ChatMessage, ToolCall, Usage};
    use serde_json::json;

    let store = Store::new(db);
    let a = store.create("usr_1", "a", "m", "v1").await.unwrap();
    let b = store.create("usr_1", "b", "m", "v1").await.unwrap();
    assert_eq!(
        store
            .begin_turn(
                &a.id,
                &ChatMessage::user("it's 'quoted' and \u{4f60}\u{597d}")
            )
            .await
            .unwrap(),
        1
    );
    let calls: Vec<ToolCall> = (1..=2)
        .map(|i| ToolCall {
            id: format!("c{i}"),
            name: "view_cart".into(),
            arguments: json!({"i": i}),
        })
        .collect();
    let asked = ChatMessage::assistant("", calls.clone());
    let usage = |input, output| Usage {
        input_tokens: input,
        output_tokens: output,
    };
    let today = store
        .record_model_reply(
            &a,
            usage(10, 5),
            &step(1, 1, "model", (10, 5)),
            std::slice::from_ref(&asked),
        )
        .await
        .unwrap();
    assert_eq!(today, Some(15));
    assert_eq!(
        store
            .begin_turn(&b.id, &ChatMessage::user("hi"))
            .await
            .unwrap(),
        1
    );
    let today = store
        .record_model_reply(
            &b,
            usage(3, 2),
            &step(1, 1, "model", (3, 2)),
            &[ChatMessage::assistant("hello", Vec::new())],
        )
        .await
        .unwrap();
    assert_eq!(
        today,
        Some(20),
        "the day counts every conversation of the user"
    );
    let results: Vec<ChatMessage> = calls
        .iter()
        .map(|c| ChatMessage::tool(c, &json!({"ok": c.id})))
        .collect();
    store
        .record_tool_results(
            &a,
            1,
            &[step(1, 2, "tool", (0, 0)), step(1, 3, "tool", (0, 0))],
            &results,
        )
        .await
        .unwrap();
    let answer = ChatMessage::assistant("done", Vec::new());
    let today = store
        .record_model_reply(
            &a,
            Usage::default(),
            &step(1, 4, "model", (0, 0)),
            std::slice::from_ref(&answer),
        )
        .await
        .unwrap();
    assert_eq!(today, None, "a call that used no tokens counts nothing");

    let mut expected = vec![
        ChatMessage::user("it's 'quoted' and \u{4f60}\u{597d}"),
        asked,
    ];
    expected.extend(results);
    expected.push(answer);
    assert_eq!(store.messages(&a.id).await.unwrap(), expected);
    assert_eq!(store.history(&a.id, 60).await.unwrap(), expected);
    let steps = store.steps(&a.id).await.unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|s| (s.step, s.name.as_str()))
            .collect::<Vec<_>>(),
        [(1, "model_1"), (2, "tool_2"), (3, "tool_3"), (4, "model_4")]
    );
    assert_eq!(steps[1].detail, step(1, 2, "tool", (0, 0)).detail);
    assert_eq!(store.tokens_today("usr_1").await.unwrap(), 20);
    let a = store.get("usr_1", &a.id).await.unwrap();
    assert_eq!((a.input_tokens, a.output_tokens, a.turns), (10, 5, 1));
    assert_eq!(
        store
            .begin_turn(&a.id, &ChatMessage::user("again"))
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.messages(&a.id).await.unwrap().len(), 6);
}

/// A turn keeps the model's history in memory after reading it once; appending and trimming there must give what
/// the store would read back, whatever the window: short turns, and a turn longer than the window.
async fn history_kept_in_memory_matches_the_stored_one(db: Db) {
    use crate::model::{ChatMessage, ToolCall};
    use serde_json::json;

    let store = Store::new(db);
    for max in [1, 3, 4, 7] {
        let conversation = store.create("usr_1", "t", "m", "v1").await.unwrap();
        let id = conversation.id.as_str();
        let mut kept = store.history(id, max).await.unwrap();
        // Turns of 0, 1, 2 and 5 tool rounds.
        for (turn, rounds) in [0, 1, 2, 5, 0].into_iter().enumerate() {
            let turn = turn as i64 + 1;
            let mut batches = vec![vec![ChatMessage::user(format!("question {turn}"))]];
            for round in 0..rounds {
                let call = ToolCall {
                    id: format!("c{turn}_{round}"),
                    name: "view_cart".into(),
                    arguments: json!({}),
                };
                batches.push(vec![ChatMessage::assistant("", vec![call.clone()])]);
                batches.push(vec![ChatMessage::tool(&call, &json!({"lines": []}))]);
            }
            batches.push(vec![ChatMessage::assistant(
                format!("answer {turn}"),
                Vec::new(),
            )]);
            for batch in batches {
                store.append(id, turn, &batch).await.unwrap();
                // The model is next called after a round's results, never between a call and its result.
                let mid_round = !batch[0].tool_calls.is_empty();
                kept.extend(batch);
                super::trim_history(&mut kept, max);
                if mid_round {
                    continue;
                }
                assert_eq!(
                    kept,
                    store.history(id, max).await.unwrap(),
                    "window {max}, turn {turn}"
                );
            }
        }
    }
}

async fn one_replica_holds_a_turn_lease_at_a_time(db: Db) {
    let store = Store::new(db);
    let conversation = store.create("usr_1", "t", "m", "v1").await.unwrap();
    let id = conversation.id.as_str();
    let later = now_ms() + 60_000;

    assert!(
        store
            .take_turn_lease("usr_1", id, "replica_a", "tok_1", later)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .take_turn_lease("usr_1", id, "replica_b", "tok_2", later)
            .await
            .unwrap()
            .is_none(),
        "another replica waits while a turn is under way"
    );
    // The holder's own next turn may start before the last one's release lands; the stale release then changes
    // nothing.
    assert!(
        store
            .take_turn_lease("usr_1", id, "replica_a", "tok_3", later)
            .await
            .unwrap()
            .is_some()
    );
    store.release_turn_lease(id, "tok_1").await.unwrap();
    assert!(
        store
            .take_turn_lease("usr_1", id, "replica_b", "tok_2", later)
            .await
            .unwrap()
            .is_none()
    );
    store.release_turn_lease(id, "tok_3").await.unwrap();
    assert!(
        store
            .take_turn_lease("usr_2", id, "replica_b", "tok_2", later)
            .await
            .unwrap()
            .is_none(),
        "another user's conversation is never leased to them"
    );
    assert!(
        store
            .take_turn_lease("usr_1", id, "replica_b", "tok_2", later)
            .await
            .unwrap()
            .is_some()
    );

    // A replica that died mid-turn never releases; its lease runs out.
    let other = store.create("usr_1", "t", "m", "v1").await.unwrap();
    assert!(
        store
            .take_turn_lease("usr_1", &other.id, "replica_dead", "tok_4", now_ms() - 1)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .take_turn_lease("usr_1", &other.id, "replica_b", "tok_5", later)
            .await
            .unwrap()
            .is_some()
    );
}
