//! Seller coupons: created for the seller's own products, claimed by shoppers within a total quantity and a
//! per-user limit, used by one order at a time and given back when that order is cancelled before payment.
//! Claims and uses are conditional updates, so they stay exact under concurrency.

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};
use tokshop_platform::grpc::{Reply, reply};
use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::{Role, TokenKeys},
    db::Db,
    error::is_unique_violation,
    ids::new_id,
    limits::{MAX_ID, MAX_TIMESTAMP_MS, coupons::*},
    money::validate_currency,
    time::now_ms,
};
use tokshop_proto::order::{self as pb, coupon_service_server::CouponService};
use tonic::Request;

use crate::{
    clients::Clients,
    orders::Tx,
    pricing::{Discount, PricedLine},
};

pub const SHOP: &str = "shop";
pub const PRODUCT: &str = "product";
pub const CATEGORY: &str = "category";

const AVAILABLE: &str = "available";
const USED: &str = "used";

#[derive(Debug, Clone, FromRow)]
pub struct CouponRow {
    pub id: String,
    pub seller_id: String,
    pub code: String,
    pub title: String,
    pub amount_off: i64,
    pub percent_off: i64,
    pub currency: String,
    pub min_spend: i64,
    pub scope: String,
    pub scope_id: String,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub total_quantity: i64,
    pub per_user_limit: i64,
    pub claimed: i64,
    pub used: i64,
    pub created_at_ms: i64,
}

impl CouponRow {
    pub fn discount(&self) -> Discount {
        if self.percent_off > 0 {
            Discount::PercentOff(self.percent_off)
        } else {
            Discount::AmountOff(self.amount_off)
        }
    }

    pub fn valid_at(&self, now: i64) -> bool {
        self.valid_from_ms <= now && now < self.valid_until_ms
    }

    /// Whether a line is in the coupon's scope; `parents` maps categories to their parents.
    pub fn covers(&self, line: &PricedLine, parents: &HashMap<String, String>) -> bool {
        match self.scope.as_str() {
            PRODUCT => line.product_id == self.scope_id,
            CATEGORY => {
                let mut category = line.category_id.as_str();
                // Bounded walk up the tree (categories are a few levels deep; the bound guards a bad cycle).
                for _ in 0..32 {
                    if category == self.scope_id {
                        return true;
                    }
                    match parents.get(category) {
                        Some(parent) if !parent.is_empty() => category = parent,
                        _ => return false,
                    }
                }
                false
            }
            _ => true,
        }
    }
}

const COUPON_COLUMNS: &str = "id, seller_id, code, title, amount_off, percent_off, currency, min_spend, scope, \
     scope_id, valid_from_ms, valid_until_ms, total_quantity, per_user_limit, claimed, used, created_at_ms";

#[derive(Debug, Clone, FromRow)]
struct ClaimedRow {
    id: String,
    coupon_id: String,
    status: String,
    order_id: Option<String>,
    claimed_at_ms: i64,
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

pub async fn load(conn: &mut AnyConnection, id: &str) -> ServiceResult<Option<CouponRow>> {
    let sql = const_format::concatcp!("SELECT ", COUPON_COLUMNS, " FROM coupons WHERE id = $1");
    Ok(sqlx::query_as::<_, CouponRow>(sql)
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The coupon behind one of `user_id`'s claimed coupons, if it is still available to use now.
pub async fn usable(
    conn: &mut AnyConnection,
    user_id: &str,
    claimed_id: &str,
) -> ServiceResult<CouponRow> {
    let claimed: Option<(String, String)> = sqlx::query_as(
        "SELECT coupon_id, status FROM claimed_coupons WHERE id = $1 AND user_id = $2",
    )
    .bind(claimed_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((coupon_id, status)) = claimed else {
        return Err(ServiceError::not_found("coupon"));
    };
    if status != AVAILABLE {
        return Err(ServiceError::conflict_on(
            "coupon_used",
            "claimed_coupon_id",
            "this coupon has already been used",
        ));
    }
    let coupon = load(conn, &coupon_id)
        .await?
        .ok_or(ServiceError::not_found("coupon"))?;
    if !coupon.valid_at(now_ms()) {
        return Err(ServiceError::conflict_on(
            "coupon_expired",
            "claimed_coupon_id",
            "this coupon is not valid now",
        ));
    }
    Ok(coupon)
}

/// Marks the claimed coupon used by `order_id`, once: false when it was used (or not available) already.
pub async fn use_for_order(
    tx: &mut Tx,
    user_id: &str,
    claimed_id: &str,
    order_id: &str,
) -> ServiceResult<bool> {
    let now = now_ms();
    let taken = sqlx::query(
        "UPDATE claimed_coupons SET status = $4, order_id = $3, used_at_ms = $5 \
         WHERE id = $1 AND user_id = $2 AND status = $6",
    )
    .bind(claimed_id)
    .bind(user_id)
    .bind(order_id)
    .bind(USED)
    .bind(now)
    .bind(AVAILABLE)
    .execute(&mut **tx)
    .await?;
    if taken.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE coupons SET used = used + 1 WHERE id = (SELECT coupon_id FROM claimed_coupons WHERE id = $1)",
    )
    .bind(claimed_id)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Gives back the coupon `order_id` used, if any; a second call finds nothing to give back.
pub async fn give_back(tx: &mut Tx, order_id: &str) -> ServiceResult<()> {
    let used: Option<(String, String)> = sqlx::query_as(
        "SELECT id, coupon_id FROM claimed_coupons WHERE order_id = $1 AND status = $2",
    )
    .bind(order_id)
    .bind(USED)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((claimed_id, coupon_id)) = used else {
        return Ok(());
    };
    let freed = sqlx::query(
        "UPDATE claimed_coupons SET status = $2, order_id = NULL, used_at_ms = NULL WHERE id = $1 AND status = $3",
    )
    .bind(&claimed_id)
    .bind(AVAILABLE)
    .bind(USED)
    .execute(&mut **tx)
    .await?;
    if freed.rows_affected() == 1 {
        sqlx::query("UPDATE coupons SET used = used - 1 WHERE id = $1")
            .bind(&coupon_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[derive(Clone, Debug)]
pub struct CouponApi {
    db: Db,
    keys: TokenKeys,
    clients: Clients,
}

fn check_code(code: &str) -> ServiceResult<String> {
    let code = code.trim().to_ascii_uppercase();
    let ok = (MIN_CODE..=MAX_CODE).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err(ServiceError::invalid(
            "code",
            format!("code must be {MIN_CODE} to {MAX_CODE} letters, digits, '-' or '_'"),
        ))
    }
}

impl CouponApi {
    pub fn new(db: Db, keys: TokenKeys, clients: Clients) -> Self {
        Self { db, keys, clients }
    }

    async fn create(
        &self,
        seller_id: &str,
        req: pb::CreateCouponRequest,
    ) -> ServiceResult<CouponRow> {
        let code = check_code(&req.code)?;
        let title = req.title.trim();
        tokshop_platform::check_len("title", title, 1, MAX_TITLE)?;
        if req.amount_off > MAX_AMOUNT_OFF {
            return Err(ServiceError::invalid(
                "amount_off",
                format!("amount_off must be at most {MAX_AMOUNT_OFF} minor units"),
            ));
        }
        let (amount_off, percent_off) = match (req.amount_off, req.percent_off) {
            (a, 0) if a > 0 => (a, 0),
            (0, p) if (1..=MAX_PERCENT_OFF).contains(&p) => (0, i64::from(p)),
            _ => {
                return Err(ServiceError::invalid(
                    "amount_off",
                    format!(
                        "set exactly one of amount_off (> 0, minor units) and percent_off (1 to {MAX_PERCENT_OFF})"
                    ),
                ));
            }
        };
        let currency = req.currency.trim().to_ascii_uppercase();
        validate_currency(&currency, "currency")?;
        if req.min_spend < 0 {
            return Err(ServiceError::invalid(
                "min_spend",
                "min_spend cannot be negative",
            ));
        }
        if req.min_spend > MAX_MIN_SPEND {
            return Err(ServiceError::invalid(
                "min_spend",
                format!("min_spend must be at most {MAX_MIN_SPEND} minor units"),
            ));
        }
        let scope = req.scope().label().ok_or_else(|| {
            ServiceError::invalid("scope", "scope must be shop, product or category")
        })?;
        let scope_id = req.scope_id.trim().to_owned();
        tokshop_platform::check_len("scope_id", &scope_id, 0, MAX_ID)?;
        match scope {
            SHOP if !scope_id.is_empty() => {
                return Err(ServiceError::invalid(
                    "scope_id",
                    "a shop-wide coupon takes no scope_id",
                ));
            }
            PRODUCT => match self.clients.product(&scope_id).await? {
                Some(product) if product.seller_id == seller_id => {}
                _ => {
                    return Err(ServiceError::invalid(
                        "scope_id",
                        "not one of your products",
                    ));
                }
            },
            CATEGORY
                if !self
                    .clients
                    .category_parents()
                    .await?
                    .contains_key(&scope_id) =>
            {
                return Err(ServiceError::invalid("scope_id", "no such category"));
            }
            _ => {}
        }
        for (param, value) in [
            ("valid_from_ms", req.valid_from_ms),
            ("valid_until_ms", req.valid_until_ms),
        ] {
            if !(0..=MAX_TIMESTAMP_MS).contains(&value) {
                return Err(ServiceError::invalid(
                    param,
                    format!("{param} must be 0 to {MAX_TIMESTAMP_MS} (milliseconds since 1970)"),
                ));
            }
        }
        let now = now_ms();
        let valid_from = if req.valid_from_ms == 0 {
            now
        } else {
            req.valid_from_ms
        };
        if req.valid_until_ms <= valid_from || req.valid_until_ms <= now {
            return Err(ServiceError::invalid(
                "valid_until_ms",
                "valid_until_ms must be in the future and after valid_from_ms",
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&req.total_quantity) {
            return Err(ServiceError::invalid(
                "total_quantity",
                format!("total_quantity must be 1 to {MAX_QUANTITY}"),
            ));
        }
        let per_user = if req.per_user_limit == 0 {
            1
        } else {
            req.per_user_limit
        };
        if !(1..=MAX_PER_USER).contains(&per_user) {
            return Err(ServiceError::invalid(
                "per_user_limit",
                format!("per_user_limit must be 1 to {MAX_PER_USER}"),
            ));
        }
        let row = CouponRow {
            id: new_id("cpn"),
            seller_id: seller_id.to_owned(),
            code,
            title: title.to_owned(),
            amount_off,
            percent_off,
            currency,
            min_spend: req.min_spend,
            scope: scope.to_owned(),
            scope_id,
            valid_from_ms: valid_from,
            valid_until_ms: req.valid_until_ms,
            total_quantity: req.total_quantity,
            per_user_limit: per_user,
            claimed: 0,
            used: 0,
            created_at_ms: now,
        };
        let inserted = sqlx::query(
            "INSERT INTO coupons (id, seller_id, code, title, amount_off, percent_off, currency, min_spend, scope, \
             scope_id, valid_from_ms, valid_until_ms, total_quantity, per_user_limit, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&row.id)
        .bind(&row.seller_id)
        .bind(&row.code)
        .bind(&row.title)
        .bind(row.amount_off)
        .bind(row.percent_off)
        .bind(&row.currency)
        .bind(row.min_spend)
        .bind(&row.scope)
        .bind(&row.scope_id)
        .bind(row.valid_from_ms)
        .bind(row.valid_until_ms)
        .bind(row.total_quantity)
        .bind(row.per_user_limit)
        .bind(row.created_at_ms)
        .execute(self.db.pool())
        .await;
        match inserted {
            Ok(_) => Ok(row),
            Err(err) if is_unique_violation(&err) => Err(ServiceError::conflict_on(
                "coupon_code_taken",
                "code",
                "you already have a coupon with this code",
            )),
            Err(err) => Err(err.into()),
        }
    }

    /// Claimable coupons of a seller, or those usable on a product.
    async fn claimable(&self, req: pb::ListCouponsRequest) -> ServiceResult<Vec<CouponRow>> {
        let (seller_id, product) = if req.product_id.is_empty() {
            (req.seller_id.trim().to_owned(), None)
        } else {
            let product = self
                .clients
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
        let now = now_ms();
        let sql = const_format::concatcp!(
            "SELECT ",
            COUPON_COLUMNS,
            " FROM coupons WHERE seller_id = $1 AND valid_from_ms <= $2 AND valid_until_ms > $2 \
             AND claimed < total_quantity ORDER BY created_at_ms DESC, id DESC LIMIT 100"
        );
        let rows = sqlx::query_as::<_, CouponRow>(sql)
            .bind(&seller_id)
            .bind(now)
            .fetch_all(self.db.pool())
            .await?;
        let Some(product) = product else {
            return Ok(rows);
        };
        let parents = self.clients.category_parents().await?;
        let probe = PricedLine {
            variant_id: String::new(),
            product_id: product.id.clone(),
            category_id: product.category_id.clone(),
            title: String::new(),
            sku: String::new(),
            quantity: 1,
            unit_price: 0,
            discount: 0,
        };
        Ok(rows
            .into_iter()
            .filter(|c| c.covers(&probe, &parents))
            .collect())
    }

    async fn claim(&self, user_id: &str, coupon_id: &str) -> ServiceResult<pb::ClaimedCoupon> {
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        // The conditional increment also locks the coupon row, so concurrent claims of it queue here and the
        // per-user count below sees every earlier claim.
        let took = sqlx::query(
            "UPDATE coupons SET claimed = claimed + 1 WHERE id = $1 AND claimed < total_quantity \
             AND valid_from_ms <= $2 AND valid_until_ms > $2",
        )
        .bind(coupon_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let coupon = load(&mut tx, coupon_id)
            .await?
            .ok_or(ServiceError::not_found("coupon"))?;
        if took.rows_affected() != 1 {
            return Err(if coupon.valid_at(now) {
                ServiceError::conflict_on(
                    "coupon_sold_out",
                    "coupon_id",
                    "every unit of this coupon is claimed",
                )
            } else {
                ServiceError::conflict_on(
                    "coupon_expired",
                    "coupon_id",
                    "this coupon is not valid now",
                )
            });
        }
        let (mine,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM claimed_coupons WHERE coupon_id = $1 AND user_id = $2",
        )
        .bind(coupon_id)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        if mine >= coupon.per_user_limit {
            return Err(ServiceError::conflict_on(
                "coupon_limit_reached",
                "coupon_id",
                format!(
                    "each shopper may claim this coupon {} time(s)",
                    coupon.per_user_limit
                ),
            ));
        }
        let id = new_id("ccp");
        sqlx::query(
            "INSERT INTO claimed_coupons (id, coupon_id, user_id, status, claimed_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(coupon_id)
        .bind(user_id)
        .bind(AVAILABLE)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(pb::ClaimedCoupon {
            id,
            coupon: Some(coupon_message(&coupon)),
            status: AVAILABLE.into(),
            order_id: String::new(),
            claimed_at_ms: now,
        })
    }

    async fn claimed(
        &self,
        user_id: &str,
        available_only: bool,
    ) -> ServiceResult<Vec<pb::ClaimedCoupon>> {
        let rows = sqlx::query_as::<_, ClaimedRow>(
            "SELECT id, coupon_id, status, order_id, claimed_at_ms FROM claimed_coupons WHERE user_id = $1 \
             ORDER BY claimed_at_ms DESC, id DESC LIMIT 200",
        )
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?;
        let now = now_ms();
        let mut conn = self.db.pool().acquire().await?;
        let mut out = Vec::new();
        for row in rows {
            let Some(coupon) = load(&mut conn, &row.coupon_id).await? else {
                continue;
            };
            let status = if row.status == AVAILABLE && !coupon.valid_at(now) {
                "expired".to_owned()
            } else {
                row.status
            };
            if available_only && status != AVAILABLE {
                continue;
            }
            out.push(pb::ClaimedCoupon {
                id: row.id,
                coupon: Some(coupon_message(&coupon)),
                status,
                order_id: row.order_id.unwrap_or_default(),
                claimed_at_ms: row.claimed_at_ms,
            });
        }
        Ok(out)
    }
}

#[tonic::async_trait]
impl CouponService for CouponApi {
    async fn create_coupon(&self, request: Request<pb::CreateCouponRequest>) -> Reply<pb::Coupon> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            caller.require(Role::Seller)?;
            let row = self.create(&caller.user_id, request.into_inner()).await?;
            Ok(coupon_message(&row))
        };
        reply(result.await)
    }

    async fn list_coupons(
        &self,
        request: Request<pb::ListCouponsRequest>,
    ) -> Reply<pb::ListCouponsResponse> {
        let result = async {
            let rows = self.claimable(request.into_inner()).await?;
            Ok(pb::ListCouponsResponse {
                coupons: rows.iter().map(coupon_message).collect(),
            })
        };
        reply(result.await)
    }

    async fn list_my_coupons(
        &self,
        request: Request<pb::ListMyCouponsRequest>,
    ) -> Reply<pb::ListCouponsResponse> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            caller.require(Role::Seller)?;
            let sql = const_format::concatcp!(
                "SELECT ",
                COUPON_COLUMNS,
                " FROM coupons WHERE seller_id = $1 ORDER BY created_at_ms DESC, id DESC LIMIT 500"
            );
            let rows = sqlx::query_as::<_, CouponRow>(sql)
                .bind(&caller.user_id)
                .fetch_all(self.db.pool())
                .await?;
            Ok(pb::ListCouponsResponse {
                coupons: rows.iter().map(coupon_message).collect(),
            })
        };
        reply(result.await)
    }

    async fn get_coupon(&self, request: Request<pb::GetCouponRequest>) -> Reply<pb::Coupon> {
        let result = async {
            self.keys.require_caller(&request)?;
            let mut conn = self.db.pool().acquire().await?;
            let row = load(&mut conn, request.get_ref().id.trim())
                .await?
                .ok_or(ServiceError::not_found("coupon"))?;
            Ok(coupon_message(&row))
        };
        reply(result.await)
    }

    async fn claim_coupon(
        &self,
        request: Request<pb::ClaimCouponRequest>,
    ) -> Reply<pb::ClaimedCoupon> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            self.claim(&caller.user_id, request.get_ref().coupon_id.trim())
                .await
        };
        reply(result.await)
    }

    async fn list_claimed_coupons(
        &self,
        request: Request<pb::ListClaimedCouponsRequest>,
    ) -> Reply<pb::ListClaimedCouponsResponse> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let coupons = self
                .claimed(&caller.user_id, request.get_ref().available_only)
                .await?;
            Ok(pb::ListClaimedCouponsResponse { coupons })
        };
        reply(result.await)
    }
}
