//! Feeds: posts of the people the shopper follows, or every post.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::social as pb;

use super::{PageArgs, ProductCard, User, note_if, user_text};
use crate::{Registry, ToolContext, ToolError, TypedTool, view};

pub fn register(registry: &mut Registry) {
    registry.add(ViewFeed);
}

#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// Posts of the people the shopper follows.
    #[default]
    Following,
    /// Every post.
    Discover,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedArgs {
    /// Default: following.
    pub which: Option<Which>,
    /// 1 to 20; default 10.
    pub limit: Option<u8>,
    pub cursor: Option<String>,
}

pub struct ViewFeed;

/// A picture or video of a post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Media {
    pub kind: String,
    pub url: String,
}

/// A post as feeds show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Post {
    pub id: String,
    /// What the author wrote, as data.
    pub text: String,
    pub likes: i64,
    pub comments: i64,
    /// The shopper likes it.
    pub liked: bool,
    pub at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<User>,
    /// Products the post shows, at most [`ATTACHED_SHOWN`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ProductCard>,
    #[serde(skip_serializing_if = "view::is_zero")]
    pub more_products: usize,
    /// At most [`ATTACHED_SHOWN`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<Media>,
    #[serde(skip_serializing_if = "view::is_zero")]
    pub more_media: usize,
}

/// Most products and most media a post shows in a feed, so that a post with all it may carry (nine of each)
/// stays a fraction of the result budget; the rest are counted.
pub const ATTACHED_SHOWN: usize = 3;

impl Post {
    pub fn of(p: &pb::Post) -> Self {
        let (products, more_products) = view::window(&p.products, 0, ATTACHED_SHOWN);
        let (media, more_media) = view::window(&p.media, 0, ATTACHED_SHOWN);
        Self {
            id: p.id.clone(),
            text: user_text(&p.text),
            likes: p.like_count,
            comments: p.comment_count,
            liked: p.viewer_liked,
            at_ms: p.created_at_ms,
            author: p.author.as_ref().map(User::of),
            products: products.iter().map(ProductCard::of).collect(),
            more_products,
            media: media
                .iter()
                .map(|m| Media {
                    kind: m.kind.clone(),
                    url: m.url.clone(),
                })
                .collect(),
            more_media,
        }
    }
}

/// `view_feed`: posts, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Feed {
    /// "following" or "discover".
    pub which: String,
    pub posts: Vec<Post>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[async_trait::async_trait]
impl TypedTool for ViewFeed {
    type Args = FeedArgs;
    type Output = Feed;
    const NAME: &'static str = "view_feed";
    const DESCRIPTION: &'static str = "Posts, newest first: which = following (people the shopper follows) or discover (everyone).";

    async fn run(&self, ctx: &ToolContext, args: FeedArgs) -> Result<Self::Output, ToolError> {
        let page = PageArgs {
            limit: args.limit,
            cursor: args.cursor,
        };
        let request = ctx.request(pb::FeedRequest {
            limit: page.limit()?,
            cursor: page.cursor(),
            latest_time_ms: 0,
        });
        let which = args.which.unwrap_or_default();
        let mut client = ctx.clients.posts.clone();
        let feed = match which {
            Which::Following => client.following_feed(request).await?,
            Which::Discover => client.discovery_feed(request).await?,
        }
        .into_inner();
        let which = match which {
            Which::Following => "following",
            Which::Discover => "discover",
        };
        let posts = feed.posts.iter().map(Post::of).collect();
        let (posts, next_cursor) =
            view::fit_page(posts, &feed.next_cursor, |p| (p.at_ms, p.id.clone()));
        Ok(Feed {
            which: which.to_owned(),
            note: note_if(!posts.is_empty()),
            posts,
            next_cursor,
        })
    }
}
