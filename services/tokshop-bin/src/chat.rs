//! `tokshop chat`: a terminal client for a running tokshop. It signs in (the demo shopper by default), opens a
//! conversation with the shopping agent and relays lines until end of input.

use anyhow::Context;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut request = client.post(&url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("is tokshop running? calling {url}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    anyhow::ensure!(
        status.is_success(),
        "{status}: {}",
        body["message"].as_str().unwrap_or("request failed")
    );
    Ok(body)
}

/// Talks to the agent at `base` as `username` until stdin ends.
pub async fn run(base: &str, username: &str, password: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let base = base.trim_end_matches('/');
    let session = post(
        &client,
        format!("{base}/api/v1/auth/login"),
        None,
        json!({"login": username, "password": password}),
    )
    .await?;
    let token = session["access_token"]
        .as_str()
        .context("no access token in the login reply")?
        .to_owned();
    let conversation = post(
        &client,
        format!("{base}/api/v1/chat/conversations"),
        Some(&token),
        json!({"title": "terminal"}),
    )
    .await?;
    let id = conversation["id"]
        .as_str()
        .context("no conversation id")?
        .to_owned();
    let mut out = tokio::io::stdout();
    out.write_all(
        format!(
            "Signed in as {username}; the agent runs {}. Ask for something (\"find trail shoes under 80\"); end with Ctrl-D.\n",
            conversation["model"].as_str().unwrap_or("?")
        )
        .as_bytes(),
    )
    .await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        out.write_all(b"you> ").await?;
        out.flush().await?;
        let Some(line) = lines.next_line().await? else {
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        let url = format!("{base}/api/v1/chat/conversations/{id}/messages");
        let turn = match post(&client, url, Some(&token), json!({"text": line})).await {
            Ok(turn) => turn,
            Err(err) => {
                out.write_all(format!("error: {err:#}\n").as_bytes())
                    .await?;
                continue;
            }
        };
        out.write_all(format!("shop> {}\n", turn["reply"].as_str().unwrap_or_default()).as_bytes())
            .await?;
        for event in turn["events"].as_array().into_iter().flatten() {
            if event["type"] == "confirmation_required" {
                let summary = event["summary"].as_str().unwrap_or_default();
                out.write_all(
                    format!("      needs your confirmation: {summary} (answer yes or no)\n")
                        .as_bytes(),
                )
                .await?;
            }
        }
    }
    Ok(())
}
