//! The API contract, checked on every request the tests send: each answer must be one the OpenAPI document
//! lists for that route and method, and any path the router answers (anything but the `route_not_found`
//! fallback) must be in the document. The whole suite so walks the router, and a handler that starts answering
//! a status nobody documented fails the test that sees it.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;
use tokio::sync::OnceCell;

/// One documented operation: method, path template split in segments, documented statuses.
struct Operation {
    method: Method,
    segments: Vec<String>,
    statuses: BTreeSet<String>,
}

static DOCUMENT: OnceCell<Vec<Operation>> = OnceCell::const_new();

async fn operations(client: &reqwest::Client, base: &str) -> &'static [Operation] {
    DOCUMENT
        .get_or_init(|| async {
            let document: Value = client
                .get(format!("{base}/api/v1/openapi.json"))
                .send()
                .await
                .expect("OpenAPI document")
                .json()
                .await
                .expect("OpenAPI JSON");
            parse(&document)
        })
        .await
}

fn parse(document: &Value) -> Vec<Operation> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                continue;
            };
            operations.push(Operation {
                method,
                segments: path.split('/').map(str::to_owned).collect(),
                statuses: operation["responses"]
                    .as_object()
                    .map(|r| r.keys().cloned().collect())
                    .unwrap_or_default(),
            });
        }
    }
    operations
}

/// How well `path` matches a template: `None` if it does not, else the number of literal segments matched (a
/// literal `/users/me` beats `/users/{id}`).
fn matches(template: &[String], path: &str) -> Option<usize> {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() != template.len() {
        return None;
    }
    let mut literal = 0;
    for (want, got) in template.iter().zip(segments) {
        if want.starts_with('{') && want.ends_with('}') {
            if got.is_empty() {
                return None;
            }
        } else if want == got {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

/// Panics when `method path` answered `status` (with error `code`, if any) and the document does not say so.
/// With `TOKSHOP_CONTRACT_AUDIT=<file>` each finding is appended to that file instead, to list them all at once.
pub async fn check(
    client: &reqwest::Client,
    base: &str,
    method: &Method,
    path: &str,
    status: u16,
    code: Option<&str>,
) {
    let path = path.split('?').next().unwrap_or(path);
    let Err(finding) = verdict(operations(client, base).await, method, path, status, code) else {
        return;
    };
    match std::env::var("TOKSHOP_CONTRACT_AUDIT") {
        Ok(file) => {
            use std::io::Write as _;
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .unwrap();
            writeln!(out, "{finding}").unwrap();
        }
        Err(_) => panic!("{finding}"),
    }
}

fn verdict(
    operations: &[Operation],
    method: &Method,
    path: &str,
    status: u16,
    code: Option<&str>,
) -> Result<(), String> {
    let best = operations
        .iter()
        .filter_map(|op| matches(&op.segments, path))
        .max();
    let Some(best) = best else {
        return if status == 404 && code == Some("route_not_found") {
            Ok(())
        } else {
            Err(format!(
                "{method} {path} answered {status} but no such path is in the OpenAPI document"
            ))
        };
    };
    let operation = operations
        .iter()
        .find(|op| op.method == *method && matches(&op.segments, path) == Some(best));
    let Some(operation) = operation else {
        // Another method on a documented path: the router's 405 (or the fallback's 404).
        return if matches!(status, 404 | 405) {
            Ok(())
        } else {
            Err(format!(
                "{method} {path} answered {status} but the OpenAPI document has no {method} there"
            ))
        };
    };
    if operation.statuses.contains(&status.to_string()) {
        Ok(())
    } else {
        Err(format!(
            "{method} {} answered {status} ({}) but the OpenAPI document lists only {:?}",
            operation.segments.join("/"),
            code.unwrap_or("no error code"),
            operation.statuses
        ))
    }
}

#[test]
fn undocumented_answers_are_found() {
    let document = serde_json::json!({"paths": {
        "/api/v1/items/{id}": {"get": {"responses": {"200": {}, "404": {}}}},
        "/api/v1/items/mine": {"get": {"responses": {"200": {}}}},
    }});
    let operations = parse(&document);
    let get = Method::GET;
    assert!(
        verdict(
            &operations,
            &get,
            "/api/v1/items/x1",
            404,
            Some("item_not_found")
        )
        .is_ok()
    );
    assert!(verdict(&operations, &get, "/api/v1/items/x1", 409, Some("conflict")).is_err());
    assert!(
        verdict(&operations, &get, "/api/v1/items/mine", 404, None).is_err(),
        "the literal wins"
    );
    assert!(verdict(&operations, &Method::POST, "/api/v1/items/x1", 405, None).is_ok());
    assert!(verdict(&operations, &Method::POST, "/api/v1/items/x1", 201, None).is_err());
    assert!(
        verdict(
            &operations,
            &get,
            "/api/v1/nothing",
            404,
            Some("route_not_found")
        )
        .is_ok()
    );
    assert!(
        verdict(&operations, &get, "/api/v1/secret", 200, None).is_err(),
        "an undocumented route"
    );
}

#[test]
fn templates_match_literals_first() {
    let op = |path: &str| path.split('/').map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        matches(&op("/api/v1/users/{id}"), "/api/v1/users/me"),
        Some(4)
    );
    assert_eq!(
        matches(&op("/api/v1/users/me"), "/api/v1/users/me"),
        Some(5)
    );
    assert_eq!(matches(&op("/api/v1/users/{id}"), "/api/v1/users/"), None);
    assert_eq!(
        matches(&op("/api/v1/users/{id}"), "/api/v1/users/a/b"),
        None
    );
}
