//! A failed tool call, in plain words.

use crate::observation::Observation;
use crate::text::{Lang, clip};

/// A failed tool call, in plain words.
pub fn error(obs: &Observation, lang: Lang) -> String {
    if let Some(text) = super::social::error(obs, lang) {
        return text;
    }
    let code = obs.error().unwrap_or("");
    let message = clip(obs.failure_message(), 200);
    let available = obs.available();
    let thing = match (obs.tool.as_str(), lang) {
        ("get_product" | "search_products" | "list_coupons", Lang::En) => "that product",
        ("get_product" | "search_products" | "list_coupons", Lang::Zh) => "这个商品",
        ("get_order" | "cancel_order" | "pay_order" | "confirm_receipt", Lang::En) => "that order",
        ("get_order" | "cancel_order" | "pay_order" | "confirm_receipt", Lang::Zh) => "这个订单",
        ("remove_from_cart" | "update_cart_quantity", Lang::En) => "that item in your cart",
        ("remove_from_cart" | "update_cart_quantity", Lang::Zh) => "购物车里的这件商品",
        ("add_to_cart", Lang::En) => "that option",
        ("add_to_cart", Lang::Zh) => "这个款式",
        ("claim_coupon", Lang::En) => "that coupon",
        ("claim_coupon", Lang::Zh) => "这张优惠券",
        (_, Lang::En) => "it",
        (_, Lang::Zh) => "相关信息",
    };
    match (code, lang) {
        ("out_of_stock", Lang::En) => match available {
            Some(0) => "Sorry, that's sold out right now.".to_owned(),
            Some(n) => format!("Sorry, there isn't enough stock: only {n} available. Try a smaller quantity."),
            None => "Sorry, there isn't enough stock for that. Try a smaller quantity or another option.".to_owned(),
        },
        ("out_of_stock", Lang::Zh) => match available {
            Some(0) => "抱歉，这个已经售罄了。".to_owned(),
            Some(n) => format!("抱歉，库存不足，只剩 {n} 件。可以减少数量再试。"),
            None => "抱歉，库存不足。可以减少数量或换个款式。".to_owned(),
        },
        ("address_required", Lang::En) => {
            "You don't have a shipping address yet, so I can't check out. Tell me where to ship: recipient, street, \
             city, postal code and country."
                .to_owned()
        }
        ("address_required", Lang::Zh) => "你还没有收货地址，暂时无法下单。请告诉我收件人、街道、城市、邮编和国家。".to_owned(),
        ("total_changed", Lang::En) => {
            format!("Nothing was ordered: the total changed before the order could be placed ({message}). Say \"check out\" to see the new total.")
        }
        ("total_changed", Lang::Zh) => format!("未下单：下单前总价发生了变化（{message}）。说“结账”查看新的总价。"),
        ("variant_unavailable", Lang::En) => "Sorry, that option is no longer available.".to_owned(),
        ("variant_unavailable", Lang::Zh) => "抱歉，这个款式已下架。".to_owned(),
        ("insufficient_funds", Lang::En) => {
            "The payment didn't go through: there isn't enough money for it. The order is still unpaid; top up \
             your wallet in the app or pay with a card."
                .to_owned()
        }
        ("insufficient_funds", Lang::Zh) => {
            "付款失败：余额不足。订单仍未付款，可以在 App 中充值或改用银行卡支付。".to_owned()
        }
        ("card_declined", Lang::En) => {
            "Your card was declined. The order is still unpaid; try another card or pay with your wallet.".to_owned()
        }
        ("card_declined", Lang::Zh) => "你的银行卡被拒绝了。订单仍未付款，可以换一张卡或用钱包支付。".to_owned(),
        ("not_found", Lang::En) => format!("I couldn't find {thing}."),
        ("not_found", Lang::Zh) => format!("没有找到{thing}。"),
        ("invalid_order_state", Lang::En) => {
            format!("That can't be done with the order in its current state ({message}).")
        }
        ("invalid_order_state", Lang::Zh) => format!("订单当前的状态不允许这个操作（{message}）。"),
        ("order_expired", Lang::En) => {
            "That order expired before it was paid, and its items were released. Say \"check out\" to order again."
                .to_owned()
        }
        ("order_expired", Lang::Zh) => "这个订单超时未付款，已失效。说“结账”可以重新下单。".to_owned(),
        ("cart_full", Lang::En) => "Your cart is full; remove something first.".to_owned(),
        ("cart_full", Lang::Zh) => "购物车已满，请先移除一些商品。".to_owned(),
        ("coupon_expired", Lang::En) => "That coupon has expired.".to_owned(),
        ("coupon_expired", Lang::Zh) => "这张优惠券已过期。".to_owned(),
        ("coupon_used", Lang::En) => "That coupon has already been used.".to_owned(),
        ("coupon_used", Lang::Zh) => "这张优惠券已经用过了。".to_owned(),
        ("coupon_sold_out", Lang::En) => "All of those coupons have been claimed.".to_owned(),
        ("coupon_sold_out", Lang::Zh) => "这张优惠券已被领完。".to_owned(),
        ("coupon_limit_reached", Lang::En) => "You've already claimed as many of that coupon as allowed.".to_owned(),
        ("coupon_limit_reached", Lang::Zh) => "这张优惠券你已达到领取上限。".to_owned(),
        ("coupon_min_spend" | "coupon_not_applicable", Lang::En) => {
            format!("That coupon doesn't apply to this order ({message}).")
        }
        ("coupon_min_spend" | "coupon_not_applicable", Lang::Zh) => format!("这张优惠券不适用于这个订单（{message}）。"),
        ("invalid_parameter" | "invalid_argument" | "invalid_arguments" | "invalid_request", Lang::En) => {
            format!("That request wasn't accepted: {message}.")
        }
        ("invalid_parameter" | "invalid_argument" | "invalid_arguments" | "invalid_request", Lang::Zh) => {
            format!("请求未被接受：{message}。")
        }
        ("conflict", Lang::En) => format!("That can't be done right now: {message}."),
        ("conflict", Lang::Zh) => format!("暂时无法完成这个操作：{message}。"),
        ("unauthenticated", Lang::En) => "Your session has expired; please sign in again.".to_owned(),
        ("unauthenticated", Lang::Zh) => "登录已过期，请重新登录。".to_owned(),
        ("forbidden" | "permission_denied", Lang::En) => "Sorry, you're not allowed to do that.".to_owned(),
        ("forbidden" | "permission_denied", Lang::Zh) => "抱歉，你没有权限执行这个操作。".to_owned(),
        ("rate_limited", Lang::En) => "Too many requests just now; please wait a moment and try again.".to_owned(),
        ("rate_limited", Lang::Zh) => "请求太频繁了，请稍后再试。".to_owned(),
        ("service_unavailable" | "unavailable" | "internal_error" | "internal" | "timeout", Lang::En) => {
            "The shop couldn't do that right now; please try again shortly.".to_owned()
        }
        ("service_unavailable" | "unavailable" | "internal_error" | "internal" | "timeout", Lang::Zh) => {
            "商店暂时无法处理，请稍后再试。".to_owned()
        }
        (_, Lang::En) if message.is_empty() => format!("That didn't work ({code})."),
        (_, Lang::Zh) if message.is_empty() => format!("操作没有成功（{code}）。"),
        (_, Lang::En) => format!("That didn't work: {message}."),
        (_, Lang::Zh) => format!("操作没有成功：{message}。"),
    }
}
