//! Orders: checkout and what a buyer does with an order. Everything but reading is consequential.

mod checkout;
mod lifecycle;
mod returns;
mod view;

use schemars::JsonSchema;
use serde::Deserialize;
use tokshop_proto::order as pb;

use crate::{Registry, ToolContext, ToolError, TypedTool};

pub use checkout::{Checkout, CheckoutArgs, CheckoutEffect, CouponUse, EffectLine};
pub use lifecycle::{
    AddressArgs, CancelEffect, CancelOrder, ChangeAddressEffect, ChangeOrderAddress,
    ConfirmReceipt, ReceiptEffect,
};
pub use returns::{RequestReturn, Return, ReturnArgs, ReturnEffect, ReturnLine, ReturnResult};
pub use view::{ITEMS_SHOWN, Order, OrderItem, OrderList, OrderResult, OrderSummary};

pub fn register(registry: &mut Registry) {
    registry.add_guarded(Checkout);
    registry.add(ListOrders);
    registry.add(GetOrder);
    registry.add_guarded(CancelOrder);
    registry.add_guarded(ChangeOrderAddress);
    registry.add_guarded(RequestReturn);
    registry.add_guarded(ConfirmReceipt);
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub variant_id: String,
    /// 1 to 99.
    pub quantity: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderArgs {
    pub order_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetOrderArgs {
    pub order_id: String,
    /// Lines to skip, e.g. 8.
    pub from: Option<u8>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    PendingPayment,
    Paid,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
}

impl Status {
    /// The status as the orders service names it (`pending_payment`, ...).
    pub fn label(self) -> &'static str {
        pb::OrderStatus::from(self).label().unwrap_or("unspecified")
    }
}

impl From<Status> for pb::OrderStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::PendingPayment => pb::OrderStatus::PendingPayment,
            Status::Paid => pb::OrderStatus::Paid,
            Status::Shipped => pb::OrderStatus::Shipped,
            Status::Delivered => pb::OrderStatus::Delivered,
            Status::Completed => pb::OrderStatus::Completed,
            Status::Cancelled => pb::OrderStatus::Cancelled,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    pub status: Option<Status>,
    /// 1 to 10; default 5.
    pub limit: Option<u8>,
}

pub struct ListOrders;
pub struct GetOrder;

pub(super) async fn fetch(ctx: &ToolContext, id: &str) -> Result<pb::Order, ToolError> {
    let request = ctx.request(pb::GetOrderRequest {
        id: id.to_owned(),
        as_seller: false,
    });
    Ok(ctx
        .clients
        .orders
        .clone()
        .get_order(request)
        .await?
        .into_inner())
}

#[async_trait::async_trait]
impl TypedTool for ListOrders {
    type Args = ListArgs;
    type Output = OrderList;
    const NAME: &'static str = "list_orders";
    const DESCRIPTION: &'static str = "The shopper's orders, newest first.";

    async fn run(&self, ctx: &ToolContext, args: ListArgs) -> Result<Self::Output, ToolError> {
        let limit = args.limit.unwrap_or(5);
        if !(1..=10).contains(&limit) {
            return Err(ToolError::invalid_arguments("limit must be 1 to 10").with_param("limit"));
        }
        let status = args
            .status
            .map_or(pb::OrderStatus::Unspecified, pb::OrderStatus::from);
        let request = ctx.request(pb::ListOrdersRequest {
            status: status as i32,
            as_seller: false,
            limit: i32::from(limit),
            cursor: String::new(),
        });
        let page = ctx
            .clients
            .orders
            .clone()
            .list_orders(request)
            .await?
            .into_inner();
        Ok(OrderList {
            orders: page.orders.iter().map(OrderSummary::of).collect(),
        })
    }
}

#[async_trait::async_trait]
impl TypedTool for GetOrder {
    type Args = GetOrderArgs;
    type Output = OrderResult;
    const NAME: &'static str = "get_order";
    const DESCRIPTION: &'static str = "One order: status, lines (8 at a time), totals, tracking.";

    async fn run(&self, ctx: &ToolContext, args: GetOrderArgs) -> Result<Self::Output, ToolError> {
        let order = fetch(ctx, &args.order_id).await?;
        Ok(OrderResult {
            order: Order::from_item(&order, usize::from(args.from.unwrap_or(0))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn a_status_is_labelled_as_the_tool_takes_it() {
        for label in [
            "pending_payment",
            "paid",
            "shipped",
            "delivered",
            "completed",
            "cancelled",
        ] {
            let status = serde_json::from_value::<Status>(serde_json::json!(label));
            assert_eq!(status.ok().map(Status::label), Some(label));
        }
    }
}
