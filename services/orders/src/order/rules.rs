//! The decisions about orders, free of SQL and gRPC: the states and the steps between them, who is looking,
//! how a checkout's request is read, the caps on unpaid orders, and what a return may ask for and refunds.

use std::collections::{HashMap, HashSet};

use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::{Principal, Role},
    limits::{
        check_id,
        orders::{MAX_LINES, MAX_QUANTITY},
    },
    sha256_hex,
};

use tokshop_proto::catalog::{ReservedLine, VariantDetail};

use super::store::{LineRow, OrderRow, ReturnLine};
use crate::pricing::{self, PricedLine};

/// Internal states a caller never sees: a checkout between its row and its stock reservation, and one that
/// failed after reserving (its stock is released by the `order.checkout_failed` event).
pub const RESERVING: &str = "reserving";
pub const FAILED: &str = "failed";

pub const PENDING_PAYMENT: &str = "pending_payment";
pub const PAID: &str = "paid";
pub const SHIPPED: &str = "shipped";
pub const DELIVERED: &str = "delivered";
pub const COMPLETED: &str = "completed";
pub const CANCELLED: &str = "cancelled";

/// A return waiting for the seller's decision, and the decisions.
pub const REQUESTED: &str = "requested";
pub const ACCEPTED: &str = "accepted";
pub const REJECTED: &str = "rejected";

/// `orders.expected_total` when the checkout binds no total.
pub const NO_EXPECTED_TOTAL: i64 = -1;

/// One move of the order state machine: from any of `from` to `to`; `action` completes "it cannot be ..."
/// when the order is elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub from: &'static [&'static str],
    pub to: &'static str,
    pub action: &'static str,
}

/// The buyer confirms receipt.
pub const CONFIRM_RECEIPT: Step = Step {
    from: &[SHIPPED, DELIVERED],
    to: COMPLETED,
    action: "confirmed as received (only shipped or delivered orders can be)",
};
/// The seller marks a shipped order delivered.
pub const MARK_DELIVERED: Step = Step {
    from: &[SHIPPED],
    to: DELIVERED,
    action: "marked delivered (only shipped orders can be)",
};
/// The seller ships a paid order.
pub const SHIP: Step = Step {
    from: &[PAID],
    to: SHIPPED,
    action: "shipped",
};
/// Cancelling before payment (by either side, or the sweeper when the order expires): the coupon comes back.
pub const CANCEL_UNPAID: Step = Step {
    from: &[PENDING_PAYMENT],
    to: CANCELLED,
    action: "cancelled",
};
/// Cancelling after payment, before shipping: the whole total is refunded.
pub const CANCEL_PAID: Step = Step {
    from: &[PAID],
    to: CANCELLED,
    action: "cancelled",
};
/// The sweeper gives up on a checkout stuck between its row and its reservation.
pub const ABANDON: Step = Step {
    from: &[RESERVING],
    to: FAILED,
    action: "abandoned",
};
/// The sweeper completes an order delivered long enough ago.
pub const AUTO_COMPLETE: Step = Step {
    from: &[DELIVERED],
    to: COMPLETED,
    action: "completed",
};
/// The states in which the buyer may still change where the order goes.
pub const ADDRESS_CHANGEABLE: [&str; 2] = [PENDING_PAYMENT, PAID];

/// Who is looking: the buyer, or a seller acting on orders of their products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer<'a> {
    Buyer(&'a str),
    Seller(&'a str),
}

impl<'a> Viewer<'a> {
    /// The caller as a buyer, or as a seller when `as_seller` (which needs the seller role).
    pub fn of(caller: &'a Principal, as_seller: bool) -> ServiceResult<Self> {
        if as_seller {
            caller.require(Role::Seller)?;
            Ok(Viewer::Seller(&caller.user_id))
        } else {
            Ok(Viewer::Buyer(&caller.user_id))
        }
    }

    /// The reason an order cancelled by this viewer records.
    pub fn cancel_reason(&self) -> &'static str {
        match self {
            Viewer::Buyer(_) => "buyer",
            Viewer::Seller(_) => "seller",
        }
    }
}

/// The 409 for an order not in a state that allows `action`, naming the state it is in.
pub fn wrong_state(order: &OrderRow, action: &str) -> ServiceError {
    ServiceError::conflict_on(
        "invalid_order_state",
        "status",
        format!(
            "order {} is {}; it cannot be {action}",
            order.id, order.status
        ),
    )
}

/// Why an order could not be claimed for payment: still unpaid means its time ran out.
pub fn not_payable(order: &OrderRow) -> ServiceError {
    if order.status == PENDING_PAYMENT {
        ServiceError::conflict_on("order_expired", "order_id", "this order expired unpaid")
    } else {
        wrong_state(order, "paid")
    }
}

pub fn check_quantity(param: String, quantity: i64) -> ServiceResult<()> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            param,
            format!("quantity must be 1 to {MAX_QUANTITY}"),
        ))
    }
}

/// Explicit checkout items as (variant, quantity): at most `MAX_LINES`, each variant once.
pub fn explicit_items(items: &[(String, i64)]) -> ServiceResult<Vec<(String, i64)>> {
    if items.len() > MAX_LINES {
        return Err(ServiceError::invalid(
            "items",
            format!("at most {MAX_LINES} items"),
        ));
    }
    let mut seen = HashSet::new();
    let mut lines = Vec::with_capacity(items.len());
    for (i, (variant_id, quantity)) in items.iter().enumerate() {
        check_quantity(format!("items[{i}].quantity"), *quantity)?;
        let variant_id = variant_id.trim().to_owned();
        check_id(&format!("items[{i}].variant_id"), &variant_id)?;
        if !seen.insert(variant_id.clone()) {
            return Err(ServiceError::invalid(
                format!("items[{i}].variant_id"),
                "each variant may appear once; give its total quantity",
            ));
        }
        lines.push((variant_id, *quantity));
    }
    Ok(lines)
}

/// The lines a checkout buys, priced from the catalog's `details` of each variant: every variant must exist, be
/// for sale and in stock, and all must come from one shop (not the buyer's) in one currency. Returns the seller,
/// the currency and the lines. `from_cart` names the parameters as the buyer named the lines.
pub fn lines_to_buy(
    asked: &[(String, i64)],
    from_cart: bool,
    details: &HashMap<String, VariantDetail>,
    buyer_id: &str,
) -> ServiceResult<(String, String, Vec<PricedLine>)> {
    let param = |i: usize, field: &str| {
        if from_cart {
            format!("cart.lines[{i}].{field}")
        } else {
            format!("items[{i}].{field}")
        }
    };
    let mut lines = Vec::with_capacity(asked.len());
    for (i, (variant_id, quantity)) in asked.iter().enumerate() {
        let detail = details.get(variant_id).ok_or_else(|| {
            ServiceError::invalid(param(i, "variant_id"), format!("no variant {variant_id}"))
        })?;
        let variant = detail.variant.clone().unwrap_or_default();
        if !detail.buyable {
            return Err(ServiceError::conflict_on(
                "variant_unavailable",
                param(i, "variant_id"),
                format!("{} is not for sale", detail.product_title),
            ));
        }
        if variant.stock < *quantity {
            return Err(ServiceError::conflict_on(
                "out_of_stock",
                param(i, "quantity"),
                format!(
                    "only {} of {} ({}) in stock; {quantity} asked",
                    variant.stock, detail.product_title, variant.sku
                ),
            ));
        }
        let price = variant.price.unwrap_or_default();
        lines.push((
            detail.seller_id.clone(),
            price.currency.clone(),
            PricedLine {
                variant_id: variant_id.clone(),
                product_id: detail.product_id.clone(),
                category_id: detail.category_id.clone(),
                title: detail.product_title.clone(),
                sku: variant.sku.clone(),
                quantity: *quantity,
                unit_price: price.amount_minor,
                discount: 0,
            },
        ));
    }
    // What the buyer named the lines by, for errors about the lines as a whole.
    let lines_param = if from_cart {
        "cart_variant_ids"
    } else {
        "items"
    };
    let sellers: HashSet<&str> = lines.iter().map(|(s, _, _)| s.as_str()).collect();
    if sellers.len() > 1 {
        return Err(ServiceError::invalid(
            lines_param,
            format!(
                "these items come from {} shops; an order holds one shop's items, so check out each shop's \
                 lines separately",
                sellers.len()
            ),
        ));
    }
    let (seller_id, currency) = match lines.first() {
        Some((s, c, _)) => (s.clone(), c.clone()),
        None => return Err(ServiceError::invalid("items", "nothing to check out")),
    };
    // An order's amounts are sums in one currency: lines priced in another cannot join it.
    if let Some((_, other, line)) = lines.iter().find(|(_, c, _)| *c != currency) {
        return Err(ServiceError::invalid(
            lines_param,
            format!(
                "{} is priced in {other}, the other items in {currency}; an order holds one currency, so check \
                 them out separately",
                line.title
            ),
        ));
    }
    if seller_id == buyer_id {
        return Err(ServiceError::invalid(
            "items",
            "you cannot buy your own products",
        ));
    }
    let priced = lines.into_iter().map(|(_, _, l)| l).collect();
    Ok((seller_id, currency, priced))
}

/// The order's lines as the catalog reserved them: its current title, SKU and price win over what the checkout
/// saw (a line it did not describe keeps its own). Discounts are left for pricing.
pub fn reserved_lines(lines: &[LineRow], reserved: &[ReservedLine]) -> Vec<PricedLine> {
    lines
        .iter()
        .map(|l| {
            let reserved = reserved.iter().find(|r| r.variant_id == l.variant_id);
            PricedLine {
                variant_id: l.variant_id.clone(),
                product_id: l.product_id.clone(),
                category_id: l.category_id.clone(),
                title: reserved.map_or_else(|| l.title.clone(), |r| r.title.clone()),
                sku: reserved.map_or_else(|| l.sku.clone(), |r| r.sku.clone()),
                quantity: l.quantity,
                unit_price: reserved
                    .and_then(|r| r.unit_price.as_ref())
                    .map_or(l.unit_price, |p| p.amount_minor),
                discount: 0,
            }
        })
        .collect()
}

/// What identifies "the same checkout" under one request id: the lines (in any order), address and coupon.
pub fn checkout_fingerprint(
    lines: &[(String, i64)],
    address_id: &str,
    claimed_coupon_id: &str,
) -> String {
    let mut canonical = lines.to_vec();
    canonical.sort();
    sha256_hex(&[
        format!("{canonical:?}").as_bytes(),
        b"\0",
        address_id.as_bytes(),
        b"\0",
        claimed_coupon_id.as_bytes(),
    ])
}

/// The earlier checkout under the same request id must have asked for the same thing.
pub fn same_checkout(existing: &OrderRow, fingerprint: &str) -> ServiceResult<()> {
    if existing.fingerprint != fingerprint {
        return Err(ServiceError::conflict_on(
            "idempotency_conflict",
            "request_id",
            "this request id was already used for a different checkout",
        ));
    }
    Ok(())
}

/// Refuses to open an order at another total than the one approved (when one was).
pub fn check_expected_total(expected: i64, total: i64, currency: &str) -> ServiceResult<()> {
    if expected != NO_EXPECTED_TOTAL && expected != total {
        return Err(ServiceError::conflict_on(
            "total_changed",
            "expected_total",
            format!(
                "the order would now cost {}, not the {} that was approved",
                tokshop_platform::money::format(total, currency),
                tokshop_platform::money::format(expected, currency)
            ),
        ));
    }
    Ok(())
}

/// Refuses a checkout while the buyer already has `open` unpaid orders and that is the most allowed: reserving
/// stock and never paying would otherwise take it from everyone else.
pub fn within_unpaid_orders(open: i64, max: i64) -> ServiceResult<()> {
    if open >= max {
        return Err(ServiceError::conflict_on(
            "too_many_unpaid_orders",
            "items",
            format!(
                "you have {open} unpaid orders; pay or cancel one before placing another (at most {max})"
            ),
        ));
    }
    Ok(())
}

/// ... or one that would take the buyer's unpaid units of the line's variant (`held` already) past `max`.
pub fn within_unpaid_units(held: i64, line: &PricedLine, max: i64) -> ServiceResult<()> {
    if held + line.quantity > max {
        return Err(ServiceError::conflict_on(
            "too_many_unpaid_units",
            "items",
            format!(
                "you already hold {held} unpaid units of {}; at most {max} may wait for payment",
                line.sku
            ),
        ));
    }
    Ok(())
}

/// The lines of a return of `chosen` (variant, quantity) from an order with `lines`, each priced at its share of
/// what was paid. `pending` holds the units of each variant in returns still undecided: those cannot be asked for
/// again, and this return is priced as if they were accepted first.
pub fn plan_return(
    lines: &[LineRow],
    chosen: &[(&str, i64)],
    pending: &HashMap<String, i64>,
) -> ServiceResult<Vec<ReturnLine>> {
    let mut planned: Vec<ReturnLine> = Vec::with_capacity(chosen.len());
    for (i, (variant_id, quantity)) in chosen.iter().enumerate() {
        check_quantity(format!("lines[{i}].quantity"), *quantity)?;
        let line = lines
            .iter()
            .find(|l| l.variant_id == *variant_id)
            .ok_or_else(|| {
                ServiceError::invalid(format!("lines[{i}].variant_id"), "not a line of this order")
            })?;
        if planned.iter().any(|p| p.variant_id == line.variant_id) {
            return Err(ServiceError::invalid(
                format!("lines[{i}].variant_id"),
                "each line may appear once",
            ));
        }
        let pending = pending.get(&line.variant_id).copied().unwrap_or(0);
        let left = line.quantity - line.returned_quantity - pending;
        if *quantity > left {
            return Err(ServiceError::invalid(
                format!("lines[{i}].quantity"),
                format!("only {left} unit(s) of this line can still be returned"),
            ));
        }
        let paid = line.paid();
        let pending_amount = pricing::return_amount(
            line.quantity,
            paid,
            line.returned_quantity,
            line.refunded,
            pending,
        );
        let (returned_before, refunded_before) = if pending > 0 {
            (
                line.returned_quantity + pending,
                line.refunded + pending_amount,
            )
        } else {
            (line.returned_quantity, line.refunded)
        };
        let amount = pricing::return_amount(
            line.quantity,
            paid,
            returned_before,
            refunded_before,
            *quantity,
        );
        planned.push(ReturnLine {
            variant_id: line.variant_id.clone(),
            quantity: *quantity,
            amount,
        });
    }
    Ok(planned)
}

impl LineRow {
    /// What the buyer paid for the whole line, after its share of the discount.
    pub fn paid(&self) -> i64 {
        self.unit_price * self.quantity - self.discount
    }
}

#[cfg(test)]
mod tests;
