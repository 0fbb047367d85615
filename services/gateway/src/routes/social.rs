//! What the social routes share: users and products as cards, and the `limit` / `cursor` paging query.

use serde::{Deserialize, Serialize};
use tokshop_proto::social as pb;
use utoipa::{IntoParams, ToSchema};

use super::auth::non_empty;
use super::products::Money;

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
    /// 1..=50, default 20.
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
