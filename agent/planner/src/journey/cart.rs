//! Editing the cart: which line the shopper means, then removing it or changing its quantity.

use std::collections::BTreeSet;

use serde_json::json;
use tokshop_tools::cart::{Cart, CartLine};

use super::pick::{best_title_matches, by_price, title_words};
use super::{Planner, Step, call};
use crate::reply;
use crate::slots::{self, ItemRequest, Reference};

impl<'c, 'a> Planner<'c, 'a> {
    /// The cart line a request refers to.
    pub(super) fn pick_line<'v>(
        &self,
        cart: &'v Cart,
        request: &ItemRequest,
    ) -> Result<&'v CartLine, Step> {
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
        // The answer shows the cart's first lines only: a line past them, the last one, or the cheapest of all
        // cannot be told from here, and a cart edit is never guessed.
        let partial = cart.more_lines > 0;
        let beyond = || Step::Reply(reply::beyond_shown_lines(cart, self.lang));
        match request.reference {
            Some(Reference::Ordinal(n)) if partial && n > lines.len() => return Err(beyond()),
            Some(Reference::Last | Reference::Cheapest | Reference::Priciest) if partial => {
                return Err(beyond());
            }
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
            [] if partial => Err(beyond()),
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
    pub(super) fn edit_cart(&self, request: &ItemRequest, quantity: Option<u32>) -> Step {
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
}
