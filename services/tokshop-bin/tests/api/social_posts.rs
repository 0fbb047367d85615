//! Posts and feeds over REST: publishing text with linked products, what a feed item shows (live price, stock,
//! counts, whether the viewer liked it), deleting (author only, likes go with the post), feed paging that neither
//! repeats nor skips while new posts arrive, and the following feed.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use tokshop_platform::auth::authorized;
use tokshop_proto::social::{PublishPostRequest, post_service_client::PostServiceClient};

use crate::common::{TestApp, product_body};

crate::on_both_databases!(
    with |s| s.social.blocked_words = vec!["scam".into()];
    publish_text_post_and_read_it,
    post_input_is_checked,
    feed_item_shows_products_counts_and_viewer_like,
    only_the_author_deletes_and_likes_go_with_the_post,
    feed_pages_neither_repeat_nor_skip_while_posts_arrive,
    latest_time_shows_only_older_posts,
    following_feed_has_only_followed_authors,
    user_posts_list_one_author,
);

/// A signed-up user: (id, access token).
async fn person(app: &TestApp, name: &str) -> (String, String) {
    let session = app.register(name).await;
    (
        session["user"]["id"].as_str().unwrap().to_owned(),
        session["access_token"].as_str().unwrap().to_owned(),
    )
}

async fn publish(app: &TestApp, token: &str, body: Value) -> Value {
    app.post("/api/v1/posts", Some(token), body)
        .await
        .expect(201)
        .body
}

/// A listed product by a new seller: its id.
async fn listed_product(app: &TestApp, title: &str, price_minor: i64, stock: i64) -> String {
    let category = app.category(&format!("cat-{}", title.to_lowercase())).await;
    let (_, seller) = app.seller(&format!("shop_{}", title.to_lowercase())).await;
    app.post(
        "/api/v1/seller/products",
        Some(&seller),
        product_body(&category, title, price_minor, stock),
    )
    .await
    .expect(201)
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn publish_text_post_and_read_it(app: &TestApp) {
    let (alice_id, alice) = person(app, "alice").await;
    let post = publish(app, &alice, json!({"text": "  Loving my new sneakers  "})).await;
    assert!(post["id"].as_str().unwrap().starts_with("pst_"));
    assert_eq!(post["text"], "Loving my new sneakers");
    assert_eq!(post["author"]["id"], alice_id);
    assert_eq!(post["author"]["username"], "alice");
    assert_eq!(post["like_count"], 0);
    assert_eq!(post["comment_count"], 0);
    assert_eq!(post["media"], json!([]));
    assert_eq!(post["notices"], json!([]));

    let id = post["id"].as_str().unwrap();
    let read = app
        .get(&format!("/api/v1/posts/{id}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(read["text"], "Loving my new sneakers");
    assert_eq!(read["created_at_ms"], post["created_at_ms"]);

    // A retry with the same Idempotency-Key is the same post, not a second one.
    let body = json!({"text": "once only"});
    let first = app
        .call_with(
            Method::POST,
            "/api/v1/posts",
            Some(&alice),
            Some(body.clone()),
            &[("Idempotency-Key", "post-1")],
        )
        .await
        .expect(201)
        .body;
    let again = app
        .call_with(
            Method::POST,
            "/api/v1/posts",
            Some(&alice),
            Some(body),
            &[("Idempotency-Key", "post-1")],
        )
        .await
        .expect(201)
        .body;
    assert_eq!(first["id"], again["id"]);
    let mine = app
        .get(&format!("/api/v1/users/{alice_id}/posts"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(ids(&mine).len(), 2);

    // Straight to the service: the same request id is the same post, counted once.
    let addr = app.running().social_addr.unwrap();
    let mut posts = PostServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let request = PublishPostRequest {
        text: "retried".into(),
        request_id: "req-7".into(),
        ..Default::default()
    };
    let once = posts
        .publish_post(authorized(request.clone(), Some(&alice)))
        .await
        .unwrap()
        .into_inner();
    let twice = posts
        .publish_post(authorized(request, Some(&alice)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(once.id, twice.id);
    let profile = app
        .get(&format!("/api/v1/users/{alice_id}/social-profile"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(profile["counts"]["posts"], 3);

    app.get("/api/v1/posts/pst_nope", None)
        .await
        .expect_error(404, "post_not_found", None);
    app.post("/api/v1/posts", None, json!({"text": "hi"}))
        .await
        .expect(401);
}

async fn post_input_is_checked(app: &TestApp) {
    let (_, bob) = person(app, "bob").await;
    app.post("/api/v1/posts", Some(&bob), json!({"text": "   "}))
        .await
        .expect_error(422, "invalid_parameter", Some("text"));
    app.post(
        "/api/v1/posts",
        Some(&bob),
        json!({"text": "x".repeat(2001)}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("text"));
    app.post("/api/v1/posts", Some(&bob), json!({"text": "total scam"}))
        .await
        .expect_error(422, "content_policy", Some("text"));
    app.post("/api/v1/posts", Some(&bob), json!({"text": "<b>bold</b>"}))
        .await
        .expect_error(422, "content_policy", Some("text"));
    app.post(
        "/api/v1/posts",
        Some(&bob),
        json!({"text": "look", "product_ids": ["prd_0192f3aa00000000000000000000beef"]}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("product_ids"));
    let too_many: Vec<String> = (0..10).map(|i| format!("prd_{i}")).collect();
    app.post(
        "/api/v1/posts",
        Some(&bob),
        json!({"text": "look", "product_ids": too_many}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("product_ids"));
    let sha = "0".repeat(64);
    app.post(
        "/api/v1/posts",
        Some(&bob),
        json!({"media_ids": [format!("med_{sha}")]}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("media_ids"));
    // Every id given counts, repeats too; an id longer than any id is refused for its length.
    use tokshop_platform::limits::{
        MAX_ID,
        social::{MAX_ATTACHED, MEDIA_ID_LEN},
    };
    let mug = listed_product(app, "Mug", 900, 3).await;
    app.post(
        "/api/v1/posts",
        Some(&bob),
        json!({"text": "look", "product_ids": vec![mug; MAX_ATTACHED + 1]}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("product_ids"));
    app.post(
        "/api/v1/posts",
        Some(&bob),
        json!({"text": "look", "product_ids": ["p".repeat(MAX_ID + 1)]}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("product_ids[0]"));
    app.post(
        "/api/v1/posts",
        Some(&bob),
        json!({"media_ids": ["", "m".repeat(MEDIA_ID_LEN + 1)]}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("media_ids[1]"));
    let page = app
        .get("/api/v1/feed/discover", None)
        .await
        .expect(200)
        .body;
    assert_eq!(page["posts"], json!([]), "nothing refused was published");
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["next_time"], Value::Null);
}

async fn feed_item_shows_products_counts_and_viewer_like(app: &TestApp) {
    let (_, carol) = person(app, "carol").await;
    let (_, dave) = person(app, "dave").await;
    let boots = listed_product(app, "Boots", 4999, 3).await;
    let scarf = listed_product(app, "Scarf", 1500, 0).await;
    let post = publish(
        app,
        &carol,
        json!({"text": "winter haul", "product_ids": [boots, scarf]}),
    )
    .await;
    let id = post["id"].as_str().unwrap();
    assert_eq!(post["products"][0]["id"], boots);
    assert_eq!(post["products"][0]["title"], "Boots");
    assert_eq!(post["products"][0]["price"]["amount_minor"], 4999);
    assert_eq!(post["products"][0]["in_stock"], true);
    assert_eq!(post["products"][0]["available"], true);
    assert_eq!(post["products"][1]["id"], scarf);
    assert_eq!(post["products"][1]["in_stock"], false);

    app.call(
        Method::PUT,
        &format!("/api/v1/posts/{id}/like"),
        Some(&dave),
        None,
    )
    .await
    .expect(200);
    let feed = app
        .get("/api/v1/feed/discover", Some(&dave))
        .await
        .expect(200)
        .body;
    let item = &feed["posts"][0];
    assert_eq!(item["id"], id);
    assert_eq!(item["like_count"], 1);
    assert_eq!(item["viewer_liked"], true);
    assert_eq!(item["products"][0]["price"]["amount_minor"], 4999);
    let as_carol = app
        .get("/api/v1/feed/discover", Some(&carol))
        .await
        .expect(200)
        .body;
    assert_eq!(as_carol["posts"][0]["viewer_liked"], false);
    let anonymous = app
        .get(&format!("/api/v1/posts/{id}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(anonymous["like_count"], 1);
    assert_eq!(anonymous["viewer_liked"], false);
}

async fn only_the_author_deletes_and_likes_go_with_the_post(app: &TestApp) {
    let (erin_id, erin) = person(app, "erin").await;
    let (_, frank) = person(app, "frank").await;
    let post = publish(app, &erin, json!({"text": "delete me later"})).await;
    let id = post["id"].as_str().unwrap();
    app.call(
        Method::PUT,
        &format!("/api/v1/posts/{id}/like"),
        Some(&frank),
        None,
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/posts/{id}/comments"),
        Some(&frank),
        json!({"text": "nice"}),
    )
    .await
    .expect(201);

    app.delete(&format!("/api/v1/posts/{id}"), Some(&frank))
        .await
        .expect_error(403, "forbidden", None);
    app.get(&format!("/api/v1/posts/{id}"), None)
        .await
        .expect(200);
    let before = app
        .get(&format!("/api/v1/users/{erin_id}/social-profile"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(before["counts"]["posts"], 1);
    assert_eq!(before["counts"]["likes_received"], 1);

    app.delete(&format!("/api/v1/posts/{id}"), Some(&erin))
        .await
        .expect(204);
    app.get(&format!("/api/v1/posts/{id}"), None)
        .await
        .expect_error(404, "post_not_found", None);
    app.delete(&format!("/api/v1/posts/{id}"), Some(&erin))
        .await
        .expect_error(404, "post_not_found", None);
    let posts = app
        .get(&format!("/api/v1/users/{erin_id}/posts"), None)
        .await
        .expect(200)
        .body;
    assert!(ids(&posts).is_empty());

    // The author's counts no longer include the post nor its like, and its rows are gone.
    let profile = app
        .get(&format!("/api/v1/users/{erin_id}/social-profile"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(profile["counts"]["posts"], 0);
    assert_eq!(profile["counts"]["likes_received"], 0);
    let url = app
        .settings
        .database
        .url
        .as_ref()
        .unwrap()
        .expose()
        .to_owned();
    let db = tokshop_platform::db::Db::connect(&url, 1).await.unwrap();
    for table in ["post_likes", "comments"] {
        let (left,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE post_id = $1"
        )))
        .bind(id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(left, 0, "{table} of the deleted post");
    }
    db.close().await;
}

async fn feed_pages_neither_repeat_nor_skip_while_posts_arrive(app: &TestApp) {
    let (_, gina) = person(app, "gina").await;
    let (_, hank) = person(app, "hank").await;
    let mut first_batch = Vec::new();
    for i in 0..7 {
        let post = publish(app, &gina, json!({"text": format!("post {i}")})).await;
        first_batch.push(post["id"].as_str().unwrap().to_owned());
    }
    first_batch.reverse();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/feed/discover?limit=3&cursor={c}"),
            None => "/api/v1/feed/discover?limit=3".to_owned(),
        };
        let page = app.get(&path, Some(&hank)).await.expect(200).body;
        seen.extend(ids(&page));
        // Someone publishes between page fetches.
        publish(app, &hank, json!({"text": format!("interruption {round}")})).await;
        round += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, first_batch, "every post exactly once, newest first");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
}

async fn latest_time_shows_only_older_posts(app: &TestApp) {
    let (_, ivy) = person(app, "ivy").await;
    let old = publish(app, &ivy, json!({"text": "old"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let new = publish(app, &ivy, json!({"text": "new"})).await;
    let page = app
        .get("/api/v1/feed/discover?limit=1", None)
        .await
        .expect(200)
        .body;
    assert_eq!(ids(&page), vec![new["id"].as_str().unwrap().to_owned()]);
    assert_eq!(page["next_time"], new["created_at_ms"]);
    let older = app
        .get(
            &format!("/api/v1/feed/discover?latest_time={}", page["next_time"]),
            None,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(ids(&older), vec![old["id"].as_str().unwrap().to_owned()]);
}

async fn following_feed_has_only_followed_authors(app: &TestApp) {
    let (_, jack) = person(app, "jack").await;
    let (kate_id, kate) = person(app, "kate").await;
    let (_, liam) = person(app, "liam").await;
    let from_kate = publish(app, &kate, json!({"text": "from kate"})).await;
    publish(app, &liam, json!({"text": "from liam"})).await;
    publish(app, &jack, json!({"text": "from jack himself"})).await;

    let empty = app
        .get("/api/v1/feed/following", Some(&jack))
        .await
        .expect(200)
        .body;
    assert!(ids(&empty).is_empty());
    app.call(
        Method::PUT,
        &format!("/api/v1/users/{kate_id}/follow"),
        Some(&jack),
        None,
    )
    .await
    .expect(200);
    let feed = app
        .get("/api/v1/feed/following", Some(&jack))
        .await
        .expect(200)
        .body;
    assert_eq!(
        ids(&feed),
        vec![from_kate["id"].as_str().unwrap().to_owned()]
    );
    assert_eq!(feed["posts"][0]["author"]["viewer_follows"], true);
    app.get("/api/v1/feed/following", None).await.expect(401);
}

async fn user_posts_list_one_author(app: &TestApp) {
    let (mia_id, mia) = person(app, "mia").await;
    let (_, noah) = person(app, "noah").await;
    for i in 0..3 {
        publish(app, &mia, json!({"text": format!("mia {i}")})).await;
    }
    publish(app, &noah, json!({"text": "noah"})).await;
    let first = app
        .get(&format!("/api/v1/users/{mia_id}/posts?limit=2"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(first["posts"][0]["text"], "mia 2");
    assert_eq!(first["posts"][1]["text"], "mia 1");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/users/{mia_id}/posts?limit=2&cursor={cursor}"),
            None,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(second["posts"][0]["text"], "mia 0");
    assert_eq!(second["next_cursor"], Value::Null);
    app.get("/api/v1/users/usr_nobody/posts", None)
        .await
        .expect_error(404, "user_not_found", None);
}
