//! Test harness: starts the real tokshop (every gRPC service on loopback plus the REST gateway) on port 0 with
//! a fresh database, a temporary SQLite file or a new PostgreSQL database named by a UUID, and returns a
//! client for it.

#![allow(dead_code)]

use std::{path::PathBuf, sync::Arc};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tokshop::Running;
use tokshop_platform::{
    auth::TokenKeys,
    config::{Secret, Settings},
};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The server under test and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub keys: TokenKeys,
    pub settings: Arc<Settings>,
    pub backend: Backend,
    running: Option<Running>,
    /// The PostgreSQL test database's URL, dropped by `stop`.
    postgres_db: Option<String>,
    _dir: tempfile::TempDir,
}

/// A response: status, headers and JSON body (`Value::Null` when empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a flat REST error with this status, code and (if given) param.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str, param: Option<&str>) -> Self {
        let reply = self.expect(status);
        assert_eq!(reply.body["code"], code, "error body: {}", reply.text);
        assert!(reply.body["type"].is_string(), "error body: {}", reply.text);
        assert!(
            reply.body["message"].is_string(),
            "error body: {}",
            reply.text
        );
        if let Some(param) = param {
            assert_eq!(reply.body["param"], param, "error body: {}", reply.text);
        }
        reply
    }
}

/// Settings for a test server: loopback port 0, a temporary data dir, a known JWT secret, no demo seed.
pub fn test_settings(dir: &std::path::Path) -> Settings {
    let mut settings = Settings {
        data_dir: PathBuf::from(dir),
        ..Settings::default()
    };
    settings.gateway.listen = "127.0.0.1:0".parse().unwrap();
    settings.gateway.rate_limit_per_second = 10_000;
    settings.gateway.rate_limit_burst = 10_000;
    settings.auth.jwt_secret = Some(Secret::new(JWT_SECRET));
    settings.seed.demo = false;
    // Sandbox cards are the test provider: a demo shop, whatever its database.
    settings.mode = Some(tokshop_platform::config::Mode::Demo);
    settings.admin.username = Some("root_admin".into());
    settings.admin.email = Some("admin@tokshop.example".into());
    settings.admin.password = Some(Secret::new("admin-password-1"));
    settings
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

/// Starts a server after `adjust` has changed its settings.
pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    let mut postgres_db = None;
    match backend {
        Backend::Sqlite => {
            settings.database.url = Some(Secret::new(format!(
                "sqlite://{}",
                dir.path().join("tokshop.db").display()
            )));
        }
        Backend::Postgres => {
            let url = tokshop_platform::testing::create_postgres_database()
                .await
                .expect("a fresh PostgreSQL test database");
            settings.database.url = Some(Secret::new(&url));
            settings.database.max_connections = 5;
            postgres_db = Some(url);
        }
    }
    adjust(&mut settings);
    let settings = Arc::new(settings);
    let running = tokshop::start(settings.clone(), None, CancellationToken::new())
        .await
        .expect("start tokshop");
    let addr = running.gateway_addr.expect("gateway address");
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        keys: TokenKeys::new(JWT_SECRET.as_bytes(), "tokshop", 900),
        settings,
        backend,
        running: Some(running),
        postgres_db,
        _dir: dir,
    }
}

impl TestApp {
    /// Stops the server (waiting for in-flight requests) and drops a PostgreSQL test database.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("clean shutdown");
        }
        if let Some(url) = self.postgres_db.take()
            && let Err(err) = tokshop_platform::testing::drop_postgres_database(&url).await
        {
            eprintln!("the test database stays: {err:#}");
        }
    }

    /// Stops the server but keeps its database and data dir (dropped by `stop`), for a test that runs processes of
    /// its own on them.
    pub async fn halt(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("clean shutdown");
        }
    }

    /// Stops the server and starts it again on the same database and data dir, with `adjust` applied to the
    /// settings, as a restart of the process would.
    pub async fn restart(&mut self, adjust: impl FnOnce(&mut Settings)) {
        self.halt().await;
        let mut settings = (*self.settings).clone();
        adjust(&mut settings);
        let settings = Arc::new(settings);
        let running = tokshop::start(settings.clone(), None, CancellationToken::new())
            .await
            .expect("restart tokshop");
        self.base = format!("http://{}", running.gateway_addr.expect("gateway address"));
        self.settings = settings;
        self.running = Some(running);
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    /// Sends a request; `token` adds a bearer header, `body` a JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.call_with(method, path, token, body, &[]).await
    }

    /// Like [`TestApp::call`], with extra request headers.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method_seen = method.clone();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        crate::contract::check(
            &self.client,
            &self.base,
            &method_seen,
            path,
            status.as_u16(),
            body["code"].as_str(),
        )
        .await;
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Registers `username` with a good password; returns the session JSON.
    pub async fn register(&self, username: &str) -> Value {
        self.post(
            "/api/v1/auth/register",
            None,
            json!({"username": username, "email": format!("{username}@example.com"), "password": "s3cret-pass"}),
        )
        .await
        .expect(201)
        .body
    }

    /// Starts a chat conversation for `token`'s user; returns its id.
    pub async fn conversation(&self, token: &str) -> String {
        self.post("/api/v1/chat/conversations", Some(token), json!({}))
            .await
            .expect(201)
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Registers a user and returns their access token.
    pub async fn buyer(&self, username: &str) -> String {
        self.register(username).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Registers a user, makes them a seller, and returns (user id, access token with the seller role).
    pub async fn seller(&self, username: &str) -> (String, String) {
        let token = self.buyer(username).await;
        let session = self
            .post(
                "/api/v1/seller/onboarding",
                Some(&token),
                json!({"shop_name": format!("{username} shop")}),
            )
            .await
            .expect(200)
            .body;
        (
            session["user"]["id"].as_str().unwrap().to_owned(),
            session["access_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Logs in as the configured admin; returns the access token.
    pub async fn admin(&self) -> String {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({"login": "root_admin", "password": "admin-password-1"}),
        )
        .await
        .expect(200)
        .body["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a top-level category and a child; returns the child's id.
    pub async fn category(&self, slug: &str) -> String {
        let admin = self.admin().await;
        let parent = self
            .post(
                "/api/v1/categories",
                Some(&admin),
                json!({"name": format!("{slug} top"), "slug": format!("{slug}-top")}),
            )
            .await
            .expect(201)
            .body;
        self.post(
            "/api/v1/categories",
            Some(&admin),
            json!({"name": format!("{slug} leaf"), "slug": slug, "parent_id": parent["id"]}),
        )
        .await
        .expect(201)
        .body["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Runs each listed `async fn(&TestApp)` once on SQLite and once on PostgreSQL, each on a fresh server.
/// `with ADJUST;` first changes the settings of both servers (`fn(&mut Settings)`).
#[macro_export]
macro_rules! on_both_databases {
    (with $adjust:expr; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::spawn_with($crate::common::Backend::Sqlite, $adjust).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::spawn_with($crate::common::Backend::Postgres, $adjust).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_databases!(with |_| {}; $($name),*);
    };
}

/// A sample product body for `POST /api/v1/seller/products`.
pub fn product_body(category_id: &str, title: &str, price_minor: i64, stock: i64) -> Value {
    json!({
        "category_id": category_id,
        "title": title,
        "description": format!("{title}, a fine thing"),
        "image_urls": ["https://img.example.com/a.jpg"],
        "variants": [
            {"sku": "BLUE-42", "options": [{"name": "colour", "value": "blue"}, {"name": "size", "value": "42"}], "price_minor": price_minor, "stock": stock},
            {"sku": "RED-43", "options": [{"name": "colour", "value": "red"}, {"name": "size", "value": "43"}], "price_minor": price_minor + 500, "stock": 0}
        ]
    })
}
