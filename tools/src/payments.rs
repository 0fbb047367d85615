//! Paying: the shopper's methods, the wallet, and paying an order (consequential).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokshop_proto::{order, payment as pb};

use crate::{Registry, ToolContext, ToolError, TypedTool, catalog::NoArgs, view};

pub fn register(registry: &mut Registry) {
    registry.add(ListPaymentMethods);
    registry.add(PayOrder);
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
    const NAME: &'static str = "list_payment_methods";
    const DESCRIPTION: &'static str = "The shopper's wallet and saved cards.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Value, ToolError> {
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

#[async_trait::async_trait]
impl TypedTool for PayOrder {
    type Args = PayArgs;
    const NAME: &'static str = "pay_order";
    const DESCRIPTION: &'static str =
        "Pay an order waiting for payment. Needs the shopper's confirmation.";
    const CONSEQUENTIAL: bool = true;

    async fn run(&self, ctx: &ToolContext, args: PayArgs) -> Result<Value, ToolError> {
        let request = ctx.request(pb::PayOrderRequest {
            request_id: format!("{}:pay", ctx.request_id),
            order_id: args.order_id.clone(),
            payment_method_id: args.payment_method_id,
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

    async fn summary(&self, ctx: &ToolContext, args: &PayArgs) -> Result<String, ToolError> {
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
        let with = if method.kind == "card" {
            format!("{} card ending {}", method.brand, method.last4)
        } else {
            "wallet".to_owned()
        };
        Ok(format!(
            "Pay {} for order {} with {with}",
            view::money(order.total.as_ref()),
            order.id
        ))
    }
}

#[async_trait::async_trait]
impl TypedTool for WalletBalance {
    type Args = NoArgs;
    const NAME: &'static str = "wallet_balance";
    const DESCRIPTION: &'static str = "The shopper's wallet balance.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Value, ToolError> {
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
