//! Limits shared by gateway replicas through Redis (`redis.url`): two servers on one Redis count the same client's
//! requests and the same account's wrong passwords, and with Redis down each still limits on its own. The test
//! server is TOKSHOP_TEST_REDIS_URL (default redis://127.0.0.1:6379); without one a test says it skipped, except
//! under CI. The limits touch no database, so each server has its own SQLite file.

use serde_json::json;
use tokshop_platform::config::{RedisSettings, Secret, Settings};

use crate::common::{Backend, Reply, TestApp, spawn_with};

/// Two servers (replicas A and B) on `redis`, behind a trusted proxy on loopback so each request can name its
/// client address in X-Forwarded-For.
async fn replicas(redis: &RedisSettings, adjust: fn(&mut Settings)) -> (TestApp, TestApp) {
    let settings = |s: &mut Settings| {
        s.redis = redis.clone();
        s.gateway.trusted_proxies = vec!["127.0.0.0/8".into()];
        adjust(s);
    };
    (
        spawn_with(Backend::Sqlite, settings).await,
        spawn_with(Backend::Sqlite, settings).await,
    )
}

/// Two replicas on the test server, or `None` when the test skipped.
async fn replicas_on_test_redis(adjust: fn(&mut Settings)) -> Option<(TestApp, TestApp)> {
    Some(replicas(&tokshop_platform::testing::redis().await?, adjust).await)
}

async fn categories(app: &TestApp, client: &str, token: Option<&str>) -> Reply {
    app.call_with(
        reqwest::Method::GET,
        "/api/v1/categories",
        token,
        None,
        &[("x-forwarded-for", client)],
    )
    .await
}

async fn login(app: &TestApp, login: &str, password: &str, client: &str) -> Reply {
    app.call_with(
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"login": login, "password": password})),
        &[("x-forwarded-for", client)],
    )
    .await
}

fn retry_after(reply: &Reply) -> u64 {
    reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A client's burst spent half on A and half on B is spent: its next request is 429 on either, with Retry-After.
/// A signed-in user's own bucket counts over all their addresses and both replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_replicas() {
    let Some((a, b)) = replicas_on_test_redis(|s| {
        s.gateway.rate_limit_per_second = 1;
        s.gateway.rate_limit_burst = 4;
        s.redis.user_rate_limit_per_second = 1;
        s.redis.user_rate_limit_burst = 3;
    })
    .await
    else {
        return;
    };
    let client = "203.0.113.10";
    let started = std::time::Instant::now();
    for app in [&a, &a, &b, &b] {
        categories(app, client, None).await.expect(200);
    }
    for app in [&a, &b] {
        let limited = categories(app, client, None)
            .await
            .expect_error(429, "rate_limited", None);
        assert_eq!(retry_after(&limited), 1, "after {:?}", started.elapsed());
    }
    categories(&b, "203.0.113.11", None).await.expect(200);

    let session = a
        .call_with(
            reqwest::Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"username": "spread", "email": "spread@example.com", "password": "s3cret-pass"})),
            &[("x-forwarded-for", "198.51.100.1")],
        )
        .await
        .expect(201)
        .body;
    let token = session["access_token"].as_str().unwrap();
    for (app, client) in [
        (&a, "198.51.100.2"),
        (&b, "198.51.100.3"),
        (&a, "198.51.100.4"),
    ] {
        categories(app, client, Some(token)).await.expect(200);
    }
    categories(&b, "198.51.100.5", Some(token))
        .await
        .expect_error(429, "rate_limited", None);
    // The same fresh address without the token, and a token that does not verify, are limited by address alone.
    categories(&b, "198.51.100.5", None).await.expect(200);
    categories(&a, "198.51.100.6", Some("not-a-token"))
        .await
        .expect(401);
    a.stop().await;
    b.stop().await;
}

/// Wrong passwords sent to A and B lock the account on both; so do guesses from one address at many accounts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_failures_count_across_replicas() {
    let Some((a, b)) = replicas_on_test_redis(|s| {
        s.gateway.login_failures_per_account = 3;
        s.gateway.login_failures_per_ip = 4;
        s.gateway.login_failure_window_secs = 120;
    })
    .await
    else {
        return;
    };
    a.register("guessed").await;
    for (app, client) in [(&a, "192.0.2.1"), (&b, "192.0.2.2"), (&a, "192.0.2.3")] {
        login(app, "guessed", "wrong-password", client)
            .await
            .expect_error(401, "unauthenticated", None);
    }
    for app in [&a, &b] {
        let locked = login(app, "Guessed", "s3cret-pass", "192.0.2.4")
            .await
            .expect_error(429, "too_many_login_failures", None);
        assert!((1..=120).contains(&retry_after(&locked)));
    }

    let guesser = "192.0.2.50";
    for (n, app) in [&a, &b, &a, &b].into_iter().enumerate() {
        login(app, &format!("victim{n}"), "guess", guesser)
            .await
            .expect(401);
    }
    login(&b, "victim9", "guess", guesser)
        .await
        .expect_error(429, "too_many_login_failures", None);
    a.stop().await;
    b.stop().await;
}

/// Redis unreachable (nothing listens on its port): requests are still served, and each replica still limits
/// on its own, requests and wrong passwords alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_each_replica_limits_on_its_own() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let redis = RedisSettings {
        url: Some(Secret::new(format!("redis://127.0.0.1:{port}"))),
        ..RedisSettings::default()
    };
    let (a, b) = replicas(&redis, |s| {
        s.gateway.rate_limit_per_second = 1;
        s.gateway.rate_limit_burst = 2;
        s.gateway.login_failures_per_account = 2;
    })
    .await;
    let client = "203.0.113.20";
    for app in [&a, &b] {
        for _ in 0..2 {
            categories(app, client, None).await.expect(200);
        }
        categories(app, client, None)
            .await
            .expect_error(429, "rate_limited", None);
    }

    for _ in 0..2 {
        login(&a, "someone", "guess", "203.0.113.21")
            .await
            .expect(401);
    }
    login(&a, "someone", "guess", "203.0.113.22")
        .await
        .expect_error(429, "too_many_login_failures", None);
    login(&b, "someone", "guess", "203.0.113.23")
        .await
        .expect(401);
    a.stop().await;
    b.stop().await;
}
