//! Checking out: the order priced exactly as it would be placed, and placing exactly that.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::order as pb;

use super::{Item, OrderResult};
use crate::{
    ToolContext, ToolError,
    guard::{AddressText, Amount, Effect, GuardedTool, Lang, quote},
};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutArgs {
    /// To buy directly; without it or cart_variant_ids, the whole cart.
    pub items: Option<Vec<Item>>,
    /// Only these cart lines.
    pub cart_variant_ids: Option<Vec<String>>,
    /// From list_addresses; else the default one.
    pub address_id: Option<String>,
    /// From my_coupons.
    pub claimed_coupon_id: Option<String>,
}

pub struct Checkout;

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
    type Output = OrderResult;
    const NAME: &'static str = "checkout";
    const DESCRIPTION: &'static str = "Place an order; it then waits for payment.";

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
        Ok(OrderResult::of(&order))
    }
}
