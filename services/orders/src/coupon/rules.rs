//! The decisions of coupons, free of SQL and gRPC: what a new coupon must be, when it is valid, which lines it
//! covers, what it takes off, and why a claim or a use is refused.

use std::collections::HashMap;

use tokshop_platform::{
    ServiceError, ServiceResult, check_len,
    limits::{MAX_ID, MAX_TIMESTAMP_MS, coupons::*},
    money::validate_currency,
};
use tokshop_proto::order as pb;

use super::store::CouponRow;
use crate::pricing::{Discount, PricedLine};

pub const SHOP: &str = "shop";
pub const PRODUCT: &str = "product";
pub const CATEGORY: &str = "category";

/// States of a claimed coupon: `expired` is never stored, only shown for an available one past its validity.
pub const AVAILABLE: &str = "available";
pub const USED: &str = "used";
pub const EXPIRED: &str = "expired";

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

/// A line that stands for one unit of a product, to ask whether a coupon covers the product.
pub fn probe(product_id: &str, category_id: &str) -> PricedLine {
    PricedLine {
        variant_id: String::new(),
        product_id: product_id.to_owned(),
        category_id: category_id.to_owned(),
        title: String::new(),
        sku: String::new(),
        quantity: 1,
        unit_price: 0,
        discount: 0,
    }
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

/// What a new coupon offers, checked: the part a seller's request is checked for before its scope is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub code: String,
    pub title: String,
    pub amount_off: i64,
    pub percent_off: i64,
    pub currency: String,
    pub min_spend: i64,
    pub scope: &'static str,
    pub scope_id: String,
}

/// Checks what the coupon offers: its code, title, exactly one of an amount or a percentage off, currency,
/// minimum spend and scope (a shop-wide coupon names no scope id).
pub fn offer(req: &pb::CreateCouponRequest) -> ServiceResult<Offer> {
    let code = check_code(&req.code)?;
    let title = req.title.trim();
    check_len("title", title, 1, MAX_TITLE)?;
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
    let scope = req
        .scope()
        .label()
        .ok_or_else(|| ServiceError::invalid("scope", "scope must be shop, product or category"))?;
    let scope_id = req.scope_id.trim().to_owned();
    check_len("scope_id", &scope_id, 0, MAX_ID)?;
    if scope == SHOP && !scope_id.is_empty() {
        return Err(ServiceError::invalid(
            "scope_id",
            "a shop-wide coupon takes no scope_id",
        ));
    }
    Ok(Offer {
        code,
        title: title.to_owned(),
        amount_off,
        percent_off,
        currency,
        min_spend: req.min_spend,
        scope,
        scope_id,
    })
}

/// When and how often a new coupon may be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub total_quantity: i64,
    pub per_user_limit: i64,
}

/// Checks the coupon's validity window (from now when not given; ending in the future) and its quantities (one
/// per shopper when not given).
pub fn terms(req: &pb::CreateCouponRequest, now: i64) -> ServiceResult<Terms> {
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
    Ok(Terms {
        valid_from_ms: valid_from,
        valid_until_ms: req.valid_until_ms,
        total_quantity: req.total_quantity,
        per_user_limit: per_user,
    })
}

/// Why no unit of `coupon` could be taken at `now`: sold out while valid, else not valid now.
pub fn claim_refused(coupon: &CouponRow, now: i64) -> ServiceError {
    if coupon.valid_at(now) {
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
    }
}

/// Refuses another claim by a shopper who holds `mine` claims of `coupon` already.
pub fn within_per_user_limit(coupon: &CouponRow, mine: i64) -> ServiceResult<()> {
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
    Ok(())
}

/// A claimed coupon may pay for an order while it is available.
pub fn check_unused(status: &str) -> ServiceResult<()> {
    if status != AVAILABLE {
        return Err(ServiceError::conflict_on(
            "coupon_used",
            "claimed_coupon_id",
            "this coupon has already been used",
        ));
    }
    Ok(())
}

/// ... and while the coupon is valid.
pub fn check_valid(coupon: &CouponRow, now: i64) -> ServiceResult<()> {
    if !coupon.valid_at(now) {
        return Err(ServiceError::conflict_on(
            "coupon_expired",
            "claimed_coupon_id",
            "this coupon is not valid now",
        ));
    }
    Ok(())
}

/// The status a shopper sees for a claim: an available claim of a coupon no longer valid shows as expired.
pub fn shown_status(stored: String, coupon: &CouponRow, now: i64) -> String {
    if stored == AVAILABLE && !coupon.valid_at(now) {
        EXPIRED.to_owned()
    } else {
        stored
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn coupon(scope: &str, scope_id: &str) -> CouponRow {
        CouponRow {
            id: "cpn_1".into(),
            seller_id: "s".into(),
            code: "SAVE".into(),
            title: "Save".into(),
            amount_off: 500,
            percent_off: 0,
            currency: "USD".into(),
            min_spend: 0,
            scope: scope.into(),
            scope_id: scope_id.into(),
            valid_from_ms: 1000,
            valid_until_ms: 2000,
            total_quantity: 10,
            per_user_limit: 2,
            claimed: 0,
            used: 0,
            created_at_ms: 1000,
        }
    }

    fn request() -> pb::CreateCouponRequest {
        pb::CreateCouponRequest {
            code: " save-10 ".into(),
            title: "Ten off".into(),
            amount_off: 1000,
            currency: "usd".into(),
            scope: pb::CouponScope::Shop as i32,
            valid_until_ms: 5000,
            total_quantity: 10,
            ..Default::default()
        }
    }

    #[test]
    fn validity_is_half_open() {
        let c = coupon(SHOP, "");
        assert!(!c.valid_at(999));
        assert!(c.valid_at(1000));
        assert!(c.valid_at(1999));
        assert!(!c.valid_at(2000));
    }

    #[test]
    fn category_coupons_cover_subcategories() {
        let parents: HashMap<String, String> = [
            ("trail".to_owned(), "shoes".to_owned()),
            ("shoes".to_owned(), String::new()),
            ("hats".to_owned(), String::new()),
        ]
        .into();
        let shoes = coupon(CATEGORY, "shoes");
        assert!(shoes.covers(&probe("p1", "trail"), &parents));
        assert!(shoes.covers(&probe("p1", "shoes"), &parents));
        assert!(!shoes.covers(&probe("p1", "hats"), &parents));
        let product = coupon(PRODUCT, "p1");
        assert!(product.covers(&probe("p1", "hats"), &parents));
        assert!(!product.covers(&probe("p2", "hats"), &parents));
        assert!(coupon(SHOP, "").covers(&probe("p2", "hats"), &parents));
        // A cycle in the tree ends the walk instead of looping.
        let cycle: HashMap<String, String> = [
            ("a".to_owned(), "b".to_owned()),
            ("b".to_owned(), "a".to_owned()),
        ]
        .into();
        assert!(!shoes.covers(&probe("p1", "a"), &cycle));
    }

    #[test]
    fn claims_stop_at_the_per_user_limit() {
        let c = coupon(SHOP, "");
        assert!(within_per_user_limit(&c, 0).is_ok());
        assert!(within_per_user_limit(&c, 1).is_ok());
        assert_eq!(
            within_per_user_limit(&c, 2).unwrap_err().code(),
            "coupon_limit_reached"
        );
        assert_eq!(claim_refused(&c, 1500).code(), "coupon_sold_out");
        assert_eq!(claim_refused(&c, 2500).code(), "coupon_expired");
    }

    #[test]
    fn used_and_expired_claims_cannot_pay() {
        let c = coupon(SHOP, "");
        assert!(check_unused(AVAILABLE).is_ok());
        assert_eq!(check_unused(USED).unwrap_err().code(), "coupon_used");
        assert!(check_valid(&c, 1500).is_ok());
        assert_eq!(check_valid(&c, 2000).unwrap_err().code(), "coupon_expired");
        assert_eq!(shown_status(AVAILABLE.into(), &c, 2000), EXPIRED);
        assert_eq!(shown_status(USED.into(), &c, 2000), USED);
        assert_eq!(shown_status(AVAILABLE.into(), &c, 1500), AVAILABLE);
    }

    #[test]
    fn a_new_coupon_offers_one_kind_of_discount() {
        let ok = offer(&request()).unwrap();
        assert_eq!((ok.code.as_str(), ok.currency.as_str()), ("SAVE-10", "USD"));
        assert_eq!((ok.amount_off, ok.percent_off, ok.scope), (1000, 0, SHOP));
        let both = pb::CreateCouponRequest {
            percent_off: 10,
            ..request()
        };
        assert!(offer(&both).is_err());
        let percent = pb::CreateCouponRequest {
            amount_off: 0,
            percent_off: 10,
            ..request()
        };
        assert_eq!(offer(&percent).unwrap().percent_off, 10);
        let bad_code = pb::CreateCouponRequest {
            code: "no spaces".into(),
            ..request()
        };
        assert!(offer(&bad_code).is_err());
        let shop_with_id = pb::CreateCouponRequest {
            scope_id: "x".into(),
            ..request()
        };
        assert!(offer(&shop_with_id).is_err());
    }

    #[test]
    fn terms_default_to_now_and_one_per_shopper() {
        let t = terms(&request(), 100).unwrap();
        assert_eq!(
            t,
            Terms {
                valid_from_ms: 100,
                valid_until_ms: 5000,
                total_quantity: 10,
                per_user_limit: 1
            }
        );
        assert!(terms(&request(), 5000).is_err(), "already over");
        let none = pb::CreateCouponRequest {
            total_quantity: 0,
            ..request()
        };
        assert!(terms(&none, 100).is_err());
        let greedy = pb::CreateCouponRequest {
            per_user_limit: MAX_PER_USER + 1,
            ..request()
        };
        assert!(terms(&greedy, 100).is_err());
    }
}
