//! The rule-based planner against hand-built conversations whose tool results follow the shapes in the tools
//! catalogue: which tools it calls with which arguments, and what it replies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod account;
mod cart;
mod checkout;
mod model;
mod orders;
mod picking;
mod safety;
mod search;

use serde_json::{Value, json};
use tokshop_chat::model::{ChatModel, ToolSpec};
use tokshop_planner::RulePlanner;

use support::{Convo, one_call, reply};

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

/// The three trail shoes' own pages (`get_product`), with their variants.
fn trail_shoe_pages() -> [Value; 3] {
    [
        json!({
            "id": "prd_1", "title": "Ridgeline Swift Trail Runner 1", "price": "59.90 USD", "in_stock": true,
            "variants": [
                {"id": "var_1a", "options": "colour: blue, size: 42", "price": "59.90 USD", "stock": 3},
                {"id": "var_1b", "options": "colour: blue, size: 43", "price": "59.90 USD", "stock": 0},
                {"id": "var_1c", "options": "colour: red, size: 42", "price": "59.90 USD", "stock": 5}
            ],
            "description": "Light and quick.", "seller_id": "usr_ridgeline", "category": "Trail shoes"
        }),
        json!({
            "id": "prd_2", "title": "Peakform Pro Mountain Trail Shoe 2", "price": "from 64.90 USD", "in_stock": true,
            "variants": [
                {"id": "var_2a", "options": "colour: black, size: 42", "price": "64.90 USD", "stock": 2},
                {"id": "var_2b", "options": "colour: blue, size: 42", "price": "64.90 USD", "stock": 4},
                {"id": "var_2c", "options": "colour: blue, size: 44", "price": "69.90 USD", "stock": 1}
            ],
            "description": "For rock.", "seller_id": "usr_peakform", "category": "Trail shoes"
        }),
        json!({
            "id": "prd_3", "title": "Ridgeline Light Rock Grip Trail Shoe 3", "price": "49.90 USD", "in_stock": true,
            "variants": [
                {"id": "var_3a", "options": "colour: green, size: 41", "price": "49.90 USD", "stock": 7},
                {"id": "var_3b", "options": "colour: green, size: 42", "price": "49.90 USD", "stock": 0}
            ],
            "description": "Grippy.", "seller_id": "usr_ridgeline", "category": "Trail shoes"
        }),
    ]
}

/// The search result for the trail shoes: their cards.
fn trail_shoes() -> Value {
    json!({
        "products": [
            {"id": "prd_1", "title": "Ridgeline Swift Trail Runner 1", "price": "59.90 USD", "stock": 8, "variants": 3},
            {"id": "prd_2", "title": "Peakform Pro Mountain Trail Shoe 2", "price": "from 64.90 USD", "stock": 7,
             "variants": 3},
            {"id": "prd_3", "title": "Ridgeline Light Rock Grip Trail Shoe 3", "price": "49.90 USD", "stock": 7,
             "variants": 2}
        ],
        "more": false
    })
}

trait Fetching {
    /// The conversation once every product page the planner asks for (`get_product` of a trail shoe) has been
    /// shown, as the agent would run those calls; at most three pages.
    fn with_pages(&self) -> Convo;

    /// The planner's response after [`Fetching::with_pages`].
    fn respond_fetching(&self) -> tokshop_chat::model::ModelResponse {
        self.with_pages().respond()
    }
}

impl Fetching for Convo {
    fn with_pages(&self) -> Convo {
        let mut convo = self.clone();
        for _ in 0..3 {
            let response = convo.respond();
            let pages: Option<Vec<(&str, Value, Value)>> = response
                .tool_calls
                .iter()
                .map(|call| {
                    let page = trail_shoe_pages()
                        .into_iter()
                        .find(|p| p["id"] == call.arguments["product_id"])?;
                    (call.name == "get_product")
                        .then(|| ("get_product", call.arguments.clone(), page))
                })
                .collect();
            match pages {
                Some(pages) if !pages.is_empty() => convo = convo.round(pages),
                _ => break,
            }
        }
        convo
    }
}

/// A conversation where the shopper searched for trail shoes and saw three results.
fn after_search() -> Convo {
    Convo::new()
        .user("find trail shoes under 80")
        .tool(
            "search_products",
            json!({"query": "trail shoes", "max_price": 80}),
            trail_shoes(),
        )
        .assistant("Here is what I found ...")
}

fn cart_two_lines() -> Value {
    json!({
        "lines": [
            {"variant_id": "var_1a", "title": "Ridgeline Swift Trail Runner 1", "options": "colour: blue, size: 42",
             "quantity": 1, "unit_price": "59.90 USD", "line_total": "59.90 USD"},
            {"variant_id": "var_1c", "title": "Ridgeline Swift Trail Runner 1", "options": "colour: red, size: 42",
             "quantity": 2, "unit_price": "59.90 USD", "line_total": "119.80 USD"}
        ],
        "subtotal": "179.70 USD",
        "ready_for_checkout": true
    })
}

fn order(id: &str, status: &str) -> Value {
    json!({
        "id": id,
        "status": status,
        "items": [
            {"variant_id": "var_1a", "title": "Ridgeline Swift Trail Runner 1", "sku": "TRAIL-SHOES-00001-BLUE-42",
             "quantity": 1, "price": "59.90 USD"},
            {"variant_id": "var_3a", "title": "Ridgeline Light Rock Grip Trail Shoe 3", "sku": "TRAIL-SHOES-00003-GREEN-41",
             "quantity": 1, "price": "0.00 USD"}
        ],
        "subtotal": "59.90 USD",
        "shipping_fee": "5.00 USD",
        "total": "64.90 USD"
    })
}

/// A conversation where the shopper checked out and approved it: order ord_01A waits for payment.
fn after_checkout() -> Convo {
    Convo::new()
        .user("check out")
        .tool(
            "checkout",
            json!({}),
            json!({"status": "confirmation_required", "pending_action_id": "pa_1",
                   "summary": "Place an order for 2 items, total 64.90 USD", "expires_in_seconds": 600}),
        )
        .assistant("Please confirm ...")
        .user("yes")
        .approved("checkout", json!({}), json!({"order": order("ord_01A", "pending_payment")}))
        .assistant("Order ord_01A placed ...")
}
