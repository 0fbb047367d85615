//! Adding a product to the cart or buying it directly: which product, which variant, how many, and the short
//! answers ("blue 42", "the first one") to a question the planner asked.

use serde_json::{Value, json};
use tokshop_tools::catalog::{Card, Product, Variant};

use super::pick::{Picked, VariantPick, choose_variant, values_of_all};
use super::{Planner, Step, call, named_options, page_args, pages, search_args};
use crate::context::Shown;
use crate::intent::{self, Intent};
use crate::reply;
use crate::slots::{self, ItemRequest, Reference};
use crate::text::normalize;

/// How an add or buy request can go on.
enum ItemPlan<'c> {
    Ready {
        variant_id: String,
        quantity: u32,
    },
    /// The product's variants are unknown (it was shown as a search card): fetch its page.
    Fetch(Shown<'c>),
    Ask {
        product: &'c Product,
        candidates: Vec<&'c Variant>,
    },
    /// Nothing was shown yet but the message names a product: search for it.
    Search(Value),
    /// The page shows only some variants: read it again for the options the message names.
    Narrow(&'c Product, String),
    /// The message names options: read these listed products' pages first.
    Pages(Vec<&'c Card>),
    /// Several listed products fit: ask which (1-based list positions kept).
    AskProduct(Vec<(usize, &'c Card)>),
    Reply(String),
}

/// A variant question the planner asked and the shopper may now be answering.
struct PendingChoice {
    buy: bool,
    product: Product,
    candidates: Vec<Variant>,
    quantity: Option<u32>,
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

impl<'c, 'a> Planner<'c, 'a> {
    /// Show a product's details.
    pub(super) fn show(&self, request: &ItemRequest) -> Step {
        if let Some(obs) = self.conv.turn_result("get_product") {
            return self.reply(obs);
        }
        match self.pick_product(request) {
            Picked::One(p) => call("get_product", page_args(p, &request.text)),
            Picked::Many(candidates) => Step::Reply(reply::ask_product(&candidates, self.lang)),
            Picked::Fetch(cards) => pages(&cards, &request.text),
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
            Picked::Fetch(cards) => return ItemPlan::Pages(cards),
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
        let page = match product {
            Shown::Page(page) => Some(page),
            Shown::Card(card) => {
                // A card of a product with one variant names it: no page needed unless it is sold out or the
                // message names options (the page then says whether it has them).
                if let Some(variant_id) = &card.variant_id
                    && card.stock > 0
                    && slots::option_like_words(&request.text).is_empty()
                {
                    return ItemPlan::Ready {
                        variant_id: variant_id.clone(),
                        quantity: request.quantity.unwrap_or(1),
                    };
                }
                self.conv.product(&card.id)
            }
        };
        let Some(product) = page.filter(|p| !p.variants.is_empty()) else {
            return ItemPlan::Fetch(product);
        };
        // A page showing only some variants is asked again for the options named, once per message.
        if product.more_variants > 0
            && !self.conv.turn_called("get_product")
            && let Some(options) = named_options(&request.text)
        {
            return ItemPlan::Narrow(product, options);
        }
        let variants: Vec<&'c Variant> = product.variants.iter().collect();
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
    pub(super) fn add(&self, request: &ItemRequest, buy: bool) -> Step {
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
                Step::Reply(reply::no_variants(product.title(), self.lang))
            }
            ItemPlan::Fetch(product) => call("get_product", page_args(product, &request.text)),
            ItemPlan::Ask {
                product,
                candidates,
            } => Step::Reply(reply::ask_variant(product, &candidates, self.lang)),
            ItemPlan::Search(args) => call("search_products", args),
            ItemPlan::Pages(cards) => pages(&cards, &request.text),
            ItemPlan::Narrow(product, options) => call(
                "get_product",
                json!({ "product_id": product.id, "options": options }),
            ),
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
    pub(super) fn continuation(&self, detected: &Intent) -> Option<Step> {
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
}
