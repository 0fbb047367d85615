//! Feeds: posts of the people the shopper follows, or every post.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokshop_proto::social as pb;

use super::{PageArgs, USER_CONTENT_NOTE, product, user, user_text, with_next};
use crate::{Registry, ToolContext, ToolError, TypedTool};

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
    /// following (default) or discover.
    pub which: Option<Which>,
    /// 1 to 20; default 10.
    pub limit: Option<u8>,
    /// next_cursor of the previous page.
    pub cursor: Option<String>,
}

pub struct ViewFeed;

pub fn post(p: &pb::Post) -> Value {
    let mut value = json!({
        "id": p.id, "text": user_text(&p.text), "likes": p.like_count, "comments": p.comment_count,
        "liked": p.viewer_liked, "at_ms": p.created_at_ms,
    });
    if let Some(author) = &p.author {
        value["author"] = user(author);
    }
    if !p.products.is_empty() {
        value["products"] = p.products.iter().map(product).collect();
    }
    if !p.media.is_empty() {
        value["media"] = p
            .media
            .iter()
            .map(|m| json!({"kind": m.kind, "url": m.url}))
            .collect();
    }
    value
}

#[async_trait::async_trait]
impl TypedTool for ViewFeed {
    type Args = FeedArgs;
    type Output = Value;
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
        let posts: Vec<Value> = feed.posts.iter().map(post).collect();
        let which = match which {
            Which::Following => "following",
            Which::Discover => "discover",
        };
        let mut value = json!({"which": which, "posts": posts});
        if !feed.posts.is_empty() {
            value["note"] = json!(USER_CONTENT_NOTE);
        }
        Ok(with_next(value, &feed.next_cursor))
    }
}
