//! Paying: the shopper's methods, the wallet, and paying an order (consequential).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokshop_proto::{order, payment as pb};

use crate::{
    Registry, ToolContext, ToolError, TypedTool,
    catalog::NoArgs,
    guard::{Amount, Effect, GuardedTool, Lang},
    view,
};

pub fn register(registry: &mut Registry) {
    registry.add(ListPaymentMethods);
    registry.add_guarded(PayOrder);
    registry.add(WalletBalance);
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayArgs {
    pub order_id: String,
    /// "wallet", or a card id from list_payment_methods.
    pub payment_method_id: String,
}

pub struct ListPaymentMethods;
pub struct PayOrder;
pub struct WalletBalance;

async fn methods(ctx: &ToolContext) -> Result<Vec<pb::PaymentMethod>, ToolError> {
    let request = ctx.request(pb::ListPaymentMethodsRequest {});
    Ok(ctx
        .clients
        .payments
        .clone()
        .list_payment_methods(request)
        .await?
        .into_inner()
        .methods)
}

#[async_trait::async_trait]
impl TypedTool for ListPaymentMethods {
    type Args = NoArgs;
    type Output = Value;
    const NAME: &'static str = "list_payment_methods";
    const DESCRIPTION: &'static str = "The shopper's wallet and saved cards.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
        let listed: Vec<Value> = methods(ctx)
            .await?
            .iter()
            .map(|m| {
                if m.kind == "card" {
                    json!({"id": m.id, "kind": m.kind, "brand": m.brand, "last4": m.last4})
                } else {
                    json!({"id": m.id, "kind": m.kind})
                }
            })
            .collect();
        Ok(json!({"methods": listed}))
    }
}

/// A payment as approved: which order, how much, and with what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayEffect {
    pub order_id: String,
    pub amount: Amount,
    pub payment_method_id: String,
    /// "wallet", or "Visa card ending 4242".
    pub method: String,
}

impl Effect for PayEffect {
    fn describe(&self, lang: Lang) -> String {
        match lang {
            Lang::En => format!(
                "Pay {} for order {} with {}.",
                self.amount.text(),
                self.order_id,
                self.method
            ),
            Lang::Zh => {
                let method = if self.payment_method_id == "wallet" {
                    "钱包余额".to_owned()
                } else {
                    self.method.clone()
                };
                format!(
                    "用{method}支付订单 {}，金额 {}。",
                    self.order_id,
                    self.amount.text()
                )
            }
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for PayOrder {
    type Args = PayArgs;
    type Effect = PayEffect;
    type Output = Value;
    const NAME: &'static str = "pay_order";
    const DESCRIPTION: &'static str =
        "Pay an order waiting for payment. Needs the shopper's confirmation.";

    async fn effect(&self, ctx: &ToolContext, args: &PayArgs) -> Result<PayEffect, ToolError> {
        let request = ctx.request(order::GetOrderRequest {
            id: args.order_id.clone(),
            as_seller: false,
        });
        let order = ctx
            .clients
            .orders
            .clone()
            .get_order(request)
            .await?
            .into_inner();
        if order.status() != order::OrderStatus::PendingPayment {
            return Err(ToolError::new(
                "invalid_order_state",
                format!(
                    "order {} is {}: only an order waiting for payment can be paid",
                    order.id,
                    view::status_name(order.status())
                ),
            )
            .with_param("order_id"));
        }
        let method = methods(ctx)
            .await?
            .into_iter()
            .find(|m| m.id == args.payment_method_id)
            .ok_or_else(|| {
                ToolError::new(
                    "payment_method_not_found",
                    "no such payment method: use list_payment_methods",
                )
                .with_param("payment_method_id")
            })?;
        let label = if method.kind == "card" {
            format!("{} card ending {}", method.brand, method.last4)
        } else {
            "wallet".to_owned()
        };
        Ok(PayEffect {
            order_id: order.id.clone(),
            amount: Amount::of(order.total.as_ref()),
            payment_method_id: method.id,
            method: label,
        })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: PayEffect,
    ) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::PayOrderRequest {
            request_id: format!("{}:pay", ctx.request_id),
            order_id: effect.order_id,
            payment_method_id: effect.payment_method_id,
        });
        let paid = ctx
            .clients
            .payments
            .clone()
            .pay_order(request)
            .await?
            .into_inner();
        if paid.status != "succeeded" {
            return Err(ToolError::new(paid.failure_code, paid.failure_message));
        }
        Ok(json!({"payment": view::payment(&paid), "order_status": "paid"}))
    }
}

#[async_trait::async_trait]
impl TypedTool for WalletBalance {
    type Args = NoArgs;
    type Output = Value;
    const NAME: &'static str = "wallet_balance";
    const DESCRIPTION: &'static str = "The shopper's wallet balance.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
        let wallet = ctx
            .clients
            .payments
            .clone()
            .get_wallet(ctx.request(pb::GetWalletRequest {}))
            .await?
            .into_inner();
        let balances: Vec<String> = wallet
            .balances
            .iter()
            .map(|m| view::money(Some(m)))
            .collect();
        Ok(json!({"balances": balances}))
    }
}
