//! Posts and feeds: publish a post (text, uploaded media, linked products), read or delete one, a user's posts,
//! the following feed and the discovery feed, newest first.

use tokshop_platform::non_empty;
use tokshop_proto::social as pb;

use crate::{
    handler::prelude::*,
    shapes::{Media, PageQuery, ProductCard, UserCard},
};

/// A post with its author, media, linked products (priced now) and counts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Post {
    pub id: String,
    pub author: Option<UserCard>,
    pub text: String,
    pub media: Vec<Media>,
    pub products: Vec<ProductCard>,
    pub like_count: i64,
    pub comment_count: i64,
    /// The signed-in viewer likes this post.
    pub viewer_liked: bool,
    pub created_at_ms: i64,
    /// Plain-language notes, e.g. that a video's cover is a placeholder.
    pub notices: Vec<String>,
}

impl From<pb::Post> for Post {
    fn from(p: pb::Post) -> Self {
        Self {
            id: p.id,
            author: p.author.map(UserCard::from),
            text: p.text,
            media: p.media.into_iter().map(Media::from).collect(),
            products: p.products.into_iter().map(ProductCard::from).collect(),
            like_count: p.like_count,
            comment_count: p.comment_count,
            viewer_liked: p.viewer_liked,
            created_at_ms: p.created_at_ms,
            notices: p.notices,
        }
    }
}

/// One page of posts, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedPage {
    pub posts: Vec<Post>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// The oldest post's time on this page (ms), to pass as `latest_time`; null when the page is empty.
    pub next_time: Option<i64>,
}

impl From<pb::FeedPage> for FeedPage {
    fn from(p: pb::FeedPage) -> Self {
        Self {
            posts: p.posts.into_iter().map(Post::from).collect(),
            next_cursor: non_empty(p.next_cursor),
            next_time: (p.next_time_ms > 0).then_some(p.next_time_ms),
        }
    }
}

/// A new post: text (up to 2000 characters), up to 9 media ids you uploaded, up to 9 listed product ids; text or
/// media is required.
/// A post needs text or media. Repeated ids count once, but every one given counts towards the limit.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PublishPost {
    /// Plain text, counted after trimming.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub text: String,
    /// Media the author uploaded.
    #[serde(default)]
    #[schema(max_items = 9, max_length = 68)]
    pub media_ids: Vec<String>,
    /// Listed products to link.
    #[serde(default)]
    #[schema(max_items = 9, max_length = 64)]
    pub product_ids: Vec<String>,
}

/// Paging of feeds: `cursor` continues after the previous page; without one, `latest_time` (ms) shows only posts
/// published before it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// 1..=100, default 20.
    pub limit: Option<i32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only posts published before this instant (ms since the epoch); ignored with `cursor`.
    pub latest_time: Option<i64>,
}

impl FeedQuery {
    fn request(&self) -> pb::FeedRequest {
        pb::FeedRequest {
            limit: self.limit.unwrap_or(0),
            cursor: self.cursor.clone().unwrap_or_default(),
            latest_time_ms: self.latest_time.unwrap_or(0),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(publish_post))
        .routes(routes!(get_post, delete_post))
        .routes(routes!(user_posts))
        .routes(routes!(following_feed))
        .routes(routes!(discovery_feed))
}

/// Publish a post.
#[utoipa::path(post, path = "/api/v1/posts", tag = "posts", security(("bearer" = [])),
    request_body = PublishPost,
    responses((status = 201, description = "The new post (a retry with the same Idempotency-Key returns the first)",
            body = Post),
        (status = 422, description = "No text nor media, text refused by the content policy, media you did not upload, \
            or a product that is not listed", body = ErrorBody)))]
async fn publish_post(
    State(state): State<AppState>,
    user: AuthUser,
    RequestId(request_id): RequestId,
    ApiJson(body): ApiJson<PublishPost>,
) -> ApiResult<(StatusCode, Json<Post>)> {
    let request = pb::PublishPostRequest {
        text: body.text,
        media_ids: body.media_ids,
        product_ids: body.product_ids,
        request_id,
    };
    let request = authorized(request, user.token());
    created(state.posts().publish_post(request)).await
}

/// One post.
#[utoipa::path(get, path = "/api/v1/posts/{id}", tag = "posts", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Post id")),
    responses((status = 200, description = "The post", body = Post),
        (status = 404, description = "No such post", body = ErrorBody)))]
async fn get_post(
    State(state): State<AppState>,
    viewer: MaybeAuth,
    Path(post_id): Path<String>,
) -> ApiResult<Json<Post>> {
    let request = authorized(pb::GetPostRequest { post_id }, viewer.token());
    respond(state.posts().get_post(request)).await
}

/// Delete your post; its likes and comments go with it.
#[utoipa::path(delete, path = "/api/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Post id")),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = "Not your post", body = ErrorBody),
        (status = 404, description = "No such post", body = ErrorBody)))]
async fn delete_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(post_id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .posts()
        .delete_post(authorized(pb::GetPostRequest { post_id }, user.token()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's posts, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/posts", tag = "posts", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "User id"), PageQuery),
    responses((status = 200, description = "One page of posts", body = FeedPage),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn user_posts(
    State(state): State<AppState>,
    viewer: MaybeAuth,
    Path(user_id): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<FeedPage>> {
    let request = pb::ListUserPostsRequest {
        user_id,
        limit: page.limit(),
        cursor: page.cursor(),
    };
    let request = authorized(request, viewer.token());
    respond(state.posts().list_user_posts(request)).await
}

/// Posts of the users you follow, newest first.
#[utoipa::path(get, path = "/api/v1/feed/following", tag = "posts", security(("bearer" = [])),
    params(FeedQuery),
    responses((status = 200, description = "One page of posts", body = FeedPage)))]
async fn following_feed(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> ApiResult<Json<FeedPage>> {
    let request = authorized(query.request(), user.token());
    respond(state.posts().following_feed(request)).await
}

/// Every post, newest first.
#[utoipa::path(get, path = "/api/v1/feed/discover", tag = "posts", security((), ("bearer" = [])),
    params(FeedQuery),
    responses((status = 200, description = "One page of posts", body = FeedPage)))]
async fn discovery_feed(
    State(state): State<AppState>,
    viewer: MaybeAuth,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> ApiResult<Json<FeedPage>> {
    let request = authorized(query.request(), viewer.token());
    respond(state.posts().discovery_feed(request)).await
}
