//! The social side of the shop: relations (follows, followers, friends) and profiles, likes and favorites,
//! comments, feeds and direct messages.
//! Following someone, commenting and sending a message are consequential (the shopper approves them); liking,
//! favoriting and reading are not.
//!
//! Everything other shop users wrote (comments, posts, messages, bios) reaches the model wrapped in
//! `<user_content>` tags with a note that it is data, never instructions, so an instruction hidden in a comment
//! cannot pass for the shopper's or the shop's.

mod feed;
mod interactions;
mod messages;
mod relations;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::social as pb;

pub use feed::{Feed, Media, Post};
pub use interactions::{
    Comment, CommentList, CommentResult, CommentsArgs, FavoriteArgs, FavoriteList, FavoriteState,
    LikeState,
};
pub use messages::{
    ConversationList, ConversationSummary, LastMessage, Message, MessageThread, Messages, ReadArgs,
    SendArgs, SentMessage,
};
pub use relations::{ProfileCounts, PublicProfile, Relation, RelationResult, UserArgs, UserList};

use crate::{
    Registry, ToolError,
    guard::quote,
    untrusted::{self, Source},
    view,
};

pub fn register(registry: &mut Registry) {
    relations::register(registry);
    interactions::register(registry);
    feed::register(registry);
    messages::register(registry);
}

/// Put on every result that carries text written by shop users.
pub const USER_CONTENT_NOTE: &str = untrusted::NOTE;

/// Longest piece of user-written text a model sees: 500 characters, and no more than 600 estimated tokens
/// ([`view::tokens_at_most`]), which only text of emoji or rare scripts reaches first.
const USER_TEXT_CHARS: usize = 500;
const USER_TEXT_TOKENS: usize = 600;

/// Text written by a shop user, as data (see [`untrusted`]).
pub fn user_text(text: &str) -> String {
    // Clipped as the envelope will carry it (look-alike brackets cost more than brackets).
    let clean: String = untrusted::clean(text).collect();
    let text = view::within_tokens(&clean, USER_TEXT_CHARS, USER_TEXT_TOKENS);
    untrusted::wrap(Source::User, text, USER_TEXT_CHARS)
}

/// Someone the shopper acts toward (follows, messages), as approved: id, username and the name they show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub user_id: String,
    pub username: String,
    /// Shop name for sellers, else the display name.
    pub name: String,
}

impl Person {
    pub fn of(card: &pb::UserCard) -> Self {
        let name = if card.is_seller && !card.shop_name.is_empty() {
            &card.shop_name
        } else {
            &card.display_name
        };
        Self {
            user_id: card.id.clone(),
            username: card.username.clone(),
            name: name.clone(),
        }
    }

    /// "@trailco (“Trail Co”)".
    pub fn label(&self) -> String {
        if self.name.is_empty() || self.name == self.username {
            format!("@{}", self.username)
        } else {
            format!("@{} ({})", self.username, quote(&self.name, 60))
        }
    }
}

/// A user as tools show them, with the shopper's relation to them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub username: String,
    /// The display name they chose, as data.
    pub name: String,
    pub you_follow: bool,
    pub follows_you: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub seller: bool,
    /// A seller's shop name, as data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shop: Option<String>,
}

impl User {
    pub fn of(card: &pb::UserCard) -> Self {
        Self {
            id: card.id.clone(),
            username: card.username.clone(),
            name: untrusted::wrap(Source::User, &card.display_name, 60),
            you_follow: card.viewer_follows,
            follows_you: card.follows_viewer,
            seller: card.is_seller,
            shop: card
                .is_seller
                .then(|| untrusted::wrap(Source::Seller, &card.shop_name, 60)),
        }
    }
}

/// A product as social views show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ProductCard {
    pub id: String,
    /// The seller's title, as data.
    pub title: String,
    pub price: String,
    pub in_stock: bool,
    /// `false` once delisted; absent while it can be bought.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
}

impl ProductCard {
    pub fn of(card: &pb::ProductCard) -> Self {
        Self {
            id: card.id.clone(),
            title: view::seller_text(&card.title, view::TITLE_CHARS),
            price: view::money(card.price.as_ref()),
            in_stock: card.in_stock,
            available: (!card.available).then_some(false),
        }
    }
}

/// "@trailco" for a user card.
pub fn handle(card: Option<&pb::UserCard>) -> String {
    card.map(|c| format!("@{}", c.username)).unwrap_or_default()
}

/// A page of a list: `limit` 1..=20 (default 10) and the `cursor` of the previous page.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageArgs {
    /// 1 to 20; default 10.
    pub limit: Option<u8>,
    pub cursor: Option<String>,
}

impl PageArgs {
    pub fn limit(&self) -> Result<i32, ToolError> {
        let limit = self.limit.unwrap_or(10);
        if !(1..=20).contains(&limit) {
            return Err(ToolError::invalid_arguments("limit must be 1 to 20").with_param("limit"));
        }
        Ok(i32::from(limit))
    }

    pub fn cursor(&self) -> String {
        self.cursor.clone().unwrap_or_default()
    }
}

pub use crate::view::next;

/// The note put on a result that carries text shop users wrote, when it carries some.
pub fn note_if(carries_user_text: bool) -> Option<String> {
    carries_user_text.then(|| USER_CONTENT_NOTE.to_owned())
}

/// Checks the length of text the shopper writes: 1..=`max` characters once trimmed.
pub fn written(text: &str, max: usize) -> Result<String, ToolError> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(
            ToolError::invalid_arguments(format!("text must be 1 to {max} characters"))
                .with_param("text"),
        );
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_wrapped_as_data_from_a_user() {
        assert_eq!(
            user_text("great shoes"),
            "<untrusted from=\"user\">great shoes</untrusted>"
        );
        let long = user_text(&"a".repeat(900));
        assert_eq!(untrusted::unwrap(&long).0.chars().count(), 500);
    }

    #[test]
    fn written_text_is_trimmed_and_bounded() {
        assert_eq!(written("  hi  ", 500).unwrap(), "hi");
        assert_eq!(
            written("   ", 500).unwrap_err().param.as_deref(),
            Some("text")
        );
        assert!(written(&"x".repeat(501), 500).is_err());
        assert!(written(&"好".repeat(500), 500).is_ok());
    }
}
