//! Orders: checkout, the buyer's orders and what a buyer can do with them (pay, cancel, change the address,
//! confirm receipt, return), and the seller's side (list, ship, deliver, cancel, decide returns). Both sides read
//! and answer the same JSON, and reach the service through one `Party`, its `as_seller` telling them apart.

mod buyer;
mod json;
mod seller;

use tokshop_proto::order as pb;

use self::json::{ListParams, Order, OrderPage, ReturnList};
use crate::handler::prelude::*;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(buyer::router())
        .merge(seller::router())
}

/// The caller acting on orders as their buyer or, `as_seller`, as the shop that sold them. The buyer's and the
/// seller's routes differ only in which.
struct Party<'a> {
    state: &'a AppState,
    user: &'a AuthUser,
    as_seller: bool,
}

impl<'a> Party<'a> {
    fn buyer(state: &'a AppState, user: &'a AuthUser) -> Self {
        Self {
            state,
            user,
            as_seller: false,
        }
    }

    fn seller(state: &'a AppState, user: &'a AuthUser) -> Self {
        Self {
            as_seller: true,
            ..Self::buyer(state, user)
        }
    }

    /// A page of the party's orders.
    async fn page(self, params: ListParams) -> ApiResult<Json<OrderPage>> {
        let request = authorized(params.request(self.as_seller)?, self.user.token());
        respond(self.state.orders().list_orders(request)).await
    }

    /// One of the party's orders.
    async fn order(self, id: String) -> ApiResult<Json<Order>> {
        let as_seller = self.as_seller;
        let request = authorized(pb::GetOrderRequest { id, as_seller }, self.user.token());
        respond(self.state.orders().get_order(request)).await
    }

    /// Cancels one of the party's orders.
    async fn cancel(self, id: String) -> ApiResult<Json<Order>> {
        let as_seller = self.as_seller;
        let request = authorized(pb::CancelOrderRequest { id, as_seller }, self.user.token());
        respond(self.state.orders().cancel_order(request)).await
    }

    /// The returns of one of the party's orders.
    async fn returns(self, order_id: String) -> ApiResult<Json<ReturnList>> {
        let as_seller = self.as_seller;
        let request = pb::ListReturnsRequest {
            order_id,
            as_seller,
        };
        let request = authorized(request, self.user.token());
        respond(self.state.orders().list_returns(request)).await
    }
}
