//! Seller coupons: created for the seller's own products, claimed by shoppers within a total quantity and a
//! per-user limit, used by one order at a time and given back when that order is cancelled before payment.
//!
//! `api` is the tonic surface, `rules` the decisions (what a coupon must be, what it covers, why a claim is
//! refused), `store` all SQL. This file runs each operation: the catalog lookups a scope needs, and the claim as
//! one transaction.

mod api;
pub(crate) mod rules;
pub(crate) mod store;
#[cfg(test)]
mod tests;

use sqlx::AnyConnection;
use tokshop_platform::{ServiceError, ServiceResult, db::Db, ids::new_id, time::now_ms};
use tokshop_proto::order as pb;

use crate::clients::Clients;
use rules::{AVAILABLE, CATEGORY, PRODUCT};
use store::CouponRow;

pub use api::CouponApi;

/// One of a shopper's claims with its coupon, as the shopper sees it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub coupon: CouponRow,
    pub status: String,
    pub order_id: String,
    pub claimed_at_ms: i64,
}

/// The coupon behind one of `user_id`'s claimed coupons, if it is still available to use now.
pub async fn usable(
    conn: &mut AnyConnection,
    user_id: &str,
    claimed_id: &str,
) -> ServiceResult<CouponRow> {
    let (coupon_id, status) = store::claim_of(conn, user_id, claimed_id)
        .await?
        .ok_or(ServiceError::not_found("coupon"))?;
    rules::check_unused(&status)?;
    let coupon = store::load(conn, &coupon_id)
        .await?
        .ok_or(ServiceError::not_found("coupon"))?;
    rules::check_valid(&coupon, now_ms())?;
    Ok(coupon)
}

/// Creates a coupon of `seller_id`'s: a product scope must be one of their products, a category scope a category.
pub async fn create(
    db: &Db,
    clients: &Clients,
    seller_id: &str,
    req: &pb::CreateCouponRequest,
) -> ServiceResult<CouponRow> {
    let offer = rules::offer(req)?;
    match offer.scope {
        PRODUCT => match clients.product(&offer.scope_id).await? {
            Some(product) if product.seller_id == seller_id => {}
            _ => {
                return Err(ServiceError::invalid(
                    "scope_id",
                    "not one of your products",
                ));
            }
        },
        CATEGORY
            if !clients
                .category_parents()
                .await?
                .contains_key(&offer.scope_id) =>
        {
            return Err(ServiceError::invalid("scope_id", "no such category"));
        }
        _ => {}
    }
    let now = now_ms();
    let terms = rules::terms(req, now)?;
    let row = CouponRow {
        id: new_id("cpn"),
        seller_id: seller_id.to_owned(),
        code: offer.code,
        title: offer.title,
        amount_off: offer.amount_off,
        percent_off: offer.percent_off,
        currency: offer.currency,
        min_spend: offer.min_spend,
        scope: offer.scope.to_owned(),
        scope_id: offer.scope_id,
        valid_from_ms: terms.valid_from_ms,
        valid_until_ms: terms.valid_until_ms,
        total_quantity: terms.total_quantity,
        per_user_limit: terms.per_user_limit,
        claimed: 0,
        used: 0,
        created_at_ms: now,
    };
    if !store::insert(db, &row).await? {
        return Err(ServiceError::conflict_on(
            "coupon_code_taken",
            "code",
            "you already have a coupon with this code",
        ));
    }
    Ok(row)
}

/// Claimable coupons of a seller, or those usable on a product.
pub async fn claimable(
    db: &Db,
    clients: &Clients,
    req: &pb::ListCouponsRequest,
) -> ServiceResult<Vec<CouponRow>> {
    let (seller_id, product) = if req.product_id.is_empty() {
        (req.seller_id.trim().to_owned(), None)
    } else {
        let product = clients
            .product(req.product_id.trim())
            .await?
            .ok_or(ServiceError::not_found("product"))?;
        (product.seller_id.clone(), Some(product))
    };
    if seller_id.is_empty() {
        return Err(ServiceError::invalid(
            "seller_id",
            "give a seller_id or a product_id",
        ));
    }
    let rows = store::claimable(db, &seller_id, now_ms()).await?;
    let Some(product) = product else {
        return Ok(rows);
    };
    let parents = clients.category_parents().await?;
    let probe = rules::probe(&product.id, &product.category_id);
    Ok(rows
        .into_iter()
        .filter(|c| c.covers(&probe, &parents))
        .collect())
}

/// Claims one unit of a coupon for `user_id`, within its total quantity and its per-user limit.
pub async fn claim(db: &Db, user_id: &str, coupon_id: &str) -> ServiceResult<Claimed> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // Taking the unit locks the coupon row, so concurrent claims of it queue here and the per-user count below
    // sees every earlier claim.
    let took = store::take_unit(&mut tx, coupon_id, now).await?;
    let coupon = store::load(&mut tx, coupon_id)
        .await?
        .ok_or(ServiceError::not_found("coupon"))?;
    if !took {
        return Err(rules::claim_refused(&coupon, now));
    }
    let mine = store::claims_of(&mut tx, coupon_id, user_id).await?;
    rules::within_per_user_limit(&coupon, mine)?;
    let id = new_id("ccp");
    store::insert_claim(&mut tx, &id, coupon_id, user_id, now).await?;
    tx.commit().await?;
    Ok(Claimed {
        id,
        coupon,
        status: AVAILABLE.into(),
        order_id: String::new(),
        claimed_at_ms: now,
    })
}

/// The user's claims, newest first; with `available_only`, only those they can still use.
pub async fn claimed(db: &Db, user_id: &str, available_only: bool) -> ServiceResult<Vec<Claimed>> {
    let rows = store::claims_by(db, user_id).await?;
    let now = now_ms();
    let mut conn = db.pool().acquire().await?;
    let mut out = Vec::new();
    for row in rows {
        let Some(coupon) = store::load(&mut conn, &row.coupon_id).await? else {
            continue;
        };
        let status = rules::shown_status(row.status, &coupon, now);
        if available_only && status != AVAILABLE {
            continue;
        }
        out.push(Claimed {
            id: row.id,
            coupon,
            status,
            order_id: row.order_id.unwrap_or_default(),
            claimed_at_ms: row.claimed_at_ms,
        });
    }
    Ok(out)
}
