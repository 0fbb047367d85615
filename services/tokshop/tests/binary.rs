//! The real `tokshop` binary with no configuration but a data folder: it starts every service, seeds the demo
//! shop, answers over HTTP, and exits cleanly on SIGTERM; a second start finds the seed already there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server process; killed if the test fails before stopping it, so no stray server outlives the test.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `tokshop serve` in `dir` on `port` and waits for its "ready" line.
fn start(dir: &std::path::Path, port: u16) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokshop"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TOKSHOP_GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("TOKSHOP_SEED_PRODUCTS", "24")
        .env("TOKSHOP_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tokshop");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tokshop did not become ready");
        }
        match lines.next() {
            Some(Ok(line)) if line.contains("tokshop is ready") => break,
            Some(Ok(_)) => continue,
            _ => {
                let _ = child.kill();
                panic!("tokshop exited before it was ready")
            }
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server(Some(child))
}

fn terminate(mut server: Server) -> std::process::ExitStatus {
    let mut child = server.0.take().unwrap();
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "tokshop did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn listed_products(client: &reqwest::Client, base: &str) -> usize {
    let page: serde_json::Value = client
        .get(format!("{base}/api/v1/products?limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["products"].as_array().unwrap().len()
}

#[tokio::test]
async fn embedded_default_runs_seeds_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = start(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    assert_eq!(listed_products(&client, &base).await, 24);
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"login": "demo", "password": "demo-shopper-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(
        dir.path().join("data/tokshop.db").exists(),
        "SQLite file under ./data"
    );

    // A newcomer can talk to the shop in one command (the demo shopper, the rule planner).
    let mut chat = Command::new(env!("CARGO_BIN_EXE_tokshop"))
        .args(["chat", "--url", &base])
        .current_dir(dir.path())
        .env_clear()
        .env("TOKSHOP_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tokshop chat");
    {
        use std::io::Write;
        let mut stdin = chat.stdin.take().unwrap();
        stdin
            .write_all(b"find shoes\nwhat is in my cart\n")
            .unwrap();
    }
    let output = chat.wait_with_output().unwrap();
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{transcript}");
    assert!(transcript.contains("rule-planner"), "{transcript}");
    assert_eq!(transcript.matches("shop> ").count(), 2, "{transcript}");

    let status = terminate(child);
    assert!(status.success(), "exit status after SIGTERM: {status:?}");

    // A restart on the same data keeps everything and seeds nothing twice.
    let child = start(dir.path(), port);
    let client = reqwest::Client::new();
    assert_eq!(listed_products(&client, &base).await, 24);
    let status = terminate(child);
    assert!(status.success());

    // The books can be checked offline, straight from the database.
    let verified = Command::new(env!("CARGO_BIN_EXE_tokshop"))
        .arg("verify-ledger")
        .current_dir(dir.path())
        .env_clear()
        .env("TOKSHOP_LOG_LEVEL", "warn")
        .output()
        .expect("run verify-ledger");
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{stdout}");
    assert!(stdout.contains("balanced"), "{stdout}");
}
