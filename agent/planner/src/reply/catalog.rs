//! Search results, product pages and their options, and categories.

use tokshop_tools::catalog::{Card, CategoryList, Product, ProductList, SearchArgs, Variant};

use super::ordinal;
use crate::observation::Observation;
use crate::slots::{SearchFilters, Sort};
use crate::text::{Lang, clip};

/// What a search looked for: `"trail shoes" up to 80, in stock, cheapest first`.
fn search_description(searched: &SearchFilters, lang: Lang) -> String {
    let mut parts = Vec::new();
    if !searched.query.is_empty() {
        parts.push(format!("\"{}\"", clip(&searched.query, 60)));
    }
    let fmt = |n: f64| format!("{n:.2}");
    match (searched.min_price, searched.max_price, lang) {
        (Some(lo), Some(hi), Lang::En) => parts.push(format!("priced {}–{}", fmt(lo), fmt(hi))),
        (Some(lo), Some(hi), Lang::Zh) => parts.push(format!("价格 {}–{}", fmt(lo), fmt(hi))),
        (None, Some(hi), Lang::En) => parts.push(format!("up to {}", fmt(hi))),
        (None, Some(hi), Lang::Zh) => parts.push(format!("{} 以内", fmt(hi))),
        (Some(lo), None, Lang::En) => parts.push(format!("from {}", fmt(lo))),
        (Some(lo), None, Lang::Zh) => parts.push(format!("{} 以上", fmt(lo))),
        (None, None, _) => {}
    }
    if searched.in_stock_only {
        parts.push(lang.pick("in stock only", "只看有货").to_owned());
    }
    let sort = match (searched.sort, lang) {
        (Some(Sort::PriceAsc), Lang::En) => "cheapest first",
        (Some(Sort::PriceAsc), Lang::Zh) => "价格从低到高",
        (Some(Sort::PriceDesc), Lang::En) => "most expensive first",
        (Some(Sort::PriceDesc), Lang::Zh) => "价格从高到低",
        (Some(Sort::Newest), Lang::En) => "newest first",
        (Some(Sort::Newest), Lang::Zh) => "最新优先",
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
    let searched = obs
        .args::<SearchArgs>()
        .map(SearchFilters::searched)
        .unwrap_or_default();
    let what = search_description(&searched, lang);
    if products.is_empty() {
        let mut tips: Vec<&str> =
            vec![lang.pick("use fewer or other words", "换个说法或减少关键词")];
        if searched.min_price.is_some() || searched.max_price.is_some() {
            tips.push(lang.pick("widen the price range", "放宽价格范围"));
        }
        if searched.in_stock_only {
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
            stock_word(p.stock > 0, lang)
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
pub fn ask_product(candidates: &[(usize, &Card)], lang: Lang) -> String {
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

/// The product's title as shown, when its page could not be read or lists nothing to buy.
pub fn no_variants(title: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "I couldn't see any option of {} that can be bought right now.",
            clip(title, 100)
        ),
        Lang::Zh => format!("暂时看不到 {} 可购买的款式。", clip(title, 100)),
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
