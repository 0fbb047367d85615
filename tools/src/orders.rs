//! Orders: checkout and what a buyer does with an order. Everything but reading is consequential.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokshop_proto::order as pb;

use crate::{
    Registry, ToolContext, ToolError, TypedTool,
    guard::{AddressText, Amount, Effect, GuardedTool, Lang, block, quote},
    view,
};

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

/// One line of an order as the shopper approves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectLine {
    pub variant_id: String,
    pub title: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: Amount,
}

/// The coupon a checkout uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CouponUse {
    pub claimed_coupon_id: String,
    pub code: String,
}

/// A checkout as approved: lines, coupon, every amount, and the full address it ships to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutEffect {
    pub seller_id: String,
    pub lines: Vec<EffectLine>,
    pub subtotal: Amount,
    pub discount: Amount,
    pub shipping: Amount,
    pub total: Amount,
    pub coupon: Option<CouponUse>,
    pub address: AddressText,
    /// The lines are cart lines (the checkout removes them from the cart).
    pub from_cart: bool,
}

impl Effect for CheckoutEffect {
    fn describe(&self, lang: Lang) -> String {
        let lines: Vec<String> = self
            .lines
            .iter()
            .map(|l| match lang {
                Lang::En => format!(
                    "{} × {} at {}",
                    l.quantity,
                    quote(&l.title, 80),
                    l.unit_price.text()
                ),
                Lang::Zh => format!(
                    "{} × {}，单价 {}",
                    l.quantity,
                    quote(&l.title, 80),
                    l.unit_price.text()
                ),
            })
            .collect();
        let coupon = self.coupon.as_ref().map(|c| match lang {
            Lang::En => format!(", coupon {} −{}", c.code, self.discount.text()),
            Lang::Zh => format!("，优惠券 {} 减 {}", c.code, self.discount.text()),
        });
        match lang {
            Lang::En => format!(
                "Place an order for {}: subtotal {}{}, shipping {}, total {}. Ship to {}.",
                lines.join("; "),
                self.subtotal.text(),
                coupon.unwrap_or_default(),
                self.shipping.text(),
                self.total.text(),
                self.address.text()
            ),
            Lang::Zh => format!(
                "下单：{}；小计 {}{}，运费 {}，合计 {}。收货地址：{}。",
                lines.join("；"),
                self.subtotal.text(),
                coupon.unwrap_or_default(),
                self.shipping.text(),
                self.total.text(),
                self.address.text()
            ),
        }
    }
}

fn checkout_request(args: &CheckoutArgs) -> pb::CheckoutRequest {
    pb::CheckoutRequest {
        items: args
            .items
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|i| pb::LineChoice {
                variant_id: i.variant_id,
                quantity: i.quantity,
            })
            .collect(),
        cart_variant_ids: args.cart_variant_ids.clone().unwrap_or_default(),
        address_id: args.address_id.clone().unwrap_or_default(),
        claimed_coupon_id: args.claimed_coupon_id.clone().unwrap_or_default(),
        ..Default::default()
    }
}

#[async_trait::async_trait]
impl GuardedTool for Checkout {
    type Args = CheckoutArgs;
    type Effect = CheckoutEffect;
    type Output = Value;
    const NAME: &'static str = "checkout";
    const DESCRIPTION: &'static str = "Place an order (stock is reserved; it then waits for payment). Needs the \
         shopper's confirmation.";

    /// Priced by the orders service exactly as the checkout would be now, with the address written out.
    async fn effect(
        &self,
        ctx: &ToolContext,
        args: &CheckoutArgs,
    ) -> Result<CheckoutEffect, ToolError> {
        let quote = ctx
            .clients
            .orders
            .clone()
            .quote_checkout(ctx.request(checkout_request(args)))
            .await
            .map_err(|status| match ToolError::from(status) {
                err if err.code == "address_required" => ToolError::new(
                    "address_required",
                    "the shopper has no shipping address on file: ask them for one (recipient, street, city, \
                     postal code, country) and add it with add_address before checking out",
                )
                .with_param("address_id"),
                err => err,
            })?
            .into_inner();
        Ok(CheckoutEffect {
            seller_id: quote.seller_id,
            lines: quote
                .lines
                .iter()
                .map(|l| EffectLine {
                    variant_id: l.variant_id.clone(),
                    title: l.title.clone(),
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    unit_price: Amount::of(l.unit_price.as_ref()),
                })
                .collect(),
            subtotal: Amount::of(quote.subtotal.as_ref()),
            discount: Amount::of(quote.discount.as_ref()),
            shipping: Amount::of(quote.shipping_fee.as_ref()),
            total: Amount::of(quote.total.as_ref()),
            coupon: (!quote.claimed_coupon_id.is_empty()).then(|| CouponUse {
                claimed_coupon_id: quote.claimed_coupon_id.clone(),
                code: quote.coupon_code.clone(),
            }),
            address: AddressText::from_order(&quote.address.unwrap_or_default()),
            from_cart: quote.from_cart,
        })
    }

    /// Exactly the approved lines, address and coupon; the orders service opens the order only at the approved
    /// total, and for a cart checkout only while the cart holds exactly those lines.
    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: CheckoutEffect,
    ) -> Result<Self::Output, ToolError> {
        let ids: Vec<String> = effect.lines.iter().map(|l| l.variant_id.clone()).collect();
        // Always the approved lines with their quantities; from the cart, the orders service also checks the cart
        // still holds exactly them, and takes them out of it.
        let request = ctx.request(pb::CheckoutRequest {
            request_id: format!("{}:checkout", ctx.request_id),
            items: effect
                .lines
                .iter()
                .map(|l| pb::LineChoice {
                    variant_id: l.variant_id.clone(),
                    quantity: l.quantity,
                })
                .collect(),
            cart_variant_ids: if effect.from_cart { ids } else { Vec::new() },
            address_id: effect.address.address_id.clone(),
            claimed_coupon_id: effect
                .coupon
                .map(|c| c.claimed_coupon_id)
                .unwrap_or_default(),
            expected_total: Some(effect.total.money()),
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
}

#[async_trait::async_trait]
impl TypedTool for ListOrders {
    type Args = ListArgs;
    type Output = Value;
    const NAME: &'static str = "list_orders";
    const DESCRIPTION: &'static str = "The shopper's orders, newest first.";

    async fn run(&self, ctx: &ToolContext, args: ListArgs) -> Result<Self::Output, ToolError> {
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
    type Output = Value;
    const NAME: &'static str = "get_order";
    const DESCRIPTION: &'static str =
        "One of the shopper's orders: status, items, totals, tracking.";

    async fn run(&self, ctx: &ToolContext, args: OrderArgs) -> Result<Self::Output, ToolError> {
        Ok(wrapped(&fetch(ctx, &args.order_id).await?))
    }
}

/// Cancelling an order as approved: its state and total now, and what is refunded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelEffect {
    pub order_id: String,
    pub status: String,
    pub total: Amount,
    /// Refunded to the original payment method (a paid order).
    pub refund: Option<Amount>,
}

impl Effect for CancelEffect {
    fn describe(&self, lang: Lang) -> String {
        match (lang, &self.refund) {
            (Lang::En, Some(refund)) => format!(
                "Cancel order {} ({}, {}); {} is refunded to the original payment method.",
                self.order_id,
                self.total.text(),
                self.status,
                refund.text()
            ),
            (Lang::En, None) => format!(
                "Cancel order {} ({}, {}).",
                self.order_id,
                self.total.text(),
                self.status
            ),
            (Lang::Zh, Some(refund)) => format!(
                "取消订单 {}（{}，{}），{} 原路退回。",
                self.order_id,
                self.total.text(),
                view::status_name_zh(&self.status),
                refund.text()
            ),
            (Lang::Zh, None) => format!(
                "取消订单 {}（{}，{}）。",
                self.order_id,
                self.total.text(),
                view::status_name_zh(&self.status)
            ),
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for CancelOrder {
    type Args = OrderArgs;
    type Effect = CancelEffect;
    type Output = Value;
    const NAME: &'static str = "cancel_order";
    const DESCRIPTION: &'static str = "Cancel an order that has not shipped; a paid one is refunded in full. Needs \
         the shopper's confirmation.";

    async fn effect(&self, ctx: &ToolContext, args: &OrderArgs) -> Result<CancelEffect, ToolError> {
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
        let total = Amount::of(order.total.as_ref());
        let refund = (order.status() == pb::OrderStatus::Paid).then(|| total.clone());
        Ok(CancelEffect {
            order_id: order.id.clone(),
            status: view::status_name(order.status()),
            total,
            refund,
        })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: CancelEffect,
    ) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::CancelOrderRequest {
            id: effect.order_id,
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
}

/// Shipping an order somewhere else, with the new address in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeAddressEffect {
    pub order_id: String,
    pub status: String,
    pub address: AddressText,
}

impl Effect for ChangeAddressEffect {
    fn describe(&self, lang: Lang) -> String {
        match lang {
            Lang::En => format!("Ship order {} to {}.", self.order_id, self.address.text()),
            Lang::Zh => format!("订单 {} 改寄到：{}。", self.order_id, self.address.text()),
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for ChangeOrderAddress {
    type Args = AddressArgs;
    type Effect = ChangeAddressEffect;
    type Output = Value;
    const NAME: &'static str = "change_order_address";
    const DESCRIPTION: &'static str = "Ship an order that has not shipped to another of the shopper's addresses. \
         Needs the shopper's confirmation.";

    async fn effect(
        &self,
        ctx: &ToolContext,
        args: &AddressArgs,
    ) -> Result<ChangeAddressEffect, ToolError> {
        let order = fetch(ctx, &args.order_id).await?;
        let address = crate::account::address(ctx, &args.address_id).await?;
        Ok(ChangeAddressEffect {
            order_id: order.id.clone(),
            status: view::status_name(order.status()),
            address: AddressText::from_book(&address),
        })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: ChangeAddressEffect,
    ) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::ChangeAddressRequest {
            id: effect.order_id,
            address_id: effect.address.address_id,
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
}

/// Longest return reason, in characters: it is shown in full in the summary.
const RETURN_REASON_CHARS: usize = 500;

/// A line to return, as approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub variant_id: String,
    pub title: String,
    pub quantity: i64,
}

/// A return request as approved: which units of which order, and the shopper's reason in their words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnEffect {
    pub order_id: String,
    pub lines: Vec<ReturnLine>,
    pub reason: String,
}

impl Effect for ReturnEffect {
    fn describe(&self, lang: Lang) -> String {
        let lines: Vec<String> = self
            .lines
            .iter()
            .map(|l| format!("{} × {}", l.quantity, quote(&l.title, 80)))
            .collect();
        match lang {
            Lang::En => format!(
                "Ask to return {} from order {}, with this reason sent to the seller in your name:\n{}\n",
                lines.join(", "),
                self.order_id,
                block(&self.reason)
            ),
            Lang::Zh => format!(
                "申请退货：订单 {} 的 {}，并以你的名义向卖家说明原因：\n{}\n",
                self.order_id,
                lines.join("、"),
                block(&self.reason)
            ),
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for RequestReturn {
    type Args = ReturnArgs;
    type Effect = ReturnEffect;
    type Output = Value;
    const NAME: &'static str = "request_return";
    const DESCRIPTION: &'static str = "Ask to return units of a delivered order; refunded when the shop accepts. \
         Needs the shopper's confirmation.";

    async fn effect(
        &self,
        ctx: &ToolContext,
        args: &ReturnArgs,
    ) -> Result<ReturnEffect, ToolError> {
        let order = fetch(ctx, &args.order_id).await?;
        let reason = args.reason.trim();
        if reason.is_empty() || reason.chars().count() > RETURN_REASON_CHARS {
            return Err(ToolError::invalid_arguments(format!(
                "give the shopper's reason, 1 to {RETURN_REASON_CHARS} characters"
            ))
            .with_param("reason"));
        }
        let mut lines = Vec::new();
        for line in &args.lines {
            let bought = order
                .lines
                .iter()
                .find(|l| l.variant_id == line.variant_id)
                .ok_or_else(|| {
                    ToolError::new(
                        "line_not_found",
                        format!("{} is not in order {}", line.variant_id, order.id),
                    )
                    .with_param("lines")
                })?;
            lines.push(ReturnLine {
                variant_id: line.variant_id.clone(),
                title: bought.title.clone(),
                quantity: line.quantity,
            });
        }
        if lines.is_empty() {
            return Err(
                ToolError::invalid_arguments("give the lines to return").with_param("lines")
            );
        }
        Ok(ReturnEffect {
            order_id: order.id.clone(),
            lines,
            reason: reason.to_owned(),
        })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: ReturnEffect,
    ) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::RequestReturnRequest {
            order_id: effect.order_id,
            lines: effect
                .lines
                .into_iter()
                .map(|l| pb::LineChoice {
                    variant_id: l.variant_id,
                    quantity: l.quantity,
                })
                .collect(),
            reason: effect.reason,
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
}

/// Confirming an order arrived, which completes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptEffect {
    pub order_id: String,
    pub status: String,
    pub total: Amount,
}

impl Effect for ReceiptEffect {
    fn describe(&self, lang: Lang) -> String {
        match lang {
            Lang::En => format!(
                "Confirm you received order {} ({}); this completes it.",
                self.order_id,
                self.total.text()
            ),
            Lang::Zh => format!(
                "确认已收到订单 {}（{}），订单将完成。",
                self.order_id,
                self.total.text()
            ),
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for ConfirmReceipt {
    type Args = OrderArgs;
    type Effect = ReceiptEffect;
    type Output = Value;
    const NAME: &'static str = "confirm_receipt";
    const DESCRIPTION: &'static str = "Confirm a shipped or delivered order arrived, completing it. Needs the \
         shopper's confirmation.";

    async fn effect(
        &self,
        ctx: &ToolContext,
        args: &OrderArgs,
    ) -> Result<ReceiptEffect, ToolError> {
        let order = fetch(ctx, &args.order_id).await?;
        Ok(ReceiptEffect {
            order_id: order.id.clone(),
            status: view::status_name(order.status()),
            total: Amount::of(order.total.as_ref()),
        })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: ReceiptEffect,
    ) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::ConfirmReceiptRequest {
            id: effect.order_id,
        });
        Ok(wrapped(
            &ctx.clients
                .orders
                .clone()
                .confirm_receipt(request)
                .await?
                .into_inner(),
        ))
    }
}
