//! Stock reservations through the catalog's gRPC API, as the order service will use them: no oversell under
//! concurrency, all-or-nothing, idempotent by reservation id, released exactly once, services only.

use tokshop_platform::grpc::GrpcChannel;
use tokshop_platform::{auth::authorized, error::status_details, grpc};
use tokshop_proto::catalog::{
    ReleaseReservationRequest, ReserveStockRequest, StockLine,
    catalog_service_client::CatalogServiceClient,
};
use tonic::Code;

use crate::common::{TestApp, product_body};

/// A product whose first variant has `stock` units and second none; returns (product id, [variant ids]).
async fn stocked(app: &TestApp, stock: i64) -> (String, Vec<String>) {
    let category = app.category("stock-test").await;
    let (_, seller) = app.seller("stockseller").await;
    let product = app
        .post(
            "/api/v1/seller/products",
            Some(&seller),
            product_body(&category, "Stocked", 4000, stock),
        )
        .await
        .expect(201)
        .body;
    let variants = product["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    (product["id"].as_str().unwrap().to_owned(), variants)
}

fn catalog(app: &TestApp) -> CatalogServiceClient<GrpcChannel> {
    CatalogServiceClient::new(
        grpc::channel(&format!("http://{}", app.running().catalog_addr.unwrap())).unwrap(),
    )
}

fn reserve(id: &str, lines: &[(&str, i64)]) -> ReserveStockRequest {
    ReserveStockRequest {
        reservation_id: id.to_owned(),
        lines: lines
            .iter()
            .map(|(variant_id, quantity)| StockLine {
                variant_id: (*variant_id).to_owned(),
                quantity: *quantity,
            })
            .collect(),
    }
}

async fn stock_of(app: &TestApp, product_id: &str, index: usize) -> i64 {
    let product = app
        .get(&format!("/api/v1/products/{product_id}"), None)
        .await
        .expect(200)
        .body;
    product["variants"][index]["stock"].as_i64().unwrap()
}

async fn two_hundred_buyers_cannot_oversell_fifty_units(app: &TestApp) {
    let (product_id, variants) = stocked(app, 50).await;
    let token = app.keys.issue_service("orders").unwrap().token;
    let attempts: Vec<_> = (0..200)
        .map(|i| {
            let mut client = catalog(app);
            let request = authorized(
                reserve(&format!("order-{i}"), &[(&variants[0], 1)]),
                Some(&token),
            );
            tokio::spawn(async move { client.reserve_stock(request).await })
        })
        .collect();
    let mut held = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(reservation) => {
                assert_eq!(reservation.get_ref().state, "held");
                held += 1;
            }
            Err(status) => assert_eq!(
                status_details(&status).0.as_deref(),
                Some("out_of_stock"),
                "{status:?}"
            ),
        }
    }
    assert_eq!(held, 50);
    assert_eq!(stock_of(app, &product_id, 0).await, 0);
}

async fn reservations_are_all_or_nothing_idempotent_and_released_once(app: &TestApp) {
    let (product_id, variants) = stocked(app, 50).await;
    let (blue, red) = (variants[0].as_str(), variants[1].as_str());
    let token = app.keys.issue_service("orders").unwrap().token;
    let mut client = catalog(app);
    let call = |request| authorized(request, Some(token.as_str()));
    let release = |id: &str| {
        authorized(
            ReleaseReservationRequest {
                reservation_id: id.to_owned(),
            },
            Some(token.as_str()),
        )
    };

    // One short line fails the whole reservation and takes nothing.
    let short = client
        .reserve_stock(call(reserve("r0", &[(blue, 2), (red, 1)])))
        .await
        .unwrap_err();
    assert_eq!(
        status_details(&short),
        (
            Some("out_of_stock".into()),
            Some("lines[1].quantity".into())
        )
    );
    assert_eq!(stock_of(app, &product_id, 0).await, 50);

    // A retried reservation is the same reservation, taken once, with the price snapshotted.
    let first = client
        .reserve_stock(call(reserve("r1", &[(blue, 3)])))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .reserve_stock(call(reserve("r1", &[(blue, 3)])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(
        first.lines[0].unit_price.as_ref().unwrap().amount_minor,
        4000
    );
    assert_eq!(stock_of(app, &product_id, 0).await, 47);
    let other = client
        .reserve_stock(call(reserve("r1", &[(blue, 1)])))
        .await
        .unwrap_err();
    assert_eq!(
        status_details(&other).0.as_deref(),
        Some("reservation_conflict")
    );

    // Released once, however often asked.
    for _ in 0..3 {
        let released = client
            .release_reservation(release("r1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(released.state, "released");
    }
    assert_eq!(stock_of(app, &product_id, 0).await, 50);
    // Releasing an id never reserved leaves an empty released reservation, so a late reserve under that id
    // (a checkout abandoned while the catalog was slow) takes no stock.
    let unknown = client
        .release_reservation(release("nope"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unknown.state, "released");
    assert!(unknown.lines.is_empty());
    let late = client
        .reserve_stock(call(reserve("nope", &[(blue, 1)])))
        .await
        .unwrap_err();
    assert_eq!(
        status_details(&late).0.as_deref(),
        Some("reservation_conflict")
    );
    assert_eq!(stock_of(app, &product_id, 0).await, 50);

    // Bad quantities, and shoppers or anonymous callers, are refused.
    let zero = client
        .reserve_stock(call(reserve("r2", &[(blue, 0)])))
        .await
        .unwrap_err();
    assert_eq!(zero.code(), Code::InvalidArgument);
    let buyer = app.buyer("stock_buyer").await;
    let denied = client
        .reserve_stock(authorized(reserve("r3", &[(blue, 1)]), Some(&buyer)))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let anonymous = client
        .reserve_stock(reserve("r4", &[(blue, 1)]))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    assert_eq!(stock_of(app, &product_id, 0).await, 50);
}

async fn concurrent_retries_of_one_reservation_take_stock_once(app: &TestApp) {
    let (product_id, variants) = stocked(app, 50).await;
    let token = app.keys.issue_service("orders").unwrap().token;
    let attempts: Vec<_> = (0..10)
        .map(|_| {
            let mut client = catalog(app);
            let request = authorized(reserve("same-order", &[(&variants[0], 4)]), Some(&token));
            tokio::spawn(async move { client.reserve_stock(request).await })
        })
        .collect();
    let mut answers = Vec::new();
    for attempt in attempts {
        answers.push(attempt.await.unwrap().unwrap().into_inner());
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "every retry sees the one reservation"
    );
    assert_eq!(stock_of(app, &product_id, 0).await, 46);
}

crate::on_both_databases!(
    concurrent_retries_of_one_reservation_take_stock_once,
    two_hundred_buyers_cannot_oversell_fifty_units,
    reservations_are_all_or_nothing_idempotent_and_released_once,
);
