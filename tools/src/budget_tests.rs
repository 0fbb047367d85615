//! Token budgets, counted as OpenAI models count them (o200k): the tool catalogue every model call carries, and
//! what typical results cost. A change that grows one past its budget fails here: shorten it, or raise the budget
//! with a reason in the commit.

use serde_json::{Value, json};
use tokshop_proto::catalog;

use crate::{Registry, catalog::Card, shapes_tests::usd};

/// Every tool, as an OpenAI `tools` array.
const CATALOGUE: usize = 2_500;
/// Any one tool's entry in that array.
const ONE_TOOL: usize = 200;
/// A five-result search.
const SEARCH_OF_FIVE: usize = 400;
/// Any one result a model reads without asking for the next page.
const RESULT: usize = 1_500;

fn tokens(text: &str) -> usize {
    tiktoken_rs::o200k_base_singleton()
        .encode_with_special_tokens(text)
        .len()
}

/// The catalogue entry of each tool, as sent to the model.
fn catalogue() -> Vec<(String, Value)> {
    Registry::shop()
        .iter()
        .map(|t| {
            let entry = json!({"type": "function", "function": {
                "name": t.name(), "description": t.description(), "parameters": t.parameters()}});
            (t.name().to_owned(), entry)
        })
        .collect()
}

#[test]
fn the_tool_catalogue_stays_within_its_budget() {
    let entries = catalogue();
    let mut costs: Vec<(usize, &str)> = entries
        .iter()
        .map(|(name, entry)| (tokens(&entry.to_string()), name.as_str()))
        .collect();
    costs.sort_unstable_by(|a, b| b.cmp(a));
    let all: Vec<&Value> = entries.iter().map(|(_, entry)| entry).collect();
    let total = tokens(&serde_json::to_string(&all).unwrap());
    let report = format!(
        "{total} tokens for {} tools; by tool: {costs:?}",
        entries.len()
    );
    // Shown with `--nocapture`, for the record.
    println!("the catalogue costs {report}");
    assert!(total <= CATALOGUE, "the catalogue costs {report}");
    let (most, name) = costs[0];
    assert!(most <= ONE_TOOL, "{name} costs {most} tokens: {report}");
}

/// A product as the demo shop has them: ids as the shop makes them, a seller's title, three colours in two sizes.
fn typical_product(n: usize) -> catalog::Product {
    let option = |name: &str, value: &str| catalog::OptionValue {
        name: name.into(),
        value: value.into(),
    };
    let variants = ["blue", "black", "red"]
        .iter()
        .flat_map(|colour| ["42", "43"].map(|size| (*colour, size)))
        .map(|(colour, size)| catalog::Variant {
            id: tokshop_platform::ids::new_id("var"),
            options: vec![option("colour", colour), option("size", size)],
            price: usd(5990),
            stock: 4,
            listed: true,
            ..Default::default()
        })
        .collect();
    catalog::Product {
        id: tokshop_platform::ids::new_id("prd"),
        title: format!("Ridgeline Swift Trail Runner {n}"),
        min_price: usd(5990),
        max_price: usd(6490),
        in_stock: true,
        variants,
        ..Default::default()
    }
}

#[test]
fn a_search_of_five_stays_within_its_budget() {
    let products: Vec<Card> = (1..=5).map(|n| Card::of(&typical_product(n))).collect();
    let result = serde_json::to_string(&json!({"products": products, "more": true})).unwrap();
    let cost = tokens(&result);
    assert!(
        cost <= SEARCH_OF_FIVE,
        "a five-result search costs {cost} tokens: {result}"
    );
}

/// A page as long as a seller can make one: the longest title and description, and the most variants, each with
/// the longest option text a model is shown.
fn longest_product() -> catalog::Product {
    let long = |n: usize| "x".repeat(n);
    let variants = (0..tokshop_platform::limits::catalog::MAX_VARIANTS)
        .map(|i| catalog::Variant {
            id: tokshop_platform::ids::new_id("var"),
            options: vec![
                catalog::OptionValue {
                    name: format!("colour {}", long(40)),
                    value: format!("shade no{i} {}", long(40)),
                },
                catalog::OptionValue {
                    name: "size".into(),
                    value: format!("{}", 30 + i),
                },
            ],
            price: usd(5990 + i as i64),
            stock: 1_000,
            listed: true,
            ..Default::default()
        })
        .collect();
    catalog::Product {
        id: tokshop_platform::ids::new_id("prd"),
        seller_id: tokshop_platform::ids::new_id("usr"),
        category_name: "Trail running shoes".into(),
        title: long(200),
        description: "A long description, word after word. ".repeat(40),
        min_price: usd(5990),
        max_price: usd(6990),
        in_stock: true,
        variants,
        ..Default::default()
    }
}

#[test]
fn a_product_page_stays_within_the_result_budget_and_pages_its_variants() {
    let longest = longest_product();
    let page = crate::catalog::Product::of(&longest);
    let text = serde_json::to_string(&page).unwrap();
    let cost = tokens(&text);
    assert!(
        cost <= RESULT,
        "the longest product page costs {cost} tokens"
    );
    assert_eq!(page.variants.len(), crate::catalog::VARIANTS_SHOWN);
    assert_eq!(
        page.more_variants,
        tokshop_platform::limits::catalog::MAX_VARIANTS - crate::catalog::VARIANTS_SHOWN
    );
    // Named options narrow the variants to those that have them all.
    let narrowed = crate::catalog::Product::matching(&longest, "Size 42");
    assert_eq!(narrowed.variants.len(), 1);
    assert_eq!(narrowed.more_variants, 0);
    assert!(narrowed.variants[0].options.contains("size: 42"));
    assert!(
        crate::catalog::Product::matching(&longest, "42 43")
            .variants
            .is_empty()
    );
    // Words of a value with spaces name it too.
    let shade = crate::catalog::Product::matching(&longest, "shade no17");
    assert_eq!(shade.variants.len(), 1);
}

#[test]
fn a_full_cart_stays_within_the_result_budget_and_pages_its_lines() {
    use tokshop_proto::cart as pb;
    let long = |n: usize| "y".repeat(n);
    let lines: Vec<pb::CartLine> = (0..tokshop_platform::limits::cart::MAX_LINES)
        .map(|i| pb::CartLine {
            variant_id: tokshop_platform::ids::new_id("var"),
            title: format!("{i} {}", long(200)),
            options: vec![catalog::OptionValue {
                name: long(40),
                value: long(100),
            }],
            quantity: 99,
            unit_price: usd(999_999),
            line_total: usd(98_999_901),
            unavailable: true,
            short_of_stock: true,
            available: 98,
            ..Default::default()
        })
        .collect();
    let full = pb::Cart {
        lines,
        subtotals: vec![usd(1).unwrap(), usd(2).unwrap()],
        ..Default::default()
    };
    let first = crate::cart::Cart::of(&full);
    let cost = tokens(&serde_json::to_string(&first).unwrap());
    assert!(cost <= RESULT, "the fullest cart costs {cost} tokens");
    assert_eq!(first.lines.len(), crate::cart::LINES_SHOWN);
    assert_eq!(first.more_lines, 100 - crate::cart::LINES_SHOWN);
    let last = crate::cart::Cart::from_line(&full, 96);
    assert_eq!((last.lines.len(), last.more_lines), (4, 0));
    assert!(last.lines[0].title.contains("96 "));
    assert!(crate::cart::Cart::from_line(&full, 200).lines.is_empty());
}
