//! Coupons: what a shop offers, claiming one (consequential), and the shopper's own.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::order as pb;

use crate::{
    Registry, ToolContext, ToolError, TypedTool,
    catalog::NoArgs,
    guard::{Effect, GuardedTool, Lang, quote},
    view,
};

pub fn register(registry: &mut Registry) {
    registry.add(ListCoupons);
    registry.add_guarded(ClaimCoupon);
    registry.add(MyCoupons);
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
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

/// A coupon as tools show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Coupon {
    pub id: String,
    pub code: String,
    /// The seller's title, as data.
    pub title: String,
    /// "10%" or "5.00 USD".
    pub off: String,
    pub valid_until_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_spend: Option<String>,
}

impl Coupon {
    pub fn of(c: &pb::Coupon) -> Self {
        let off = if c.percent_off > 0 {
            format!("{}%", c.percent_off)
        } else {
            tokshop_platform::money::format(c.amount_off, &c.currency)
        };
        Self {
            id: c.id.clone(),
            code: c.code.clone(),
            title: view::seller_text(&c.title, view::TITLE_CHARS),
            off,
            valid_until_ms: c.valid_until_ms,
            min_spend: (c.min_spend > 0)
                .then(|| tokshop_platform::money::format(c.min_spend, &c.currency)),
        }
    }
}

/// `list_coupons`: what can be claimed now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CouponList {
    pub coupons: Vec<Coupon>,
}

/// A coupon the shopper holds: `claim_coupon` answers one (without a status), `my_coupons` lists them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ClaimedCoupon {
    pub claimed_coupon_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub coupon: Option<Coupon>,
}

/// `my_coupons`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ClaimedCouponList {
    pub coupons: Vec<ClaimedCoupon>,
}

#[async_trait::async_trait]
impl TypedTool for ListCoupons {
    type Args = ListArgs;
    type Output = CouponList;
    const NAME: &'static str = "list_coupons";
    const DESCRIPTION: &'static str = "Coupons that can be claimed now, for a product or a shop.";

    async fn run(&self, ctx: &ToolContext, args: ListArgs) -> Result<Self::Output, ToolError> {
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
        Ok(CouponList {
            coupons: list.coupons.iter().map(Coupon::of).collect(),
        })
    }
}

/// Claiming a coupon as approved: which one, and what it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimEffect {
    pub coupon_id: String,
    pub code: String,
    pub title: String,
    /// "10%" or "5.00 USD".
    pub off: String,
    pub min_spend: Option<String>,
}

impl Effect for ClaimEffect {
    fn describe(&self, lang: Lang) -> String {
        let min = self.min_spend.as_deref();
        match lang {
            Lang::En => format!(
                "Claim coupon {} {} ({} off{}).",
                self.code,
                quote(&self.title, 80),
                self.off,
                min.map(|m| format!(" orders of {m} or more"))
                    .unwrap_or_default()
            ),
            Lang::Zh => format!(
                "领取优惠券 {} {}（{}{}）。",
                self.code,
                quote(&self.title, 80),
                min.map(|m| format!("满 {m} ")).unwrap_or_default(),
                format_args!("减 {}", self.off)
            ),
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for ClaimCoupon {
    type Args = ClaimArgs;
    type Effect = ClaimEffect;
    type Output = ClaimedCoupon;
    const NAME: &'static str = "claim_coupon";
    const DESCRIPTION: &'static str = "Claim a coupon for later use at checkout.";

    async fn effect(&self, ctx: &ToolContext, args: &ClaimArgs) -> Result<ClaimEffect, ToolError> {
        let coupon = ctx
            .clients
            .coupons
            .clone()
            .get_coupon(ctx.request(pb::GetCouponRequest {
                id: args.coupon_id.trim().to_owned(),
            }))
            .await?
            .into_inner();
        let shown = Coupon::of(&coupon);
        Ok(ClaimEffect {
            coupon_id: coupon.id,
            code: coupon.code,
            title: coupon.title,
            off: shown.off,
            min_spend: shown.min_spend,
        })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: ClaimEffect,
    ) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::ClaimCouponRequest {
            coupon_id: effect.coupon_id,
        });
        let claimed = ctx
            .clients
            .coupons
            .clone()
            .claim_coupon(request)
            .await?
            .into_inner();
        Ok(ClaimedCoupon {
            claimed_coupon_id: claimed.id,
            status: None,
            coupon: claimed.coupon.as_ref().map(Coupon::of),
        })
    }
}

#[async_trait::async_trait]
impl TypedTool for MyCoupons {
    type Args = NoArgs;
    type Output = ClaimedCouponList;
    const NAME: &'static str = "my_coupons";
    const DESCRIPTION: &'static str = "Coupons the shopper has claimed, with their status.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
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
        let coupons = list
            .coupons
            .iter()
            .map(|c| ClaimedCoupon {
                claimed_coupon_id: c.id.clone(),
                status: Some(c.status.clone()),
                coupon: c.coupon.as_ref().map(Coupon::of),
            })
            .collect();
        Ok(ClaimedCouponList { coupons })
    }
}
