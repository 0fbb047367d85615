//! The gRPC services directly: health, reflection, and identity carried in metadata and checked by the
//! service itself (not the gateway).

use tokshop_platform::{auth::authorized, grpc};
use tokshop_proto::catalog::{
    CreateProductRequest, GetProductCardsRequest, GetVariantsRequest,
    catalog_service_client::CatalogServiceClient,
};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::common::TestApp;

async fn services_answer_health_and_reflection(app: &TestApp) {
    let running = app.running();
    for (addr, name) in [
        (
            running.identity_addr.unwrap(),
            "tokshop.identity.v1.IdentityService",
        ),
        (
            running.catalog_addr.unwrap(),
            "tokshop.catalog.v1.CatalogService",
        ),
    ] {
        let channel = grpc::channel(&format!("http://{addr}")).unwrap();
        let health = HealthClient::new(channel.clone())
            .check(HealthCheckRequest {
                service: name.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(health.status(), ServingStatus::Serving);

        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = ServerReflectionClient::new(channel)
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let response = responses.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("unexpected reflection response");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(names.iter().any(|n| n == name), "{names:?}");
        assert!(
            names.iter().any(|n| n == "grpc.health.v1.Health"),
            "{names:?}"
        );
    }
}

async fn services_check_the_caller_themselves(app: &TestApp) {
    let channel =
        grpc::channel(&format!("http://{}", app.running().catalog_addr.unwrap())).unwrap();
    let mut catalog = CatalogServiceClient::new(channel);
    let request = || CreateProductRequest {
        category_id: "cat_x".into(),
        title: "Sneaky".into(),
        ..Default::default()
    };

    let anonymous = catalog.create_product(request()).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let buyer = app.buyer("grpcbuyer").await;
    let denied = catalog
        .create_product(authorized(request(), Some(&buyer)))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // A token claiming the seller role but signed with another key is refused by the service.
    let forged =
        tokshop_platform::auth::TokenKeys::new(b"not-the-shop-secret-not-the-shop", "tokshop", 900)
            .issue("usr_forged", &[tokshop_platform::auth::Role::Seller])
            .unwrap();
    let refused = catalog
        .create_product(authorized(request(), Some(&forged.token)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}

/// A delisted product's variants and card are found by id only by its seller and the shop's own services (the
/// orders service, for a checkout it refuses by name); anyone else is told of no such thing.
async fn delisted_products_are_hidden_from_lookups(app: &TestApp) {
    let category = app.category("hidden").await;
    let (_, seller) = app.seller("hider").await;
    let product = app
        .post(
            "/api/v1/seller/products",
            Some(&seller),
            crate::common::product_body(&category, "Withdrawn boots", 5000, 3),
        )
        .await
        .expect(201)
        .body;
    let product_id = product["id"].as_str().unwrap().to_owned();
    let variant_id = product["variants"][0]["id"].as_str().unwrap().to_owned();
    let channel =
        grpc::channel(&format!("http://{}", app.running().catalog_addr.unwrap())).unwrap();
    let mut catalog = CatalogServiceClient::new(channel);
    let lookups = |token: Option<String>| {
        let mut catalog = catalog.clone();
        let (variant_id, product_id) = (variant_id.clone(), product_id.clone());
        async move {
            let variants = catalog
                .get_variants(authorized(
                    GetVariantsRequest {
                        ids: vec![variant_id],
                    },
                    token.as_deref(),
                ))
                .await
                .unwrap()
                .into_inner()
                .variants
                .len();
            let cards = catalog
                .get_product_cards(authorized(
                    GetProductCardsRequest {
                        ids: vec![product_id],
                    },
                    token.as_deref(),
                ))
                .await
                .unwrap()
                .into_inner()
                .cards
                .len();
            (variants, cards)
        }
    };
    assert_eq!(lookups(None).await, (1, 1), "listed: everyone sees it");
    app.patch(
        &format!("/api/v1/seller/products/{product_id}"),
        Some(&seller),
        serde_json::json!({"listed": false}),
    )
    .await
    .expect(200);
    let shopper = app.buyer("nosy").await;
    assert_eq!(lookups(None).await, (0, 0), "anonymous");
    assert_eq!(lookups(Some(shopper)).await, (0, 0), "another user");
    assert_eq!(lookups(Some(seller.clone())).await, (1, 1), "its seller");
    let service = app.keys.issue_service("orders").unwrap().token;
    assert_eq!(lookups(Some(service)).await, (1, 1), "the orders service");
    // The product page agrees.
    app.get(&format!("/api/v1/products/{product_id}"), None)
        .await
        .expect(404);
    let _ = catalog
        .get_product(authorized(
            tokshop_proto::catalog::GetProductRequest { id: product_id },
            Some(&seller),
        ))
        .await
        .unwrap();
}

/// Reflection is off unless configured: health answers, the reflection service does not exist.
async fn reflection_is_off_by_default(app: &TestApp) {
    let channel =
        grpc::channel(&format!("http://{}", app.running().identity_addr.unwrap())).unwrap();
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "tokshop.identity.v1.IdentityService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status(), ServingStatus::Serving);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let refused = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");
}

crate::on_both_databases!(
    reflection_is_off_by_default,
    services_check_the_caller_themselves,
    delisted_products_are_hidden_from_lookups
);

mod with_reflection {
    use super::*;

    crate::on_both_databases!(with |s| s.grpc.reflection = true; services_answer_health_and_reflection);
}
