//! Journeys: from an intent and the conversation so far to the next step, either tool calls or a reply.
//!
//! Every journey has a goal tool (`add_to_cart` for an add, `pay_order` for a payment...). The planner is
//! stateless: each time it is called it re-reads the latest user message and the results that arrived since.
//! When the goal tool has answered, it replies from that result; otherwise it computes the goal call from the
//! context, first calling the information tools it lacks (the product's variants, saved cards, the unpaid
//! order). An information tool is called at most once per user message, an identical call is never repeated,
//! and at most [`MAX_STEPS`] rounds of calls are made per user message, so a journey always ends in a reply.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use tokshop_tools::{
    cart::{Cart, CartLine},
    catalog::{Product, ProductList, Variant},
    coupons::Coupon,
};

use super::context::Conversation;
use super::intent::{self, Intent, ItemRequest, PayMethod};
use super::observation::Observation;
use super::reply;
use super::slots::{self, Reference, SearchFilters};
use super::text::{Lang, ascii_words, normalize, price_value};
use tokshop_chat::model::{ChatMessage, Role};

/// Rounds of tool calls allowed per user message: the goal call plus one round of information calls.
pub const MAX_STEPS: usize = 2;

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

/// A product picked from what was shown.
pub(super) enum Picked<'c> {
    One(&'c Product),
    /// Several fit: their 1-based list positions and entries.
    Many(Vec<(usize, &'c Product)>),
    /// No product was shown yet.
    NoList,
    Fail(String),
}

/// A variant picked from a product's variants.
enum VariantPick<'v> {
    One(&'v Variant),
    Ask(Vec<&'v Variant>),
    /// The named options match no variant.
    NoMatch(BTreeSet<String>),
    /// What fits is out of stock.
    SoldOut(Vec<&'v Variant>),
}

/// How an add or buy request can go on.
enum ItemPlan<'c> {
    Ready {
        variant_id: String,
        quantity: u32,
    },
    /// The product's variants are unknown: fetch the product.
    Fetch(&'c Product),
    Ask {
        product: &'c Product,
        candidates: Vec<&'c Variant>,
    },
    /// Nothing was shown yet but the message names a product: search for it.
    Search(Value),
    /// Several listed products fit: ask which (1-based list positions kept).
    AskProduct(Vec<(usize, &'c Product)>),
    Reply(String),
}

/// A variant question the planner asked and the shopper may now be answering.
struct PendingChoice {
    buy: bool,
    product: Product,
    candidates: Vec<Variant>,
    quantity: Option<u32>,
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

/// Every option value of some variants.
fn values_of_all(variants: &[&Variant]) -> BTreeSet<String> {
    variants
        .iter()
        .flat_map(|v| slots::option_values(&v.options))
        .collect()
}

/// Picks one variant: the named options narrow the variants, then those in stock; one left is the pick.
fn choose_variant<'v>(variants: &[&'v Variant], text: &str) -> VariantPick<'v> {
    let values_of = |v: &Variant| slots::option_values(&v.options);
    let all = values_of_all(variants);
    let mentioned = slots::mentioned_values(text, &all);
    // A colour or size the product does not come in ("yellow", "43") must not be silently dropped.
    let unknown: BTreeSet<String> = slots::option_like_words(text)
        .into_iter()
        .filter(|w| {
            !all.contains(w)
                && !all
                    .iter()
                    .any(|v| slots::numeric_part(v) == Some(w.as_str()))
        })
        .collect();
    if !unknown.is_empty() {
        return VariantPick::NoMatch(mentioned.into_iter().chain(unknown).collect());
    }
    let fits: Vec<&'v Variant> = variants
        .iter()
        .copied()
        .filter(|v| mentioned.is_subset(&values_of(v)))
        .collect();
    if fits.is_empty() {
        return VariantPick::NoMatch(mentioned);
    }
    let in_stock: Vec<&'v Variant> = fits.iter().copied().filter(|v| v.stock != 0).collect();
    match in_stock.as_slice() {
        [] => VariantPick::SoldOut(fits),
        [one] => VariantPick::One(one),
        _ => VariantPick::Ask(in_stock),
    }
}

/// Words of the message that may name a product by its title (not filler, at least three letters).
fn title_words(text: &str) -> Vec<String> {
    const SKIP: &[&str] = &[
        "add", "the", "one", "ones", "cart", "basket", "please", "show", "see", "buy", "want",
        "this", "that", "with", "for", "and", "into", "from", "remove", "delete", "take", "out",
        "item", "product", "change", "quantity", "make", "set", "coupon", "coupons", "any", "are",
        "there", "have", "put", "get", "give", "pair", "pairs", "size", "colour", "color", "more",
        "about", "tell", "its", "them", "those", "these",
    ];
    ascii_words(text)
        .into_iter()
        .filter(|w| {
            w.len() >= 3 && !SKIP.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit())
        })
        .collect()
}

/// Something listed to the shopper, named by a title and priced: a product, a cart line.
pub(super) trait Listed {
    fn title(&self) -> &str;
    /// The formatted price a price reference ("the cheapest") compares.
    fn price(&self) -> &str;
}

impl Listed for Product {
    fn title(&self) -> &str {
        &self.title
    }

    fn price(&self) -> &str {
        &self.price
    }
}

impl Listed for CartLine {
    fn title(&self) -> &str {
        &self.title
    }

    fn price(&self) -> &str {
        &self.unit_price
    }
}

/// The entries whose title shares the most distinctive words with the message (words found in every title,
/// like "trail" in a list of trail shoes, tell nothing apart).
fn best_title_matches<'v, T: Listed>(
    entries: &[(usize, &'v T)],
    text: &str,
) -> Vec<(usize, &'v T)> {
    let words = title_words(text);
    if words.is_empty() || entries.is_empty() {
        return Vec::new();
    }
    let titles: Vec<BTreeSet<String>> = entries
        .iter()
        .map(|(_, e)| ascii_words(e.title()).into_iter().collect())
        .collect();
    let distinctive: Vec<&String> = words
        .iter()
        .filter(|w| !titles.iter().all(|t| t.contains(*w)))
        .collect();
    let scores: Vec<usize> = titles
        .iter()
        .map(|t| distinctive.iter().filter(|w| t.contains(**w)).count())
        .collect();
    let best = scores.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return Vec::new();
    }
    entries
        .iter()
        .zip(scores)
        .filter(|(_, score)| *score == best)
        .map(|(e, _)| *e)
        .collect()
}

/// The entry a price reference means: the cheapest or the priciest (the first of equals).
fn by_price<'v, T: Listed>(entries: &[(usize, &'v T)], cheapest: bool) -> Option<(usize, &'v T)> {
    let mut best: Option<(usize, &'v T, f64)> = None;
    for (n, e) in entries {
        let Some(price) = price_value(e.price()) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((_, _, b)) if cheapest => price < b,
            Some((_, _, b)) => price > b,
        };
        if better {
            best = Some((*n, e, price));
        }
    }
    best.map(|(n, e, _)| (n, e))
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
        let mut args = search_args(filters);
        if filters.query.is_empty() {
            if !filters.has_filters() {
                return Step::Reply(reply::ask_search_query(self.lang));
            }
            if let (Some(previous), Some(new)) =
                (self.conv.last_search_args(), args.as_object_mut())
            {
                for key in [
                    "query",
                    "category_id",
                    "min_price",
                    "max_price",
                    "in_stock_only",
                    "sort",
                ] {
                    if let Some(value) = previous.get(key) {
                        new.entry(key).or_insert_with(|| value.clone());
                    }
                }
            }
        }
        call("search_products", args)
    }

    /// The product a request refers to, among what was shown.
    pub(super) fn pick_product(&self, request: &ItemRequest) -> Picked<'c> {
        let conv: &'c Conversation<'a> = self.conv;
        let list = conv.product_list();
        let focus = conv.focus_product();
        let focus_newer = match (focus, list) {
            (Some((f, _)), Some((l, _))) => f.index > l.index,
            (Some(_), None) => true,
            _ => false,
        };
        let entries: Vec<(usize, &'c Product)> = list
            .map(|(_, products)| {
                products
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (i + 1, p))
                    .collect()
            })
            .unwrap_or_default();
        let focus_product = focus.map(|(_, p)| p);

        let from_list = |n: usize| -> Picked<'c> {
            match entries.get(n.wrapping_sub(1)) {
                Some((_, p)) => Picked::One(p),
                None if entries.is_empty() => Picked::NoList,
                None => Picked::Fail(reply::out_of_range(n, entries.len(), self.lang)),
            }
        };
        match request.reference {
            Some(Reference::Ordinal(n)) => return from_list(n),
            Some(Reference::Last) => return from_list(entries.len()),
            Some(Reference::Cheapest | Reference::Priciest) => {
                let cheapest = request.reference == Some(Reference::Cheapest);
                return match by_price(&entries, cheapest) {
                    Some((_, p)) => Picked::One(p),
                    None => Picked::NoList,
                };
            }
            Some(Reference::This) => {
                return match (focus_product, entries.as_slice()) {
                    (Some(p), _) if focus_newer => Picked::One(p),
                    (_, [(_, only)]) => Picked::One(only),
                    (_, []) => Picked::NoList,
                    _ => Picked::Many(entries),
                };
            }
            None => {}
        }

        let by_title = best_title_matches(&entries, &request.text);
        if let [(_, only)] = by_title.as_slice() {
            return Picked::One(only);
        }
        if let (Some(p), true) = (focus_product, focus_newer) {
            return Picked::One(p);
        }
        let by_options: Vec<(usize, &'c Product)> = entries
            .iter()
            .copied()
            .filter(|(_, p)| {
                // A product fits when the message names some of its options and none it lacks.
                let variants: Vec<&Variant> = p.variants.iter().collect();
                !slots::mentioned_values(&request.text, &values_of_all(&variants)).is_empty()
                    && !matches!(
                        choose_variant(&variants, &request.text),
                        VariantPick::NoMatch(_)
                    )
            })
            .collect();
        match (by_options.as_slice(), entries.as_slice()) {
            ([(_, only)], _) => Picked::One(only),
            ([_, _, ..], _) => Picked::Many(by_options),
            (_, []) => Picked::NoList,
            (_, [(_, only)]) => Picked::One(only),
            _ if !by_title.is_empty() => Picked::Many(by_title),
            _ => Picked::Many(entries),
        }
    }

    /// Show a product's details.
    fn show(&self, request: &ItemRequest) -> Step {
        if let Some(obs) = self.conv.turn_result("get_product") {
            return self.reply(obs);
        }
        match self.pick_product(request) {
            Picked::One(p) => call("get_product", json!({ "product_id": p.id })),
            Picked::Many(candidates) => Step::Reply(reply::ask_product(&candidates, self.lang)),
            Picked::NoList => {
                let filters = slots::search_filters(&request.text);
                if request.reference.is_none() && !filters.query.is_empty() {
                    call("search_products", search_args(&filters))
                } else {
                    Step::Reply(reply::no_list(self.lang))
                }
            }
            Picked::Fail(text) => Step::Reply(text),
        }
    }

    /// How an add or buy request can go on: which product, which variant, how many.
    fn item_plan(&self, request: &ItemRequest) -> ItemPlan<'c> {
        let product = match self.pick_product(request) {
            Picked::One(p) => p,
            Picked::Many(candidates) => return ItemPlan::AskProduct(candidates),
            Picked::Fail(text) => return ItemPlan::Reply(text),
            Picked::NoList => {
                let filters = slots::search_filters(&request.text);
                return if filters.query.is_empty() {
                    ItemPlan::Reply(reply::no_list(self.lang))
                } else {
                    ItemPlan::Search(search_args(&filters))
                };
            }
        };
        let product = self.conv.product(&product.id).unwrap_or(product);
        let variants: Vec<&'c Variant> = product.variants.iter().collect();
        if variants.is_empty() {
            return ItemPlan::Fetch(product);
        }
        match choose_variant(&variants, &request.text) {
            VariantPick::One(v) => ItemPlan::Ready {
                variant_id: v.id.clone(),
                quantity: request.quantity.unwrap_or(1),
            },
            VariantPick::Ask(candidates) => ItemPlan::Ask {
                product,
                candidates,
            },
            VariantPick::NoMatch(mentioned) => {
                let asked = mentioned.into_iter().collect::<Vec<_>>().join(" ");
                ItemPlan::Reply(reply::no_variant_match(product, &asked, self.lang))
            }
            VariantPick::SoldOut(fits) => {
                ItemPlan::Reply(reply::sold_out(product, &fits, self.lang))
            }
        }
    }

    /// The goal call of an add (`add_to_cart`) or a direct buy (`checkout` with `items`).
    fn goal_call(buy: bool, variant_id: &str, quantity: u32) -> Step {
        if buy {
            call(
                "checkout",
                json!({ "items": [{ "variant_id": variant_id, "quantity": quantity }] }),
            )
        } else {
            call(
                "add_to_cart",
                json!({ "variant_id": variant_id, "quantity": quantity }),
            )
        }
    }

    /// Add a product to the cart, or buy it directly.
    fn add(&self, request: &ItemRequest, buy: bool) -> Step {
        let goal = if buy { "checkout" } else { "add_to_cart" };
        if let Some(obs) = self.conv.turn_result(goal) {
            return self.reply(obs);
        }
        // A search made for this request: carry on with the one product it found, else show what it found.
        let searched = self.conv.turn_result("search_products");
        if let Some(obs) = self
            .conv
            .turn_result("get_product")
            .filter(|o| o.error().is_some())
        {
            return self.reply(obs);
        }
        match self.item_plan(request) {
            ItemPlan::Search(_) if let Some(obs) = searched => self.reply(obs),
            ItemPlan::Ready {
                variant_id,
                quantity,
            } => Self::goal_call(buy, &variant_id, quantity),
            ItemPlan::Fetch(product) if self.conv.turn_called("get_product") => {
                Step::Reply(reply::no_variants(product, self.lang))
            }
            ItemPlan::Fetch(product) => call("get_product", json!({ "product_id": product.id })),
            ItemPlan::Ask {
                product,
                candidates,
            } => Step::Reply(reply::ask_variant(product, &candidates, self.lang)),
            ItemPlan::Search(args) => call("search_products", args),
            ItemPlan::AskProduct(candidates) => {
                Step::Reply(reply::ask_product(&candidates, self.lang))
            }
            ItemPlan::Reply(text) => Step::Reply(text),
        }
    }

    /// The add (or buy) request of the previous message when it ended asking which product was meant.
    fn pending_product(&self) -> Option<(ItemRequest, bool)> {
        let last = self.conv.last_user_index()?;
        let previous = self.conv.previous_user_index()?;
        let before = self.conv.before(last);
        if before.turn_called("add_to_cart") || before.turn_called("checkout") {
            return None;
        }
        let (request, buy) = match intent::detect(&self.conv.messages.get(previous)?.content) {
            Intent::Add(request) => (request, false),
            Intent::Buy(request) => (request, true),
            _ => return None,
        };
        let earlier = Planner {
            conv: &before,
            lang: self.lang,
        };
        matches!(earlier.item_plan(&request), ItemPlan::AskProduct(_)).then_some((request, buy))
    }

    /// The variant question asked in answer to an earlier message, if the shopper has not answered it yet.
    /// Follows a chain of answers that only narrowed the choice ("42" -> "which colour?" -> "blue").
    fn pending_choice(&self) -> Option<PendingChoice> {
        let last = self.conv.last_user_index()?;
        let previous = self.conv.previous_user_index()?;
        let before = self.conv.before(last);
        if before.turn_called("add_to_cart") || before.turn_called("checkout") {
            return None;
        }
        let text = self.conv.messages.get(previous)?.content.as_str();
        let earlier = Planner {
            conv: &before,
            lang: self.lang,
        };
        let (request, buy) = match intent::detect(text) {
            Intent::Add(request) => (request, false),
            Intent::Buy(request) => (request, true),
            other if answers_choice(&other) && before.turn_steps() == 0 => {
                let pending = earlier.pending_choice()?;
                let candidates: Vec<&Variant> = pending.candidates.iter().collect();
                let mut option_text = normalize(text);
                let quantity = slots::cut_quantity(&mut option_text);
                let narrowed: Vec<Variant> = match choose_variant(&candidates, &option_text) {
                    VariantPick::Ask(narrowed) if narrowed.len() < candidates.len() => {
                        narrowed.into_iter().cloned().collect()
                    }
                    _ => return None,
                };
                return Some(PendingChoice {
                    candidates: narrowed,
                    quantity: quantity.or(pending.quantity),
                    ..pending
                });
            }
            _ => return None,
        };
        match earlier.item_plan(&request) {
            ItemPlan::Ask {
                product,
                candidates,
            } => Some(PendingChoice {
                buy,
                product: product.clone(),
                candidates: candidates.into_iter().cloned().collect(),
                quantity: request.quantity,
            }),
            _ => None,
        }
    }

    /// A short answer ("blue 42", "the first one", "蓝色42码") to a variant question asked just before, or option
    /// words alone right after a product was shown: adds (or buys) that variant.
    fn continuation(&self, detected: &Intent) -> Option<Step> {
        if !answers_choice(detected) {
            return None;
        }
        let text = normalize(self.conv.user_text()?);
        let request = ItemRequest::parse(&text);
        // Option words are read with only the quantity cut, so a bare "42" stays a size.
        let mut option_text = text.clone();
        slots::cut_quantity(&mut option_text);
        if let Some(pending) = self.pending_choice() {
            let goal = if pending.buy {
                "checkout"
            } else {
                "add_to_cart"
            };
            if let Some(obs) = self.conv.turn_result(goal) {
                return Some(self.reply(obs));
            }
            let candidates: Vec<&Variant> = pending.candidates.iter().collect();
            let chosen = match request.reference {
                Some(Reference::Ordinal(n)) => candidates.get(n.wrapping_sub(1)).copied(),
                Some(Reference::Last) => candidates.last().copied(),
                _ => None,
            };
            let quantity = request.quantity.or(pending.quantity).unwrap_or(1);
            if let Some(v) = chosen {
                return Some(Self::goal_call(pending.buy, &v.id, quantity));
            }
            // Option words that do not settle it get the (narrowed) question again; options the product
            // lacks are said so. Anything else is a new request.
            let named = !slots::mentioned_values(&option_text, &values_of_all(&candidates))
                .is_empty()
                || !slots::option_like_words(&option_text).is_empty();
            let product = &pending.product;
            return match choose_variant(&candidates, &option_text) {
                VariantPick::One(v) => Some(Self::goal_call(pending.buy, &v.id, quantity)),
                VariantPick::Ask(narrowed) if named => Some(Step::Reply(reply::ask_variant(
                    product, &narrowed, self.lang,
                ))),
                VariantPick::NoMatch(asked) if named => {
                    // The question offered only what is in stock: a sold-out option is said to be sold out.
                    let all: Vec<&Variant> = product.variants.iter().collect();
                    Some(Step::Reply(match choose_variant(&all, &option_text) {
                        VariantPick::SoldOut(fits) => reply::sold_out(product, &fits, self.lang),
                        _ => {
                            let asked = asked.into_iter().collect::<Vec<_>>().join(" ");
                            reply::no_variant_match(product, &asked, self.lang)
                        }
                    }))
                }
                VariantPick::SoldOut(fits) if named => {
                    Some(Step::Reply(reply::sold_out(product, &fits, self.lang)))
                }
                _ => None,
            };
        }
        // "the second one" answering "which product do you mean?": the add goes on with that product.
        if let Some(reference) = request.reference.filter(|r| *r != Reference::This)
            && let Some((earlier, buy)) = self.pending_product()
        {
            let combined = ItemRequest {
                reference: Some(reference),
                quantity: request.quantity.or(earlier.quantity),
                text: format!("{} {}", earlier.text, request.text),
            };
            return Some(self.add(&combined, buy));
        }
        // Option words right after a product page: "blue 42" means "add the blue 42".
        let is_plain_search = matches!(detected, Intent::Search(f) if !f.has_filters());
        let (focus, product) = self.conv.focus_product()?;
        let list_newer = self
            .conv
            .product_list()
            .is_some_and(|(l, _)| l.index > focus.index);
        if !is_plain_search || list_newer || request.text.split_whitespace().count() > 4 {
            return None;
        }
        let variants: Vec<&Variant> = product.variants.iter().collect();
        if slots::mentioned_values(&option_text, &values_of_all(&variants)).is_empty() {
            return None;
        }
        let add = ItemRequest {
            reference: Some(Reference::This),
            ..request
        };
        Some(self.add(&add, false))
    }

    /// The cart line a request refers to.
    fn pick_line<'v>(&self, cart: &'v Cart, request: &ItemRequest) -> Result<&'v CartLine, Step> {
        let lines: Vec<(usize, &'v CartLine)> = cart
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .collect();
        let ask = || Step::Reply(reply::ask_cart_line(cart, self.lang));
        if lines.is_empty() {
            return Err(Step::Reply(reply::empty_cart(self.lang)));
        }
        let nth = |n: usize| {
            lines
                .get(n.wrapping_sub(1))
                .map(|(_, l)| *l)
                .ok_or_else(|| Step::Reply(reply::out_of_range(n, lines.len(), self.lang)))
        };
        match request.reference {
            Some(Reference::Ordinal(n)) => return nth(n),
            Some(Reference::Last) => return nth(lines.len()),
            Some(Reference::Cheapest | Reference::Priciest) => {
                let cheapest = request.reference == Some(Reference::Cheapest);
                return by_price(&lines, cheapest).map(|(_, l)| l).ok_or_else(ask);
            }
            _ => {}
        }
        let values_of = |l: &CartLine| slots::option_values(&l.options);
        let all: BTreeSet<String> = lines.iter().flat_map(|(_, l)| values_of(l)).collect();
        let mentioned = slots::mentioned_values(&request.text, &all);
        let fits: Vec<(usize, &'v CartLine)> = lines
            .iter()
            .copied()
            .filter(|(_, l)| mentioned.is_subset(&values_of(l)))
            .collect();
        let by_title = best_title_matches(&fits, &request.text);
        let fits = if by_title.is_empty() { fits } else { by_title };
        let described = !mentioned.is_empty() || !title_words(&request.text).is_empty();
        match fits.as_slice() {
            [(_, only)] => Ok(only),
            [] => Err(Step::Reply(reply::no_cart_match(self.lang))),
            _ if described && fits.len() < lines.len() => Err(ask()),
            _ => {
                // Nothing told them apart: "it" is the item added last, if it is still there.
                let added = self.conv.last_added_variant();
                fits.iter()
                    .find(|(_, l)| Some(l.variant_id.as_str()) == added)
                    .map(|(_, l)| *l)
                    .ok_or_else(ask)
            }
        }
    }

    /// Remove a cart line (`quantity` None) or change its quantity.
    fn edit_cart(&self, request: &ItemRequest, quantity: Option<u32>) -> Step {
        let goal = if quantity.is_some() {
            "update_cart_quantity"
        } else {
            "remove_from_cart"
        };
        if let Some(obs) = self.conv.turn_result(goal) {
            return self.reply(obs);
        }
        let Some((_, cart)) = self.conv.cart() else {
            return match self.conv.turn_result("view_cart") {
                Some(obs) => self.reply(obs),
                None => call("view_cart", json!({})),
            };
        };
        match self.pick_line(cart, request) {
            Ok(line) => {
                let variant_id = &line.variant_id;
                match quantity {
                    Some(n) => call(
                        "update_cart_quantity",
                        json!({ "variant_id": variant_id, "quantity": n }),
                    ),
                    None => call("remove_from_cart", json!({ "variant_id": variant_id })),
                }
            }
            Err(step) => step,
        }
    }

    /// Check out the cart (with a claimed coupon the shopper names), or, for "buy it" right after looking at a
    /// product, buy that product.
    fn checkout(&self, text: &str, from_buy: bool) -> Step {
        if let Some(obs) = self.conv.turn_result("checkout") {
            return self.reply(obs);
        }
        if from_buy {
            // "Buy it" refers to what was shown last (a product, or a list to pick from), unless the cart was
            // looked at since.
            let focus = self.conv.focus_product().map(|(o, _)| o.index);
            let list = self.conv.product_list().map(|(l, _)| l.index);
            let shown = focus.max(list);
            let cart = self.conv.cart().map(|(o, _)| o.index);
            if shown.is_some_and(|f| cart.is_none_or(|c| f > c)) {
                let request = ItemRequest {
                    reference: Some(Reference::This),
                    quantity: None,
                    text: text.to_owned(),
                };
                return self.add(&request, true);
            }
        }
        let mut args = Map::new();
        let claimed = self.conv.claimed_coupons();
        if let Some((id, _)) = claimed
            .iter()
            .rev()
            .find(|(_, code)| slots::mentions(text, code))
        {
            args.insert("claimed_coupon_id".into(), json!(id));
        } else if ["coupon", "code", "voucher", "优惠券", "券"]
            .iter()
            .any(|w| text.contains(w))
        {
            if !self.conv.turn_called("my_coupons") {
                return call("my_coupons", json!({}));
            }
            return Step::Reply(
                self.lang
                    .pick(
                        "I couldn't find that coupon among the ones you've claimed. Say \"my coupons\" to see them, \
                         or \"check out\" to order without one.",
                        "在你已领取的优惠券里没有找到这张。说“我的优惠券”查看，或直接说“结账”不用券下单。",
                    )
                    .to_owned(),
            );
        }
        call("checkout", Value::Object(args))
    }

    /// Pay an order: the one named, else the latest unpaid one known, else the newest unpaid one listed.
    fn pay(&self, method: &PayMethod, named: Option<&str>) -> Step {
        if let Some(obs) = self.conv.turn_result("pay_order") {
            return self.reply(obs);
        }
        let mut missing = Vec::new();
        let order_id = named.map(str::to_owned).or_else(|| {
            self.conv
                .turn_unpaid_order()
                .or_else(|| {
                    self.conv
                        .latest_order()
                        .filter(|o| o.status.as_deref().is_none_or(|s| s == "pending_payment"))
                })
                .map(|o| o.id)
        });
        if order_id.is_none() {
            if let Some(obs) = self.conv.turn_result("list_orders") {
                return match obs.error() {
                    Some(_) => self.reply(obs),
                    None => Step::Reply(reply::no_unpaid_order(self.lang)),
                };
            }
            missing.push((
                "list_orders",
                json!({ "status": "pending_payment", "limit": 1 }),
            ));
        }
        let method_id = match method {
            PayMethod::Wallet | PayMethod::Unspecified => Some("wallet".to_owned()),
            PayMethod::Card { last4 } => match self.conv.cards() {
                Some(cards) => {
                    let card = match last4 {
                        Some(last4) => cards
                            .iter()
                            .find(|c| c.last4.as_deref().unwrap_or("") == last4),
                        None => cards.first(),
                    };
                    match card {
                        Some(card) => Some(card.id.clone()),
                        None => return Step::Reply(reply::no_card(self.lang)),
                    }
                }
                None if self.conv.turn_called("list_payment_methods") => {
                    return Step::Reply(reply::no_card(self.lang));
                }
                None => {
                    missing.push(("list_payment_methods", json!({})));
                    None
                }
            },
        };
        match (order_id, method_id) {
            (Some(order_id), Some(method_id)) if missing.is_empty() => call(
                "pay_order",
                json!({ "order_id": order_id, "payment_method_id": method_id }),
            ),
            _ => Step::Call(missing),
        }
    }

    /// An order's status: the one named, else the latest known, else the newest listed.
    fn order_status(&self, named: Option<&str>) -> Step {
        if let Some(obs) = self.conv.turn_result("get_order") {
            return self.reply(obs);
        }
        if let Some(obs) = self.conv.turn_result("list_orders") {
            return self.reply(obs);
        }
        let id = named
            .map(str::to_owned)
            .or_else(|| self.conv.latest_order().map(|o| o.id));
        match id {
            Some(id) => call("get_order", json!({ "order_id": id })),
            None => call("list_orders", json!({ "limit": 1 })),
        }
    }

    /// Cancel an order or confirm its receipt: the one named, else the latest known, else the newest listed.
    fn order_action(&self, tool: &'static str, named: Option<&str>) -> Step {
        if let Some(obs) = self.conv.turn_result(tool) {
            return self.reply(obs);
        }
        let id = named
            .map(str::to_owned)
            .or_else(|| self.conv.latest_order().map(|o| o.id));
        if let Some(id) = id {
            return call(tool, json!({ "order_id": id }));
        }
        match self.conv.turn_result("list_orders") {
            Some(obs) if obs.error().is_some() => self.reply(obs),
            Some(_) => Step::Reply(reply::no_orders(self.lang)),
            None => call("list_orders", json!({ "limit": 1 })),
        }
    }

    /// Coupons for the product a request refers to.
    fn product_coupons(&self, request: &ItemRequest) -> Step {
        if let Some(obs) = self.conv.turn_result("list_coupons") {
            return self.reply(obs);
        }
        match self.pick_product(request) {
            Picked::One(p) => call("list_coupons", json!({ "product_id": p.id })),
            Picked::Many(candidates) => Step::Reply(reply::ask_product(&candidates, self.lang)),
            Picked::NoList => Step::Reply(
                self.lang
                    .pick(
                        "Coupons for which product? Search for it first, or say \"my coupons\" to see the ones \
                         you've claimed.",
                        "要查哪个商品的优惠券？先搜索商品，或者说“我的优惠券”查看已领取的券。",
                    )
                    .to_owned(),
            ),
            Picked::Fail(text) => Step::Reply(text),
        }
    }

    /// Claim a listed coupon, by code or position.
    fn claim_coupon(&self, request: &ItemRequest) -> Step {
        if let Some(obs) = self.conv.turn_result("claim_coupon") {
            return self.reply(obs);
        }
        let Some(coupons) = self.conv.coupon_list() else {
            return Step::Reply(reply::no_coupon_list(self.lang));
        };
        let by_code = coupons
            .iter()
            .find(|c| slots::mentions(&request.text, &c.code));
        let chosen = by_code.or(match (request.reference, coupons) {
            (Some(Reference::Ordinal(n)), _) => coupons.get(n.wrapping_sub(1)),
            (Some(Reference::Last), _) => coupons.last(),
            (_, [only]) => Some(only),
            _ => None,
        });
        match chosen {
            Some(coupon) => call("claim_coupon", json!({ "coupon_id": coupon.id })),
            None => {
                let listed = self
                    .conv
                    .turn()
                    .next_back()
                    .filter(|o| o.tool == "list_coupons");
                match listed {
                    Some(obs) => self.reply(obs),
                    None => Step::Reply(self.coupon_question(coupons)),
                }
            }
        }
    }

    fn coupon_question(&self, coupons: &[Coupon]) -> String {
        let codes: Vec<&str> = coupons.iter().map(|c| c.code.as_str()).collect();
        match self.lang {
            Lang::En => format!("Which coupon would you like: {}?", codes.join(", ")),
            Lang::Zh => format!("你想领取哪一张：{}？", codes.join("、")),
        }
    }
}

/// Whether a message could be a short answer to a variant question.
fn answers_choice(intent: &Intent) -> bool {
    match intent {
        Intent::Unknown => true,
        Intent::Show(request) => !matches!(
            request.reference,
            Some(Reference::Cheapest | Reference::Priciest)
        ),
        Intent::Search(filters) => !filters.has_filters(),
        Intent::Add(request) | Intent::Buy(request) => !matches!(
            request.reference,
            Some(Reference::Ordinal(_) | Reference::Cheapest | Reference::Priciest)
        ),
        _ => false,
    }
}
