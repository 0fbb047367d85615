//! Social changes go through the outbox: each one that really changed something records exactly one event in
//! its transaction, a repeat or a refusal records none, and the relay publishes them all.

use std::{collections::BTreeMap, time::Duration};

use serde_json::json;
use tokshop_platform::db::Db;

use crate::common::TestApp;

crate::on_both_databases!(social_changes_are_recorded_once_and_relayed);

/// Topic -> (events, of which published), for every `social.` event.
async fn social_events(db: &Db) -> BTreeMap<String, (i64, i64)> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT topic, COUNT(*), COUNT(published_at_ms) FROM outbox WHERE topic LIKE 'social.%' GROUP BY topic",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(t, n, p)| (t, (n, p))).collect()
}

async fn social_changes_are_recorded_once_and_relayed(app: &TestApp) {
    let db = Db::connect(&app.settings.database_url(), 1).await.unwrap();
    let ann = app.register("ev_ann").await;
    let ben = app.register("ev_ben").await;
    let (ann_id, ann_token) = (
        ann["user"]["id"].as_str().unwrap(),
        ann["access_token"].as_str().unwrap(),
    );
    let (ben_id, ben_token) = (
        ben["user"]["id"].as_str().unwrap(),
        ben["access_token"].as_str().unwrap(),
    );

    // A message before they are friends is refused and records nothing.
    app.post(
        "/api/v1/messages",
        Some(ann_token),
        json!({"to_user_id": ben_id, "text": "hi"}),
    )
    .await
    .expect(403);
    for _ in 0..2 {
        app.put(
            &format!("/api/v1/users/{ben_id}/follow"),
            Some(ann_token),
            json!({}),
        )
        .await
        .expect(200);
    }
    app.put(
        &format!("/api/v1/users/{ann_id}/follow"),
        Some(ben_token),
        json!({}),
    )
    .await
    .expect(200);
    let post = app
        .post(
            "/api/v1/posts",
            Some(ben_token),
            json!({"text": "new boots"}),
        )
        .await
        .expect(201)
        .body;
    let post_id = post["id"].as_str().unwrap();
    for _ in 0..2 {
        app.put(
            &format!("/api/v1/posts/{post_id}/like"),
            Some(ann_token),
            json!({}),
        )
        .await
        .expect(200);
    }
    app.post(
        &format!("/api/v1/posts/{post_id}/comments"),
        Some(ann_token),
        json!({"text": "nice"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/messages",
        Some(ann_token),
        json!({"to_user_id": ben_id, "text": "hi"}),
    )
    .await
    .expect(201);

    let expected: BTreeMap<String, i64> = [
        ("social.followed", 2),
        ("social.post_published", 1),
        ("social.post_liked", 1),
        ("social.comment_added", 1),
        ("social.message_sent", 1),
    ]
    .into_iter()
    .map(|(t, n)| (t.to_owned(), n))
    .collect();
    // The relay publishes within a few polls.
    let mut seen = BTreeMap::new();
    for _ in 0..40 {
        seen = social_events(&db).await;
        if seen.values().all(|(n, published)| n == published) && !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recorded: BTreeMap<String, i64> = seen.iter().map(|(t, (n, _))| (t.clone(), *n)).collect();
    assert_eq!(recorded, expected, "events: {seen:?}");
    assert!(
        seen.values().all(|(n, published)| n == published),
        "unpublished events: {seen:?}"
    );
    db.close().await;
}
