//! Orders: checkout and what a buyer does with an order. Everything but reading is consequential.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokshop_proto::{cart, catalog, order as pb};

use crate::{Registry, ToolContext, ToolError, TypedTool, view};

pub fn register(registry: &mut Registry) {
    registry.add(Checkout);
    registry.add(ListOrders);
    registry.add(GetOrder);
    registry.add(CancelOrder);
    registry.add(ChangeOrderAddress);
    registry.add(RequestReturn);
    registry.add(ConfirmReceipt);
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
pub struct CheckoutArgs {
    /// Items to buy directly; leave out (with cart_variant_ids) to check out the whole cart.
    pub items: Option<Vec<Item>>,
    /// Only these cart lines.
    pub cart_variant_ids: Option<Vec<String>>,
    /// From list_addresses; the default address when left out.
    pub address_id: Option<String>,
    /// From my_coupons.
    pub claimed_coupon_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderArgs {
    pub order_id: String,
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    pub status: Option<Status>,
    /// 1 to 10; default 5.
    pub limit: Option<u8>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressArgs {
    pub order_id: String,
    /// From list_addresses.
    pub address_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnArgs {
    pub order_id: String,
    /// Lines and how many units of each to return.
    pub lines: Vec<Item>,
    pub reason: String,
}

pub struct Checkout;
pub struct ListOrders;
pub struct GetOrder;
pub struct CancelOrder;
pub struct ChangeOrderAddress;
pub struct RequestReturn;
pub struct ConfirmReceipt;

async fn fetch(ctx: &ToolContext, id: &str) -> Result<pb::Order, ToolError> {
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

fn wrapped(order: &pb::Order) -> Value {
    json!({"order": view::order(order)})
}

#[async_trait::async_trait]
impl TypedTool for Checkout {
    type Args = CheckoutArgs;
    const NAME: &'static str = "checkout";
    const DESCRIPTION: &'static str = "Place an order (stock is reserved; it then waits for payment). Needs the \
         shopper's confirmation.";
    const CONSEQUENTIAL: bool = true;

    async fn run(&self, ctx: &ToolContext, args: CheckoutArgs) -> Result<Value, ToolError> {
        let request = ctx.request(pb::CheckoutRequest {
            request_id: format!("{}:checkout", ctx.request_id),
            items: args
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|i| pb::LineChoice {
                    variant_id: i.variant_id,
                    quantity: i.quantity,
                })
                .collect(),
            cart_variant_ids: args.cart_variant_ids.unwrap_or_default(),
            address_id: args.address_id.unwrap_or_default(),
            claimed_coupon_id: args.claimed_coupon_id.unwrap_or_default(),
        });
        let order = ctx
            .clients
            .orders
            .clone()
            .checkout(request)
            .await?
            .into_inner();
        Ok(wrapped(&order))
    }

    async fn summary(&self, ctx: &ToolContext, args: &CheckoutArgs) -> Result<String, ToolError> {
        let lines: Vec<(String, i64, String)> = match &args.items {
            Some(items) if !items.is_empty() => {
                let ids = items.iter().map(|i| i.variant_id.clone()).collect();
                let found = ctx
                    .clients
                    .catalog
                    .clone()
                    .get_variants(ctx.request(catalog::GetVariantsRequest { ids }))
                    .await?
                    .into_inner()
                    .by_id();
                let mut lines = Vec::new();
                for item in items {
                    let detail = found.get(&item.variant_id).ok_or_else(|| {
                        ToolError::new(
                            "variant_not_found",
                            format!("no variant {}", item.variant_id),
                        )
                        .with_param("items")
                    })?;
                    let price = detail.variant.as_ref().and_then(|v| v.price.as_ref());
                    lines.push((
                        detail.product_title.clone(),
                        item.quantity,
                        view::money(price),
                    ));
                }
                lines
            }
            _ => {
                let cart = ctx
                    .clients
                    .cart
                    .clone()
                    .get_cart(ctx.request(cart::GetCartRequest {}))
                    .await?
                    .into_inner();
                let chosen = args.cart_variant_ids.clone().unwrap_or_default();
                cart.lines
                    .iter()
                    .filter(|l| chosen.is_empty() || chosen.contains(&l.variant_id))
                    .map(|l| {
                        (
                            l.title.clone(),
                            l.quantity,
                            view::money(l.unit_price.as_ref()),
                        )
                    })
                    .collect()
            }
        };
        if lines.is_empty() {
            return Err(ToolError::new(
                "cart_empty",
                "the cart is empty: add items first",
            ));
        }
        let listed: Vec<String> = lines
            .iter()
            .map(|(title, quantity, price)| format!("{quantity} × {title} at {price}"))
            .collect();
        let coupon = if args.claimed_coupon_id.is_some() {
            ", with your coupon"
        } else {
            ""
        };
        Ok(format!(
            "Place an order for {}{coupon}, shipped to {}; shipping and discounts are added at checkout",
            listed.join(", "),
            if args.address_id.is_some() {
                "the chosen address"
            } else {
                "your default address"
            }
        ))
    }
}

#[async_trait::async_trait]
impl TypedTool for ListOrders {
    type Args = ListArgs;
    const NAME: &'static str = "list_orders";
    const DESCRIPTION: &'static str = "The shopper's orders, newest first.";

    async fn run(&self, ctx: &ToolContext, args: ListArgs) -> Result<Value, ToolError> {
        let limit = args.limit.unwrap_or(5);
        if !(1..=10).contains(&limit) {
            return Err(ToolError::invalid_arguments("limit must be 1 to 10").with_param("limit"));
        }
        let status = match args.status {
            None => pb::OrderStatus::Unspecified,
            Some(Status::PendingPayment) => pb::OrderStatus::PendingPayment,
            Some(Status::Paid) => pb::OrderStatus::Paid,
            Some(Status::Shipped) => pb::OrderStatus::Shipped,
            Some(Status::Delivered) => pb::OrderStatus::Delivered,
            Some(Status::Completed) => pb::OrderStatus::Completed,
            Some(Status::Cancelled) => pb::OrderStatus::Cancelled,
        };
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
        let orders: Vec<Value> = page.orders.iter().map(view::order).collect();
        Ok(json!({"orders": orders}))
    }
}

#[async_trait::async_trait]
impl TypedTool for GetOrder {
    type Args = OrderArgs;
    const NAME: &'static str = "get_order";
    const DESCRIPTION: &'static str =
        "One of the shopper's orders: status, items, totals, tracking.";

    async fn run(&self, ctx: &ToolContext, args: OrderArgs) -> Result<Value, ToolError> {
        Ok(wrapped(&fetch(ctx, &args.order_id).await?))
    }
}

#[async_trait::async_trait]
impl TypedTool for CancelOrder {
    type Args = OrderArgs;
    const NAME: &'static str = "cancel_order";
    const DESCRIPTION: &'static str = "Cancel an order that has not shipped; a paid one is refunded in full. Needs \
         the shopper's confirmation.";
    const CONSEQUENTIAL: bool = true;

    async fn run(&self, ctx: &ToolContext, args: OrderArgs) -> Result<Value, ToolError> {
        let request = ctx.request(pb::CancelOrderRequest {
            id: args.order_id,
            as_seller: false,
        });
        Ok(wrapped(
            &ctx.clients
                .orders
                .clone()
                .cancel_order(request)
                .await?
                .into_inner(),
        ))
    }

    async fn summary(&self, ctx: &ToolContext, args: &OrderArgs) -> Result<String, ToolError> {
        let order = fetch(ctx, &args.order_id).await?;
        // Asking the shopper to confirm what the shop would refuse helps nobody: say so at once.
        if !matches!(
            order.status(),
            pb::OrderStatus::PendingPayment | pb::OrderStatus::Paid
        ) {
            return Err(ToolError::new(
                "invalid_order_state",
                format!(
                    "order {} is {}, so it can no longer be cancelled (only an order not yet shipped can be)",
                    order.id,
                    view::status_name(order.status())
                ),
            )
            .with_param("status"));
        }
        let refund = if order.status() == pb::OrderStatus::Paid {
            format!(
                "; {} is refunded to the original payment method",
                view::money(order.total.as_ref())
            )
        } else {
            String::new()
        };
        Ok(format!(
            "Cancel order {} ({}, {}){refund}",
            order.id,
            view::money(order.total.as_ref()),
            view::status_name(order.status())
        ))
    }
}

#[async_trait::async_trait]
impl TypedTool for ChangeOrderAddress {
    type Args = AddressArgs;
    const NAME: &'static str = "change_order_address";
    const DESCRIPTION: &'static str = "Ship an order that has not shipped to another of the shopper's addresses. \
         Needs the shopper's confirmation.";
    const CONSEQUENTIAL: bool = true;

    async fn run(&self, ctx: &ToolContext, args: AddressArgs) -> Result<Value, ToolError> {
        let request = ctx.request(pb::ChangeAddressRequest {
            id: args.order_id,
            address_id: args.address_id,
        });
        Ok(wrapped(
            &ctx.clients
                .orders
                .clone()
                .change_address(request)
                .await?
                .into_inner(),
        ))
    }

    async fn summary(&self, ctx: &ToolContext, args: &AddressArgs) -> Result<String, ToolError> {
        let order = fetch(ctx, &args.order_id).await?;
        let address = crate::account::address(ctx, &args.address_id).await?;
        Ok(format!(
            "Ship order {} to {}, {}, {}",
            order.id, address.recipient, address.line1, address.city
        ))
    }
}

#[async_trait::async_trait]
impl TypedTool for RequestReturn {
    type Args = ReturnArgs;
    const NAME: &'static str = "request_return";
    const DESCRIPTION: &'static str = "Ask to return units of a delivered order; refunded when the shop accepts. \
         Needs the shopper's confirmation.";
    const CONSEQUENTIAL: bool = true;

    async fn run(&self, ctx: &ToolContext, args: ReturnArgs) -> Result<Value, ToolError> {
        let request = ctx.request(pb::RequestReturnRequest {
            order_id: args.order_id,
            lines: args
                .lines
                .into_iter()
                .map(|l| pb::LineChoice {
                    variant_id: l.variant_id,
                    quantity: l.quantity,
                })
                .collect(),
            reason: args.reason,
        });
        let created = ctx
            .clients
            .orders
            .clone()
            .request_return(request)
            .await?
            .into_inner();
        Ok(
            json!({"return": {"id": created.id, "status": created.status, "amount": view::money(created.amount.as_ref())}}),
        )
    }

    async fn summary(&self, ctx: &ToolContext, args: &ReturnArgs) -> Result<String, ToolError> {
        let order = fetch(ctx, &args.order_id).await?;
        let mut listed = Vec::new();
        for line in &args.lines {
            let title = order
                .lines
                .iter()
                .find(|l| l.variant_id == line.variant_id)
                .map(|l| l.title.clone())
                .ok_or_else(|| {
                    ToolError::new(
                        "line_not_found",
                        format!("{} is not in order {}", line.variant_id, order.id),
                    )
                    .with_param("lines")
                })?;
            listed.push(format!("{} × {title}", line.quantity));
        }
        Ok(format!(
            "Return {} from order {} (reason: {})",
            listed.join(", "),
            order.id,
            args.reason
        ))
    }
}

#[async_trait::async_trait]
impl TypedTool for ConfirmReceipt {
    type Args = OrderArgs;
    const NAME: &'static str = "confirm_receipt";
    const DESCRIPTION: &'static str = "Confirm a shipped or delivered order arrived, completing it. Needs the \
         shopper's confirmation.";
    const CONSEQUENTIAL: bool = true;

    async fn run(&self, ctx: &ToolContext, args: OrderArgs) -> Result<Value, ToolError> {
        let request = ctx.request(pb::ConfirmReceiptRequest { id: args.order_id });
        Ok(wrapped(
            &ctx.clients
                .orders
                .clone()
                .confirm_receipt(request)
                .await?
                .into_inner(),
        ))
    }

    async fn summary(&self, ctx: &ToolContext, args: &OrderArgs) -> Result<String, ToolError> {
        let order = fetch(ctx, &args.order_id).await?;
        Ok(format!(
            "Confirm you received order {} ({}); this completes it",
            order.id,
            view::money(order.total.as_ref())
        ))
    }
}
