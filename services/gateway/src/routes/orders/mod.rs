//! Orders: checkout, the buyer's orders and what a buyer can do with them (pay, cancel, change the address,
//! confirm receipt, return), and the seller's side (list, ship, deliver, cancel, decide returns). Both sides read
//! and answer the same JSON, and go through the same helpers with `as_seller` telling them apart.

mod buyer;
mod json;
mod seller;

use axum::Json;
use tokshop_platform::auth::authorized;
use tokshop_proto::order as pb;
use utoipa_axum::router::OpenApiRouter;

use self::json::{ListParams, Order, OrderPage, ReturnList, ReturnRequest};
use crate::{error::ApiResult, extract::AuthUser, state::AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(buyer::router())
        .merge(seller::router())
}

/// The buyer's (or, `as_seller`, the shop's) page of orders.
async fn page_of(
    state: &AppState,
    user: &AuthUser,
    params: ListParams,
    as_seller: bool,
) -> ApiResult<Json<OrderPage>> {
    let page = state
        .orders()
        .list_orders(authorized(params.request(as_seller)?, user.token()))
        .await?;
    Ok(Json(page.into_inner().into()))
}

/// One order of the buyer (or, `as_seller`, of the shop).
async fn order_of(
    state: &AppState,
    user: &AuthUser,
    id: String,
    as_seller: bool,
) -> ApiResult<Json<Order>> {
    let order = state
        .orders()
        .get_order(authorized(
            pb::GetOrderRequest { id, as_seller },
            user.token(),
        ))
        .await?;
    Ok(Json(order.into_inner().into()))
}

/// Cancels as the buyer (or, `as_seller`, as the shop).
async fn cancel_as(
    state: &AppState,
    user: &AuthUser,
    id: String,
    as_seller: bool,
) -> ApiResult<Json<Order>> {
    let order = state
        .orders()
        .cancel_order(authorized(
            pb::CancelOrderRequest { id, as_seller },
            user.token(),
        ))
        .await?;
    Ok(Json(order.into_inner().into()))
}

/// The returns of an order of the buyer (or, `as_seller`, of the shop).
async fn returns_of(
    state: &AppState,
    user: &AuthUser,
    order_id: String,
    as_seller: bool,
) -> ApiResult<Json<ReturnList>> {
    let list = state
        .orders()
        .list_returns(authorized(
            pb::ListReturnsRequest {
                order_id,
                as_seller,
            },
            user.token(),
        ))
        .await?
        .into_inner();
    Ok(Json(ReturnList {
        returns: list.returns.into_iter().map(ReturnRequest::from).collect(),
    }))
}
