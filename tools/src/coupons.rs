//! Coupons: what a shop offers, claiming one (consequential), and the shopper's own.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokshop_proto::order as pb;

use crate::{Registry, ToolContext, ToolError, TypedTool, catalog::NoArgs, view};

pub fn register(registry: &mut Registry) {
    registry.add(ListCoupons);
    registry.add(ClaimCoupon);
    registry.add(MyCoupons);
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Coupons usable on this product.
    pub product_id: Option<String>,
    /// Or all coupons of this shop.
    pub seller_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimArgs {
    pub coupon_id: String,
}

pub struct ListCoupons;
pub struct ClaimCoupon;
pub struct MyCoupons;

#[async_trait::async_trait]
impl TypedTool for ListCoupons {
    type Args = ListArgs;
    const NAME: &'static str = "list_coupons";
    const DESCRIPTION: &'static str = "Coupons that can be claimed now, for a product or a shop.";

    async fn run(&self, ctx: &ToolContext, args: ListArgs) -> Result<Value, ToolError> {
        if args.product_id.is_none() && args.seller_id.is_none() {
            return Err(ToolError::invalid_arguments("give product_id or seller_id"));
        }
        let request = ctx.request(pb::ListCouponsRequest {
            seller_id: args.seller_id.unwrap_or_default(),
            product_id: args.product_id.unwrap_or_default(),
        });
        let list = ctx
            .clients
            .coupons
            .clone()
            .list_coupons(request)
            .await?
            .into_inner();
        let coupons: Vec<Value> = list.coupons.iter().map(view::coupon).collect();
        Ok(json!({"coupons": coupons}))
    }
}

#[async_trait::async_trait]
impl TypedTool for ClaimCoupon {
    type Args = ClaimArgs;
    const NAME: &'static str = "claim_coupon";
    const DESCRIPTION: &'static str =
        "Claim a coupon for later use at checkout. Needs the shopper's confirmation.";
    const CONSEQUENTIAL: bool = true;

    async fn run(&self, ctx: &ToolContext, args: ClaimArgs) -> Result<Value, ToolError> {
        let request = ctx.request(pb::ClaimCouponRequest {
            coupon_id: args.coupon_id,
        });
        let claimed = ctx
            .clients
            .coupons
            .clone()
            .claim_coupon(request)
            .await?
            .into_inner();
        let coupon = claimed
            .coupon
            .as_ref()
            .map(view::coupon)
            .unwrap_or(Value::Null);
        Ok(json!({"claimed_coupon_id": claimed.id, "coupon": coupon}))
    }

    async fn summary(&self, _ctx: &ToolContext, args: &ClaimArgs) -> Result<String, ToolError> {
        Ok(format!("Claim coupon {}", args.coupon_id))
    }
}

#[async_trait::async_trait]
impl TypedTool for MyCoupons {
    type Args = NoArgs;
    const NAME: &'static str = "my_coupons";
    const DESCRIPTION: &'static str = "Coupons the shopper has claimed, with their status.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Value, ToolError> {
        let request = ctx.request(pb::ListClaimedCouponsRequest {
            available_only: false,
        });
        let list = ctx
            .clients
            .coupons
            .clone()
            .list_claimed_coupons(request)
            .await?
            .into_inner();
        let coupons: Vec<Value> = list
            .coupons
            .iter()
            .map(|c| {
                json!({"claimed_coupon_id": c.id, "status": c.status,
                       "coupon": c.coupon.as_ref().map(view::coupon).unwrap_or(Value::Null)})
            })
            .collect();
        Ok(json!({"coupons": coupons}))
    }
}
