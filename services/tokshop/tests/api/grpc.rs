//! The gRPC services directly: health, reflection, and identity carried in metadata and checked by the
//! service itself (not the gateway).

use tokshop_platform::{auth::authorized, grpc};
use tokshop_proto::catalog::{CreateProductRequest, catalog_service_client::CatalogServiceClient};
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

crate::on_both_databases!(
    services_answer_health_and_reflection,
    services_check_the_caller_themselves
);
