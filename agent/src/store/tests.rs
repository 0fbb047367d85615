//! The store on a real SQLite file and a real PostgreSQL database: the turn lease that keeps one turn at a time
//! per conversation across gateway replicas.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokshop_platform::{db::Db, time::now_ms};

use super::Store;

tokshop_platform::storage_tests!(
    "agent",
    crate::MIGRATIONS;
    one_replica_holds_a_turn_lease_at_a_time,
    history_kept_in_memory_matches_the_stored_one
);

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
            .take_turn_lease(id, "replica_a", "tok_1", later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_turn_lease(id, "replica_b", "tok_2", later)
            .await
            .unwrap(),
        "another replica waits while a turn is under way"
    );
    // The holder's own next turn may start before the last one's release lands; the stale release then changes
    // nothing.
    assert!(
        store
            .take_turn_lease(id, "replica_a", "tok_3", later)
            .await
            .unwrap()
    );
    store.release_turn_lease(id, "tok_1").await.unwrap();
    assert!(
        !store
            .take_turn_lease(id, "replica_b", "tok_2", later)
            .await
            .unwrap()
    );
    store.release_turn_lease(id, "tok_3").await.unwrap();
    assert!(
        store
            .take_turn_lease(id, "replica_b", "tok_2", later)
            .await
            .unwrap()
    );

    // A replica that died mid-turn never releases; its lease runs out.
    let other = store.create("usr_1", "t", "m", "v1").await.unwrap();
    assert!(
        store
            .take_turn_lease(&other.id, "replica_dead", "tok_4", now_ms() - 1)
            .await
            .unwrap()
    );
    assert!(
        store
            .take_turn_lease(&other.id, "replica_b", "tok_5", later)
            .await
            .unwrap()
    );
}
