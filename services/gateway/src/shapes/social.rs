//! What the social routes share: users and products as cards, uploaded media, and the `limit` / `cursor` paging
//! query.

use serde::{Deserialize, Serialize};
use tokshop_platform::non_empty;
use tokshop_proto::social as pb;
use utoipa::{IntoParams, ToSchema};

use super::Money;

/// A user as social lists show them, with the viewer's relation to them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserCard {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub avatar_url: String,
    pub is_seller: bool,
    /// Null unless the user is a seller.
    pub shop_name: Option<String>,
    /// The signed-in viewer follows this user.
    pub viewer_follows: bool,
    /// This user follows the signed-in viewer.
    pub follows_viewer: bool,
    /// When the listed relation began (in following, followers and friends lists); null elsewhere.
    pub since_ms: Option<i64>,
}

impl From<pb::UserCard> for UserCard {
    fn from(u: pb::UserCard) -> Self {
        Self {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            avatar_url: u.avatar_url,
            is_seller: u.is_seller,
            shop_name: non_empty(u.shop_name),
            viewer_follows: u.viewer_follows,
            follows_viewer: u.follows_viewer,
            since_ms: (u.since_ms > 0).then_some(u.since_ms),
        }
    }
}

/// A product as social views show it, with the catalog's current price and stock.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductCard {
    pub id: String,
    pub title: String,
    pub seller_id: String,
    /// The lowest variant price.
    pub price: Option<Money>,
    pub in_stock: bool,
    pub image_url: String,
    /// False when the product was delisted or removed.
    pub available: bool,
}

impl From<pb::ProductCard> for ProductCard {
    fn from(p: pb::ProductCard) -> Self {
        Self {
            id: p.id,
            title: p.title,
            seller_id: p.seller_id,
            price: p.price.map(|m| Money::new(m.amount_minor, m.currency)),
            in_stock: p.in_stock,
            image_url: p.image_url,
            available: p.available,
        }
    }
}

/// Paging of social lists: newest first, `next_cursor` of one page asks for the next.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1..=100, default 20.
    pub limit: Option<i32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> i32 {
        self.limit.unwrap_or(0)
    }

    pub fn cursor(&self) -> String {
        self.cursor.clone().unwrap_or_default()
    }
}

/// An uploaded image or video.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Media {
    /// `med_` + the SHA-256 of the content: the same file is always the same id.
    pub id: String,
    /// "image" or "video".
    pub kind: String,
    /// Read from the bytes, not from what the client declared.
    pub content_type: String,
    pub size: i64,
    /// Where the bytes are served.
    pub url: String,
    /// Videos: the cover frame's URL; null for images.
    pub cover_url: Option<String>,
    /// Videos: true when the cover is a placeholder because no frame could be extracted.
    pub cover_placeholder: bool,
    /// True when the same content had been uploaded before.
    pub existed: bool,
}

impl From<pb::Media> for Media {
    fn from(m: pb::Media) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            content_type: m.content_type,
            size: m.size,
            url: m.url,
            cover_url: non_empty(m.cover_url),
            cover_placeholder: m.cover_placeholder,
            existed: m.existed,
        }
    }
}
