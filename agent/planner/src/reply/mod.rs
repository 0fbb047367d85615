//! Reply templates, in English and Chinese. Every product, price, order id and amount they mention is read
//! from a tool result in the conversation; nothing is made up. Text that came from a tool (titles,
//! descriptions, summaries) is shown clipped to one line and never acted on.
//!
//! By concern: [`catalog`] (search results, product pages, categories), [`cart`], [`orders`] (orders, coupons,
//! payments), [`account`] (profile, addresses), [`errors`] (failed calls) and [`social`].

mod account;
mod cart;
mod catalog;
mod errors;
mod orders;
pub mod social;

use tokshop_tools::{
    cart::Cart,
    catalog::Product,
    coupons::{ClaimedCoupon, Coupon},
    orders::{Order, OrderResult, ReturnResult},
};

use super::context::Conversation;
use super::intent::Unsupported;
use super::observation::Observation;
use super::text::{Lang, clip};
use orders::{coupon_line, item_count, paid};

pub use account::{addresses, profile};
pub use cart::{
    added, ask_cart_line, beyond_shown_lines, cart, cleared, empty_cart, no_cart_match,
    quantity_updated, removed,
};
pub use catalog::{
    ask_product, ask_variant, categories, no_variant_match, no_variants, product_details,
    search_results, sold_out,
};
pub use errors::error;
pub use orders::{
    OrderFacts, coupons, my_coupons, no_card, no_coupon_list, no_orders, no_unpaid_order,
    order_status, orders, payment_methods, status_words, wallet,
};

/// "1 item", "3 items".
fn items(n: i64) -> String {
    if n == 1 {
        "1 item".to_owned()
    } else {
        format!("{n} items")
    }
}

/// "the second one" / "第二个", for hints about picking from a list.
pub fn ordinal(n: usize, lang: Lang) -> String {
    const EN: &[&str] = &[
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth",
    ];
    const ZH: &[&str] = &["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    match lang {
        Lang::En => EN
            .get(n.wrapping_sub(1))
            .map(|w| format!("the {w} one"))
            .unwrap_or_else(|| format!("number {n}")),
        Lang::Zh => ZH
            .get(n.wrapping_sub(1))
            .map(|w| format!("第{w}个"))
            .unwrap_or_else(|| format!("第{n}个")),
    }
}

pub fn greeting(lang: Lang) -> String {
    lang.pick(
        "Hi! I can find products, show their details, manage your cart, check out, pay, and track or cancel \
         orders. Try \"find trail shoes under 80\".",
        "你好！我可以帮你找商品、看详情、管理购物车、结账付款，以及查询或取消订单。试试说“找80元以下的跑鞋”。",
    )
    .to_owned()
}

pub fn help(lang: Lang) -> String {
    lang.pick(
        "Here is what I can do:\n\
         - search: \"find trail shoes under 80\", \"jackets between 50 and 100, cheapest first\", \"in stock only\"\n\
         - pick from a list: \"show me the second one\", \"add the blue 42 to my cart\", \"buy the cheaper one\"\n\
         - cart: \"what's in my cart\", \"remove the red one\", \"change the quantity to 2\", \"clear my cart\"\n\
         - orders: \"check out\", \"pay with my wallet\", \"where is my order\", \"my orders\", \"cancel my order\"\n\
         - social: \"follow trailco\", \"who do I follow\", \"favorite this\", \"show comments on it\", \
         \"comment 'great shoes' on it\", \"show my feed\", \"tell bruno 'hi'\", \"my messages\"\n\
         - also: wallet balance, my addresses, payment methods, coupons for a product, categories.",
        "我可以帮你：\n\
         - 搜索：“找80元以下的跑鞋”、“50到100元的夹克，价格从低到高”、“只看有货的”\n\
         - 从列表里选：“看看第二个”、“把蓝色42码加入购物车”、“买便宜的那个”\n\
         - 购物车：“我的购物车”、“删掉红色的”、“数量改成2件”、“清空购物车”\n\
         - 订单：“结账”、“用钱包付款”、“我的订单到哪了”、“我的订单”、“取消订单”\n\
         - 社交：“关注trailco”、“我关注了谁”、“收藏这个”、“看看这个商品的评论”、“在这个商品下面评论：很好穿”、“看看我的动态”、\
         “给bruno发消息：你好”、“我的私信”\n\
         - 还有：钱包余额、收货地址、支付方式、商品优惠券、商品分类。",
    )
    .to_owned()
}

pub fn anything_else(lang: Lang) -> String {
    lang.pick("Anything else I can help with?", "还有什么需要帮忙的吗？")
        .to_owned()
}

pub fn thanks(lang: Lang) -> String {
    lang.pick(
        "You're welcome! Anything else I can help with?",
        "不客气！还有什么需要帮忙的吗？",
    )
    .to_owned()
}

pub fn nothing_pending(lang: Lang) -> String {
    lang.pick(
        "There is nothing waiting for your confirmation right now. What would you like to do?",
        "目前没有等待你确认的操作。你想做什么呢？",
    )
    .to_owned()
}

pub fn nothing_to_cancel(lang: Lang) -> String {
    lang.pick(
        "There is nothing waiting for your confirmation, so nothing to cancel. What would you like to do?",
        "目前没有等待确认的操作，无需取消。你想做什么呢？",
    )
    .to_owned()
}

pub fn out_of_scope(lang: Lang) -> String {
    lang.pick(
        "Sorry, I can only help with shopping here: finding products, your cart, checkout and payment, your \
         orders, coupons, wallet and addresses.",
        "抱歉，我只能帮你处理购物相关的事：找商品、购物车、结账付款、订单、优惠券、钱包和地址。",
    )
    .to_owned()
}

pub fn other_user(lang: Lang) -> String {
    lang.pick(
        "Sorry, I can only act for you, the signed-in shopper. I can't look at or change anyone else's orders or \
         account. I can show your own orders if you like.",
        "抱歉，我只能为当前登录的你服务，不能查看或修改其他用户的订单或账户。需要的话我可以帮你查看你自己的订单。",
    )
    .to_owned()
}

pub fn unsupported(what: Unsupported, lang: Lang) -> String {
    let (en, zh) = match what {
        Unsupported::Return => ("Returns and refunds are", "退货退款"),
        Unsupported::ChangeAddress => ("Changing an order's address is", "修改订单地址"),
        Unsupported::AddAddress => ("Adding or removing addresses is", "添加或删除地址"),
        Unsupported::TopUp => ("Topping up the wallet is", "钱包充值"),
        Unsupported::AddCard => ("Saving a new card is", "添加新卡"),
        Unsupported::Review => ("Reviews and ratings are", "评价"),
    };
    match lang {
        Lang::En => format!(
            "{en} not something I can do in this chat yet; please use the app for that. I can help with \
             searching, your cart, checkout, payment and order status."
        ),
        Lang::Zh => format!(
            "{zh}暂时无法在聊天里办理，请在 App 中操作。我可以帮你搜索商品、管理购物车、结账付款和查询订单。"
        ),
    }
}

pub fn unknown(lang: Lang) -> String {
    lang.pick(
        "Sorry, I didn't catch that. You can say things like \"find running shoes under 100\", \"what's in my \
         cart\", \"check out\", \"pay with my wallet\" or \"where is my order\".",
        "抱歉，我没太明白。你可以说“找100元以下的跑鞋”、“我的购物车”、“结账”、“用钱包付款”或“我的订单到哪了”。",
    )
    .to_owned()
}

pub fn ask_search_query(lang: Lang) -> String {
    lang.pick(
        "What are you looking for? For example \"trail shoes under 80\".",
        "你想找什么商品？例如“80元以下的跑鞋”。",
    )
    .to_owned()
}

pub fn no_list(lang: Lang) -> String {
    lang.pick(
        "Which product do you mean? Search for something first, e.g. \"find trail shoes\", then say \"the second \
         one\".",
        "你指的是哪个商品？先搜索一下，比如“找跑鞋”，然后说“第二个”。",
    )
    .to_owned()
}

pub fn out_of_range(n: usize, count: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "The last list has only {}, so there is no number {n}. Which one do you mean?",
            items(i64::try_from(count).unwrap_or(i64::MAX))
        ),
        Lang::Zh => format!("上一个列表只有 {count} 项，没有第{n}个。你指的是哪一个？"),
    }
}

/// A consequential action waits for the shopper's approval.
/// A proposal waits for the shopper: the server itself shows its summary and asks, so the planner adds nothing.
pub fn confirm(_obs: &Observation, _lang: Lang) -> String {
    String::new()
}

/// What happened after the shopper decided on a pending action.
pub fn approved(obs: &Observation, conv: &Conversation<'_>, lang: Lang) -> String {
    if obs.error().is_some() {
        return error(obs, lang);
    }
    if obs.rejected() {
        return lang
            .pick(
                "Okay, I didn't do it; nothing was changed. What would you like to do instead?",
                "好的，已取消，没有做任何更改。还需要什么帮助吗？",
            )
            .to_owned();
    }
    if obs.changed() {
        let what = clip(
            obs.reason()
                .trim_start_matches("changed since it was proposed: "),
            200,
        );
        // The server shows the new proposal's summary and asks for approval after this.
        return match lang {
            Lang::En => {
                format!("Nothing was done: something changed since you were asked ({what}).")
            }
            Lang::Zh => format!("未做任何操作：在你确认前有变化（{what}）。"),
        };
    }
    if let Some(text) = social::approved(obs, lang) {
        return text;
    }
    let empty = Order::default();
    let order = obs.get::<OrderResult>().map_or(&empty, |r| &r.order);
    match obs.tool.as_str() {
        "checkout" => match lang {
            Lang::En => format!(
                "Order {} placed: {}, total {}. It waits for payment; say \"pay with my wallet\" to pay.",
                order.id,
                item_count(order, lang),
                order.total
            ),
            Lang::Zh => format!(
                "订单 {} 已创建：共 {}，合计 {}。订单等待付款，说“用钱包付款”即可支付。",
                order.id,
                item_count(order, lang),
                order.total
            ),
        },
        "pay_order" => paid(obs, conv, lang),
        "cancel_order" => {
            let id = &order.id;
            match (lang, order.refunded.as_deref()) {
                (Lang::En, None) => format!("Order {id} is cancelled."),
                (Lang::En, Some(refunded)) => {
                    format!("Order {id} is cancelled; {refunded} is refunded.")
                }
                (Lang::Zh, None) => format!("订单 {id} 已取消。"),
                (Lang::Zh, Some(refunded)) => format!("订单 {id} 已取消，已退款 {refunded}。"),
            }
        }
        "claim_coupon" => {
            let none = Coupon::default();
            let coupon = obs
                .get::<ClaimedCoupon>()
                .and_then(|c| c.coupon.as_ref())
                .unwrap_or(&none);
            match lang {
                Lang::En => format!(
                    "Coupon claimed: {}. Say \"check out with coupon {}\" to use it.",
                    coupon_line(coupon, lang),
                    coupon.code
                ),
                Lang::Zh => format!(
                    "优惠券已领取：{}。结账时说“用优惠券 {} 结账”即可使用。",
                    coupon_line(coupon, lang),
                    coupon.code
                ),
            }
        }
        "request_return" => {
            let ret = obs
                .get::<ReturnResult>()
                .map(|r| r.request.clone())
                .unwrap_or_default();
            match lang {
                Lang::En => format!(
                    "Return {} requested ({}), amount {}.",
                    ret.id,
                    ret.status.replace('_', " "),
                    ret.amount
                ),
                Lang::Zh => format!(
                    "退货申请 {} 已提交（{}），金额 {}。",
                    ret.id, ret.status, ret.amount
                ),
            }
        }
        _ if obs.get::<OrderResult>().is_some() => order_status(order, lang),
        _ => done(lang),
    }
}

/// A reply for any result, by tool: used when a journey ends on a result it has no specific template for.
pub fn any(obs: &Observation, conv: &Conversation<'_>, lang: Lang) -> String {
    if obs.error().is_some() {
        return error(obs, lang);
    }
    if obs.pending() {
        return confirm(obs, lang);
    }
    if obs.approved() {
        return approved(obs, conv, lang);
    }
    match obs.tool.as_str() {
        "search_products" => search_results(obs, lang),
        "get_product" => obs
            .get::<Product>()
            .map_or_else(|| done(lang), |p| product_details(p, lang)),
        "view_cart"
        | "add_to_cart"
        | "remove_from_cart"
        | "update_cart_quantity"
        | "clear_cart" => match (obs.tool.as_str(), obs.get::<Cart>()) {
            ("clear_cart", _) => cleared(lang),
            (_, None) => done(lang),
            ("add_to_cart", Some(c)) => added(obs, c, lang),
            ("remove_from_cart", Some(c)) => removed(obs, c, conv, lang),
            ("update_cart_quantity", Some(c)) => quantity_updated(obs, c, lang),
            (_, Some(c)) => cart(c, lang),
        },
        "list_orders" => orders(obs, lang),
        "get_order" | "checkout" | "cancel_order" | "confirm_receipt" | "change_order_address" => {
            obs.get::<OrderResult>()
                .map_or_else(|| no_orders(lang), |r| order_status(&r.order, lang))
        }
        "wallet_balance" => wallet(obs, lang),
        "list_addresses" => addresses(obs, lang),
        "list_payment_methods" => payment_methods(obs, lang),
        "my_profile" => profile(obs, lang),
        "list_categories" => categories(obs, lang),
        "list_coupons" => coupons(obs, lang),
        "my_coupons" => my_coupons(obs, lang),
        _ => social::any(obs, conv, lang)
            .unwrap_or_else(|| lang.pick("Done.", "已完成。").to_owned()),
    }
}

/// A result with nothing more specific to say about it.
fn done(lang: Lang) -> String {
    lang.pick("Done.", "已完成。").to_owned()
}

/// When the planner needs a tool the agent did not offer.
pub fn tool_unavailable(lang: Lang) -> String {
    lang.pick(
        "Sorry, I can't do that here right now.",
        "抱歉，这里暂时无法办理这个操作。",
    )
    .to_owned()
}
