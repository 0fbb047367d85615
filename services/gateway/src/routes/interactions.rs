//! Likes on posts, favorite products, comments with one level of replies, and the admin's count repair.

use tokshop_platform::non_empty;
use tokshop_proto::social as pb;

use crate::{
    handler::prelude::*,
    shapes::{PageQuery, ProductCard, UserCard},
};

/// The signed-in user's like of a post after the call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LikeState {
    pub post_id: String,
    pub liked: bool,
    pub like_count: i64,
    /// False when things already were as asked (liking again, unliking what is not liked).
    pub changed: bool,
}

impl From<pb::LikeState> for LikeState {
    fn from(s: pb::LikeState) -> Self {
        Self {
            post_id: s.post_id,
            liked: s.liked,
            like_count: s.like_count,
            changed: s.changed,
        }
    }
}

/// The signed-in user's favorite of a product after the call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FavoriteState {
    pub product_id: String,
    pub favorited: bool,
    pub favorite_count: i64,
    /// False when things already were as asked.
    pub changed: bool,
}

impl From<pb::FavoriteState> for FavoriteState {
    fn from(s: pb::FavoriteState) -> Self {
        Self {
            product_id: s.product_id,
            favorited: s.favorited,
            favorite_count: s.favorite_count,
            changed: s.changed,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Favorite {
    pub product: Option<ProductCard>,
    pub favorited_at_ms: i64,
}

/// One page of favorites, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FavoritePage {
    pub favorites: Vec<Favorite>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<pb::ListFavoritesResponse> for FavoritePage {
    fn from(r: pb::ListFavoritesResponse) -> Self {
        Self {
            favorites: r
                .favorites
                .into_iter()
                .map(|f| Favorite {
                    product: f.product.map(ProductCard::from),
                    favorited_at_ms: f.favorited_at_ms,
                })
                .collect(),
            next_cursor: non_empty(r.next_cursor),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Comment {
    pub id: String,
    /// Null unless the comment is on a product.
    pub product_id: Option<String>,
    /// Null unless the comment is on a post.
    pub post_id: Option<String>,
    /// Null for a top-level comment.
    pub parent_id: Option<String>,
    pub author: Option<UserCard>,
    pub text: String,
    pub created_at_ms: i64,
    pub reply_count: i64,
    /// The signed-in viewer may delete it (its author, or the seller of its product).
    pub deletable: bool,
}

impl From<pb::Comment> for Comment {
    fn from(c: pb::Comment) -> Self {
        Self {
            id: c.id,
            product_id: non_empty(c.product_id),
            post_id: non_empty(c.post_id),
            parent_id: non_empty(c.parent_id),
            author: c.author.map(UserCard::from),
            text: c.text,
            created_at_ms: c.created_at_ms,
            reply_count: c.reply_count,
            deletable: c.deletable,
        }
    }
}

/// One page of comments, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommentPage {
    pub comments: Vec<Comment>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// Comments on the product or post (replies included), or replies of the comment.
    pub total: i64,
}

impl From<pb::ListCommentsResponse> for CommentPage {
    fn from(r: pb::ListCommentsResponse) -> Self {
        Self {
            comments: r.comments.into_iter().map(Comment::from).collect(),
            next_cursor: non_empty(r.next_cursor),
            total: r.total,
        }
    }
}

/// A comment's text: 1..=500 characters of plain text that passes the content policy.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewComment {
    /// Plain text, counted after trimming.
    #[schema(min_length = 1, max_length = 500)]
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeletedComment {
    pub id: String,
    /// The comment plus its replies.
    pub deleted: i64,
}

/// Rows whose stored counts differed from the recount and were corrected.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RepairReport {
    pub users_fixed: i64,
    pub posts_fixed: i64,
    pub products_fixed: i64,
    pub comments_fixed: i64,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(like_post, unlike_post))
        .routes(routes!(favorite_product, unfavorite_product))
        .routes(routes!(list_favorites))
        .routes(routes!(product_comments, comment_on_product))
        .routes(routes!(post_comments, comment_on_post))
        .routes(routes!(replies, reply))
        .routes(routes!(delete_comment))
        .routes(routes!(repair_counts))
}

/// Like a post. Liking again changes nothing.
#[utoipa::path(put, path = "/api/v1/posts/{id}/like", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "Post id")),
    responses((status = 200, description = "The like after the call", body = LikeState),
        (status = 404, description = "No such post", body = ErrorBody)))]
async fn like_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(post_id): Path<String>,
) -> ApiResult<Json<LikeState>> {
    let request = authorized(pb::PostRef { post_id }, user.token());
    respond(state.interactions().like_post(request)).await
}

/// Take back a like. Unliking what is not liked changes nothing.
#[utoipa::path(delete, path = "/api/v1/posts/{id}/like", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "Post id")),
    responses((status = 200, description = "The like after the call", body = LikeState),
        (status = 404, description = "No such post", body = ErrorBody)))]
async fn unlike_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(post_id): Path<String>,
) -> ApiResult<Json<LikeState>> {
    let request = authorized(pb::PostRef { post_id }, user.token());
    respond(state.interactions().unlike_post(request)).await
}

/// Favorite a product. Favoriting again changes nothing.
#[utoipa::path(put, path = "/api/v1/products/{id}/favorite", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, description = "The favorite after the call", body = FavoriteState),
        (status = 404, description = "No such product", body = ErrorBody)))]
async fn favorite_product(
    State(state): State<AppState>,
    user: AuthUser,
    Path(product_id): Path<String>,
) -> ApiResult<Json<FavoriteState>> {
    let request = authorized(pb::ProductRef { product_id }, user.token());
    respond(state.interactions().favorite_product(request)).await
}

/// Remove a favorite (works even if the product is gone).
#[utoipa::path(delete, path = "/api/v1/products/{id}/favorite", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, description = "The favorite after the call", body = FavoriteState)))]
async fn unfavorite_product(
    State(state): State<AppState>,
    user: AuthUser,
    Path(product_id): Path<String>,
) -> ApiResult<Json<FavoriteState>> {
    let request = authorized(pb::ProductRef { product_id }, user.token());
    respond(state.interactions().unfavorite_product(request)).await
}

/// The signed-in user's favorite products, newest first, priced now; a product that is gone shows as unavailable.
#[utoipa::path(get, path = "/api/v1/me/favorites", tag = "social", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "One page of favorites", body = FavoritePage)))]
async fn list_favorites(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<FavoritePage>> {
    let request = pb::ListFavoritesRequest {
        limit: page.limit(),
        cursor: page.cursor(),
    };
    let request = authorized(request, user.token());
    respond(state.interactions().list_favorites(request)).await
}

/// What a list of comments, or a new comment, hangs on.
enum Thread {
    Product(String),
    Post(String),
    /// The replies of a top-level comment.
    Replies(String),
}

impl Thread {
    /// `(product_id, post_id, parent_id)` as the service takes them: the one that applies, the others empty.
    fn ids(self) -> (String, String, String) {
        match self {
            Self::Product(id) => (id, String::new(), String::new()),
            Self::Post(id) => (String::new(), id, String::new()),
            Self::Replies(id) => (String::new(), String::new(), id),
        }
    }
}

/// One page of a thread's comments, newest first.
async fn list(
    state: &AppState,
    caller: &MaybeAuth,
    thread: Thread,
    page: PageQuery,
) -> ApiResult<Json<CommentPage>> {
    let (product_id, post_id, parent_id) = thread.ids();
    let request = pb::ListCommentsRequest {
        product_id,
        post_id,
        parent_id,
        limit: page.limit(),
        cursor: page.cursor(),
    };
    let request = authorized(request, caller.token());
    respond(state.interactions().list_comments(request)).await
}

/// Adds a comment to a thread; a retry with the same request id returns the first.
async fn add(
    state: &AppState,
    user: &AuthUser,
    thread: Thread,
    request_id: String,
    body: NewComment,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    let (product_id, post_id, parent_id) = thread.ids();
    let request = pb::AddCommentRequest {
        product_id,
        post_id,
        parent_id,
        text: body.text,
        request_id,
    };
    let request = authorized(request, user.token());
    created(state.interactions().add_comment(request)).await
}

/// A product's top-level comments, newest first.
#[utoipa::path(get, path = "/api/v1/products/{id}/comments", tag = "social", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Product id"), PageQuery),
    responses((status = 200, description = "One page of comments", body = CommentPage)))]
async fn product_comments(
    State(state): State<AppState>,
    caller: MaybeAuth,
    Path(product_id): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<CommentPage>> {
    list(&state, &caller, Thread::Product(product_id), page).await
}

/// Comment on a product. With an `Idempotency-Key`, a retry returns the first comment.
#[utoipa::path(post, path = "/api/v1/products/{id}/comments", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")), request_body = NewComment,
    responses((status = 201, description = "The comment", body = Comment),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 422, description = "Empty, too long, or refused by the content policy", body = ErrorBody)))]
async fn comment_on_product(
    State(state): State<AppState>,
    user: AuthUser,
    RequestId(request_id): RequestId,
    Path(product_id): Path<String>,
    ApiJson(body): ApiJson<NewComment>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    add(&state, &user, Thread::Product(product_id), request_id, body).await
}

/// A post's top-level comments, newest first.
#[utoipa::path(get, path = "/api/v1/posts/{id}/comments", tag = "social", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Post id"), PageQuery),
    responses((status = 200, description = "One page of comments", body = CommentPage)))]
async fn post_comments(
    State(state): State<AppState>,
    caller: MaybeAuth,
    Path(post_id): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<CommentPage>> {
    list(&state, &caller, Thread::Post(post_id), page).await
}

/// Comment on a post. With an `Idempotency-Key`, a retry returns the first comment.
#[utoipa::path(post, path = "/api/v1/posts/{id}/comments", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "Post id")), request_body = NewComment,
    responses((status = 201, description = "The comment", body = Comment),
        (status = 404, description = "No such post", body = ErrorBody),
        (status = 422, description = "Empty, too long, or refused by the content policy", body = ErrorBody)))]
async fn comment_on_post(
    State(state): State<AppState>,
    user: AuthUser,
    RequestId(request_id): RequestId,
    Path(post_id): Path<String>,
    ApiJson(body): ApiJson<NewComment>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    add(&state, &user, Thread::Post(post_id), request_id, body).await
}

/// The replies to a top-level comment, newest first.
#[utoipa::path(get, path = "/api/v1/comments/{id}/replies", tag = "social", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Comment id"), PageQuery),
    responses((status = 200, description = "One page of replies", body = CommentPage),
        (status = 404, description = "No such comment", body = ErrorBody)))]
async fn replies(
    State(state): State<AppState>,
    caller: MaybeAuth,
    Path(parent_id): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<CommentPage>> {
    list(&state, &caller, Thread::Replies(parent_id), page).await
}

/// Reply to a top-level comment (replies go one level deep).
#[utoipa::path(post, path = "/api/v1/comments/{id}/replies", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "Comment id")), request_body = NewComment,
    responses((status = 201, description = "The reply", body = Comment),
        (status = 404, description = "No such comment", body = ErrorBody),
        (status = 422, description = "A reply to a reply, or text the policy refuses", body = ErrorBody)))]
async fn reply(
    State(state): State<AppState>,
    user: AuthUser,
    RequestId(request_id): RequestId,
    Path(parent_id): Path<String>,
    ApiJson(body): ApiJson<NewComment>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    add(&state, &user, Thread::Replies(parent_id), request_id, body).await
}

/// Delete a comment and its replies: its author may, and so may the seller of the product it is on.
#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "Comment id")),
    responses((status = 200, description = "What was deleted", body = DeletedComment),
        (status = 403, description = "Not yours to delete", body = ErrorBody),
        (status = 404, description = "No such comment", body = ErrorBody)))]
async fn delete_comment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<DeletedComment>> {
    let deleted = state
        .interactions()
        .delete_comment(authorized(pb::DeleteCommentRequest { id }, user.token()))
        .await?
        .into_inner();
    Ok(Json(DeletedComment {
        id: deleted.id,
        deleted: deleted.deleted,
    }))
}

/// Admin: recompute every stored social count from the rows and report what was corrected.
#[utoipa::path(post, path = "/api/v1/admin/social/repair-counts", tag = "social", security(("bearer" = [])),
    responses((status = 200, description = "What was corrected", body = RepairReport),
        (status = 403, description = "Not an admin", body = ErrorBody)))]
async fn repair_counts(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<RepairReport>> {
    let report = state
        .interactions()
        .repair_counts(authorized(pb::RepairCountsRequest {}, user.token()))
        .await?
        .into_inner();
    Ok(Json(RepairReport {
        users_fixed: report.users_fixed,
        posts_fixed: report.posts_fixed,
        products_fixed: report.products_fixed,
        comments_fixed: report.comments_fixed,
    }))
}
