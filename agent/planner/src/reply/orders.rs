//! Orders and their status, coupons, payment methods, payments and the wallet.

use tokshop_tools::{
    coupons::{ClaimedCouponList, Coupon, CouponList},
    orders::{ListArgs, Order, OrderList, OrderSummary, Status},
    payments::{PayArgs, PaymentMethodList, PaymentResult, Wallet},
};

use super::items;
use crate::context::Conversation;
use crate::observation::Observation;
use crate::text::{Lang, clip};

/// What replies say of an order, read whole (`Order`) or listed (`OrderSummary`).
pub trait OrderFacts {
    fn id(&self) -> &str;
    fn status(&self) -> &str;
    fn total(&self) -> &str;
    fn tracking(&self) -> Option<&str>;
    fn refunded(&self) -> Option<&str>;
    /// Its units, and whether lines went unshown (then it has more than that).
    fn units(&self) -> (i64, bool);
}

/// The accessors both views answer alike; `units` is each one's own.
macro_rules! order_facts {
    ($view:ty, |$order:ident| $units:expr) => {
        impl OrderFacts for $view {
            fn id(&self) -> &str {
                &self.id
            }
            fn status(&self) -> &str {
                &self.status
            }
            fn total(&self) -> &str {
                &self.total
            }
            fn tracking(&self) -> Option<&str> {
                self.tracking_number.as_deref()
            }
            fn refunded(&self) -> Option<&str> {
                self.refunded.as_deref()
            }
            fn units(&self) -> (i64, bool) {
                let $order = self;
                $units
            }
        }
    };
}

order_facts!(Order, |order| (
    order.items.iter().map(|i| i.quantity).sum(),
    order.more_items > 0
));
order_facts!(OrderSummary, |order| (order.units, false));

/// "3 items" / "3 件"; "more than 8 items" when lines went unshown.
pub(super) fn item_count(order: &impl OrderFacts, lang: Lang) -> String {
    match (order.units(), lang) {
        ((n, false), Lang::En) => items(n),
        ((n, true), Lang::En) => format!("more than {}", items(n)),
        ((n, false), Lang::Zh) => format!("{n} 件"),
        ((n, true), Lang::Zh) => format!("{n} 件以上"),
    }
}

/// An order's status in words.
pub fn status_words(order: &impl OrderFacts, lang: Lang) -> String {
    let tracking = order.tracking().unwrap_or("");
    let refunded = order.refunded().unwrap_or("");
    match (order.status(), lang) {
        ("pending_payment", Lang::En) => {
            "waiting for payment (say \"pay with my wallet\" to pay it)".to_owned()
        }
        ("pending_payment", Lang::Zh) => "等待付款（说“用钱包付款”即可支付）".to_owned(),
        ("paid", Lang::En) => "paid — waiting for the shop to ship it".to_owned(),
        ("paid", Lang::Zh) => "已付款，等待商家发货".to_owned(),
        ("shipped", Lang::En) if !tracking.is_empty() => {
            format!("shipped with tracking number {tracking}")
        }
        ("shipped", Lang::Zh) if !tracking.is_empty() => format!("已发货，物流单号 {tracking}"),
        ("shipped", Lang::En) => "shipped".to_owned(),
        ("shipped", Lang::Zh) => "已发货".to_owned(),
        ("delivered", Lang::En) => "delivered".to_owned(),
        ("delivered", Lang::Zh) => "已送达".to_owned(),
        ("completed", Lang::En) => "completed".to_owned(),
        ("completed", Lang::Zh) => "已完成".to_owned(),
        ("cancelled", Lang::En) if !refunded.is_empty() => {
            format!("cancelled ({refunded} refunded)")
        }
        ("cancelled", Lang::Zh) if !refunded.is_empty() => format!("已取消（已退款 {refunded}）"),
        ("cancelled", Lang::En) => "cancelled".to_owned(),
        ("cancelled", Lang::Zh) => "已取消".to_owned(),
        ("", Lang::En) => "in an unknown state".to_owned(),
        ("", Lang::Zh) => "状态未知".to_owned(),
        (other, _) => other.replace('_', " "),
    }
}

/// One order's status.
pub fn order_status(order: &impl OrderFacts, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "Order {} ({}, total {}) is {}.",
            order.id(),
            item_count(order, lang),
            order.total(),
            status_words(order, lang)
        ),
        Lang::Zh => format!(
            "订单 {}（共 {}，合计 {}）：{}。",
            order.id(),
            item_count(order, lang),
            order.total(),
            status_words(order, lang)
        ),
    }
}

/// A list of orders.
pub fn orders(obs: &Observation, lang: Lang) -> String {
    let orders = obs
        .get::<OrderList>()
        .map_or(&[][..], |l| l.orders.as_slice());
    if orders.is_empty() {
        let status = obs
            .args::<ListArgs>()
            .and_then(|a| a.status)
            .map(Status::label);
        return match (status, lang) {
            (Some(status), Lang::En) => format!("You have no {} orders.", status.replace('_', " ")),
            (Some(_), Lang::Zh) => "没有符合这个状态的订单。".to_owned(),
            (None, Lang::En) => "You have no orders yet.".to_owned(),
            (None, Lang::Zh) => "你还没有订单。".to_owned(),
        };
    }
    if orders.len() == 1 {
        return orders
            .first()
            .map(|o| order_status(o, lang))
            .unwrap_or_default();
    }
    let mut out = lang
        .pick("Your recent orders:", "你最近的订单：")
        .to_owned();
    for (i, o) in orders.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. {} — {} — {}",
            i + 1,
            o.id,
            o.total,
            status_words(o, lang)
        ));
    }
    out
}

pub fn no_orders(lang: Lang) -> String {
    lang.pick("I couldn't find any order of yours.", "没有找到你的订单。")
        .to_owned()
}

pub fn no_unpaid_order(lang: Lang) -> String {
    lang.pick(
        "You have no order waiting for payment. Say \"check out\" to place one from your cart.",
        "你没有待付款的订单。说“结账”即可用购物车下单。",
    )
    .to_owned()
}

pub(super) fn coupon_line(c: &Coupon, lang: Lang) -> String {
    let min = c.min_spend.as_deref().unwrap_or("");
    let min = match (min.is_empty(), lang) {
        (true, _) => String::new(),
        (false, Lang::En) => format!(", min spend {min}"),
        (false, Lang::Zh) => format!("，满 {min} 可用"),
    };
    match lang {
        Lang::En => format!("{} — {}: {} off{min}", c.code, clip(&c.title, 60), c.off),
        Lang::Zh => format!("{} — {}：减 {}{min}", c.code, clip(&c.title, 60), c.off),
    }
}

pub fn coupons(obs: &Observation, lang: Lang) -> String {
    let coupons = obs
        .get::<CouponList>()
        .map_or(&[][..], |l| l.coupons.as_slice());
    if coupons.is_empty() {
        return lang
            .pick(
                "There are no coupons for it right now.",
                "目前没有可领取的优惠券。",
            )
            .to_owned();
    }
    let mut out = lang
        .pick("Coupons you can claim:", "可领取的优惠券：")
        .to_owned();
    for (i, c) in coupons.iter().enumerate() {
        out.push_str(&format!("\n{}. {}", i + 1, coupon_line(c, lang)));
    }
    out.push_str(lang.pick(
        "\nSay \"claim the first coupon\" to claim one.",
        "\n说“领取第一个优惠券”即可领取。",
    ));
    out
}

pub fn my_coupons(obs: &Observation, lang: Lang) -> String {
    let coupons = obs
        .get::<ClaimedCouponList>()
        .map_or(&[][..], |l| l.coupons.as_slice());
    if coupons.is_empty() {
        return lang
            .pick("You have no coupons yet.", "你还没有优惠券。")
            .to_owned();
    }
    let mut out = lang.pick("Your coupons:", "你的优惠券：").to_owned();
    let none = Coupon::default();
    for c in coupons {
        let coupon = c.coupon.as_ref().unwrap_or(&none);
        out.push_str(&format!(
            "\n- {} ({})",
            coupon_line(coupon, lang),
            c.status.as_deref().unwrap_or("")
        ));
    }
    out.push_str(lang.pick(
        "\nSay \"check out with coupon CODE\" to use one.",
        "\n结账时说“用优惠券 CODE 结账”即可使用。",
    ));
    out
}

pub fn no_coupon_list(lang: Lang) -> String {
    lang.pick(
        "Which coupon? Ask for a product's coupons first, e.g. \"any coupons for the first one?\".",
        "要领哪张优惠券？先查看商品的优惠券，例如“第一个有优惠券吗”。",
    )
    .to_owned()
}

/// After a payment ran.
pub(super) fn paid(obs: &Observation, conv: &Conversation<'_>, lang: Lang) -> String {
    let result = obs.get::<PaymentResult>().cloned().unwrap_or_default();
    let payment = &result.payment;
    let (order_id, method) = obs.args::<PayArgs>().map_or(("", "wallet"), |a| {
        (a.order_id.as_str(), a.payment_method_id.as_str())
    });
    let via = if method == "wallet" {
        lang.pick("your wallet", "钱包").to_owned()
    } else {
        conv.card_label(method)
            .unwrap_or_else(|| lang.pick("your card", "银行卡").to_owned())
    };
    let payment_status = payment.status.as_str();
    if !payment_status.is_empty()
        && !matches!(
            payment_status,
            "succeeded" | "paid" | "captured" | "completed"
        )
    {
        return match lang {
            Lang::En => format!(
                "The payment of {} for order {order_id} is {}.",
                payment.amount,
                payment_status.replace('_', " ")
            ),
            Lang::Zh => format!(
                "订单 {order_id} 的付款 {} 状态：{payment_status}。",
                payment.amount
            ),
        };
    }
    let status = status_words(
        &Order {
            status: result.order_status.clone(),
            ..Order::default()
        },
        lang,
    );
    match lang {
        Lang::En => format!(
            "Paid {} with {via}. Order {order_id} is now {status}.",
            payment.amount
        ),
        Lang::Zh => format!(
            "已用{via}支付 {}。订单 {order_id} 现在{status}。",
            payment.amount
        ),
    }
}

pub fn no_card(lang: Lang) -> String {
    lang.pick(
        "You have no saved card. Add one in the app, or say \"pay with my wallet\".",
        "你还没有保存银行卡。可以在 App 中添加，或者说“用钱包付款”。",
    )
    .to_owned()
}

pub fn wallet(obs: &Observation, lang: Lang) -> String {
    let balances: Vec<&str> = obs
        .get::<Wallet>()
        .map(|w| w.balances.iter().map(String::as_str).collect())
        .unwrap_or_default();
    match (balances.is_empty(), lang) {
        (true, Lang::En) => "Your wallet is empty.".to_owned(),
        (true, Lang::Zh) => "你的钱包余额为零。".to_owned(),
        (false, Lang::En) => format!("Your wallet balance is {}.", balances.join(" and ")),
        (false, Lang::Zh) => format!("你的钱包余额：{}。", balances.join("、")),
    }
}

pub fn payment_methods(obs: &Observation, lang: Lang) -> String {
    let methods = obs
        .get::<PaymentMethodList>()
        .map_or(&[][..], |l| l.methods.as_slice());
    let mut out = lang
        .pick("Your payment methods:", "你的支付方式：")
        .to_owned();
    for m in methods {
        let brand = m.brand.as_deref().unwrap_or("");
        let last4 = m.last4.as_deref().unwrap_or("");
        let line = match (m.kind.as_str(), lang) {
            ("wallet", Lang::En) => "wallet".to_owned(),
            ("wallet", Lang::Zh) => "钱包".to_owned(),
            (_, Lang::En) => format!("{brand} card ending {last4}"),
            (_, Lang::Zh) => format!("{brand} 卡，尾号 {last4}"),
        };
        out.push_str(&format!("\n- {line}"));
    }
    out
}
