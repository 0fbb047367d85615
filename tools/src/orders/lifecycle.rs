//! What a buyer does with an order once placed: cancel it, ship it elsewhere, confirm it arrived.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::order as pb;

use super::{OrderArgs, OrderResult, fetch};
use crate::{
    ToolContext, ToolError,
    guard::{AddressText, Amount, Effect, GuardedTool, Lang},
    view,
};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressArgs {
    pub order_id: String,
    /// From list_addresses.
    pub address_id: String,
}

pub struct CancelOrder;
pub struct ChangeOrderAddress;
pub struct ConfirmReceipt;

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
    type Output = OrderResult;
    const NAME: &'static str = "cancel_order";
    const DESCRIPTION: &'static str =
        "Cancel an order that has not shipped; a paid one is refunded in full.";

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
        Ok(OrderResult::of(
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
    type Output = OrderResult;
    const NAME: &'static str = "change_order_address";
    const DESCRIPTION: &'static str =
        "Ship an order that has not shipped to another of the shopper's addresses.";

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
        Ok(OrderResult::of(
            &ctx.clients
                .orders
                .clone()
                .change_address(request)
                .await?
                .into_inner(),
        ))
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
    type Output = OrderResult;
    const NAME: &'static str = "confirm_receipt";
    const DESCRIPTION: &'static str =
        "Confirm a shipped or delivered order arrived, completing it.";

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
        Ok(OrderResult::of(
            &ctx.clients
                .orders
                .clone()
                .confirm_receipt(request)
                .await?
                .into_inner(),
        ))
    }
}
