//! Follows over REST: following and unfollowing (repeats harmless, yourself refused), exact follower counts
//! under concurrent follows, following / followers / friends lists that page without repeats or gaps and show
//! the viewer's relation to each user, and social profiles with their counts.

use std::collections::HashSet;

use futures::{StreamExt, stream};
use reqwest::Method;
use serde_json::Value;
use tokshop_platform::auth::Role;

use crate::common::{TestApp, product_body};

crate::on_both_databases!(
    follow_and_unfollow_are_repeatable,
    concurrent_follows_count_exactly,
    relation_lists_page_without_repeats_and_show_viewer_flags,
    profile_shows_counts,
);

/// A signed-up user: (id, access token).
pub async fn person(app: &TestApp, name: &str) -> (String, String) {
    let session = app.register(name).await;
    (
        session["user"]["id"].as_str().unwrap().to_owned(),
        session["access_token"].as_str().unwrap().to_owned(),
    )
}

pub async fn follow(app: &TestApp, token: &str, user_id: &str) -> Value {
    app.call(
        Method::PUT,
        &format!("/api/v1/users/{user_id}/follow"),
        Some(token),
        None,
    )
    .await
    .expect(200)
    .body
}

pub async fn profile(app: &TestApp, user_id: &str, token: Option<&str>) -> Value {
    app.get(&format!("/api/v1/users/{user_id}/social-profile"), token)
        .await
        .expect(200)
        .body
}

/// Every page of a relation list, in order, as (user id, since_ms).
async fn whole_list(app: &TestApp, path: &str, token: Option<&str>, limit: usize) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}?limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = app.get(&url, token).await.expect(200).body;
        let users = page["users"].as_array().unwrap();
        assert!(users.len() <= limit);
        all.extend(users.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    all
}

fn ids(users: &[Value]) -> Vec<String> {
    users
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn follow_and_unfollow_are_repeatable(app: &TestApp) {
    let (seller_id, seller) = app.seller("shoe_shop").await;
    let (_, ann) = person(app, "ann").await;

    let first = follow(app, &ann, &seller_id).await;
    assert_eq!(first["changed"], true);
    assert_eq!(first["following"], true);
    assert_eq!(first["followed_by"], false);
    assert_eq!(first["friends"], false);
    assert_eq!(first["followers"], 1);
    assert_eq!(first["user"]["id"], seller_id.as_str());
    assert_eq!(first["user"]["is_seller"], true);
    assert_eq!(first["user"]["viewer_follows"], true);

    let again = follow(app, &ann, &seller_id).await;
    assert_eq!(again["changed"], false);
    assert_eq!(again["followers"], 1);

    let follow_path = format!("/api/v1/users/{seller_id}/follow");
    let gone = app.delete(&follow_path, Some(&ann)).await.expect(200).body;
    assert_eq!(gone["changed"], true);
    assert_eq!(gone["following"], false);
    assert_eq!(gone["followers"], 0);
    let gone_again = app.delete(&follow_path, Some(&ann)).await.expect(200).body;
    assert_eq!(gone_again["changed"], false);
    assert_eq!(gone_again["followers"], 0);

    // Yourself, nobody, or without signing in.
    assert_eq!(
        profile(app, "me", Some(&seller)).await["user"]["id"],
        seller_id.as_str()
    );
    app.call(
        Method::PUT,
        &format!("/api/v1/users/{seller_id}/follow"),
        Some(&seller),
        None,
    )
    .await
    .expect_error(422, "invalid_parameter", Some("user_id"));
    app.call(
        Method::PUT,
        "/api/v1/users/usr_0000000000000000000000000000dead/follow",
        Some(&ann),
        None,
    )
    .await
    .expect_error(404, "user_not_found", None);
    app.call(
        Method::PUT,
        &format!("/api/v1/users/{seller_id}/follow"),
        None,
        None,
    )
    .await
    .expect(401);
    assert_eq!(
        profile(app, &seller_id, None).await["counts"]["followers"],
        0
    );
}

async fn concurrent_follows_count_exactly(app: &TestApp) {
    let (seller_id, _) = app.seller("busy_shop").await;
    // 50 fans follow at once, the first ten twice; then the first twenty unfollow at once, twice each.
    let fans: Vec<String> = (0..50)
        .map(|i| {
            app.keys
                .issue(&format!("usr_fan{i:03}"), &[Role::Buyer])
                .unwrap()
                .token
        })
        .collect();
    let calls: Vec<(Method, &String)> = fans
        .iter()
        .chain(fans.iter().take(10))
        .map(|t| (Method::PUT, t))
        .collect();
    let changed = run_all(app, &seller_id, calls).await;
    assert_eq!(
        changed, 50,
        "each fan's first follow changes something, repeats do not"
    );
    assert_eq!(
        profile(app, &seller_id, None).await["counts"]["followers"],
        50
    );

    let calls: Vec<(Method, &String)> = fans
        .iter()
        .take(20)
        .chain(fans.iter().take(20))
        .map(|t| (Method::DELETE, t))
        .collect();
    let changed = run_all(app, &seller_id, calls).await;
    assert_eq!(changed, 20);
    assert_eq!(
        profile(app, &seller_id, None).await["counts"]["followers"],
        30
    );
}

/// Sends every follow or unfollow at once; returns how many reported a change.
async fn run_all(app: &TestApp, user_id: &str, calls: Vec<(Method, &String)>) -> usize {
    let path = format!("/api/v1/users/{user_id}/follow");
    let replies: Vec<Value> = stream::iter(calls)
        .map(|(method, token)| {
            let path = path.clone();
            async move {
                app.call(method, &path, Some(token), None)
                    .await
                    .expect(200)
                    .body
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    replies.iter().filter(|r| r["changed"] == true).count()
}

async fn relation_lists_page_without_repeats_and_show_viewer_flags(app: &TestApp) {
    let (star_id, star) = person(app, "star").await;
    let mut fans = Vec::new();
    for i in 0..7 {
        let fan = person(app, &format!("fan_{i}")).await;
        follow(app, &fan.1, &star_id).await;
        fans.push(fan);
    }
    // The star follows back fans 0, 2 and 4: three friends, newest friendship first.
    for i in [0, 2, 4] {
        // Apart in time, so newest-first order is the order of these calls.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        follow(app, &star, &fans[i].0).await;
    }
    // Fan 1 follows fan 3; fan 5 follows fan 1.
    follow(app, &fans[1].1, &fans[3].0).await;
    follow(app, &fans[5].1, &fans[1].0).await;

    let followers_path = format!("/api/v1/users/{star_id}/followers");
    for limit in [1, 3, 50] {
        let all = whole_list(app, &followers_path, None, limit).await;
        let listed = ids(&all);
        assert_eq!(listed.len(), 7, "limit {limit}");
        assert_eq!(listed.iter().collect::<HashSet<_>>().len(), 7, "no repeats");
        // Newest first: the last to follow comes first.
        let expected: Vec<String> = fans.iter().rev().map(|f| f.0.clone()).collect();
        assert_eq!(listed, expected, "limit {limit}");
        let since: Vec<i64> = all
            .iter()
            .map(|u| u["since_ms"].as_i64().unwrap())
            .collect();
        assert!(since.windows(2).all(|w| w[0] >= w[1]));
        // Anonymous viewers see no relation flags.
        assert!(all.iter().all(|u| u["viewer_follows"] == false));
    }

    // Fan 1 looks at the star's followers: follows fan 3, is followed by fan 5.
    let seen_by_fan1 = whole_list(app, &followers_path, Some(&fans[1].1), 2).await;
    for user in &seen_by_fan1 {
        let id = user["id"].as_str().unwrap();
        assert_eq!(user["viewer_follows"], id == fans[3].0, "{user}");
        assert_eq!(user["follows_viewer"], id == fans[5].0, "{user}");
    }

    let friends = whole_list(app, &format!("/api/v1/users/{star_id}/friends"), None, 2).await;
    assert_eq!(
        ids(&friends),
        vec![fans[4].0.clone(), fans[2].0.clone(), fans[0].0.clone()]
    );
    // A friendship begins with the later of the two follows: the star's follow back.
    assert!(friends.iter().all(|f| f["since_ms"].as_i64().unwrap() > 0));
    let mine = whole_list(app, "/api/v1/users/me/friends", Some(&star), 50).await;
    assert_eq!(ids(&mine), ids(&friends));

    let following = whole_list(app, "/api/v1/users/me/following", Some(&star), 2).await;
    assert_eq!(
        ids(&following),
        vec![fans[4].0.clone(), fans[2].0.clone(), fans[0].0.clone()]
    );
    // The star follows each of them and each follows the star.
    assert!(
        following
            .iter()
            .all(|u| u["viewer_follows"] == true && u["follows_viewer"] == true)
    );
    let fan6_following = whole_list(
        app,
        &format!("/api/v1/users/{}/following", fans[6].0),
        None,
        5,
    )
    .await;
    assert_eq!(ids(&fan6_following), vec![star_id.clone()]);

    // `me` needs a signed-in user; unknown users and junk cursors are clear errors.
    app.get("/api/v1/users/me/following", None)
        .await
        .expect(401);
    app.get(
        "/api/v1/users/usr_0000000000000000000000000000dead/followers",
        None,
    )
    .await
    .expect_error(404, "user_not_found", None);
    app.get(&format!("{followers_path}?cursor=junk!"), None)
        .await
        .expect_error(422, "invalid_parameter", Some("cursor"));
    app.get(&format!("{followers_path}?limit=101"), None)
        .await
        .expect_error(422, "invalid_parameter", Some("limit"));
}

async fn profile_shows_counts(app: &TestApp) {
    let category = app.category("boots").await;
    let (seller_id, seller) = app.seller("boot_shop").await;
    for title in ["Trail boot", "City boot"] {
        app.post(
            "/api/v1/seller/products",
            Some(&seller),
            product_body(&category, title, 5_000, 3),
        )
        .await
        .expect(201);
    }
    let (ann_id, ann) = person(app, "ann").await;
    let (ben_id, ben) = person(app, "ben").await;
    follow(app, &ann, &seller_id).await;
    follow(app, &ben, &seller_id).await;
    follow(app, &seller, &ann_id).await;

    let shop = profile(app, &seller_id, Some(&ben)).await;
    assert_eq!(shop["user"]["id"], seller_id.as_str());
    assert_eq!(shop["user"]["is_seller"], true);
    assert_eq!(shop["user"]["viewer_follows"], true);
    assert_eq!(shop["user"]["follows_viewer"], false);
    assert!(shop["joined_at_ms"].as_i64().unwrap() > 0);
    let counts = &shop["counts"];
    assert_eq!(counts["followers"], 2);
    assert_eq!(counts["following"], 1);
    assert_eq!(counts["friends"], 1);
    assert_eq!(counts["products"], 2);
    assert_eq!(counts["posts"], 0);

    // By username (`@name`, any letter case): the same profile; an unknown username is 404.
    let by_name = app
        .get("/api/v1/users/@BOOT_SHOP/social-profile", Some(&ben))
        .await
        .expect(200)
        .body;
    assert_eq!(by_name["user"]["id"], seller_id.as_str());
    assert_eq!(by_name["counts"]["followers"], 2);
    app.get("/api/v1/users/@nobody_here/social-profile", None)
        .await
        .expect_error(404, "user_not_found", None);

    let mine = profile(app, "me", Some(&ann)).await;
    assert_eq!(mine["user"]["id"], ann_id.as_str());
    assert_eq!(mine["user"]["is_seller"], false);
    assert_eq!(mine["counts"]["following"], 1);
    assert_eq!(mine["counts"]["followers"], 1);
    assert_eq!(mine["counts"]["friends"], 1);
    assert_eq!(mine["counts"]["products"], 0);
    let bens = profile(app, &ben_id, None).await;
    assert_eq!(bens["counts"]["friends"], 0);

    // The plain public profile still answers as before.
    let plain = app
        .get(&format!("/api/v1/users/{seller_id}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(plain["id"], seller_id.as_str());
    app.get("/api/v1/users/me/social-profile", None)
        .await
        .expect(401);
}
