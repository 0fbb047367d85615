//! The OpenAPI 3.1 document: paths come from the handlers' `#[utoipa::path]` attributes; this adds the metadata,
//! the bearer scheme, and the error responses every operation shares (so handlers list only their own).

use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, ObjectBuilder, OpenApi as Document, PathItem, Ref, RefOr, ResponseBuilder,
        Type,
        path::{HttpMethod, Operation, OperationBuilder, ParameterIn},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "tokshop API", version = env!("CARGO_PKG_VERSION"), description = "REST API for tokshop clients. Errors are `{type, code, message, param}`; every response carries `x-request-id`. Every POST, PUT, PATCH and DELETE accepts an `Idempotency-Key` header: the same key with the same request replays the stored response (`Idempotent-Replayed: true`), with another request is 422 `idempotency_conflict`, while the first still runs is 409 `idempotency_in_flight`; keys are per user and kept 24 hours."),
    tags(
        (name = "auth", description = "Sign up, sign in, tokens"),
        (name = "me", description = "The signed-in user's account"),
        (name = "addresses", description = "The signed-in user's shipping addresses"),
        (name = "users", description = "Public profiles"),
        (name = "seller", description = "Selling: onboarding and managing one's products"),
        (name = "catalog", description = "Categories and products"),
        (name = "cart", description = "The signed-in shopper's cart, priced live"),
        (name = "chat", description = "Chat with the shopping agent: messages, streamed events, confirmations, traces"),
        (name = "coupons", description = "Seller coupons: create, claim, list"),
        (name = "orders", description = "Checkout and the buyer's orders: cancel, address, receipt, returns"),
        (name = "payments", description = "Payment methods, the wallet, paying orders, refunds, the ledger"),
        (name = "social", description = "Follows, friends, profiles with counts, likes, favorites and comments"),
        (name = "posts", description = "Media uploads, posts with linked products, and feeds"),
        (name = "messages", description = "Direct messages between friends, delivered live over SSE"),
        (name = "ops", description = "Health, readiness and metrics"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme),
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from /api/v1/auth/login, /register or /refresh",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the error responses any operation can give. Applied by `finish`, once every router's paths are merged.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut Document) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let role = if path.starts_with("/api/v1/seller/") {
                Some(
                    "Sellers only: the caller has not onboarded as a seller, or the thing is another seller's",
                )
            } else if path.starts_with("/api/v1/admin/") {
                Some("Administrators only")
            } else {
                None
            };
            let operations = [
                (&mut item.get, false),
                (&mut item.put, true),
                (&mut item.post, true),
                (&mut item.delete, true),
                (&mut item.patch, true),
            ];
            for (operation, mutating) in operations {
                if let Some(operation) = operation {
                    add_common_errors(operation, mutating);
                    if let Some(role) = role {
                        operation
                            .responses
                            .responses
                            .entry("403".to_owned())
                            .or_insert_with(|| error_response(role));
                    }
                }
            }
        }
    }
}

fn add_common_errors(operation: &mut Operation, mutating: bool) {
    let mut errors: Vec<(&str, &str)> = vec![
        ("429", "Rate limited (code `rate_limited`, see Retry-After)"),
        ("500", "Internal error"),
        ("503", "A backend service is unavailable"),
        (
            "504",
            "The request took longer than its deadline (code `request_timeout`)",
        ),
    ];
    if mutating {
        errors.extend([
            (
                "409",
                "The request with this Idempotency-Key is still running (code `idempotency_in_flight`)",
            ),
            (
                "422",
                "This Idempotency-Key was used for another request (code `idempotency_conflict`)",
            ),
        ]);
    }
    if operation.request_body.is_some() {
        errors.extend([
            ("400", "Malformed JSON (code `malformed_json`)"),
            ("413", "Body too large"),
            ("415", "Body is not JSON"),
            ("422", "A field is missing or invalid; `param` names it"),
        ]);
    }
    let has_query = operation.parameters.iter().flatten().any(|p| match p {
        RefOr::T(parameter) => matches!(parameter.parameter_in, ParameterIn::Query),
        RefOr::Ref(_) => false,
    });
    if has_query {
        errors.extend([
            (
                "400",
                "A query parameter has the wrong type (code `invalid_query`)",
            ),
            (
                "422",
                "A query parameter is out of range (a page size, a cursor); `param` names it",
            ),
        ]);
    }
    let has_path = operation.parameters.iter().flatten().any(|p| match p {
        RefOr::T(parameter) => matches!(parameter.parameter_in, ParameterIn::Path),
        RefOr::Ref(_) => false,
    });
    if has_path {
        errors.push((
            "404",
            "Nothing the caller may see has this id (code `<thing>_not_found`)",
        ));
    }
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        errors.push(("401", "Missing, invalid or expired bearer token"));
    }
    for (status, description) in errors {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

/// The routes the gateway serves outside the handlers' routers: this document and its reader.
fn add_document_routes(openapi: &mut Document) {
    let page = |summary: &str,
                content_type: &str,
                schema: utoipa::openapi::RefOr<utoipa::openapi::Schema>| {
        PathItem::new(
            HttpMethod::Get,
            OperationBuilder::new()
                .tag("ops")
                .summary(Some(summary))
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description(summary)
                        .content(
                            content_type,
                            ContentBuilder::new().schema(Some(schema)).build(),
                        )
                        .build(),
                )
                .build(),
        )
    };
    openapi.paths.paths.insert(
        "/api/v1/openapi.json".into(),
        page(
            "This OpenAPI 3.1 document",
            "application/json",
            ObjectBuilder::new().into(),
        ),
    );
    openapi.paths.paths.insert(
        "/api/v1/docs".into(),
        page(
            "A page that renders this document",
            "text/html",
            ObjectBuilder::new().schema_type(Type::String).into(),
        ),
    );
}

/// Completes the document assembled by the routers.
pub fn finish(mut openapi: Document) -> Document {
    add_document_routes(&mut openapi);
    CommonErrors.modify(&mut openapi);
    openapi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lists_every_route_with_errors() {
        let openapi = finish(
            utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
                .merge(crate::routes::all())
                .into_openapi(),
        );
        let json = serde_json::to_value(&openapi).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        let paths = json["paths"].as_object().unwrap();
        for path in [
            "/api/v1/auth/register",
            "/api/v1/auth/login",
            "/api/v1/auth/refresh",
            "/api/v1/auth/logout",
            "/api/v1/me",
            "/api/v1/me/addresses",
            "/api/v1/me/addresses/{id}",
            "/api/v1/me/addresses/{id}/default",
            "/api/v1/users/{id}",
            "/api/v1/seller/onboarding",
            "/api/v1/seller/products",
            "/api/v1/seller/products/{id}",
            "/api/v1/seller/products/{id}/variants",
            "/api/v1/seller/products/{id}/variants/{variant_id}",
            "/api/v1/categories",
            "/api/v1/products",
            "/api/v1/products/{id}",
            "/api/v1/products/{id}/price-history",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert!(paths.contains_key(path), "missing {path}");
        }
        let me = &json["paths"]["/api/v1/me"]["patch"];
        assert!(me["responses"]["401"].is_object());
        assert!(me["responses"]["422"].is_object());
        assert!(json["components"]["securitySchemes"]["bearer"].is_object());
        assert!(json["components"]["schemas"]["CategoryNode"].is_object());
        assert!(json["components"]["schemas"]["Product"].is_object());
        // Chat events are typed, in the JSON reply and in the stream.
        let events = &json["components"]["schemas"]["AgentEvent"]["oneOf"];
        let kinds: Vec<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v["properties"]["type"]["enum"][0].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "text",
                "tool_call",
                "tool_result",
                "confirmation_required",
                "action_result",
                "done",
                "error"
            ]
        );
        let turn = &json["paths"]["/api/v1/chat/conversations/{id}/messages"]["post"]["responses"]
            ["200"]["content"];
        assert_eq!(
            turn["text/event-stream"]["schema"]["$ref"],
            "#/components/schemas/AgentEvent"
        );
        assert_eq!(
            turn["application/json"]["schema"]["$ref"],
            "#/components/schemas/TurnReply"
        );
        assert!(json["components"]["schemas"]["Step"]["properties"]["detail"].is_object());
        for status in ["409", "422", "429", "504"] {
            assert!(
                json["paths"]["/api/v1/orders"]["post"]["responses"][status].is_object(),
                "{status}"
            );
        }
        assert!(json["paths"]["/api/v1/seller/products"]["post"]["responses"]["403"].is_object());
        assert!(json["paths"]["/api/v1/openapi.json"]["get"]["responses"]["200"].is_object());
        // Media travel as what they are.
        let download = &json["paths"]["/api/v1/media/{id}"]["get"]["responses"]["200"]["content"];
        let upload = &json["paths"]["/api/v1/media"]["post"]["requestBody"]["content"];
        for kind in [
            "image/jpeg",
            "image/png",
            "image/gif",
            "image/webp",
            "video/mp4",
            "video/webm",
        ] {
            assert!(download[kind].is_object(), "{kind}");
            assert!(upload[kind].is_object(), "{kind}");
        }
    }
}

#[cfg(test)]
mod limits {
    use serde_json::Value;

    use super::*;

    fn document() -> Value {
        serde_json::to_value(finish(
            utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
                .merge(crate::routes::all())
                .into_openapi(),
        ))
        .unwrap()
    }

    /// Every unbounded field of `schema` (following `$ref`s), as `Name.field`.
    fn unbounded(
        document: &Value,
        schema: &Value,
        at: &str,
        seen: &mut Vec<String>,
        out: &mut Vec<String>,
    ) {
        if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            if seen.iter().any(|s| s == name) {
                return;
            }
            seen.push(name.to_owned());
            let target = &document["components"]["schemas"][name];
            return unbounded(document, target, name, seen, out);
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            for variant in schema[key].as_array().into_iter().flatten() {
                unbounded(document, variant, at, seen, out);
            }
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if types.contains(&"string")
            && schema["maxLength"].is_null()
            && schema["enum"].is_null()
            && schema["format"].is_null()
        {
            out.push(format!("{at}: string without maxLength"));
        }
        if types.contains(&"array") {
            if schema["maxItems"].is_null() {
                out.push(format!("{at}: array without maxItems"));
            }
            unbounded(document, &schema["items"], &format!("{at}[]"), seen, out);
        }
        if types.contains(&"integer")
            && (schema["maximum"].is_null() || schema["minimum"].is_null())
        {
            out.push(format!("{at}: integer without minimum and maximum"));
        }
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            unbounded(document, property, &format!("{at}.{field}"), seen, out);
        }
    }

    #[test]
    fn request_bodies_state_their_limits() {
        let document = document();
        let mut out = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (media, content) in operation["requestBody"]["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                {
                    if media != "application/json" {
                        continue;
                    }
                    let mut seen = Vec::new();
                    unbounded(
                        &document,
                        &content["schema"],
                        &format!("{method} {path}"),
                        &mut seen,
                        &mut out,
                    );
                }
            }
        }
        out.sort();
        out.dedup();
        assert!(
            out.is_empty(),
            "{} unbounded request fields:\n{}",
            out.len(),
            out.join("\n")
        );
    }
}
