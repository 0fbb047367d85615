//! Picking what the shopper means from what was shown: a product of a list (by position, price, title words or
//! options), and a variant of a product (by the options named, then stock).

use std::collections::BTreeSet;

use tokshop_tools::{
    cart::CartLine,
    catalog::{Card, Variant},
};

use super::Planner;
use crate::context::{Conversation, Shown};
use crate::reply;
use crate::slots::{self, ItemRequest, Reference};
use crate::text::{ascii_words, price_value};

/// A product picked from what was shown.
pub(super) enum Picked<'c> {
    One(Shown<'c>),
    /// Several listed ones fit: their 1-based list positions and cards.
    Many(Vec<(usize, &'c Card)>),
    /// The message names options and these listed products' pages (their variants) were not read yet.
    Fetch(Vec<&'c Card>),
    /// No product was shown yet.
    NoList,
    Fail(String),
}

/// A variant picked from a product's variants.
pub(super) enum VariantPick<'v> {
    One(&'v Variant),
    Ask(Vec<&'v Variant>),
    /// The named options match no variant.
    NoMatch(BTreeSet<String>),
    /// What fits is out of stock.
    SoldOut(Vec<&'v Variant>),
}

/// Every option value of some variants.
pub(super) fn values_of_all(variants: &[&Variant]) -> BTreeSet<String> {
    variants
        .iter()
        .flat_map(|v| slots::option_values(&v.options))
        .collect()
}

/// Picks one variant: the named options narrow the variants, then those in stock; one left is the pick.
pub(super) fn choose_variant<'v>(variants: &[&'v Variant], text: &str) -> VariantPick<'v> {
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
pub(super) fn title_words(text: &str) -> Vec<String> {
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

impl Listed for Card {
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
pub(super) fn best_title_matches<'v, T: Listed>(
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
pub(super) fn by_price<'v, T: Listed>(
    entries: &[(usize, &'v T)],
    cheapest: bool,
) -> Option<(usize, &'v T)> {
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
        let entries: Vec<(usize, &'c Card)> = list
            .map(|(_, products)| {
                products
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (i + 1, p))
                    .collect()
            })
            .unwrap_or_default();
        let focus_product = focus.map(|(_, p)| Shown::Page(p));

        let from_list = |n: usize| -> Picked<'c> {
            match entries.get(n.wrapping_sub(1)) {
                Some((_, p)) => Picked::One(Shown::Card(p)),
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
                    Some((_, p)) => Picked::One(Shown::Card(p)),
                    None => Picked::NoList,
                };
            }
            Some(Reference::This) => {
                return match (focus_product, entries.as_slice()) {
                    (Some(p), _) if focus_newer => Picked::One(p),
                    (_, [(_, only)]) => Picked::One(Shown::Card(only)),
                    (_, []) => Picked::NoList,
                    _ => Picked::Many(entries),
                };
            }
            None => {}
        }

        let by_title = best_title_matches(&entries, &request.text);
        if let [(_, only)] = by_title.as_slice() {
            return Picked::One(Shown::Card(only));
        }
        if let (Some(p), true) = (focus_product, focus_newer) {
            return Picked::One(p);
        }
        // Options named ("the blue 42") pick among listed products by their variants, on their pages.
        let by_options: Vec<(usize, &'c Card)> =
            if entries.len() > 1 && !slots::option_like_words(&request.text).is_empty() {
                let unread: Vec<&'c Card> = entries
                    .iter()
                    .filter(|(_, card)| conv.product(&card.id).is_none())
                    .map(|(_, card)| *card)
                    .collect();
                if !unread.is_empty() && !conv.turn_called("get_product") {
                    return Picked::Fetch(unread);
                }
                entries
                    .iter()
                    .copied()
                    .filter(|(_, card)| {
                        conv.product(&card.id).is_some_and(|page| {
                            let variants: Vec<&Variant> = page.variants.iter().collect();
                            // It fits when the message names some of its options and none it lacks.
                            !slots::mentioned_values(&request.text, &values_of_all(&variants))
                                .is_empty()
                                && !matches!(
                                    choose_variant(&variants, &request.text),
                                    VariantPick::NoMatch(_)
                                )
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
        match (by_options.as_slice(), entries.as_slice()) {
            ([(_, only)], _) => Picked::One(Shown::Card(only)),
            ([_, _, ..], _) => Picked::Many(by_options),
            (_, []) => Picked::NoList,
            (_, [(_, only)]) => Picked::One(Shown::Card(only)),
            _ if !by_title.is_empty() => Picked::Many(by_title),
            _ => Picked::Many(entries),
        }
    }
}
