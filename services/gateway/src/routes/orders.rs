//! Orders: checkout, the buyer's orders and what a buyer can do with them (pay, cancel, change the address,
//! confirm receipt, return), and the seller's side (list, ship, deliver, cancel, decide returns).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use tokshop_platform::auth::authorized;
use tokshop_proto::order as pb;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    auth::non_empty,
    products::{Money, money},
};
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiQuery, AuthUser, RequestId},
    state::AppState,
};

fn positive(ms: i64) -> Option<i64> {
    (ms > 0).then_some(ms)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub variant_id: String,
    pub product_id: String,
    pub title: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
    /// This line's share of the coupon discount.
    pub discount: Money,
    pub returned_quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShippingAddress {
    pub address_id: String,
    pub recipient: String,
    pub phone: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

/// An order of one shop's items. Prices, discount, shipping and total are the server's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: String,
    pub buyer_id: String,
    pub seller_id: String,
    /// pending_payment, paid, shipped, delivered, completed or cancelled.
    pub status: String,
    pub lines: Vec<OrderLine>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping_fee: Money,
    pub total: Money,
    pub refunded: Money,
    pub address: ShippingAddress,
    pub claimed_coupon_id: Option<String>,
    pub coupon_code: Option<String>,
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    /// buyer, seller or expired, when cancelled.
    pub cancel_reason: Option<String>,
    pub payment_id: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// When an unpaid order is cancelled automatically; null once paid.
    pub expires_at_ms: Option<i64>,
    pub paid_at_ms: Option<i64>,
    pub shipped_at_ms: Option<i64>,
    pub delivered_at_ms: Option<i64>,
    pub completed_at_ms: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
}

pub fn status_name(status: pb::OrderStatus) -> String {
    status.label().unwrap_or("unspecified").to_owned()
}

impl From<pb::Order> for Order {
    fn from(o: pb::Order) -> Self {
        let address = o.address.clone().unwrap_or_default();
        Self {
            status: status_name(o.status()),
            id: o.id,
            buyer_id: o.buyer_id,
            seller_id: o.seller_id,
            lines: o
                .lines
                .into_iter()
                .map(|l| OrderLine {
                    variant_id: l.variant_id,
                    product_id: l.product_id,
                    title: l.title,
                    sku: l.sku,
                    quantity: l.quantity,
                    unit_price: money(l.unit_price),
                    line_total: money(l.line_total),
                    discount: money(l.discount),
                    returned_quantity: l.returned_quantity,
                })
                .collect(),
            subtotal: money(o.subtotal),
            discount: money(o.discount),
            shipping_fee: money(o.shipping_fee),
            total: money(o.total),
            refunded: money(o.refunded),
            address: ShippingAddress {
                address_id: address.address_id,
                recipient: address.recipient,
                phone: address.phone,
                line1: address.line1,
                line2: address.line2,
                city: address.city,
                region: address.region,
                postal_code: address.postal_code,
                country: address.country,
            },
            claimed_coupon_id: non_empty(o.claimed_coupon_id),
            coupon_code: non_empty(o.coupon_code),
            tracking_number: non_empty(o.tracking_number),
            carrier: non_empty(o.carrier),
            cancel_reason: non_empty(o.cancel_reason),
            payment_id: non_empty(o.payment_id),
            created_at_ms: o.created_at_ms,
            updated_at_ms: o.updated_at_ms,
            expires_at_ms: positive(o.expires_at_ms),
            paid_at_ms: positive(o.paid_at_ms),
            shipped_at_ms: positive(o.shipped_at_ms),
            delivered_at_ms: positive(o.delivered_at_ms),
            completed_at_ms: positive(o.completed_at_ms),
            cancelled_at_ms: positive(o.cancelled_at_ms),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    /// Pass as `cursor` for the next page; null when there is nothing more.
    pub next_cursor: Option<String>,
}

impl From<pb::ListOrdersResponse> for OrderPage {
    fn from(page: pb::ListOrdersResponse) -> Self {
        Self {
            orders: page.orders.into_iter().map(Order::from).collect(),
            next_cursor: non_empty(page.next_cursor),
        }
    }
}

/// A variant and how many (1..=99).
/// A variant and how many of its units; each variant appears once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineChoice {
    #[schema(min_length = 1, max_length = 64)]
    pub variant_id: String,
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

/// What to buy: explicit `items`, or cart lines (`cart_variant_ids`, or the whole cart when both are absent).
/// Prices are never taken from the client.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CheckoutBody {
    #[serde(default)]
    #[schema(max_items = 100)]
    pub items: Vec<LineChoice>,
    #[serde(default)]
    #[schema(max_items = 100, min_length = 1, max_length = 64)]
    pub cart_variant_ids: Vec<String>,
    /// One of the buyer's addresses; the default address when absent.
    #[schema(max_length = 64)]
    pub address_id: Option<String>,
    /// A claimed coupon to apply.
    #[schema(max_length = 64)]
    pub claimed_coupon_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// pending_payment, paid, shipped, delivered, completed or cancelled.
    pub status: Option<String>,
    /// 1..=100, default 20.
    pub limit: Option<i32>,
    /// From a previous page's next_cursor.
    pub cursor: Option<String>,
}

impl ListParams {
    fn request(self, as_seller: bool) -> ApiResult<pb::ListOrdersRequest> {
        let status = match self.status.as_deref() {
            None | Some("") => pb::OrderStatus::Unspecified,
            Some(name) => pb::OrderStatus::from_label(name).ok_or_else(|| {
                ApiError::invalid("status", format!("unknown order status {name:?}"))
            })?,
        };
        Ok(pb::ListOrdersRequest {
            status: status as i32,
            as_seller,
            limit: self.limit.unwrap_or(0),
            cursor: self.cursor.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChangeAddressBody {
    #[schema(min_length = 1, max_length = 64)]
    pub address_id: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ShipBody {
    #[schema(min_length = 1, max_length = 64)]
    pub tracking_number: String,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub carrier: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReturnBody {
    /// Lines of the order, each once, with how many units to return.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineChoice>,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReturnLine {
    pub variant_id: String,
    pub quantity: i64,
    pub amount: Money,
}

/// A return request: requested, then accepted (refunded) or rejected by the seller.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReturnRequest {
    pub id: String,
    pub order_id: String,
    pub status: String,
    pub lines: Vec<ReturnLine>,
    pub amount: Money,
    pub reason: String,
    pub refund_id: Option<String>,
    pub created_at_ms: i64,
    pub decided_at_ms: Option<i64>,
}

impl From<pb::ReturnRequest> for ReturnRequest {
    fn from(r: pb::ReturnRequest) -> Self {
        Self {
            id: r.id,
            order_id: r.order_id,
            status: r.status,
            lines: r
                .lines
                .into_iter()
                .map(|l| ReturnLine {
                    variant_id: l.variant_id,
                    quantity: l.quantity,
                    amount: money(l.amount),
                })
                .collect(),
            amount: money(r.amount),
            reason: r.reason,
            refund_id: non_empty(r.refund_id),
            created_at_ms: r.created_at_ms,
            decided_at_ms: positive(r.decided_at_ms),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReturnList {
    pub returns: Vec<ReturnRequest>,
}

fn choices(lines: Vec<LineChoice>) -> Vec<pb::LineChoice> {
    lines
        .into_iter()
        .map(|l| pb::LineChoice {
            variant_id: l.variant_id,
            quantity: l.quantity,
        })
        .collect()
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkout, list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(change_address))
        .routes(routes!(confirm_receipt))
        .routes(routes!(request_return, list_returns))
        .routes(routes!(seller_list_orders))
        .routes(routes!(seller_get_order))
        .routes(routes!(seller_ship))
        .routes(routes!(seller_deliver))
        .routes(routes!(seller_cancel))
        .routes(routes!(seller_list_returns))
        .routes(routes!(seller_accept_return))
        .routes(routes!(seller_reject_return))
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
    let order = state
        .orders()
        .checkout(authorized(request, user.token()))
        .await?;
    Ok((StatusCode::CREATED, Json(order.into_inner().into())))
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(ListParams),
    responses((status = 200, description = "One page of orders", body = OrderPage)))]
async fn list_orders(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<OrderPage>> {
    page_of(&state, &user, params, false).await
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
    order_of(&state, &user, id, false).await
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
    cancel_as(&state, &user, id, false).await
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
    let order = state
        .orders()
        .change_address(authorized(request, user.token()))
        .await?;
    Ok(Json(order.into_inner().into()))
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
    let order = state
        .orders()
        .confirm_receipt(authorized(pb::ConfirmReceiptRequest { id }, user.token()))
        .await?;
    Ok(Json(order.into_inner().into()))
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
    let created = state
        .orders()
        .request_return(authorized(request, user.token()))
        .await?;
    Ok((StatusCode::CREATED, Json(created.into_inner().into())))
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
    returns_of(&state, &user, order_id, false).await
}

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

/// Orders of the seller's products, newest first.
#[utoipa::path(get, path = "/api/v1/seller/orders", tag = "seller", security(("bearer" = [])), params(ListParams),
    responses((status = 200, description = "One page of orders", body = OrderPage)))]
async fn seller_list_orders(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<OrderPage>> {
    page_of(&state, &user, params, true).await
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
    order_of(&state, &user, id, true).await
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
    let order = state
        .orders()
        .ship_order(authorized(request, user.token()))
        .await?;
    Ok(Json(order.into_inner().into()))
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
    let order = state
        .orders()
        .mark_delivered(authorized(pb::MarkDeliveredRequest { id }, user.token()))
        .await?;
    Ok(Json(order.into_inner().into()))
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
    cancel_as(&state, &user, id, true).await
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
    returns_of(&state, &user, order_id, true).await
}

async fn decide(
    state: &AppState,
    user: &AuthUser,
    return_id: String,
    accept: bool,
) -> ApiResult<Json<ReturnRequest>> {
    let decided = state
        .orders()
        .decide_return(authorized(
            pb::DecideReturnRequest { return_id, accept },
            user.token(),
        ))
        .await?;
    Ok(Json(decided.into_inner().into()))
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
