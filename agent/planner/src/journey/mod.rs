//! Journeys: from an intent and the conversation so far to the next step, either tool calls or a reply.
//!
//! Every journey has a goal tool (`add_to_cart` for an add, `pay_order` for a payment...). The planner is
//! stateless: each time it is called it re-reads the latest user message and the results that arrived since.
//! When the goal tool has answered, it replies from that result; otherwise it computes the goal call from the
//! context, first calling the information tools it lacks (the product's variants, saved cards, the unpaid
//! order). An information tool is called at most once per user message, an identical call is never repeated,
//! and at most [`MAX_STEPS`] rounds of calls are made per user message, so a journey always ends in a reply.

mod cart;
mod items;
mod orders;
mod pick;
mod social;

use serde_json::{Map, Value, json};
use tokshop_chat::model::{ChatMessage, Role};
use tokshop_tools::catalog::{Card, ProductList, VARIANTS_SHOWN};

use super::context::{Conversation, Shown};
use super::intent::{self, Intent};
use super::observation::Observation;
use super::reply;
use super::slots::SearchFilters;
use super::text::Lang;

/// Rounds of tool calls allowed per user message: the goal call plus up to two rounds of information calls (a
/// search, then the page of the product it found, whose variants search cards leave out).
pub const MAX_STEPS: usize = 3;

/// What the planner does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Tool calls as (tool name, arguments).
    Call(Vec<(&'static str, Value)>),
    Reply(String),
}

pub(super) fn call(tool: &'static str, args: Value) -> Step {
    Step::Call(vec![(tool, args)])
}

/// The pages of these listed products (`get_product`), read together, for a message that may name options.
pub(super) fn pages(cards: &[&Card], text: &str) -> Step {
    Step::Call(
        cards
            .iter()
            .map(|card| ("get_product", page_args(Shown::Card(card), text)))
            .collect(),
    )
}

/// `get_product`'s arguments for a product the shopper was shown. A listed product with more variants than a page
/// shows is asked for those with the options the message names.
pub(super) fn page_args(product: Shown<'_>, text: &str) -> Value {
    match (product, named_options(text)) {
        (Shown::Card(card), Some(options)) if card.variants > VARIANTS_SHOWN => {
            json!({ "product_id": card.id, "options": options })
        }
        _ => json!({ "product_id": product.id() }),
    }
}

/// The colours and sizes a message names, as `get_product`'s `options` ("42 blue"), if any.
pub(super) fn named_options(text: &str) -> Option<String> {
    let named: Vec<String> = crate::slots::option_like_words(text).into_iter().collect();
    (!named.is_empty()).then(|| named.join(" "))
}

/// The next step for a conversation, and the language of the latest user message.
pub fn plan(messages: &[ChatMessage]) -> (Step, Lang) {
    let conv = Conversation::new(messages);
    let text = conv.user_text().unwrap_or("");
    let lang = Lang::of(text);
    let planner = Planner { conv: &conv, lang };

    // An action the shopper approved has just run: say what happened.
    if messages.last().is_some_and(|m| m.role == Role::Tool)
        && let Some(obs) = conv.last_observation().filter(|o| o.approved())
    {
        return (Step::Reply(reply::approved(obs, &conv, lang)), lang);
    }
    if conv.user_text().is_none() {
        return (Step::Reply(reply::greeting(lang)), lang);
    }
    if messages
        .last()
        .is_some_and(|m| m.role == Role::Assistant && m.tool_calls.is_empty())
    {
        return (Step::Reply(reply::anything_else(lang)), lang);
    }

    let detected = intent::detect(text);
    let step = planner
        .continuation(&detected)
        .unwrap_or_else(|| planner.step(&detected));
    (planner.guard(step), lang)
}

/// Plans one step against a conversation.
pub(super) struct Planner<'c, 'a> {
    pub(super) conv: &'c Conversation<'a>,
    pub(super) lang: Lang,
}

/// A decimal amount as JSON: whole numbers as integers ("80"), others as decimals ("79.9").
fn amount(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

/// The arguments of a `search_products` call for these filters.
pub(super) fn search_args(filters: &SearchFilters) -> Value {
    let mut args = Map::new();
    if !filters.query.is_empty() {
        args.insert("query".into(), json!(filters.query));
    }
    if let Some(n) = filters.min_price {
        args.insert("min_price".into(), amount(n));
    }
    if let Some(n) = filters.max_price {
        args.insert("max_price".into(), amount(n));
    }
    if filters.in_stock_only {
        args.insert("in_stock_only".into(), json!(true));
    }
    if let Some(sort) = filters.sort {
        args.insert("sort".into(), json!(sort.as_str()));
    }
    Value::Object(args)
}

impl<'c, 'a> Planner<'c, 'a> {
    pub(super) fn reply(&self, obs: &Observation) -> Step {
        Step::Reply(reply::any(obs, self.conv, self.lang))
    }

    /// Never repeat a call already made for this message, and stop calling after [`MAX_STEPS`] rounds: reply from
    /// the latest result instead.
    fn guard(&self, step: Step) -> Step {
        let Step::Call(calls) = &step else {
            return step;
        };
        let made = self.conv.turn_calls();
        let repeated = calls
            .iter()
            .any(|(name, args)| made.iter().any(|(n, a)| n == name && *a == args));
        if repeated || self.conv.turn_steps() >= MAX_STEPS {
            return match self.conv.turn().next_back() {
                Some(obs) => self.reply(obs),
                None => Step::Reply(reply::unknown(self.lang)),
            };
        }
        step
    }

    /// A journey that is a single call and a reply from its result.
    pub(super) fn simple(&self, tool: &'static str, args: Value) -> Step {
        match self.conv.turn_result(tool) {
            Some(obs) => self.reply(obs),
            None => call(tool, args),
        }
    }

    fn step(&self, intent: &Intent) -> Step {
        let lang = self.lang;
        match intent {
            Intent::Greeting => Step::Reply(reply::greeting(lang)),
            Intent::Thanks => Step::Reply(reply::thanks(lang)),
            Intent::Help => Step::Reply(reply::help(lang)),
            Intent::Affirm => Step::Reply(reply::nothing_pending(lang)),
            Intent::Deny => Step::Reply(reply::nothing_to_cancel(lang)),
            Intent::OtherUser => Step::Reply(reply::other_user(lang)),
            Intent::OutOfScope => Step::Reply(reply::out_of_scope(lang)),
            Intent::Unsupported(what) => Step::Reply(reply::unsupported(*what, lang)),
            Intent::Unknown => Step::Reply(reply::unknown(lang)),
            Intent::Search(filters) => self.search(filters),
            Intent::Show(request) => self.show(request),
            Intent::Add(request) => self.add(request, false),
            Intent::Buy(request) => self.add(request, true),
            Intent::ViewCart => self.simple("view_cart", json!({})),
            Intent::Remove(request) => self.edit_cart(request, None),
            Intent::SetQuantity(request, n) => self.edit_cart(request, Some(*n)),
            Intent::ClearCart => self.simple("clear_cart", json!({})),
            Intent::Checkout { text, from_buy } => self.checkout(text, *from_buy),
            Intent::Pay { method, order_id } => self.pay(method, order_id.as_deref()),
            Intent::OrderStatus { order_id } => self.order_status(order_id.as_deref()),
            Intent::ListOrders { status } => {
                let args = match status {
                    Some(status) => json!({ "status": status }),
                    None => json!({}),
                };
                self.simple("list_orders", args)
            }
            Intent::CancelOrder { order_id } => {
                self.order_action("cancel_order", order_id.as_deref())
            }
            Intent::ConfirmReceipt { order_id } => {
                self.order_action("confirm_receipt", order_id.as_deref())
            }
            Intent::Wallet => self.simple("wallet_balance", json!({})),
            Intent::Addresses => self.simple("list_addresses", json!({})),
            Intent::PaymentMethods => self.simple("list_payment_methods", json!({})),
            Intent::Profile => self.simple("my_profile", json!({})),
            Intent::Categories => self.simple("list_categories", json!({})),
            Intent::MyCoupons => self.simple("my_coupons", json!({})),
            Intent::ProductCoupons(request) => self.product_coupons(request),
            Intent::ClaimCoupon(request) => self.claim_coupon(request),
            Intent::Social(request) => self.social(request),
        }
    }

    /// A search; a message with only filters ("cheapest first", "有货的") refines the previous search.
    fn search(&self, filters: &SearchFilters) -> Step {
        if let Some(obs) = self.conv.turn_result("get_product") {
            return self.reply(obs);
        }
        if let Some(obs) = self.conv.turn_result("search_products") {
            let found = obs.get::<ProductList>().map(|l| l.products.as_slice());
            if let (true, Some([only])) = (filters.open_single, found) {
                return call("get_product", json!({ "product_id": only.id }));
            }
            return self.reply(obs);
        }
        if filters.query.is_empty() {
            if !filters.has_filters() {
                return Step::Reply(reply::ask_search_query(self.lang));
            }
            if let Some(previous) = self.conv.last_search() {
                return call("search_products", search_args(&filters.refining(&previous)));
            }
        }
        call("search_products", search_args(filters))
    }
}
