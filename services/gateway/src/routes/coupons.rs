//! Coupons: sellers create them for their own products, shoppers claim them and use one at checkout.

use tokshop_platform::non_empty;
use tokshop_proto::order as pb;
use utoipa::openapi::{Object, ObjectBuilder, Type};

use crate::{error::ApiError, handler::prelude::*};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Coupon {
    pub id: String,
    pub seller_id: String,
    pub code: String,
    pub title: String,
    /// Minor units off, in `currency`; null for a percent-off coupon.
    pub amount_off: Option<i64>,
    /// 1..=100; null for an amount-off coupon.
    pub percent_off: Option<i32>,
    pub currency: String,
    /// The in-scope items must come to at least this (minor units).
    pub min_spend: i64,
    /// shop, product or category.
    pub scope: String,
    pub scope_id: Option<String>,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub total_quantity: i64,
    pub per_user_limit: i64,
    pub claimed: i64,
    pub used: i64,
    pub created_at_ms: i64,
}

impl From<pb::Coupon> for Coupon {
    fn from(c: pb::Coupon) -> Self {
        Self {
            scope: c.scope().label().unwrap_or("unspecified").to_owned(),
            id: c.id,
            seller_id: c.seller_id,
            code: c.code,
            title: c.title,
            amount_off: (c.amount_off > 0).then_some(c.amount_off),
            percent_off: (c.percent_off > 0).then_some(c.percent_off),
            currency: c.currency,
            min_spend: c.min_spend,
            scope_id: non_empty(c.scope_id),
            valid_from_ms: c.valid_from_ms,
            valid_until_ms: c.valid_until_ms,
            total_quantity: c.total_quantity,
            per_user_limit: c.per_user_limit,
            claimed: c.claimed,
            used: c.used,
            created_at_ms: c.created_at_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CouponList {
    pub coupons: Vec<Coupon>,
}

/// A new coupon: exactly one of `amount_off` and `percent_off`. Times are milliseconds since 1970.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreateCoupon {
    /// Letters, digits, `-` and `_`; stored in upper case.
    #[schema(min_length = 3, max_length = 32)]
    pub code: String,
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    /// Minor units off.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub amount_off: Option<i64>,
    #[schema(minimum = 1, maximum = 100)]
    pub percent_off: Option<i32>,
    /// ISO 4217; the shop currency when absent.
    #[schema(min_length = 3, max_length = 3)]
    pub currency: Option<String>,
    /// Minor units; 0 when absent.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub min_spend: i64,
    #[schema(schema_with = scope_schema)]
    pub scope: String,
    /// The product or category; none for a shop-wide coupon.
    #[schema(max_length = 64)]
    pub scope_id: Option<String>,
    /// Now when absent or 0.
    #[schema(minimum = 0, maximum = 253_402_300_799_999_i64)]
    pub valid_from_ms: Option<i64>,
    /// In the future, and after `valid_from_ms`.
    #[schema(minimum = 0, maximum = 253_402_300_799_999_i64)]
    pub valid_until_ms: i64,
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub total_quantity: i64,
    /// 1 when absent.
    #[schema(minimum = 1, maximum = 100)]
    pub per_user_limit: Option<i64>,
}

/// `CreateCoupon::scope`: a scope's label, as `pb::CouponScope::from_label` reads it.
fn scope_schema() -> Object {
    let labels = [
        pb::CouponScope::Shop,
        pb::CouponScope::Product,
        pb::CouponScope::Category,
    ]
    .into_iter()
    .filter_map(pb::CouponScope::label);
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(labels))
        .description(Some("What the coupon applies to, in any letter case."))
        .build()
}

/// A coupon a shopper holds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimedCoupon {
    /// Pass this as `claimed_coupon_id` at checkout.
    pub id: String,
    pub coupon: Coupon,
    /// available, used or expired.
    pub status: String,
    pub order_id: Option<String>,
    pub claimed_at_ms: i64,
}

impl From<pb::ClaimedCoupon> for ClaimedCoupon {
    fn from(c: pb::ClaimedCoupon) -> Self {
        Self {
            id: c.id,
            coupon: c
                .coupon
                .map(Coupon::from)
                .unwrap_or_else(|| Coupon::from(pb::Coupon::default())),
            status: c.status,
            order_id: non_empty(c.order_id),
            claimed_at_ms: c.claimed_at_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimedCouponList {
    pub coupons: Vec<ClaimedCoupon>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CouponParams {
    /// A shop's claimable coupons.
    pub seller_id: Option<String>,
    /// Claimable coupons usable on this product.
    pub product_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyCouponParams {
    /// Only coupons usable now.
    #[serde(default)]
    pub available_only: bool,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_coupon, my_shop_coupons))
        .routes(routes!(list_coupons))
        .routes(routes!(claim_coupon))
        .routes(routes!(my_coupons))
}

/// Create a coupon for the seller's own products.
#[utoipa::path(post, path = "/api/v1/seller/coupons", tag = "coupons", security(("bearer" = [])),
    request_body = CreateCoupon,
    responses((status = 201, description = "The coupon", body = Coupon),
        (status = 409, description = "The code is taken", body = ErrorBody)))]
async fn create_coupon(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateCoupon>,
) -> ApiResult<(StatusCode, Json<Coupon>)> {
    let scope = pb::CouponScope::from_label(&body.scope)
        .ok_or_else(|| ApiError::invalid("scope", "scope must be shop, product or category"))?;
    let request = pb::CreateCouponRequest {
        code: body.code,
        title: body.title,
        amount_off: body.amount_off.unwrap_or(0),
        percent_off: body.percent_off.unwrap_or(0),
        currency: body
            .currency
            .unwrap_or_else(|| state.settings.shop.currency.clone()),
        min_spend: body.min_spend,
        scope: scope as i32,
        scope_id: body.scope_id.unwrap_or_default(),
        valid_from_ms: body.valid_from_ms.unwrap_or(0),
        valid_until_ms: body.valid_until_ms,
        total_quantity: body.total_quantity,
        per_user_limit: body.per_user_limit.unwrap_or(0),
    };
    let request = authorized(request, user.token());
    created(state.coupons().create_coupon(request)).await
}

/// The seller's coupons with claim and use counts.
#[utoipa::path(get, path = "/api/v1/seller/coupons", tag = "coupons", security(("bearer" = [])),
    responses((status = 200, description = "The shop's coupons", body = CouponList)))]
async fn my_shop_coupons(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<CouponList>> {
    let list = state
        .coupons()
        .list_my_coupons(authorized(pb::ListMyCouponsRequest {}, user.token()))
        .await?
        .into_inner();
    Ok(Json(CouponList {
        coupons: list.coupons.into_iter().map(Coupon::from).collect(),
    }))
}

/// Coupons that can be claimed now: a shop's, or those usable on a product.
#[utoipa::path(get, path = "/api/v1/coupons", tag = "coupons", security((), ("bearer" = [])), params(CouponParams),
    responses((status = 200, description = "Claimable coupons", body = CouponList)))]
async fn list_coupons(
    State(state): State<AppState>,
    auth: MaybeAuth,
    ApiQuery(params): ApiQuery<CouponParams>,
) -> ApiResult<Json<CouponList>> {
    let request = pb::ListCouponsRequest {
        seller_id: params.seller_id.unwrap_or_default(),
        product_id: params.product_id.unwrap_or_default(),
    };
    let list = state
        .coupons()
        .list_coupons(authorized(request, auth.token()))
        .await?
        .into_inner();
    Ok(Json(CouponList {
        coupons: list.coupons.into_iter().map(Coupon::from).collect(),
    }))
}

/// Claim one unit of a coupon (within its per-user limit).
#[utoipa::path(post, path = "/api/v1/coupons/{id}/claim", tag = "coupons", security(("bearer" = [])),
    params(("id" = String, Path, description = "Coupon id")),
    responses((status = 201, description = "The claimed coupon", body = ClaimedCoupon),
        (status = 409, description = "Sold out, expired, or the per-user limit is reached", body = ErrorBody)))]
async fn claim_coupon(
    State(state): State<AppState>,
    user: AuthUser,
    Path(coupon_id): Path<String>,
) -> ApiResult<(StatusCode, Json<ClaimedCoupon>)> {
    let request = authorized(pb::ClaimCouponRequest { coupon_id }, user.token());
    created(state.coupons().claim_coupon(request)).await
}

/// The caller's claimed coupons.
#[utoipa::path(get, path = "/api/v1/me/coupons", tag = "coupons", security(("bearer" = [])), params(MyCouponParams),
    responses((status = 200, description = "Claimed coupons", body = ClaimedCouponList)))]
async fn my_coupons(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<MyCouponParams>,
) -> ApiResult<Json<ClaimedCouponList>> {
    let request = pb::ListClaimedCouponsRequest {
        available_only: params.available_only,
    };
    let list = state
        .coupons()
        .list_claimed_coupons(authorized(request, user.token()))
        .await?
        .into_inner();
    Ok(Json(ClaimedCouponList {
        coupons: list.coupons.into_iter().map(ClaimedCoupon::from).collect(),
    }))
}
