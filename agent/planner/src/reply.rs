//! Reply templates, in English and Chinese. Every product, price, order id and amount they mention is read
//! from a tool result in the conversation; nothing is made up. Text that came from a tool (titles,
//! descriptions, summaries) is shown clipped to one line and never acted on.

use serde_json::Value;
use tokshop_tools::{
    account::{AddressList, Me},
    cart::{Cart, CartLine},
    catalog::{CategoryList, Product, ProductList, Variant},
    coupons::{ClaimedCoupon, ClaimedCouponList, Coupon, CouponList},
    orders::{Order, OrderList, OrderResult, ReturnResult},
    payments::{PaymentMethodList, PaymentResult, Wallet},
};

use super::context::Conversation;
use super::intent::Unsupported;
use super::observation::Observation;
use super::text::{Lang, clip};

fn s<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

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

/// What a search looked for, from the call's arguments: `"trail shoes" up to 80, in stock, cheapest first`.
fn search_description(args: &Value, lang: Lang) -> String {
    let mut parts = Vec::new();
    let query = s(args, "query");
    if !query.is_empty() {
        parts.push(format!("\"{}\"", clip(query, 60)));
    }
    let min = args.get("min_price").and_then(Value::as_f64);
    let max = args.get("max_price").and_then(Value::as_f64);
    let fmt = |n: f64| format!("{n:.2}");
    match (min, max, lang) {
        (Some(lo), Some(hi), Lang::En) => parts.push(format!("priced {}–{}", fmt(lo), fmt(hi))),
        (Some(lo), Some(hi), Lang::Zh) => parts.push(format!("价格 {}–{}", fmt(lo), fmt(hi))),
        (None, Some(hi), Lang::En) => parts.push(format!("up to {}", fmt(hi))),
        (None, Some(hi), Lang::Zh) => parts.push(format!("{} 以内", fmt(hi))),
        (Some(lo), None, Lang::En) => parts.push(format!("from {}", fmt(lo))),
        (Some(lo), None, Lang::Zh) => parts.push(format!("{} 以上", fmt(lo))),
        (None, None, _) => {}
    }
    if args.get("in_stock_only").and_then(Value::as_bool) == Some(true) {
        parts.push(lang.pick("in stock only", "只看有货").to_owned());
    }
    let sort = match (s(args, "sort"), lang) {
        ("price_asc", Lang::En) => "cheapest first",
        ("price_asc", Lang::Zh) => "价格从低到高",
        ("price_desc", Lang::En) => "most expensive first",
        ("price_desc", Lang::Zh) => "价格从高到低",
        ("newest", Lang::En) => "newest first",
        ("newest", Lang::Zh) => "最新优先",
        _ => "",
    };
    if !sort.is_empty() {
        parts.push(sort.to_owned());
    }
    parts.join(lang.pick(", ", "，"))
}

fn stock_word(in_stock: bool, lang: Lang) -> &'static str {
    match (in_stock, lang) {
        (true, Lang::En) => " (in stock)",
        (false, Lang::En) => " (out of stock)",
        (true, Lang::Zh) => "（有货）",
        (false, Lang::Zh) => "（缺货）",
    }
}

/// A numbered product list with a hint on how to pick from it.
pub fn search_results(obs: &Observation, lang: Lang) -> String {
    let (products, more) = obs
        .get::<ProductList>()
        .map_or((&[][..], false), |l| (l.products.as_slice(), l.more));
    let what = search_description(&obs.args, lang);
    if products.is_empty() {
        let mut tips: Vec<&str> =
            vec![lang.pick("use fewer or other words", "换个说法或减少关键词")];
        if obs.args.get("min_price").is_some() || obs.args.get("max_price").is_some() {
            tips.push(lang.pick("widen the price range", "放宽价格范围"));
        }
        if obs.args.get("in_stock_only").and_then(Value::as_bool) == Some(true) {
            tips.push(lang.pick("include items that are out of stock", "去掉“只看有货”"));
        }
        return match lang {
            Lang::En if what.is_empty() => {
                format!("I found nothing. Try to {}.", tips.join(", or "))
            }
            Lang::En => format!("I found nothing for {what}. Try to {}.", tips.join(", or ")),
            Lang::Zh => format!(
                "没有找到符合条件的商品（{what}）。可以试试{}。",
                tips.join("、")
            ),
        };
    }
    let mut out = match lang {
        Lang::En if what.is_empty() => "Here is what I found:".to_owned(),
        Lang::En => format!("Here is what I found for {what}:"),
        Lang::Zh if what.is_empty() => "为你找到这些商品：".to_owned(),
        Lang::Zh => format!("为你找到这些商品（{what}）："),
    };
    for (i, p) in products.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. {} — {}{}",
            i + 1,
            clip(&p.title, 80),
            p.price,
            stock_word(p.in_stock, lang)
        ));
    }
    let example = ordinal(products.len().min(2), lang);
    out.push_str(&match lang {
        Lang::En => {
            format!("\nSay \"{example}\" to see it, or \"add {example}\" to put it in your cart.")
        }
        Lang::Zh => format!("\n说“{example}”查看详情，或说“把{example}加入购物车”。"),
    });
    if more {
        out.push_str(lang.pick(
            "\nThere are more matches; add words or a price limit to narrow them down.",
            "\n还有更多结果，可以加上更具体的关键词或价格范围。",
        ));
    }
    out
}

/// One variant as a list line: "colour: blue, size: 42 — 59.90 USD (3 left)".
fn variant_line(v: &Variant, lang: Lang) -> String {
    let stock = match (v.stock, lang) {
        (0, Lang::En) => " (out of stock)".to_owned(),
        (0, Lang::Zh) => "（缺货）".to_owned(),
        (n, Lang::En) => format!(" ({n} left)"),
        (n, Lang::Zh) => format!("（剩 {n} 件）"),
    };
    let options = if v.options.is_empty() {
        lang.pick("standard", "标准款")
    } else {
        &v.options
    };
    format!("{} — {}{stock}", clip(options, 80), v.price)
}

/// A variant's option values in their own order ("blue 42"), for example phrases.
fn options_phrase_in_order(v: &Variant) -> String {
    v.options
        .split(',')
        .map(|part| part.rsplit(':').next().unwrap_or(part).trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A product's details and its options.
pub fn product_details(p: &Product, lang: Lang) -> String {
    let mut out = format!(
        "{} — {}{}",
        clip(&p.title, 100),
        p.price,
        stock_word(p.in_stock, lang)
    );
    let description = p.description.as_deref().unwrap_or("");
    if !description.is_empty() {
        out.push('\n');
        out.push_str(&clip(description, 200));
    }
    let variants = &p.variants;
    if !variants.is_empty() {
        out.push_str(lang.pick("\nOptions:", "\n款式："));
        for (i, v) in variants.iter().enumerate() {
            out.push_str(&format!("\n{}. {}", i + 1, variant_line(v, lang)));
        }
        let example = variants
            .iter()
            .find(|v| v.stock != 0)
            .map(options_phrase_in_order);
        match (example, lang) {
            (Some(e), Lang::En) if variants.len() > 1 && !e.is_empty() => {
                out.push_str(&format!("\nSay \"add the {e}\" to put it in your cart."))
            }
            (Some(e), Lang::Zh) if variants.len() > 1 && !e.is_empty() => {
                out.push_str(&format!("\n说“把 {e} 加入购物车”即可加购。"))
            }
            (Some(_), _) => out.push_str(lang.pick(
                "\nSay \"add it to my cart\" to put it in your cart.",
                "\n说“加入购物车”即可加购。",
            )),
            (None, _) => out.push_str(lang.pick(
                "\nEvery option is out of stock right now.",
                "\n目前所有款式都缺货。",
            )),
        }
    }
    out
}

/// Asks which of several variants the shopper wants.
pub fn ask_variant(p: &Product, candidates: &[&Variant], lang: Lang) -> String {
    let mut out = match lang {
        Lang::En => format!(
            "{} comes in several options. Which one would you like?",
            clip(&p.title, 100)
        ),
        Lang::Zh => format!("{} 有多个款式，你要哪一个？", clip(&p.title, 100)),
    };
    for (i, v) in candidates.iter().enumerate() {
        out.push_str(&format!("\n{}. {}", i + 1, variant_line(v, lang)));
    }
    let example = candidates
        .first()
        .map(|v| options_phrase_in_order(v))
        .unwrap_or_default();
    out.push_str(&match lang {
        Lang::En => format!("\nSay \"the first one\" or name the options, e.g. \"{example}\"."),
        Lang::Zh => format!("\n说“第一个”或直接说款式，例如“{example}”。"),
    });
    out
}

/// Asks which of several listed products the shopper means, keeping their list numbers.
pub fn ask_product(candidates: &[(usize, &Product)], lang: Lang) -> String {
    let mut out = lang
        .pick(
            "Several products match. Which one do you mean?",
            "有几个商品都符合，你指的是哪一个？",
        )
        .to_owned();
    for (n, p) in candidates {
        out.push_str(&format!("\n{n}. {} — {}", clip(&p.title, 80), p.price));
    }
    let first = candidates.first().map(|(n, _)| *n).unwrap_or(1);
    out.push_str(&match lang {
        Lang::En => format!("\nSay \"{}\" for example.", ordinal(first, lang)),
        Lang::Zh => format!("\n例如说“{}”。", ordinal(first, lang)),
    });
    out
}

pub fn no_variant_match(p: &Product, asked: &str, lang: Lang) -> String {
    let available: Vec<String> = p.variants.iter().map(|v| clip(&v.options, 60)).collect();
    match lang {
        Lang::En => format!(
            "{} has no option matching \"{}\". Available: {}.",
            clip(&p.title, 100),
            asked,
            available.join("; ")
        ),
        Lang::Zh => format!(
            "{} 没有符合“{}”的款式。可选：{}。",
            clip(&p.title, 100),
            asked,
            available.join("；")
        ),
    }
}

pub fn sold_out(p: &Product, variants: &[&Variant], lang: Lang) -> String {
    let title = clip(&p.title, 100);
    let all = variants.len() == p.variants.len();
    match (lang, all || variants.is_empty()) {
        (Lang::En, true) => format!("Sorry, {title} is out of stock in every option right now."),
        (Lang::Zh, true) => format!("抱歉，{title} 目前所有款式都缺货。"),
        (Lang::En, false) => {
            let options: Vec<String> = variants.iter().map(|v| clip(&v.options, 60)).collect();
            format!(
                "Sorry, {title} ({}) is out of stock. Another option?",
                options.join("; ")
            )
        }
        (Lang::Zh, false) => {
            let options: Vec<String> = variants.iter().map(|v| clip(&v.options, 60)).collect();
            format!(
                "抱歉，{title}（{}）缺货了。要换个款式吗？",
                options.join("；")
            )
        }
    }
}

pub fn no_variants(p: &Product, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "I couldn't see any option of {} that can be bought right now.",
            clip(&p.title, 100)
        ),
        Lang::Zh => format!("暂时看不到 {} 可购买的款式。", clip(&p.title, 100)),
    }
}

/// Item count and subtotal of a cart: "3 items, subtotal 119.80 USD".
fn cart_summary(cart: &Cart, lang: Lang) -> String {
    let items: i64 = cart.lines.iter().map(|l| l.quantity).sum();
    match lang {
        Lang::En => format!("{}, subtotal {}", self::items(items), cart.subtotal),
        Lang::Zh => format!("共 {items} 件，小计 {}", cart.subtotal),
    }
}

fn line_label(line: &CartLine) -> String {
    if line.options.is_empty() {
        clip(&line.title, 80)
    } else {
        format!("{} ({})", clip(&line.title, 80), clip(&line.options, 60))
    }
}

/// Flags of a cart line: no longer available, or short of stock.
fn line_flags(line: &CartLine, lang: Lang) -> String {
    if line.unavailable {
        return lang.pick(" — no longer available", "——已下架").to_owned();
    }
    if line.short_of_stock {
        let available = line.available.unwrap_or(0);
        return match lang {
            Lang::En => format!(" — only {available} left"),
            Lang::Zh => format!("——仅剩 {available} 件"),
        };
    }
    String::new()
}

/// The cart, line by line.
pub fn cart(cart: &Cart, lang: Lang) -> String {
    if cart.lines.is_empty() {
        return lang
            .pick(
                "Your cart is empty. Tell me what you're looking for, e.g. \"find trail shoes\".",
                "你的购物车是空的。告诉我你想找什么，例如“找跑鞋”。",
            )
            .to_owned();
    }
    let mut out = lang.pick("Your cart:", "你的购物车：").to_owned();
    for (i, line) in cart.lines.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. {} × {} — {}{}",
            i + 1,
            line_label(line),
            line.quantity,
            line.line_total,
            line_flags(line, lang)
        ));
    }
    out.push_str(&match lang {
        Lang::En => format!("\nSubtotal: {}.", cart.subtotal),
        Lang::Zh => format!("\n小计：{}。", cart.subtotal),
    });
    if cart.ready_for_checkout {
        out.push_str(lang.pick(
            "\nSay \"check out\" when you're ready.",
            "\n准备好了就说“结账”。",
        ));
    } else {
        out.push_str(lang.pick(
            "\nSome items need attention before you can check out.",
            "\n有商品需要调整后才能结账。",
        ));
    }
    out
}

fn find_line<'v>(cart: &'v Cart, variant_id: &str) -> Option<&'v CartLine> {
    cart.lines.iter().find(|l| l.variant_id == variant_id)
}

/// After `add_to_cart`.
pub fn added(obs: &Observation, cart: &Cart, lang: Lang) -> String {
    let variant_id = obs.arg("variant_id").unwrap_or("");
    let quantity = obs
        .args
        .get("quantity")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let line = find_line(cart, variant_id);
    let label = line
        .map(line_label)
        .unwrap_or_else(|| lang.pick("the item", "商品").to_owned());
    let flags = line.map(|l| line_flags(l, lang)).unwrap_or_default();
    match lang {
        Lang::En => format!(
            "Added {quantity} × {label} to your cart{flags}. Your cart: {}. Say \"check out\" when you're ready.",
            cart_summary(cart, lang)
        ),
        Lang::Zh => format!(
            "已将 {quantity} 件 {label} 加入购物车{flags}。购物车{}。准备好了就说“结账”。",
            cart_summary(cart, lang)
        ),
    }
}

/// After `remove_from_cart`, naming the line from the cart seen before.
pub fn removed(obs: &Observation, cart: &Cart, conv: &Conversation<'_>, lang: Lang) -> String {
    let variant_id = obs.arg("variant_id").unwrap_or("");
    let label = conv
        .cart_before(obs.index)
        .and_then(|c| find_line(c, variant_id))
        .map(line_label)
        .unwrap_or_else(|| lang.pick("the item", "该商品").to_owned());
    let rest = if cart.lines.is_empty() {
        lang.pick("Your cart is now empty.", "购物车现在是空的。")
            .to_owned()
    } else {
        match lang {
            Lang::En => format!("Your cart: {}.", cart_summary(cart, lang)),
            Lang::Zh => format!("购物车{}。", cart_summary(cart, lang)),
        }
    };
    match lang {
        Lang::En => format!("Removed {label} from your cart. {rest}"),
        Lang::Zh => format!("已从购物车移除 {label}。{rest}"),
    }
}

/// After `update_cart_quantity`.
pub fn quantity_updated(obs: &Observation, cart: &Cart, lang: Lang) -> String {
    let variant_id = obs.arg("variant_id").unwrap_or("");
    let quantity = obs
        .args
        .get("quantity")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let line = find_line(cart, variant_id);
    let label = line
        .map(line_label)
        .unwrap_or_else(|| lang.pick("the item", "该商品").to_owned());
    let flags = line.map(|l| line_flags(l, lang)).unwrap_or_default();
    match lang {
        Lang::En => format!(
            "Updated {label} to {quantity}{flags}. Your cart: {}.",
            cart_summary(cart, lang)
        ),
        Lang::Zh => format!(
            "已将 {label} 的数量改为 {quantity}{flags}。购物车{}。",
            cart_summary(cart, lang)
        ),
    }
}

pub fn cleared(lang: Lang) -> String {
    lang.pick("Done, your cart is now empty.", "好的，购物车已清空。")
        .to_owned()
}

/// A consequential action waits for the shopper's approval.
/// A proposal waits for the shopper: the server itself shows its summary and asks, so the planner adds nothing.
pub fn confirm(_obs: &Observation, _lang: Lang) -> String {
    String::new()
}

fn item_count(order: &Order) -> i64 {
    order.items.iter().map(|i| i.quantity).sum()
}

/// An order's status in words.
pub fn status_words(order: &Order, lang: Lang) -> String {
    let tracking = order.tracking_number.as_deref().unwrap_or("");
    let refunded = order.refunded.as_deref().unwrap_or("");
    match (order.status.as_str(), lang) {
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
pub fn order_status(order: &Order, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "Order {} ({}, total {}) is {}.",
            order.id,
            items(item_count(order)),
            order.total,
            status_words(order, lang)
        ),
        Lang::Zh => format!(
            "订单 {}（共 {} 件，合计 {}）：{}。",
            order.id,
            item_count(order),
            order.total,
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
        return match (obs.arg("status"), lang) {
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

pub fn addresses(obs: &Observation, lang: Lang) -> String {
    let addresses = obs
        .get::<AddressList>()
        .map_or(&[][..], |l| l.addresses.as_slice());
    if addresses.is_empty() {
        return lang
            .pick(
                "You have no saved address yet; add one in the app before checking out.",
                "你还没有收货地址，结账前请先在 App 中添加。",
            )
            .to_owned();
    }
    let mut out = lang.pick("Your addresses:", "你的收货地址：").to_owned();
    for (i, a) in addresses.iter().enumerate() {
        let default = if a.default {
            lang.pick(" (default)", "（默认）")
        } else {
            ""
        };
        out.push_str(&format!(
            "\n{}. {}, {}, {} {}, {}{default}",
            i + 1,
            clip(&a.recipient, 60),
            clip(&a.line1, 80),
            clip(&a.city, 40),
            a.postal_code,
            a.country
        ));
    }
    out
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

pub fn profile(obs: &Observation, lang: Lang) -> String {
    let me = obs.get::<Me>().cloned().unwrap_or_default();
    let username = me.username.as_str();
    let name = if me.display_name.is_empty() {
        username
    } else {
        &me.display_name
    };
    match lang {
        Lang::En => format!(
            "You're signed in as {} ({}).",
            clip(name, 60),
            clip(username, 60)
        ),
        Lang::Zh => format!(
            "你当前登录的账号是 {}（{}）。",
            clip(name, 60),
            clip(username, 60)
        ),
    }
}

/// Top-level categories with their children.
pub fn categories(obs: &Observation, lang: Lang) -> String {
    let all = obs
        .get::<CategoryList>()
        .map_or(&[][..], |l| l.categories.as_slice());
    let parent = |c: &tokshop_tools::catalog::Category| c.parent_id.clone().unwrap_or_default();
    let mut out = lang.pick("Categories:", "商品分类：").to_owned();
    for root in all.iter().filter(|c| parent(c).is_empty()) {
        let children: Vec<String> = all
            .iter()
            .filter(|c| parent(c) == root.id)
            .map(|c| clip(&c.name, 40))
            .collect();
        if children.is_empty() {
            out.push_str(&format!("\n- {}", clip(&root.name, 40)));
        } else {
            out.push_str(&format!(
                "\n- {}: {}",
                clip(&root.name, 40),
                children.join(", ")
            ));
        }
    }
    out.push_str(lang.pick(
        "\nSay e.g. \"find trail shoes\" to browse one.",
        "\n例如说“找越野跑鞋”来浏览。",
    ));
    out
}

fn coupon_line(c: &Coupon, lang: Lang) -> String {
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

pub fn no_cart_match(lang: Lang) -> String {
    lang.pick(
        "Which item in your cart do you mean? Say e.g. \"the first one\" or name it.",
        "你指的是购物车里的哪一件？可以说“第一个”或商品名。",
    )
    .to_owned()
}

pub fn empty_cart(lang: Lang) -> String {
    lang.pick("Your cart is empty.", "你的购物车是空的。")
        .to_owned()
}

/// A list of cart lines to choose from.
pub fn ask_cart_line(cart: &Cart, lang: Lang) -> String {
    let mut out = lang
        .pick("Which item do you mean?", "你指的是哪一件？")
        .to_owned();
    for (i, line) in cart.lines.iter().enumerate() {
        out.push_str(&format!("\n{}. {}", i + 1, line_label(line)));
    }
    out
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
    if let Some(text) = super::social::reply::approved(obs, lang) {
        return text;
    }
    let empty = Order::default();
    let order = obs.get::<OrderResult>().map_or(&empty, |r| &r.order);
    match obs.tool.as_str() {
        "checkout" => match lang {
            Lang::En => format!(
                "Order {} placed: {}, total {}. It waits for payment; say \"pay with my wallet\" to pay.",
                order.id,
                items(item_count(order)),
                order.total
            ),
            Lang::Zh => format!(
                "订单 {} 已创建：共 {} 件，合计 {}。订单等待付款，说“用钱包付款”即可支付。",
                order.id,
                item_count(order),
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

/// After a payment ran.
fn paid(obs: &Observation, conv: &Conversation<'_>, lang: Lang) -> String {
    let result = obs.get::<PaymentResult>().cloned().unwrap_or_default();
    let payment = &result.payment;
    let order_id = obs.arg("order_id").unwrap_or("");
    let method = obs.arg("payment_method_id").unwrap_or("wallet");
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

/// A failed tool call, in plain words.
pub fn error(obs: &Observation, lang: Lang) -> String {
    if let Some(text) = super::social::reply::error(obs, lang) {
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
        _ => super::social::reply::any(obs, conv, lang)
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
