//! The OpenAPI 3.1 document: paths come from the handlers' `#[utoipa::path]` attributes; this adds the metadata,
//! the bearer scheme, and the error responses every operation shares (so handlers list only their own).

use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder,
        path::{Operation, ParameterIn},
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
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_errors(operation);
            }
        }
    }
}

fn add_common_errors(operation: &mut Operation) {
    let mut errors: Vec<(&str, &str)> = vec![
        ("429", "Rate limited (code `rate_limited`, see Retry-After)"),
        ("500", "Internal error"),
        ("503", "A backend service is unavailable"),
    ];
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
        errors.push((
            "400",
            "A query parameter has the wrong type (code `invalid_query`)",
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

/// Completes the document assembled by the routers.
pub fn finish(mut openapi: Document) -> Document {
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
    }
}
