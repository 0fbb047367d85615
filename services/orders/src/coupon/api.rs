//! The tonic surface of the coupon service: who may call what, and the rows as messages.

use tokshop_platform::{
    ServiceError,
    auth::{Role, TokenKeys},
    db::Db,
    grpc::{Reply, reply, signed_in},
};
use tokshop_proto::order::{self as pb, coupon_service_server::CouponService};
use tonic::Request;

use super::{Claimed, store::CouponRow};
use crate::clients::Clients;

#[derive(Clone, Debug)]
pub struct CouponApi {
    db: Db,
    keys: TokenKeys,
    clients: Clients,
}

impl CouponApi {
    pub fn new(db: Db, keys: TokenKeys, clients: Clients) -> Self {
        Self { db, keys, clients }
    }
}

fn coupon_message(row: &CouponRow) -> pb::Coupon {
    let scope = pb::CouponScope::from_label(&row.scope).unwrap_or(pb::CouponScope::Shop);
    pb::Coupon {
        id: row.id.clone(),
        seller_id: row.seller_id.clone(),
        code: row.code.clone(),
        title: row.title.clone(),
        amount_off: row.amount_off,
        percent_off: row.percent_off as i32,
        currency: row.currency.clone(),
        min_spend: row.min_spend,
        scope: scope as i32,
        scope_id: row.scope_id.clone(),
        valid_from_ms: row.valid_from_ms,
        valid_until_ms: row.valid_until_ms,
        total_quantity: row.total_quantity,
        per_user_limit: row.per_user_limit,
        claimed: row.claimed,
        used: row.used,
        created_at_ms: row.created_at_ms,
    }
}

fn claimed_message(claimed: Claimed) -> pb::ClaimedCoupon {
    pb::ClaimedCoupon {
        id: claimed.id,
        coupon: Some(coupon_message(&claimed.coupon)),
        status: claimed.status,
        order_id: claimed.order_id,
        claimed_at_ms: claimed.claimed_at_ms,
    }
}

fn coupons(rows: &[CouponRow]) -> pb::ListCouponsResponse {
    pb::ListCouponsResponse {
        coupons: rows.iter().map(coupon_message).collect(),
    }
}

#[tonic::async_trait]
impl CouponService for CouponApi {
    async fn create_coupon(&self, request: Request<pb::CreateCouponRequest>) -> Reply<pb::Coupon> {
        signed_in(&self.keys, request, |caller, req| async move {
            caller.require(Role::Seller)?;
            let row = super::create(&self.db, &self.clients, &caller.user_id, &req).await?;
            Ok(coupon_message(&row))
        })
        .await
    }

    /// Open to everyone, signed in or not: a shop's coupons are public.
    async fn list_coupons(
        &self,
        request: Request<pb::ListCouponsRequest>,
    ) -> Reply<pb::ListCouponsResponse> {
        let rows = super::claimable(&self.db, &self.clients, request.get_ref()).await;
        reply(rows.map(|rows| coupons(&rows)))
    }

    async fn list_my_coupons(
        &self,
        request: Request<pb::ListMyCouponsRequest>,
    ) -> Reply<pb::ListCouponsResponse> {
        signed_in(&self.keys, request, |caller, _| async move {
            caller.require(Role::Seller)?;
            let rows = super::store::of_seller(&self.db, &caller.user_id).await?;
            Ok(coupons(&rows))
        })
        .await
    }

    async fn get_coupon(&self, request: Request<pb::GetCouponRequest>) -> Reply<pb::Coupon> {
        signed_in(&self.keys, request, |_, req| async move {
            let mut conn = self.db.pool().acquire().await?;
            let row = super::store::load(&mut conn, req.id.trim())
                .await?
                .ok_or(ServiceError::not_found("coupon"))?;
            Ok(coupon_message(&row))
        })
        .await
    }

    async fn claim_coupon(
        &self,
        request: Request<pb::ClaimCouponRequest>,
    ) -> Reply<pb::ClaimedCoupon> {
        signed_in(&self.keys, request, |caller, req| async move {
            let claimed = super::claim(&self.db, &caller.user_id, req.coupon_id.trim()).await?;
            Ok(claimed_message(claimed))
        })
        .await
    }

    async fn list_claimed_coupons(
        &self,
        request: Request<pb::ListClaimedCouponsRequest>,
    ) -> Reply<pb::ListClaimedCouponsResponse> {
        signed_in(&self.keys, request, |caller, req| async move {
            let claimed = super::claimed(&self.db, &caller.user_id, req.available_only).await?;
            Ok(pb::ListClaimedCouponsResponse {
                coupons: claimed.into_iter().map(claimed_message).collect(),
            })
        })
        .await
    }
}
