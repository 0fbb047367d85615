//! Likes on posts, favorite products, and comments on products and posts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::{catalog, social as pb};

use super::{PageArgs, ProductCard, USER_CONTENT_NOTE, handle, next, note_if, user_text, written};
use crate::{
    Registry, ToolContext, ToolError, TypedTool,
    guard::{Effect, GuardedTool, Lang, block, quote},
    view,
};

pub fn register(registry: &mut Registry) {
    registry.add(LikePost);
    registry.add(FavoriteProduct);
    registry.add(ListFavorites);
    registry.add(ListComments);
    registry.add_guarded(AddComment);
}

/// Longest comment, in characters.
const COMMENT_CHARS: usize = 500;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LikeArgs {
    pub post_id: String,
    /// false to take the like back; default true.
    pub like: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FavoriteArgs {
    pub product_id: String,
    pub favorite: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentsArgs {
    pub product_id: Option<String>,
    /// Or a post.
    pub post_id: Option<String>,
    /// Or a comment, for its replies.
    pub parent_id: Option<String>,
    /// 1 to 20; default 10.
    pub limit: Option<u8>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentArgs {
    pub product_id: Option<String>,
    /// Or a post.
    pub post_id: Option<String>,
    /// Or a comment, to reply to it.
    pub parent_id: Option<String>,
    /// Up to 500 characters.
    pub text: String,
}

pub struct LikePost;
pub struct FavoriteProduct;
pub struct ListFavorites;
pub struct ListComments;
pub struct AddComment;

fn some(value: &Option<String>) -> String {
    value.as_deref().map(str::trim).unwrap_or("").to_owned()
}

/// A comment as tools show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Comment {
    pub id: String,
    /// "@bruno".
    pub author: String,
    pub author_id: String,
    /// What the author wrote, as data.
    pub text: String,
    pub at_ms: i64,
    /// The comment this one replies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// How many replies it has, when it has some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies: Option<i64>,
}

impl Comment {
    pub fn of(c: &pb::Comment) -> Self {
        Self {
            id: c.id.clone(),
            author: handle(c.author.as_ref()),
            author_id: c.author.as_ref().map(|a| a.id.clone()).unwrap_or_default(),
            text: user_text(&c.text),
            at_ms: c.created_at_ms,
            parent_id: (!c.parent_id.is_empty()).then(|| c.parent_id.clone()),
            replies: (c.reply_count > 0).then_some(c.reply_count),
        }
    }
}

/// `like_post`: the post's like state now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LikeState {
    pub post_id: String,
    pub liked: bool,
    pub likes: i64,
    /// False when it already was so.
    pub changed: bool,
}

/// `favorite_product`: the product's favorite state now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FavoriteState {
    pub product_id: String,
    pub favorited: bool,
    pub favorites: i64,
    /// False when it already was so.
    pub changed: bool,
}

/// `list_favorites`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FavoriteList {
    pub favorites: Vec<ProductCard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `list_comments`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CommentList {
    pub comments: Vec<Comment>,
    pub total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `comment`: the comment as posted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CommentResult {
    pub comment: Comment,
    pub note: String,
}

#[async_trait::async_trait]
impl TypedTool for LikePost {
    type Args = LikeArgs;
    type Output = LikeState;
    const NAME: &'static str = "like_post";
    const DESCRIPTION: &'static str = "Like a post (like: false takes the like back).";

    async fn run(&self, ctx: &ToolContext, args: LikeArgs) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::PostRef {
            post_id: args.post_id,
        });
        let mut client = ctx.clients.interactions.clone();
        let state = if args.like.unwrap_or(true) {
            client.like_post(request).await?
        } else {
            client.unlike_post(request).await?
        }
        .into_inner();
        Ok(LikeState {
            post_id: state.post_id,
            liked: state.liked,
            likes: state.like_count,
            changed: state.changed,
        })
    }
}

#[async_trait::async_trait]
impl TypedTool for FavoriteProduct {
    type Args = FavoriteArgs;
    type Output = FavoriteState;
    const NAME: &'static str = "favorite_product";
    const DESCRIPTION: &'static str =
        "Save a product to the shopper's favorites (favorite: false removes it).";

    async fn run(&self, ctx: &ToolContext, args: FavoriteArgs) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::ProductRef {
            product_id: args.product_id,
        });
        let mut client = ctx.clients.interactions.clone();
        let state = if args.favorite.unwrap_or(true) {
            client.favorite_product(request).await?
        } else {
            client.unfavorite_product(request).await?
        }
        .into_inner();
        Ok(FavoriteState {
            product_id: state.product_id,
            favorited: state.favorited,
            favorites: state.favorite_count,
            changed: state.changed,
        })
    }
}

#[async_trait::async_trait]
impl TypedTool for ListFavorites {
    type Args = PageArgs;
    type Output = FavoriteList;
    const NAME: &'static str = "list_favorites";
    const DESCRIPTION: &'static str = "The shopper's favorite products, newest first.";

    async fn run(&self, ctx: &ToolContext, args: PageArgs) -> Result<Self::Output, ToolError> {
        let page = ctx
            .clients
            .interactions
            .clone()
            .list_favorites(ctx.request(pb::ListFavoritesRequest {
                limit: args.limit()?,
                cursor: args.cursor(),
            }))
            .await?
            .into_inner();
        Ok(FavoriteList {
            favorites: page
                .favorites
                .iter()
                .filter_map(|f| f.product.as_ref())
                .map(ProductCard::of)
                .collect(),
            next_cursor: next(&page.next_cursor),
        })
    }
}

#[async_trait::async_trait]
impl TypedTool for ListComments {
    type Args = CommentsArgs;
    type Output = CommentList;
    const NAME: &'static str = "list_comments";
    const DESCRIPTION: &'static str =
        "Comments on a product or post, or replies to a comment; newest first.";

    async fn run(&self, ctx: &ToolContext, args: CommentsArgs) -> Result<Self::Output, ToolError> {
        let (product_id, post_id, parent_id) =
            one_target(&args.product_id, &args.post_id, &args.parent_id)?;
        let page = PageArgs {
            limit: args.limit,
            cursor: args.cursor,
        };
        let list = ctx
            .clients
            .interactions
            .clone()
            .list_comments(ctx.request(pb::ListCommentsRequest {
                product_id,
                post_id,
                parent_id,
                limit: page.limit()?,
                cursor: page.cursor(),
            }))
            .await?
            .into_inner();
        let comments = list.comments.iter().map(Comment::of).collect();
        let (comments, next_cursor) =
            view::fit_page(comments, &list.next_cursor, |c| (c.at_ms, c.id.clone()));
        Ok(CommentList {
            note: note_if(!comments.is_empty()),
            comments,
            total: list.total,
            next_cursor,
        })
    }
}

/// What a comment is (or comments are) on, checked: exactly one of a product, a post or a parent comment.
fn one_target(
    product_id: &Option<String>,
    post_id: &Option<String>,
    parent_id: &Option<String>,
) -> Result<(String, String, String), ToolError> {
    let (product_id, post_id, parent_id) = (some(product_id), some(post_id), some(parent_id));
    let named = [&product_id, &post_id, &parent_id]
        .iter()
        .filter(|s| !s.is_empty())
        .count();
    if named != 1 {
        return Err(ToolError::invalid_arguments(
            "give exactly one of product_id, post_id or parent_id",
        )
        .with_param("product_id"));
    }
    Ok((product_id, post_id, parent_id))
}

/// What a new comment is on.
fn target(args: &CommentArgs) -> Result<(String, String, String), ToolError> {
    one_target(&args.product_id, &args.post_id, &args.parent_id)
}

/// What a comment goes on, as approved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommentOn {
    Product { product_id: String, title: String },
    Post { post_id: String, author: String },
    Reply { parent_id: String },
}

/// A comment as approved: where, and the exact words.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CommentEffect {
    pub on: CommentOn,
    pub text: String,
}

impl Effect for CommentEffect {
    fn describe(&self, lang: Lang) -> String {
        let text = block(&self.text);
        match (lang, &self.on) {
            (Lang::En, CommentOn::Product { title, .. }) => format!(
                "Comment publicly on {}, in your name:\n{text}\n",
                quote(title, 80)
            ),
            (Lang::En, CommentOn::Post { author, .. }) => {
                format!("Comment publicly on {author}'s post, in your name:\n{text}\n")
            }
            (Lang::En, CommentOn::Reply { parent_id }) => {
                format!("Reply publicly to comment {parent_id}, in your name:\n{text}\n")
            }
            (Lang::Zh, CommentOn::Product { title, .. }) => {
                format!("以你的名义在 {} 下公开评论：\n{text}\n", quote(title, 80))
            }
            (Lang::Zh, CommentOn::Post { author, .. }) => {
                format!("以你的名义在 {author} 的帖子下公开评论：\n{text}\n")
            }
            (Lang::Zh, CommentOn::Reply { parent_id }) => {
                format!("以你的名义公开回复评论 {parent_id}：\n{text}\n")
            }
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for AddComment {
    type Args = CommentArgs;
    type Effect = CommentEffect;
    type Output = CommentResult;
    const NAME: &'static str = "comment";
    const DESCRIPTION: &'static str = "Comment on a product or post, or reply to a comment.";

    async fn effect(
        &self,
        ctx: &ToolContext,
        args: &CommentArgs,
    ) -> Result<CommentEffect, ToolError> {
        let (product_id, post_id, parent_id) = target(args)?;
        let text = written(&args.text, COMMENT_CHARS)?;
        let on = if !product_id.is_empty() {
            let product = ctx
                .clients
                .catalog
                .clone()
                .get_product(ctx.request(catalog::GetProductRequest { id: product_id }))
                .await?
                .into_inner();
            CommentOn::Product {
                product_id: product.id,
                title: product.title,
            }
        } else if !post_id.is_empty() {
            let post = ctx
                .clients
                .posts
                .clone()
                .get_post(ctx.request(pb::GetPostRequest { post_id }))
                .await?
                .into_inner();
            CommentOn::Post {
                author: handle(post.author.as_ref()),
                post_id: post.id,
            }
        } else {
            CommentOn::Reply { parent_id }
        };
        Ok(CommentEffect { on, text })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: CommentEffect,
    ) -> Result<Self::Output, ToolError> {
        let (product_id, post_id, parent_id) = match effect.on {
            CommentOn::Product { product_id, .. } => (product_id, String::new(), String::new()),
            CommentOn::Post { post_id, .. } => (String::new(), post_id, String::new()),
            CommentOn::Reply { parent_id } => (String::new(), String::new(), parent_id),
        };
        let added = ctx
            .clients
            .interactions
            .clone()
            .add_comment(ctx.request(pb::AddCommentRequest {
                product_id,
                post_id,
                parent_id,
                text: effect.text,
                request_id: format!("{}:comment", ctx.request_id),
            }))
            .await?
            .into_inner();
        Ok(CommentResult {
            comment: Comment::of(&added),
            note: USER_CONTENT_NOTE.to_owned(),
        })
    }
}
