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

/// Lowercase letters in an order no language has (a fixed linear congruential sequence).
fn random_letters(n: usize) -> String {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            char::from(b'a' + ((seed >> 33) % 26) as u8)
        })
        .collect()
}

/// Text of each kind a list can carry, as long as a shop user may write it.
fn hard_texts() -> Vec<(&'static str, String)> {
    let prose = "Loved these on a wet descent, grippy and light; sizing runs half a size small, so order up. ";
    vec![
        ("english", prose.repeat(6)),
        (
            "chinese",
            "这双鞋在湿滑的下坡路上抓地力很好，很轻，尺码偏小半码。".repeat(20),
        ),
        ("emoji", "👟🔥👍🏽🇯🇵".repeat(60)),
        (
            "ids",
            (0..20)
                .map(|_| tokshop_platform::ids::new_id("med"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (
            "hex",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".repeat(8),
        ),
        ("letters", "x".repeat(500)),
        (
            "mixed",
            "Größe 42 – très légère, ¿verdad? Ελαφρύ. Лёгкие. ".repeat(8),
        ),
        ("random", random_letters(500)),
        ("letters and digits", "a1".repeat(250)),
        ("newlines", "a\n".repeat(250)),
        ("hieroglyphs", "\u{13000}\u{13001}\u{1300A}".repeat(100)),
        ("rare han", "\u{3400}\u{3401}\u{340F}\u{4DB5}".repeat(60)),
        (
            "rare common-block han",
            "\u{9F98}\u{9F49}\u{9EA4}\u{4E28}\u{4E40}\u{9FA5}".repeat(40),
        ),
        (
            "japanese",
            "このトレイルランナーは濡れた岩でもよく滑らない。サイズは小さめです。".repeat(12),
        ),
        (
            "korean",
            "젖은 바위에서도 잘 미끄러지지 않아요. 사이즈는 작게 나와요. ".repeat(12),
        ),
    ]
}

#[test]
fn the_token_estimate_is_never_below_the_tokenizer() {
    for (kind, text) in hard_texts() {
        let (estimate, real) = (crate::view::tokens_at_most(&text), tokens(&text));
        println!("{kind}: estimated {estimate}, counted {real}");
        assert!(estimate >= real, "{kind}: estimated {estimate} < {real}");
    }
}

/// An order as long as a cart makes one (100 lines), with the longest titles and SKUs.
fn longest_order() -> tokshop_proto::order::Order {
    use tokshop_proto::order as pb;
    pb::Order {
        id: tokshop_platform::ids::new_id("ord"),
        status: pb::OrderStatus::Shipped as i32,
        lines: (0..tokshop_platform::limits::cart::MAX_LINES)
            .map(|i| pb::OrderLine {
                variant_id: tokshop_platform::ids::new_id("var"),
                title: format!("{i} {}", "z".repeat(200)),
                sku: format!("SKU-{i}-{}", "Q".repeat(30)),
                quantity: 99,
                unit_price: usd(999_999),
                ..Default::default()
            })
            .collect(),
        subtotal: usd(98_999_901),
        shipping_fee: usd(999),
        total: usd(99_000_900),
        discount: usd(1000),
        refunded: usd(1000),
        tracking_number: "1Z999AA10123456784".into(),
        expires_at_ms: 1_800_000_000_000,
        ..Default::default()
    }
}

#[test]
fn the_longest_order_stays_within_the_result_budget_and_pages_its_lines() {
    use crate::orders::{ITEMS_SHOWN, Order, OrderResult};
    let longest = longest_order();
    let first = OrderResult::of(&longest);
    let cost = tokens(&serde_json::to_string(&first).unwrap());
    assert!(cost <= RESULT, "the longest order costs {cost} tokens");
    assert_eq!(first.order.items.len(), ITEMS_SHOWN);
    assert_eq!(first.order.more_items, 100 - ITEMS_SHOWN);
    let last = Order::from_item(&longest, 96);
    assert_eq!((last.items.len(), last.more_items), (4, 0));
    assert!(last.items[0].title.contains("96 "));
    assert!(Order::from_item(&longest, 200).items.is_empty());
}

#[test]
fn ten_listed_orders_stay_within_the_result_budget() {
    use crate::orders::{OrderList, OrderSummary};
    let list = OrderList {
        orders: (0..10)
            .map(|_| OrderSummary::of(&longest_order()))
            .collect(),
    };
    let cost = tokens(&serde_json::to_string(&list).unwrap());
    assert!(cost <= RESULT, "ten listed orders cost {cost} tokens");
    assert_eq!(list.orders[0].units, 9_900);
}

/// The user-written text every entry of a list carries, as long as it may be, in each hard kind.
fn longest_user_texts() -> Vec<(&'static str, String)> {
    hard_texts()
        .into_iter()
        .map(|(kind, text)| (kind, text.chars().cycle().take(1_000).collect()))
        .collect()
}

/// Cuts `entries` as the list tools do and checks the page: within the budget with `around` (the list's own
/// fields) included, cut where it should be, and the next cursor naming the last entry shown.
fn check_cut<T: serde::Serialize>(
    what: &str,
    entries: Vec<T>,
    key: impl Fn(&T) -> (i64, String) + Copy,
    around: impl Fn(&[T], Option<&str>) -> Value,
) {
    let all = entries.len();
    for entry in &entries {
        let json = serde_json::to_string(entry).unwrap();
        let (estimate, real) = (crate::view::tokens_at_most(&json), tokens(&json));
        assert!(
            estimate >= real,
            "{what}: an entry estimated at {estimate} costs {real}"
        );
    }
    let keys: Vec<(i64, String)> = entries.iter().map(key).collect();
    let (page, next) = crate::view::fit_page(entries, "service-cursor", key);
    let cost = tokens(&around(&page, next.as_deref()).to_string());
    println!("{what}: {} of {all} shown, {cost} tokens", page.len());
    assert!(cost <= RESULT, "{what}: a page costs {cost} tokens");
    assert!(!page.is_empty());
    if page.len() < all {
        let cursor = tokshop_platform::page::Cursor::decode(next.as_deref().unwrap()).unwrap();
        assert_eq!((cursor.at_ms, cursor.id), keys[page.len() - 1].clone());
    } else {
        assert_eq!(next.as_deref(), Some("service-cursor"));
    }
}

#[test]
fn twenty_of_the_longest_messages_comments_and_posts_are_cut_to_the_result_budget() {
    use crate::shapes_tests::{card, comment, post, product_card};
    use crate::social::{Comment, ConversationSummary, Message, Post, User};
    for (kind, text) in longest_user_texts() {
        let conversations: Vec<ConversationSummary> = (0..20)
            .map(|_| {
                let mut with = card(true);
                with.id = tokshop_platform::ids::new_id("usr");
                with.display_name = "d".repeat(100);
                with.shop_name = "s".repeat(100);
                ConversationSummary::of(&tokshop_proto::social::Conversation {
                    last_message: Some(tokshop_proto::social::Message {
                        id: tokshop_platform::ids::new_id("msg"),
                        from_user_id: with.id.clone(),
                        text: text.clone(),
                        sent_at_ms: 1_800_000_000_000,
                        ..Default::default()
                    }),
                    with: Some(with),
                })
            })
            .collect();
        let shown = crate::view::fitting(&conversations);
        let list = json!({"conversations": &conversations[..shown], "more": shown < 20,
            "note": crate::social::USER_CONTENT_NOTE});
        let cost = tokens(&list.to_string());
        println!("conversations, {kind}: {shown} of 20 shown, {cost} tokens");
        assert!(cost <= RESULT, "conversations, {kind}: {cost} tokens");

        let messages: Vec<Message> = (0..20)
            .map(|i| Message {
                id: tokshop_platform::ids::new_id("msg"),
                from: "them".into(),
                text: crate::social::user_text(&text),
                sent_at_ms: 1_800_000_000_000 - i,
            })
            .collect();
        let key = |m: &Message| (m.sent_at_ms, m.id.clone());
        check_cut(&format!("messages, {kind}"), messages, key, |page, next| {
            json!({"with": User::of(&card(true)), "messages": page,
                "note": crate::social::USER_CONTENT_NOTE, "next_cursor": next})
        });

        let comments: Vec<Comment> = (0..20)
            .map(|i| {
                let mut c = comment(true);
                c.id = tokshop_platform::ids::new_id("cmt");
                c.text = text.clone();
                c.created_at_ms = 1_800_000_000_000 - i;
                Comment::of(&c)
            })
            .collect();
        check_cut(
            &format!("comments, {kind}"),
            comments,
            |c| (c.at_ms, c.id.clone()),
            |page, next| json!({"comments": page, "total": 20, "note": crate::social::USER_CONTENT_NOTE, "next_cursor": next}),
        );

        let posts: Vec<Post> = (0..20)
            .map(|i| {
                let mut p = post(true);
                p.id = tokshop_platform::ids::new_id("pst");
                p.text = text.clone();
                p.created_at_ms = 1_800_000_000_000 - i;
                p.products = (0..tokshop_platform::limits::social::MAX_ATTACHED)
                    .map(|_| {
                        let mut c = product_card(true);
                        c.id = tokshop_platform::ids::new_id("prd");
                        c.title = "w".repeat(200);
                        c
                    })
                    .collect();
                p.media = (0..tokshop_platform::limits::social::MAX_ATTACHED)
                    .map(|_| tokshop_proto::social::Media {
                        kind: "video".into(),
                        url: format!("/media/{}", "ab12".repeat(16)),
                        ..Default::default()
                    })
                    .collect();
                Post::of(&p)
            })
            .collect();
        check_cut(
            &format!("posts, {kind}"),
            posts,
            |p| (p.at_ms, p.id.clone()),
            |page, next| json!({"which": "discover", "posts": page, "note": crate::social::USER_CONTENT_NOTE, "next_cursor": next}),
        );
    }
}

#[test]
fn text_is_cut_to_a_token_estimate_on_a_character_boundary() {
    use crate::view::{tokens_at_most, within_tokens};
    assert_eq!(within_tokens("short", 500, 600), "short");
    assert_eq!(within_tokens("abcdef", 3, 600), "abc");
    let emoji = "👟🔥".repeat(300);
    let cut = within_tokens(&emoji, 500, 600);
    assert!(tokens_at_most(cut) <= 600 && cut.chars().count() < 500);
    let one_more: String = emoji.chars().take(cut.chars().count() + 1).collect();
    assert!(tokens_at_most(&one_more) > 600);
    assert_eq!(within_tokens("好", 500, 0), "");
}

#[test]
fn a_short_page_is_not_cut() {
    let entries: Vec<Value> = (0..20)
        .map(|i| json!({"id": format!("msg_{i}"), "at": i}))
        .collect();
    let (page, next) =
        crate::view::fit_page(entries, "", |e| (e["at"].as_i64().unwrap(), String::new()));
    assert_eq!((page.len(), next), (20, None));
}
