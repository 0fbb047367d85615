//! The seller's side of orders: list and read the shop's orders, ship, mark delivered, cancel, and decide returns.

use tokshop_proto::order as pb;

use super::Party;
use super::json::{ListParams, Order, OrderPage, ReturnList, ReturnRequest, ShipBody};
use crate::handler::prelude::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(seller_list_orders))
        .routes(routes!(seller_get_order))
        .routes(routes!(seller_ship))
        .routes(routes!(seller_deliver))
        .routes(routes!(seller_cancel))
        .routes(routes!(seller_list_returns))
        .routes(routes!(seller_accept_return))
        .routes(routes!(seller_reject_return))
}

/// Orders of the seller's products, newest first.
#[utoipa::path(get, path = "/api/v1/seller/orders", tag = "seller", security(("bearer" = [])), params(ListParams),
    responses((status = 200, description = "One page of orders", body = OrderPage)))]
async fn seller_list_orders(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<OrderPage>> {
    Party::seller(&state, &user).page(params).await
}

/// One order of the seller's products.
#[utoipa::path(get, path = "/api/v1/seller/orders/{id}", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The order", body = Order),
        (status = 404, description = "No such order of your shop", body = ErrorBody)))]
async fn seller_get_order(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    Party::seller(&state, &user).order(id).await
}

/// Ship a paid order with its tracking number.
#[utoipa::path(post, path = "/api/v1/seller/orders/{id}/ship", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")), request_body = ShipBody,
    responses((status = 200, description = "The shipped order", body = Order),
        (status = 409, description = "Not paid, or already shipped", body = ErrorBody)))]
async fn seller_ship(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ShipBody>,
) -> ApiResult<Json<Order>> {
    let request = pb::ShipOrderRequest {
        id,
        tracking_number: body.tracking_number,
        carrier: body.carrier,
    };
    respond(state.orders().ship_order(authorized(request, user.token()))).await
}

/// Mark a shipped order delivered.
#[utoipa::path(post, path = "/api/v1/seller/orders/{id}/deliver", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The delivered order", body = Order),
        (status = 409, description = "Not shipped", body = ErrorBody)))]
async fn seller_deliver(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    let request = authorized(pb::MarkDeliveredRequest { id }, user.token());
    respond(state.orders().mark_delivered(request)).await
}

/// Cancel an order the shop cannot fulfil (before shipping); a paid one is refunded in full.
#[utoipa::path(post, path = "/api/v1/seller/orders/{id}/cancel", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The cancelled order", body = Order),
        (status = 409, description = "Already shipped or later", body = ErrorBody)))]
async fn seller_cancel(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    Party::seller(&state, &user).cancel(id).await
}

/// The returns of an order of the seller's products.
#[utoipa::path(get, path = "/api/v1/seller/orders/{id}/returns", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Its returns", body = ReturnList)))]
async fn seller_list_returns(
    State(state): State<AppState>,
    user: AuthUser,
    Path(order_id): Path<String>,
) -> ApiResult<Json<ReturnList>> {
    Party::seller(&state, &user).returns(order_id).await
}

async fn decide(
    state: &AppState,
    user: &AuthUser,
    return_id: String,
    accept: bool,
) -> ApiResult<Json<ReturnRequest>> {
    let request = authorized(pb::DecideReturnRequest { return_id, accept }, user.token());
    respond(state.orders().decide_return(request)).await
}

/// Accept a return: its amount is refunded to the original payment method.
#[utoipa::path(post, path = "/api/v1/seller/returns/{id}/accept", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Return id")),
    responses((status = 200, description = "The accepted return", body = ReturnRequest),
        (status = 409, description = "Already decided", body = ErrorBody)))]
async fn seller_accept_return(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ReturnRequest>> {
    decide(&state, &user, id, true).await
}

/// Reject a return.
#[utoipa::path(post, path = "/api/v1/seller/returns/{id}/reject", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Return id")),
    responses((status = 200, description = "The rejected return", body = ReturnRequest),
        (status = 409, description = "Already decided", body = ErrorBody)))]
async fn seller_reject_return(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ReturnRequest>> {
    decide(&state, &user, id, false).await
}
