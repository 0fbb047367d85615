//! Searching: filters in English and Chinese, refinements, result lists.

use super::*;

#[test]
fn search_with_a_price_limit_in_english() {
    let response = Convo::new().user("find trail shoes under 80").respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "search_products");
    assert_eq!(args, &json!({"query": "trail shoes", "max_price": 80}));
    assert_eq!(response.finish_reason, "tool_calls");
    assert_eq!(response.tool_calls[0].id, "call_1_1");
}

#[test]
fn search_with_a_range_and_a_sort() {
    let response = Convo::new()
        .user("Show me jackets between 50 and 100, cheapest first, in stock only")
        .respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "search_products");
    assert_eq!(
        args,
        &json!({"query": "jackets", "min_price": 50, "max_price": 100, "sort": "price_asc", "in_stock_only": true})
    );
}

#[test]
fn search_with_a_price_limit_in_chinese() {
    let (name, args) = {
        let response = Convo::new().user("找80元以下的跑鞋").respond();
        let (name, args) = one_call(&response);
        (name.to_owned(), args.clone())
    };
    assert_eq!(name, "search_products");
    assert_eq!(args, json!({"query": "running shoes", "max_price": 80}));

    let response = Convo::new()
        .user("我想要79.90元以上的帐篷，最新的")
        .respond();
    let (_, args) = one_call(&response);
    assert_eq!(
        args,
        &json!({"query": "tent", "min_price": 79.9, "sort": "newest"})
    );
}

#[test]
fn a_filter_only_message_refines_the_last_search() {
    let response = after_search().user("价格从低到高，有货的").respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "search_products");
    assert_eq!(
        args,
        &json!({"query": "trail shoes", "max_price": 80, "sort": "price_asc", "in_stock_only": true})
    );
}

#[test]
fn search_results_are_listed_with_a_hint() {
    let convo = Convo::new().user("find trail shoes under 80").tool(
        "search_products",
        json!({"query": "trail shoes", "max_price": 80}),
        trail_shoes(),
    );
    let response = convo.respond();
    let text = reply(&response);
    assert!(text.contains("\"trail shoes\""), "{text}");
    assert!(text.contains("up to 80.00"), "{text}");
    assert!(
        text.contains("1. Ridgeline Swift Trail Runner 1 — 59.90 USD (in stock)"),
        "{text}"
    );
    assert!(
        text.contains("2. Peakform Pro Mountain Trail Shoe 2 — from 64.90 USD (in stock)"),
        "{text}"
    );
    assert!(text.contains("\"the second one\""), "{text}");
}

#[test]
fn search_results_in_chinese() {
    let convo = Convo::new().user("找80元以下的跑鞋").tool(
        "search_products",
        json!({"query": "running shoes", "max_price": 80}),
        trail_shoes(),
    );
    let text = reply(&convo.respond()).to_owned();
    assert!(text.contains("为你找到这些商品"), "{text}");
    assert!(
        text.contains("1. Ridgeline Swift Trail Runner 1 — 59.90 USD（有货）"),
        "{text}"
    );
    assert!(text.contains("第二个"), "{text}");
}

#[test]
fn no_results_suggest_loosening_the_filters() {
    let convo = Convo::new()
        .user("find trail shoes under 10 in stock")
        .tool(
            "search_products",
            json!({"query": "trail shoes", "max_price": 10, "in_stock_only": true}),
            json!({"products": [], "more": false}),
        );
    let text = reply(&convo.respond()).to_owned();
    assert!(text.starts_with("I found nothing"), "{text}");
    assert!(text.contains("widen the price range"), "{text}");
    assert!(text.contains("out of stock"), "{text}");
}
