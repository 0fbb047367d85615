//! Order arithmetic, kept free of I/O so it can be checked exhaustively: coupon discounts spread over lines,
//! the shipping rule, and what returning some units refunds.

use tokshop_platform::{ServiceError, ServiceResult};

/// One priced line as the order will hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub variant_id: String,
    pub product_id: String,
    pub category_id: String,
    pub title: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
    /// This line's share of the discount.
    pub discount: i64,
}

impl PricedLine {
    pub fn total(&self) -> i64 {
        self.unit_price.saturating_mul(self.quantity)
    }
}

/// What a coupon takes off: a fixed amount or a percentage of the lines it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    AmountOff(i64),
    PercentOff(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: i64,
    pub discount: i64,
    pub shipping_fee: i64,
    pub total: i64,
}

/// The flat shipping rule: `fee` per order, free once the goods (after discount) reach `free_from`.
#[derive(Debug, Clone, Copy)]
pub struct ShippingRule {
    pub fee: i64,
    pub free_from: i64,
}

impl ShippingRule {
    pub fn fee_for(&self, goods: i64) -> i64 {
        if goods >= self.free_from { 0 } else { self.fee }
    }
}

/// A coupon as pricing sees it: what it takes off, the spend it needs, and which lines it covers.
pub struct CouponRule<'a> {
    pub discount: Discount,
    pub min_spend: i64,
    pub covers: &'a dyn Fn(&PricedLine) -> bool,
}

/// Applies the coupon (if any) to the lines it covers (whose total must reach its minimum spend), writing each
/// line's share of the discount, and returns the order's totals.
pub fn price(
    lines: &mut [PricedLine],
    coupon: Option<CouponRule<'_>>,
    shipping: ShippingRule,
) -> ServiceResult<Totals> {
    let subtotal: i64 = lines.iter().map(PricedLine::total).sum();
    for line in lines.iter_mut() {
        line.discount = 0;
    }
    let mut discount = 0;
    if let Some(CouponRule {
        discount: kind,
        min_spend,
        covers,
    }) = coupon
    {
        let picked: Vec<usize> = (0..lines.len()).filter(|&i| covers(&lines[i])).collect();
        let base: i64 = picked.iter().map(|&i| lines[i].total()).sum();
        if base == 0 {
            return Err(ServiceError::conflict_on(
                "coupon_not_applicable",
                "claimed_coupon_id",
                "the coupon applies to none of these items",
            ));
        }
        if base < min_spend {
            return Err(ServiceError::conflict_on(
                "coupon_min_spend",
                "claimed_coupon_id",
                format!(
                    "the coupon needs a spend of {min_spend} (minor units) on its items; these come to {base}"
                ),
            ));
        }
        discount = match kind {
            Discount::AmountOff(amount) => amount.min(base),
            Discount::PercentOff(percent) => base.saturating_mul(percent) / 100,
        };
        spread(lines, &picked, base, discount);
    }
    let goods = subtotal - discount;
    let shipping_fee = shipping.fee_for(goods);
    Ok(Totals {
        subtotal,
        discount,
        shipping_fee,
        total: goods + shipping_fee,
    })
}

/// Shares `discount` over the picked lines in proportion to their totals; rounding leftovers go to the last.
fn spread(lines: &mut [PricedLine], picked: &[usize], base: i64, discount: i64) {
    let mut left = discount;
    for (n, &i) in picked.iter().enumerate() {
        let share = if n + 1 == picked.len() {
            left
        } else {
            // i128: total * discount can exceed i64 for large orders.
            (i128::from(lines[i].total()) * i128::from(discount) / i128::from(base)) as i64
        };
        lines[i].discount = share;
        left -= share;
    }
}

/// What returning `quantity` more units of a line refunds: the units' share of what was paid for the line,
/// with the last unit returned taking whatever rounding left over, so a full return refunds the line exactly.
pub fn return_amount(
    line_quantity: i64,
    line_paid: i64,
    returned_before: i64,
    refunded_before: i64,
    quantity: i64,
) -> i64 {
    if returned_before + quantity >= line_quantity {
        line_paid - refunded_before
    } else {
        (i128::from(line_paid) * i128::from(quantity) / i128::from(line_quantity)) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, category: &str, quantity: i64, unit_price: i64) -> PricedLine {
        PricedLine {
            variant_id: id.into(),
            product_id: format!("p{id}"),
            category_id: category.into(),
            title: id.into(),
            sku: id.into(),
            quantity,
            unit_price,
            discount: 0,
        }
    }

    const SHIP: ShippingRule = ShippingRule {
        fee: 500,
        free_from: 5000,
    };

    #[test]
    fn no_coupon_charges_shipping_below_the_threshold() {
        let mut lines = vec![line("a", "c", 2, 1000)];
        let totals = price(&mut lines, None, SHIP).unwrap();
        assert_eq!(
            totals,
            Totals {
                subtotal: 2000,
                discount: 0,
                shipping_fee: 500,
                total: 2500
            }
        );
        let mut big = vec![line("a", "c", 5, 1000)];
        assert_eq!(price(&mut big, None, SHIP).unwrap().shipping_fee, 0);
    }

    #[test]
    fn percent_coupon_spreads_over_eligible_lines_only() {
        let mut lines = vec![
            line("a", "shoes", 1, 3333),
            line("b", "hats", 1, 1000),
            line("c", "shoes", 2, 3333),
        ];
        let only_shoes = |l: &PricedLine| l.category_id == "shoes";
        let totals = price(
            &mut lines,
            Some(CouponRule {
                discount: Discount::PercentOff(10),
                min_spend: 0,
                covers: &only_shoes,
            }),
            SHIP,
        )
        .unwrap();
        assert_eq!(totals.discount, 999);
        assert_eq!(lines[1].discount, 0);
        assert_eq!(lines[0].discount + lines[2].discount, 999);
        assert_eq!(totals.total, 3333 * 3 + 1000 - 999);
    }

    #[test]
    fn amount_coupon_never_exceeds_its_lines_and_min_spend_holds() {
        let mut lines = vec![line("a", "c", 1, 300)];
        let all = |_: &PricedLine| true;
        let totals = price(
            &mut lines,
            Some(CouponRule {
                discount: Discount::AmountOff(1000),
                min_spend: 0,
                covers: &all,
            }),
            SHIP,
        )
        .unwrap();
        assert_eq!(totals.discount, 300);
        assert_eq!(totals.total, 500);
        let err = price(
            &mut lines,
            Some(CouponRule {
                discount: Discount::AmountOff(100),
                min_spend: 301,
                covers: &all,
            }),
            SHIP,
        )
        .unwrap_err();
        assert_eq!(err.code(), "coupon_min_spend");
        let none = |_: &PricedLine| false;
        let err = price(
            &mut lines,
            Some(CouponRule {
                discount: Discount::AmountOff(100),
                min_spend: 0,
                covers: &none,
            }),
            SHIP,
        )
        .unwrap_err();
        assert_eq!(err.code(), "coupon_not_applicable");
    }

    #[test]
    fn returning_every_unit_refunds_the_line_exactly() {
        // 3 units, 1000 paid after discount: 333 + 333 + 334.
        let first = return_amount(3, 1000, 0, 0, 1);
        let second = return_amount(3, 1000, 1, first, 1);
        let last = return_amount(3, 1000, 2, first + second, 1);
        assert_eq!((first, second, last), (333, 333, 334));
        assert_eq!(return_amount(3, 1000, 0, 0, 3), 1000);
    }
}
