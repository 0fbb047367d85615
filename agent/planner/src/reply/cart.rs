//! The cart and what cart edits did.

use tokshop_tools::cart::{Cart, CartLine, LineArgs, VariantArgs};

use super::items;
use crate::context::Conversation;
use crate::observation::Observation;
use crate::text::{Lang, clip};

/// Item count and subtotal of a cart: "3 items, subtotal 119.80 USD". A cart longer than its answer shows says
/// how many lines it has instead: the items of the lines not shown are not known.
fn cart_summary(cart: &Cart, lang: Lang) -> String {
    let items: i64 = cart.lines.iter().map(|l| l.quantity).sum();
    let lines = cart.lines.len() + cart.more_lines;
    match (lang, cart.more_lines > 0) {
        (Lang::En, false) => format!("{}, subtotal {}", self::items(items), cart.subtotal),
        (Lang::Zh, false) => format!("共 {items} 件，小计 {}", cart.subtotal),
        (Lang::En, true) => format!("{lines} lines, subtotal {}", cart.subtotal),
        (Lang::Zh, true) => format!("共 {lines} 行，小计 {}", cart.subtotal),
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
    let (variant_id, quantity) = obs
        .args::<LineArgs>()
        .map_or(("", 1), |a| (a.variant_id.as_str(), a.quantity));
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
    let variant_id = obs
        .args::<VariantArgs>()
        .map_or("", |a| a.variant_id.as_str());
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
    let (variant_id, quantity) = obs
        .args::<LineArgs>()
        .map_or(("", 0), |a| (a.variant_id.as_str(), a.quantity));
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

pub fn no_cart_match(lang: Lang) -> String {
    lang.pick(
        "Which item in your cart do you mean? Say e.g. \"the first one\" or name it.",
        "你指的是购物车里的哪一件？可以说“第一个”或商品名。",
    )
    .to_owned()
}

/// A reference to a line the planner cannot see: the cart answers with its first lines only.
pub fn beyond_shown_lines(cart: &Cart, lang: Lang) -> String {
    let shown = cart.lines.len();
    let all = shown + cart.more_lines;
    match lang {
        Lang::En => format!(
            "Your cart has {all} lines and I can act on the first {shown} from here. Which of those do you mean? \
             Say its number or name it."
        ),
        Lang::Zh => format!(
            "你的购物车有 {all} 行，我这里只能处理前 {shown} 行。你指的是其中哪一件？请说序号或商品名。"
        ),
    }
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
