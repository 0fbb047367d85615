//! The store on a real SQLite file and a real PostgreSQL database: the turn lease that keeps one turn at a time
//! per conversation across gateway replicas.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokshop_platform::{db::Db, time::now_ms};

use super::Store;

tokshop_platform::storage_tests!("agent", crate::MIGRATIONS; one_replica_holds_a_turn_lease_at_a_time);

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
