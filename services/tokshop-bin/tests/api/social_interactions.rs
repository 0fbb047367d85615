//! Likes, favorites and comments over REST: counts that stay exact under hundreds of concurrent likes, favorites
//! and their list, comments with one level of replies and the content policy, who may delete what, idempotent
//! retries, and the admin's count repair after counts were corrupted in the database.
//!
//! Long because each case is a whole flow over real HTTP and storage; one file per area of the API.

use futures::{StreamExt, stream};
use reqwest::Method;
use serde_json::{Value, json};
use tokshop_platform::{
    auth::{Role, authorized},
    db::Db,
    grpc,
};
use tokshop_proto::social::{self as pb, interaction_service_client::InteractionServiceClient};

use crate::common::{TestApp, product_body};
use crate::social_relations::{follow, person, profile};

crate::on_both_databases!(
    with |s| s.social.blocked_words = vec!["scam".into()];
    concurrent_likes_keep_counts_exact,
    favorites_count_and_list_newest_first,
    comments_reply_one_level_and_pass_the_policy,
    only_author_or_seller_deletes_and_replies_go_too,
    post_comments_count_replies,
    comment_retries_do_not_duplicate,
    repair_counts_fixes_corrupted_counts,
);

/// A direct connection to the server's database, for what no API shows or to corrupt a count on purpose.
async fn database(app: &TestApp) -> Db {
    Db::connect(&app.settings.database_url(), 1).await.unwrap()
}

async fn scalar(db: &Db, sql: &'static str, id: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    n
}

async fn publish(app: &TestApp, token: &str, text: &str) -> String {
    app.post("/api/v1/posts", Some(token), json!({ "text": text }))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A listed product of a new seller: (product id, seller id, seller token).
async fn product(app: &TestApp, slug: &str, title: &str) -> (String, String, String) {
    let category = app.category(slug).await;
    let (seller_id, seller) = app.seller(&format!("{slug}_shop")).await;
    let id = app
        .post(
            "/api/v1/seller/products",
            Some(&seller),
            product_body(&category, title, 2_500, 4),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, seller_id, seller)
}

fn shopper(app: &TestApp, n: usize) -> String {
    app.keys
        .issue(&format!("usr_shopper{n:04}"), &[Role::Buyer])
        .unwrap()
        .token
}

/// Sends every (method, token) to `path` at once, 64 in flight; each must succeed.
async fn all_at_once(app: &TestApp, path: &str, calls: Vec<(Method, String)>) {
    stream::iter(calls)
        .map(|(method, token)| async move {
            app.call(method, path, Some(&token), None).await.expect(200);
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
}

async fn concurrent_likes_keep_counts_exact(app: &TestApp) {
    let (author_id, author) = person(app, "author").await;
    let post = publish(app, &author, "new drop, what do you think?").await;
    let path = format!("/api/v1/posts/{post}/like");
    let tokens: Vec<String> = (0..450).map(|n| shopper(app, n)).collect();

    // 500 calls at once: 400 shoppers like, the first 100 of them twice.
    let calls = tokens[..400]
        .iter()
        .chain(&tokens[..100])
        .map(|t| (Method::PUT, t.clone()))
        .collect();
    all_at_once(app, &path, calls).await;
    let db = database(app).await;
    let likes = |post: String| {
        let db = db.clone();
        async move {
            scalar(
                &db,
                "SELECT COUNT(*) FROM post_likes WHERE post_id = $1",
                &post,
            )
            .await
        }
    };
    let shown = app
        .get(&format!("/api/v1/posts/{post}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(shown["like_count"], 400);
    assert_eq!(likes(post.clone()).await, 400);

    // Then at once: 100 of them unlike twice each while 50 new shoppers like.
    let calls = tokens[..100]
        .iter()
        .chain(&tokens[..100])
        .map(|t| (Method::DELETE, t.clone()))
        .chain(tokens[400..].iter().map(|t| (Method::PUT, t.clone())))
        .collect();
    all_at_once(app, &path, calls).await;
    let shown = app
        .get(&format!("/api/v1/posts/{post}"), Some(&tokens[420]))
        .await
        .expect(200)
        .body;
    assert_eq!(shown["like_count"], 350);
    assert_eq!(shown["viewer_liked"], true);
    assert_eq!(likes(post.clone()).await, 350);
    assert_eq!(
        profile(app, &author_id, None).await["counts"]["likes_received"],
        350
    );

    // The one-call view of a like, repeats, and a post that does not exist.
    let state = app
        .call(Method::PUT, &path, Some(&tokens[0]), None)
        .await
        .expect(200)
        .body;
    assert_eq!(
        state,
        json!({"post_id": post, "liked": true, "like_count": 351, "changed": true})
    );
    let again = app
        .call(Method::PUT, &path, Some(&tokens[0]), None)
        .await
        .expect(200)
        .body;
    assert_eq!(again["changed"], false);
    assert_eq!(again["like_count"], 351);
    let undone = app.delete(&path, Some(&tokens[0])).await.expect(200).body;
    assert_eq!(undone["liked"], false);
    assert_eq!(undone["like_count"], 350);
    app.call(
        Method::PUT,
        "/api/v1/posts/pst_0000000000000000000000000000dead/like",
        Some(&tokens[0]),
        None,
    )
    .await
    .expect_error(404, "post_not_found", None);
    app.call(Method::PUT, &path, None, None).await.expect(401);
    db.close().await;
}

async fn favorites_count_and_list_newest_first(app: &TestApp) {
    let (boots, _, _) = product(app, "boots", "Trail boot").await;
    let (hat, _, hat_seller) = product(app, "hats", "Sun hat").await;
    let (bag, _, _) = product(app, "bags", "Tote bag").await;
    let (ann_id, ann) = person(app, "ann").await;
    let (_, ben) = person(app, "ben").await;
    let favorite = |id: &str| format!("/api/v1/products/{id}/favorite");

    let first = app
        .call(Method::PUT, &favorite(&boots), Some(&ann), None)
        .await
        .expect(200)
        .body;
    assert_eq!(
        first,
        json!({"product_id": boots, "favorited": true, "favorite_count": 1, "changed": true})
    );
    let again = app
        .call(Method::PUT, &favorite(&boots), Some(&ann), None)
        .await
        .expect(200)
        .body;
    assert_eq!(again["changed"], false);
    assert_eq!(again["favorite_count"], 1);
    let bens = app
        .call(Method::PUT, &favorite(&boots), Some(&ben), None)
        .await
        .expect(200)
        .body;
    assert_eq!(bens["favorite_count"], 2);
    for id in [&hat, &bag] {
        app.call(Method::PUT, &favorite(id), Some(&ann), None)
            .await
            .expect(200);
    }
    app.call(
        Method::PUT,
        &favorite("prd_0000000000000000000000000000dead"),
        Some(&ann),
        None,
    )
    .await
    .expect_error(404, "product_not_found", None);

    // Newest first, two per page, priced from the catalog.
    let page1 = app
        .get("/api/v1/me/favorites?limit=2", Some(&ann))
        .await
        .expect(200)
        .body;
    let listed: Vec<&str> = page1["favorites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["product"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![bag.as_str(), hat.as_str()]);
    assert_eq!(page1["favorites"][0]["product"]["title"], "Tote bag");
    assert_eq!(
        page1["favorites"][0]["product"]["price"]["amount_minor"],
        2_500
    );
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = app
        .get(
            &format!("/api/v1/me/favorites?limit=2&cursor={cursor}"),
            Some(&ann),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(page2["favorites"].as_array().unwrap().len(), 1);
    assert_eq!(page2["favorites"][0]["product"]["id"], boots.as_str());
    assert!(page2["next_cursor"].is_null());
    assert_eq!(profile(app, &ann_id, None).await["counts"]["favorites"], 3);

    let undone = app
        .delete(&favorite(&boots), Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(undone["favorited"], false);
    assert_eq!(undone["favorite_count"], 1);
    let undone_again = app
        .delete(&favorite(&boots), Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(undone_again["changed"], false);
    assert_eq!(profile(app, &ann_id, None).await["counts"]["favorites"], 2);
    app.get("/api/v1/me/favorites", None).await.expect(401);

    // A delisted product stays in the list as unavailable; so does one the catalog no longer knows at all, and
    // it can still be taken out.
    app.patch(
        &format!("/api/v1/seller/products/{hat}"),
        Some(&hat_seller),
        json!({"listed": false}),
    )
    .await
    .expect(200);
    let gone = "prd_0000000000000000000000000000g0ne";
    let db = database(app).await;
    sqlx::query("INSERT INTO favorites (user_id, product_id, created_at_ms) VALUES ($1, $2, 1)")
        .bind(&ann_id)
        .bind(gone)
        .execute(db.pool())
        .await
        .unwrap();
    let list = app
        .get("/api/v1/me/favorites", Some(&ann))
        .await
        .expect(200)
        .body;
    let favorites = list["favorites"].as_array().unwrap();
    assert_eq!(favorites.len(), 3);
    assert_eq!(favorites[1]["product"]["id"], hat.as_str());
    assert_eq!(favorites[1]["product"]["available"], false);
    assert_eq!(favorites[0]["product"]["available"], true);
    assert_eq!(favorites[2]["product"]["id"], gone);
    assert_eq!(favorites[2]["product"]["available"], false);
    let removed = app
        .delete(&favorite(gone), Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(removed["changed"], true);
    assert_eq!(removed["favorited"], false);
    db.close().await;
}

async fn comment(app: &TestApp, path: &str, token: &str, text: &str) -> Value {
    app.post(path, Some(token), json!({ "text": text }))
        .await
        .expect(201)
        .body
}

async fn comments_reply_one_level_and_pass_the_policy(app: &TestApp) {
    let (boots, _, _) = product(app, "boots", "Trail boot").await;
    let (_, ann) = person(app, "ann").await;
    let (ben_id, ben) = person(app, "ben").await;
    let on_boots = format!("/api/v1/products/{boots}/comments");

    let top = comment(app, &on_boots, &ann, "  Do these run small?  ").await;
    assert_eq!(top["text"], "Do these run small?");
    assert_eq!(top["product_id"], boots.as_str());
    assert!(top["parent_id"].is_null());
    assert_eq!(top["deletable"], true);
    let top_id = top["id"].as_str().unwrap();
    let replies = format!("/api/v1/comments/{top_id}/replies");
    let reply = comment(app, &replies, &ben, "True to size for me").await;
    assert_eq!(reply["parent_id"], top_id);
    assert_eq!(reply["product_id"], boots.as_str());
    assert_eq!(reply["author"]["id"], ben_id.as_str());
    let reply_id = reply["id"].as_str().unwrap();

    // Replies go one level deep.
    app.post(
        &format!("/api/v1/comments/{reply_id}/replies"),
        Some(&ann),
        json!({"text": "thanks!"}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("parent_id"));

    // Text: 1..=500 characters of plain text without blocked words.
    for (text, code) in [
        (String::new(), "invalid_parameter"),
        ("   ".to_owned(), "invalid_parameter"),
        ("x".repeat(501), "invalid_parameter"),
        ("what a SCAM".to_owned(), "content_policy"),
        ("<b>bold</b> claim".to_owned(), "content_policy"),
    ] {
        app.post(&on_boots, Some(&ann), json!({ "text": text }))
            .await
            .expect_error(422, code, Some("text"));
    }
    comment(app, &on_boots, &ann, &"é".repeat(500)).await;
    app.post(
        "/api/v1/products/prd_0000000000000000000000000000dead/comments",
        Some(&ann),
        json!({"text": "hello"}),
    )
    .await
    .expect_error(404, "product_not_found", None);
    app.post(&on_boots, None, json!({"text": "hello"}))
        .await
        .expect(401);

    // Listing: newest first, the total counts replies, anyone may read.
    let list = app.get(&on_boots, None).await.expect(200).body;
    assert_eq!(list["total"], 3);
    let shown = list["comments"].as_array().unwrap();
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[1]["id"], top_id);
    assert_eq!(shown[1]["reply_count"], 1);
    assert!(shown.iter().all(|c| c["deletable"] == false));
    let as_ben = app.get(&on_boots, Some(&ben)).await.expect(200).body;
    assert!(
        as_ben["comments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["deletable"] == false)
    );
    let as_ann = app
        .get(&format!("{on_boots}?limit=1"), Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(as_ann["comments"][0]["deletable"], true);
    let cursor = as_ann["next_cursor"].as_str().unwrap();
    let next = app
        .get(&format!("{on_boots}?limit=1&cursor={cursor}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(next["comments"][0]["id"], top_id);
    assert!(next["next_cursor"].is_null());

    let thread = app.get(&replies, Some(&ben)).await.expect(200).body;
    assert_eq!(thread["total"], 1);
    assert_eq!(thread["comments"][0]["id"], reply_id);
    assert_eq!(thread["comments"][0]["deletable"], true);
}

async fn only_author_or_seller_deletes_and_replies_go_too(app: &TestApp) {
    let (boots, _, seller) = product(app, "boots", "Trail boot").await;
    let (_, ann) = person(app, "ann").await;
    let (_, ben) = person(app, "ben").await;
    let on_boots = format!("/api/v1/products/{boots}/comments");
    let db = database(app).await;
    let stored = "SELECT comments FROM product_counts WHERE product_id = $1";

    let top = comment(app, &on_boots, &ann, "Any discount codes?").await;
    let top_id = top["id"].as_str().unwrap().to_owned();
    let replies = format!("/api/v1/comments/{top_id}/replies");
    let bens_reply = comment(app, &replies, &ben, "I'd like one too").await;
    comment(app, &replies, &ann, "still waiting").await;
    let other = comment(app, &on_boots, &ben, "Great boots").await;
    assert_eq!(scalar(&db, stored, &boots).await, 4);

    // Ben may not delete Ann's comment: 403 and nothing changes.
    app.delete(&format!("/api/v1/comments/{top_id}"), Some(&ben))
        .await
        .expect_error(403, "forbidden", None);
    let list = app.get(&on_boots, None).await.expect(200).body;
    assert_eq!(list["total"], 4);
    assert_eq!(list["comments"].as_array().unwrap().len(), 2);

    // Ben deletes his own reply; the reply count follows.
    let gone = app
        .delete(
            &format!("/api/v1/comments/{}", bens_reply["id"].as_str().unwrap()),
            Some(&ben),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(gone["deleted"], 1);
    let thread = app.get(&replies, None).await.expect(200).body;
    assert_eq!(thread["total"], 1);
    let list = app.get(&on_boots, None).await.expect(200).body;
    assert_eq!(list["comments"][1]["reply_count"], 1);
    assert_eq!(scalar(&db, stored, &boots).await, 3);

    // The seller sees every comment as deletable and deletes Ann's thread: its reply goes with it.
    let as_seller = app.get(&on_boots, Some(&seller)).await.expect(200).body;
    assert!(
        as_seller["comments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["deletable"] == true)
    );
    let gone = app
        .delete(&format!("/api/v1/comments/{top_id}"), Some(&seller))
        .await
        .expect(200)
        .body;
    assert_eq!(gone["deleted"], 2);
    let list = app.get(&on_boots, None).await.expect(200).body;
    assert_eq!(list["total"], 1);
    assert_eq!(list["comments"][0]["id"], other["id"]);
    assert_eq!(scalar(&db, stored, &boots).await, 1);
    app.get(&replies, None)
        .await
        .expect_error(404, "comment_not_found", None);
    app.delete(&format!("/api/v1/comments/{top_id}"), Some(&ann))
        .await
        .expect_error(404, "comment_not_found", None);
    db.close().await;
}

async fn post_comments_count_replies(app: &TestApp) {
    let (_, author) = person(app, "author").await;
    let (_, ann) = person(app, "ann").await;
    let post = publish(app, &author, "outfit of the day").await;
    let on_post = format!("/api/v1/posts/{post}/comments");
    let count = || async {
        app.get(&format!("/api/v1/posts/{post}"), None)
            .await
            .expect(200)
            .body["comment_count"]
            .as_i64()
            .unwrap()
    };

    let top = comment(app, &on_post, &ann, "love the jacket").await;
    assert_eq!(top["post_id"], post.as_str());
    assert!(top["product_id"].is_null());
    let top_id = top["id"].as_str().unwrap().to_owned();
    comment(
        app,
        &format!("/api/v1/comments/{top_id}/replies"),
        &author,
        "thank you!",
    )
    .await;
    comment(app, &on_post, &author, "link in bio").await;
    assert_eq!(count().await, 3);
    let list = app.get(&on_post, None).await.expect(200).body;
    assert_eq!(list["total"], 3);
    assert_eq!(list["comments"].as_array().unwrap().len(), 2);

    // The post's author is no product seller: they may not delete Ann's comment.
    app.delete(&format!("/api/v1/comments/{top_id}"), Some(&author))
        .await
        .expect_error(403, "forbidden", None);
    let gone = app
        .delete(&format!("/api/v1/comments/{top_id}"), Some(&ann))
        .await
        .expect(200)
        .body;
    assert_eq!(gone["deleted"], 2);
    assert_eq!(count().await, 1);
    app.post(
        "/api/v1/posts/pst_0000000000000000000000000000dead/comments",
        Some(&ann),
        json!({"text": "hello"}),
    )
    .await
    .expect_error(404, "post_not_found", None);
}

async fn comment_retries_do_not_duplicate(app: &TestApp) {
    let (boots, _, _) = product(app, "boots", "Trail boot").await;
    let (_, ann) = person(app, "ann").await;
    let on_boots = format!("/api/v1/products/{boots}/comments");
    let send = || {
        app.call_with(
            Method::POST,
            &on_boots,
            Some(&ann),
            Some(json!({"text": "Is the sole resoleable?"})),
            &[("Idempotency-Key", "comment-retry-1")],
        )
    };
    let first = send().await.expect(201).body;
    let retries = futures::future::join_all((0..5).map(|_| send())).await;
    for retry in retries {
        assert_eq!(retry.expect(201).body["id"], first["id"]);
    }
    let list = app.get(&on_boots, None).await.expect(200).body;
    assert_eq!(list["total"], 1);
    // Another key is another comment.
    app.call_with(
        Method::POST,
        &on_boots,
        Some(&ann),
        Some(json!({"text": "Is the sole resoleable?"})),
        &[("Idempotency-Key", "comment-retry-2")],
    )
    .await
    .expect(201);
    assert_eq!(app.get(&on_boots, None).await.expect(200).body["total"], 2);

    // Past the gateway too: the service itself answers a repeated request id with the first comment, even when
    // the repeats arrive at once.
    let channel = grpc::channel(&format!("http://{}", app.running().social_addr.unwrap())).unwrap();
    let client = InteractionServiceClient::new(channel);
    let request = pb::AddCommentRequest {
        product_id: boots.clone(),
        text: "Does it come in wide?".into(),
        request_id: "direct-retry".into(),
        ..Default::default()
    };
    let answers = futures::future::join_all((0..6).map(|_| {
        let mut client = client.clone();
        let request = authorized(request.clone(), Some(&ann));
        async move { client.add_comment(request).await.unwrap().into_inner().id }
    }))
    .await;
    assert!(answers.iter().all(|id| *id == answers[0]), "{answers:?}");
    assert_eq!(app.get(&on_boots, None).await.expect(200).body["total"], 3);
}

async fn repair_counts_fixes_corrupted_counts(app: &TestApp) {
    let (boots, seller_id, seller) = product(app, "boots", "Trail boot").await;
    let (ann_id, ann) = person(app, "ann").await;
    follow(app, &ann, &seller_id).await;
    let post = publish(app, &seller, "restocked!").await;
    app.call(
        Method::PUT,
        &format!("/api/v1/posts/{post}/like"),
        Some(&ann),
        None,
    )
    .await
    .expect(200);
    app.call(
        Method::PUT,
        &format!("/api/v1/products/{boots}/favorite"),
        Some(&ann),
        None,
    )
    .await
    .expect(200);
    let top = comment(
        app,
        &format!("/api/v1/products/{boots}/comments"),
        &ann,
        "nice",
    )
    .await;
    let top_id = top["id"].as_str().unwrap().to_owned();
    comment(
        app,
        &format!("/api/v1/comments/{top_id}/replies"),
        &seller,
        "thanks",
    )
    .await;

    let admin = app.admin().await;
    let repair = "/api/v1/admin/social/repair-counts";
    let clean = app
        .post(repair, Some(&admin), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(
        clean,
        json!({"users_fixed": 0, "posts_fixed": 0, "products_fixed": 0, "comments_fixed": 0})
    );

    // Corrupt one count of each kind, directly in the database.
    let db = database(app).await;
    for (sql, id) in [
        (
            "UPDATE user_counts SET followers = 41, likes_received = 9 WHERE user_id = $1",
            &seller_id,
        ),
        (
            "UPDATE user_counts SET favorites = 0 WHERE user_id = $1",
            &ann_id,
        ),
        ("UPDATE posts SET like_count = 99 WHERE id = $1", &post),
        (
            "UPDATE product_counts SET favorites = 7, comments = 0 WHERE product_id = $1",
            &boots,
        ),
        ("UPDATE comments SET reply_count = 5 WHERE id = $1", &top_id),
    ] {
        sqlx::query(sql).bind(id).execute(db.pool()).await.unwrap();
    }
    let shop = profile(app, &seller_id, None).await;
    assert_eq!(shop["counts"]["followers"], 41);

    app.post(repair, Some(&ann), json!({}))
        .await
        .expect_error(403, "forbidden", None);
    app.post(repair, None, json!({})).await.expect(401);
    let fixed = app
        .post(repair, Some(&admin), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(
        fixed,
        json!({"users_fixed": 2, "posts_fixed": 1, "products_fixed": 1, "comments_fixed": 1})
    );

    let shop = profile(app, &seller_id, None).await;
    assert_eq!(shop["counts"]["followers"], 1);
    assert_eq!(shop["counts"]["likes_received"], 1);
    assert_eq!(shop["counts"]["posts"], 1);
    assert_eq!(profile(app, &ann_id, None).await["counts"]["favorites"], 1);
    let shown = app
        .get(&format!("/api/v1/posts/{post}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(shown["like_count"], 1);
    assert_eq!(
        scalar(
            &db,
            "SELECT favorites FROM product_counts WHERE product_id = $1",
            &boots
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT comments FROM product_counts WHERE product_id = $1",
            &boots
        )
        .await,
        2
    );
    let list = app
        .get(&format!("/api/v1/products/{boots}/comments"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(list["comments"][0]["reply_count"], 1);
    let again = app
        .post(repair, Some(&admin), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(again["users_fixed"], 0);

    // The same repair from the command line, straight against the configured database.
    sqlx::query("UPDATE posts SET like_count = 12 WHERE id = $1")
        .bind(&post)
        .execute(db.pool())
        .await
        .unwrap();
    let url = app.settings.database_url();
    let output = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_tokshop"))
            .arg("repair-counts")
            .current_dir(dir.path())
            .env_clear()
            .env("TOKSHOP_DATABASE_URL", url)
            .env("TOKSHOP_LOG_LEVEL", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("corrected 0 user, 1 post, 0 product and 0 comment count rows"),
        "{stdout}"
    );
    let shown = app
        .get(&format!("/api/v1/posts/{post}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(shown["like_count"], 1);
    db.close().await;
}
