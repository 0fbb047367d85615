//! The buyer's side of orders: check out, list and read one's orders, cancel, change the address, confirm receipt,
//! and ask for returns.

use tokshop_proto::order as pb;

use super::Party;
use super::json::{
    ChangeAddressBody, CheckoutBody, ListParams, Order, OrderPage, ReturnBody, ReturnList,
    ReturnRequest, choices,
};
use crate::handler::prelude::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkout, list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(change_address))
        .routes(routes!(confirm_receipt))
        .routes(routes!(request_return, list_returns))
}

/// Check out: reserves the stock and creates a pending_payment order (unpaid orders expire). The
/// `Idempotency-Key` also makes the checkout itself idempotent: a retry never creates a second order.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    request_body = CheckoutBody,
    responses((status = 201, description = "The new order", body = Order),
        (status = 404, description = "A variant, the address or the coupon does not exist (or is not the caller's)", body = ErrorBody),
        (status = 409, description = "Out of stock, not for sale, the coupon cannot apply, or too many unpaid orders \
            or units (`too_many_unpaid_orders`, `too_many_unpaid_units`)", body = ErrorBody),
        (status = 422, description = "Bad items, quantities, address or coupon; lines in more than one currency", body = ErrorBody)))]
async fn checkout(
    State(state): State<AppState>,
    user: AuthUser,
    RequestId(request_id): RequestId,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    let request = pb::CheckoutRequest {
        request_id,
        items: choices(body.items),
        cart_variant_ids: body.cart_variant_ids,
        address_id: body.address_id.unwrap_or_default(),
        claimed_coupon_id: body.claimed_coupon_id.unwrap_or_default(),
        expected_total: None,
    };
    created(state.orders().checkout(authorized(request, user.token()))).await
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(ListParams),
    responses((status = 200, description = "One page of orders", body = OrderPage)))]
async fn list_orders(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<OrderPage>> {
    Party::buyer(&state, &user).page(params).await
}

/// One of the caller's orders.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The order", body = Order),
        (status = 404, description = "No such order of yours", body = ErrorBody)))]
async fn get_order(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    Party::buyer(&state, &user).order(id).await
}

/// Cancel: from pending_payment (stock and coupon given back) or paid (stock back, refunded in full).
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The cancelled order", body = Order),
        (status = 409, description = "Already shipped or later; the message names the state", body = ErrorBody)))]
async fn cancel_order(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    Party::buyer(&state, &user).cancel(id).await
}

/// Ship to another of the caller's addresses (until the order ships).
#[utoipa::path(put, path = "/api/v1/orders/{id}/address", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")), request_body = ChangeAddressBody,
    responses((status = 200, description = "The order with its new address", body = Order),
        (status = 409, description = "Already shipped", body = ErrorBody)))]
async fn change_address(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ChangeAddressBody>,
) -> ApiResult<Json<Order>> {
    let request = pb::ChangeAddressRequest {
        id,
        address_id: body.address_id,
    };
    let request = authorized(request, user.token());
    respond(state.orders().change_address(request)).await
}

/// Confirm receipt of a shipped or delivered order, completing it.
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm-receipt", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The completed order", body = Order),
        (status = 409, description = "Not shipped yet, or already completed or cancelled", body = ErrorBody)))]
async fn confirm_receipt(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    let request = authorized(pb::ConfirmReceiptRequest { id }, user.token());
    respond(state.orders().confirm_receipt(request)).await
}

/// Ask to return some units of a delivered order; the seller accepts (refund) or rejects.
#[utoipa::path(post, path = "/api/v1/orders/{id}/returns", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")), request_body = ReturnBody,
    responses((status = 201, description = "The return request", body = ReturnRequest),
        (status = 409, description = "The order is not delivered", body = ErrorBody),
        (status = 422, description = "Lines or quantities that cannot be returned", body = ErrorBody)))]
async fn request_return(
    State(state): State<AppState>,
    user: AuthUser,
    Path(order_id): Path<String>,
    ApiJson(body): ApiJson<ReturnBody>,
) -> ApiResult<(StatusCode, Json<ReturnRequest>)> {
    let request = pb::RequestReturnRequest {
        order_id,
        lines: choices(body.lines),
        reason: body.reason,
    };
    let request = authorized(request, user.token());
    created(state.orders().request_return(request)).await
}

/// The returns of one of the caller's orders.
#[utoipa::path(get, path = "/api/v1/orders/{id}/returns", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Its returns", body = ReturnList)))]
async fn list_returns(
    State(state): State<AppState>,
    user: AuthUser,
    Path(order_id): Path<String>,
) -> ApiResult<Json<ReturnList>> {
    Party::buyer(&state, &user).returns(order_id).await
}
