//! Conversation context: the tool results so far, each paired with the call that produced it, and lookups the
//! planner needs (the latest product list, the product in focus, the latest cart, the most recent order, saved
//! cards, listed coupons). Values are only ever read from the structured fields of the tools that own them (an
//! order id from an order tool's `order.id`, never from free text), so nothing written inside a product
//! description or a seller's note can steer what the planner does.

use std::collections::HashMap;

use serde_json::Value;
use tokshop_tools::{
    cart::{Cart, LineArgs},
    catalog::{Card, Product, ProductList, SearchArgs},
    coupons::{ClaimedCoupon, ClaimedCouponList, Coupon, CouponList},
    orders::{OrderList, OrderResult},
    payments::{PaymentMethod, PaymentMethodList, PaymentResult},
};

use super::observation::Observation;
use super::reply::OrderFacts;
use super::slots::SearchFilters;
use super::text::Lang;
use tokshop_chat::model::{ChatMessage, Role};

/// A product as the shopper was shown it: a card of a search result, or its own page.
#[derive(Debug, Clone, Copy)]
pub enum Shown<'c> {
    Card(&'c Card),
    Page(&'c Product),
}

impl<'c> Shown<'c> {
    pub fn id(self) -> &'c str {
        match self {
            Self::Card(c) => &c.id,
            Self::Page(p) => &p.id,
        }
    }

    pub fn title(self) -> &'c str {
        match self {
            Self::Card(c) => &c.title,
            Self::Page(p) => &p.title,
        }
    }
}

/// The most recent order the conversation knows of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownOrder {
    pub id: String,
    /// Its last known status, when a result said.
    pub status: Option<String>,
}

/// A conversation with its tool results parsed.
#[derive(Debug)]
pub struct Conversation<'a> {
    pub messages: &'a [ChatMessage],
    observations: Vec<Observation>,
    last_user: Option<usize>,
}

impl<'a> Conversation<'a> {
    pub fn new(messages: &'a [ChatMessage]) -> Self {
        let lang = messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map_or(Lang::En, |m| Lang::of(&m.content));
        let mut calls: HashMap<&str, (&str, &Value)> = HashMap::new();
        let mut observations = Vec::new();
        let mut last_user = None;
        for (index, message) in messages.iter().enumerate() {
            match message.role {
                Role::User => last_user = Some(index),
                Role::Assistant => {
                    for call in &message.tool_calls {
                        calls.insert(call.id.as_str(), (call.name.as_str(), &call.arguments));
                    }
                }
                Role::Tool => {
                    let call_id = message.tool_call_id.clone().unwrap_or_default();
                    let call = calls.get(call_id.as_str());
                    let tool = message
                        .tool_name
                        .clone()
                        .or_else(|| call.map(|(name, _)| (*name).to_owned()))
                        .unwrap_or_default();
                    let args = call.map_or(&Value::Null, |(_, args)| *args);
                    let result = serde_json::from_str(&message.content)
                        .unwrap_or_else(|_| Value::String(message.content.clone()));
                    observations.push(Observation::new(index, call_id, tool, args, result, lang));
                }
            }
        }
        Self {
            messages,
            observations,
            last_user,
        }
    }

    /// The conversation as it was before message `end`.
    pub fn before(&self, end: usize) -> Conversation<'a> {
        Conversation::new(&self.messages[..end.min(self.messages.len())])
    }

    /// Index of the latest user message.
    pub fn last_user_index(&self) -> Option<usize> {
        self.last_user
    }

    /// Index of the user message before the latest one.
    pub fn previous_user_index(&self) -> Option<usize> {
        let last = self.last_user?;
        self.messages[..last]
            .iter()
            .rposition(|m| m.role == Role::User)
    }

    /// The latest user message's text.
    pub fn user_text(&self) -> Option<&'a str> {
        let messages: &'a [ChatMessage] = self.messages;
        self.last_user
            .and_then(|i| messages.get(i))
            .map(|m| m.content.as_str())
    }

    /// The last tool result of the conversation.
    pub fn last_observation(&self) -> Option<&Observation> {
        self.observations.last()
    }

    /// Results that arrived after the latest user message, oldest first.
    pub fn turn(&self) -> impl DoubleEndedIterator<Item = &Observation> {
        let start = self.last_user.map_or(0, |i| i + 1);
        self.observations.iter().filter(move |o| o.index >= start)
    }

    /// The latest result of `tool` in this turn.
    pub fn turn_result(&self, tool: &str) -> Option<&Observation> {
        self.turn().rev().find(|o| o.tool == tool)
    }

    /// Calls made since the latest user message, as (tool, arguments).
    pub fn turn_calls(&self) -> Vec<(&str, &Value)> {
        let start = self.last_user.map_or(0, |i| i + 1);
        self.messages
            .iter()
            .skip(start)
            .filter(|m| m.role == Role::Assistant)
            .flat_map(|m| m.tool_calls.iter())
            .map(|c| (c.name.as_str(), &c.arguments))
            .collect()
    }

    /// Whether `tool` was called since the latest user message.
    pub fn turn_called(&self, tool: &str) -> bool {
        self.turn_calls().iter().any(|(name, _)| *name == tool)
    }

    /// How many times the assistant called tools since the latest user message.
    pub fn turn_steps(&self) -> usize {
        let start = self.last_user.map_or(0, |i| i + 1);
        self.messages
            .iter()
            .skip(start)
            .filter(|m| m.role == Role::Assistant && !m.tool_calls.is_empty())
            .count()
    }

    /// The latest successful result of any of `tools`.
    pub fn latest_ok(&self, tools: &[&str]) -> Option<&Observation> {
        self.observations
            .iter()
            .rev()
            .find(|o| o.ok() && tools.contains(&o.tool.as_str()))
    }

    /// The latest product list shown (a search), with its observation.
    pub fn product_list(&self) -> Option<(&Observation, &[Card])> {
        let obs = self.latest_ok(&["search_products"])?;
        let list = obs.get::<ProductList>()?;
        Some((obs, &list.products))
    }

    /// The product shown last on its own (`get_product`), with its observation. Pages read together, to compare
    /// listed products, put none in focus.
    pub fn focus_product(&self) -> Option<(&Observation, &Product)> {
        let obs = self.latest_ok(&["get_product"])?;
        let round = self.round_of(obs.index);
        let together = self
            .observations
            .iter()
            .any(|o| o.tool == obs.tool && o.index != obs.index && self.round_of(o.index) == round);
        if together {
            return None;
        }
        obs.get::<Product>()
            .filter(|p| !p.id.is_empty())
            .map(|p| (obs, p))
    }

    /// The position of the assistant message whose call the tool message at `index` answers.
    fn round_of(&self, index: usize) -> usize {
        self.messages[..index]
            .iter()
            .rposition(|m| m.role != Role::Tool)
            .unwrap_or(0)
    }

    /// The freshest page of a product (`get_product`), with its variants.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.observations
            .iter()
            .rev()
            .filter_map(|o| o.get::<Product>())
            .find(|p| p.id == id)
    }

    /// The freshest sight of a product: its page if shown, else its card in the latest list that holds it.
    pub fn shown(&self, id: &str) -> Option<Shown<'_>> {
        self.product(id).map(Shown::Page).or_else(|| {
            self.observations
                .iter()
                .rev()
                .filter_map(|o| o.get::<ProductList>())
                .flat_map(|list| &list.products)
                .find(|c| c.id == id)
                .map(Shown::Card)
        })
    }

    /// The latest cart the shopper saw, with its observation.
    pub fn cart(&self) -> Option<(&Observation, &Cart)> {
        self.observations
            .iter()
            .rev()
            .find_map(|o| o.get::<Cart>().map(|c| (o, c)))
    }

    /// The latest cart seen before message `index`.
    pub fn cart_before(&self, index: usize) -> Option<&Cart> {
        self.observations
            .iter()
            .rev()
            .filter(|o| o.index < index)
            .find_map(|o| o.get::<Cart>())
    }

    /// The variant most recently added to the cart.
    pub fn last_added_variant(&self) -> Option<&str> {
        self.latest_ok(&["add_to_cart"])
            .and_then(|o| o.args::<LineArgs>())
            .map(|args| args.variant_id.as_str())
    }

    /// The most recent order: from an order tool's `order`, the newest of a listing, a payment that ran, or the
    /// order a pending pay or cancel names.
    pub fn latest_order(&self) -> Option<KnownOrder> {
        self.observations.iter().rev().find_map(order_of)
    }

    /// The newest listed order waiting for payment, from a listing in this turn.
    pub fn turn_unpaid_order(&self) -> Option<KnownOrder> {
        let obs = self.turn_result("list_orders")?;
        obs.get::<OrderList>()?
            .orders
            .iter()
            .find(|o| o.status.is_empty() || o.status == "pending_payment")
            .and_then(known_order)
    }

    /// The saved cards from the latest payment-method listing (`None` when never listed).
    pub fn cards(&self) -> Option<Vec<&PaymentMethod>> {
        let obs = self.latest_ok(&["list_payment_methods"])?;
        let methods = &obs.get::<PaymentMethodList>()?.methods;
        Some(methods.iter().filter(|m| m.kind == "card").collect())
    }

    /// A card's description ("visa ending 4242") when a listing named it.
    pub fn card_label(&self, id: &str) -> Option<String> {
        let cards = self.cards()?;
        let card = cards.iter().find(|c| c.id == id)?;
        let brand = card.brand.as_deref().unwrap_or("card");
        let last4 = card.last4.as_deref().unwrap_or("");
        Some(format!("{brand} ending {last4}"))
    }

    /// The latest coupons listed for a product or seller.
    pub fn coupon_list(&self) -> Option<&[Coupon]> {
        self.latest_ok(&["list_coupons"])?
            .get::<CouponList>()
            .map(|l| l.coupons.as_slice())
    }

    /// Claimed coupons the conversation knows: (claimed coupon id, code).
    pub fn claimed_coupons(&self) -> Vec<(String, String)> {
        let mut claimed = Vec::new();
        for o in &self.observations {
            let entries: Vec<&ClaimedCoupon> = match (o.get::<ClaimedCouponList>(), o.get()) {
                (Some(list), _) => list.coupons.iter().collect(),
                (_, Some(one)) => vec![one],
                _ => Vec::new(),
            };
            for entry in entries {
                if let Some(coupon) = &entry.coupon {
                    claimed.push((entry.claimed_coupon_id.clone(), coupon.code.clone()));
                }
            }
        }
        claimed
    }

    /// What the latest search that succeeded looked for.
    pub fn last_search(&self) -> Option<SearchFilters> {
        self.latest_ok(&["search_products"])?
            .args::<SearchArgs>()
            .map(SearchFilters::searched)
    }
}

/// The order an observation tells about, read only from order tools' structured fields.
fn order_of(o: &Observation) -> Option<KnownOrder> {
    let tool = o.tool.as_str();
    if o.pending() {
        return matches!(
            tool,
            "pay_order" | "cancel_order" | "confirm_receipt" | "change_order_address"
        )
        .then(|| o.order_id())
        .flatten()
        .map(|id| KnownOrder {
            id: id.to_owned(),
            status: None,
        });
    }
    if !o.ok() {
        return None;
    }
    if let Some(result) = o.get::<OrderResult>() {
        return known_order(&result.order);
    }
    if let Some(list) = o.get::<OrderList>() {
        return list.orders.first().and_then(known_order);
    }
    if let Some(paid) = o.get::<PaymentResult>() {
        return o.order_id().map(|id| KnownOrder {
            id: id.to_owned(),
            status: (!paid.order_status.is_empty()).then(|| paid.order_status.clone()),
        });
    }
    None
}

fn known_order(order: &impl OrderFacts) -> Option<KnownOrder> {
    (!order.id().is_empty()).then(|| KnownOrder {
        id: order.id().to_owned(),
        status: (!order.status().is_empty()).then(|| order.status().to_owned()),
    })
}
