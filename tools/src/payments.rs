//! Paying: the shopper's methods, the wallet, and paying an order (consequential).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
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

/// A way to pay: the wallet, or a saved card (with its brand and last four digits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PaymentMethod {
    /// "wallet", or a card's id.
    pub id: String,
    /// "wallet" or "card".
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
}

/// `list_payment_methods`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PaymentMethodList {
    pub methods: Vec<PaymentMethod>,
}

/// A payment as the payments service recorded it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Payment {
    pub id: String,
    pub status: String,
    pub amount: String,
}

impl Payment {
    pub fn of(p: &pb::Payment) -> Self {
        Self {
            id: p.id.clone(),
            status: p.status.clone(),
            amount: view::money(p.amount.as_ref()),
        }
    }
}

/// `pay_order`: the payment, and the order's status after it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PaymentResult {
    pub payment: Payment,
    pub order_status: String,
}

/// `wallet_balance`: one amount per currency held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Wallet {
    pub balances: Vec<String>,
}

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
    type Output = PaymentMethodList;
    const NAME: &'static str = "list_payment_methods";
    const DESCRIPTION: &'static str = "The shopper's wallet and saved cards.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
        let methods = methods(ctx)
            .await?
            .into_iter()
            .map(|m| {
                let card = m.kind == "card";
                PaymentMethod {
                    id: m.id,
                    kind: m.kind,
                    brand: card.then_some(m.brand),
                    last4: card.then_some(m.last4),
                }
            })
            .collect();
        Ok(PaymentMethodList { methods })
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
    type Output = PaymentResult;
    const NAME: &'static str = "pay_order";
    const DESCRIPTION: &'static str = "Pay an order waiting for payment.";

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
        Ok(PaymentResult {
            payment: Payment::of(&paid),
            order_status: "paid".to_owned(),
        })
    }
}

#[async_trait::async_trait]
impl TypedTool for WalletBalance {
    type Args = NoArgs;
    type Output = Wallet;
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
        Ok(Wallet {
            balances: wallet
                .balances
                .iter()
                .map(|m| view::money(Some(m)))
                .collect(),
        })
    }
}
