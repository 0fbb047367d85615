//! Slot extraction: pure functions from a user message (normalised with [`normalize`]) to the values a tool
//! needs: search filters and the query left once they are removed, a reference to an item of a list shown
//! earlier ("the second one", "第二个", "the cheaper one"), a quantity, an order id, option words ("blue 42",
//! "蓝色 42码") and order-status filters. Extractors that consume text cut what they matched, so what remains
//! is the free text (a query, option words, a title).
//!
//! [`normalize`]: super::text::normalize
//!
//! By concern: [`filters`] (prices, sort, stock), [`query`] (the words left: filler dropped, Chinese product words
//! translated), [`references`] (which listed item, how many, an order id, a card) and [`options`] (option words).

mod filters;
mod options;
mod query;
mod references;

pub use filters::{SearchFilters, Sort, search_filters};
pub use options::{
    found_word, mentioned_values, mentions, numeric_part, option_like_words, option_tokens,
    option_values,
};
pub use query::clean_query;
pub use references::{
    ItemRequest, Reference, card_last4, cut_quantity, cut_reference, order_id, order_status_filter,
    target_quantity,
};

#[cfg(test)]
mod tests;
