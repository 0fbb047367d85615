//! Follows, followers, friends (mutual follows) and social profiles with their counts. `me` in place of a user
//! id names the signed-in user.

use tokshop_platform::non_empty;
use tokshop_proto::social as pb;

use crate::{
    handler::prelude::*,
    shapes::{PageQuery, UserCard},
};

/// The signed-in user's relation to another user after a follow or unfollow.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Relation {
    pub user: Option<UserCard>,
    /// You follow them.
    pub following: bool,
    /// They follow you.
    pub followed_by: bool,
    /// Mutual follows: direct messages are allowed.
    pub friends: bool,
    /// False when things already were as asked (a repeated follow or unfollow).
    pub changed: bool,
    /// Their follower count after the call.
    pub followers: i64,
}

impl From<pb::Relation> for Relation {
    fn from(r: pb::Relation) -> Self {
        Self {
            user: r.user.map(UserCard::from),
            following: r.following,
            followed_by: r.followed_by,
            friends: r.friends,
            changed: r.changed,
            followers: r.followers,
        }
    }
}

/// One page of users, newest relation first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserCard>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<pb::ListRelationsResponse> for UserPage {
    fn from(r: pb::ListRelationsResponse) -> Self {
        Self {
            users: r.users.into_iter().map(UserCard::from).collect(),
            next_cursor: non_empty(r.next_cursor),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProfileCounts {
    pub following: i64,
    pub followers: i64,
    /// Mutual follows.
    pub friends: i64,
    pub posts: i64,
    /// Listed products; sellers only, 0 for others.
    pub products: i64,
    /// Likes on this user's posts.
    pub likes_received: i64,
    /// Products this user has favorited.
    pub favorites: i64,
}

/// A public profile with its social counts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SocialProfile {
    pub user: Option<UserCard>,
    pub bio: String,
    pub joined_at_ms: i64,
    pub counts: ProfileCounts,
}

impl From<pb::Profile> for SocialProfile {
    fn from(p: pb::Profile) -> Self {
        let c = p.counts.unwrap_or_default();
        Self {
            user: p.user.map(UserCard::from),
            bio: p.bio,
            joined_at_ms: p.joined_at_ms,
            counts: ProfileCounts {
                following: c.following,
                followers: c.followers,
                friends: c.friends,
                posts: c.posts,
                products: c.products,
                likes_received: c.likes_received,
                favorites: c.favorites,
            },
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(follow, unfollow))
        .routes(routes!(following))
        .routes(routes!(followers))
        .routes(routes!(friends))
        .routes(routes!(social_profile))
}

/// `me` means the signed-in user, which the services take as an empty id.
fn user_id(id: String) -> String {
    if id == "me" { String::new() } else { id }
}

/// Follow a user or seller. Following again changes nothing.
#[utoipa::path(put, path = "/api/v1/users/{id}/follow", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The relation after the call", body = Relation),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Following yourself", body = ErrorBody)))]
async fn follow(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Relation>> {
    let request = authorized(pb::FollowRequest { user_id: id }, user.token());
    respond(state.relations().follow(request)).await
}

/// Stop following a user. Unfollowing someone you do not follow changes nothing.
#[utoipa::path(delete, path = "/api/v1/users/{id}/follow", tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The relation after the call", body = Relation),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn unfollow(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Relation>> {
    let request = authorized(pb::FollowRequest { user_id: id }, user.token());
    respond(state.relations().unfollow(request)).await
}

/// Which of a user's relations a list shows.
enum Listing {
    Following,
    Followers,
    /// Mutual follows.
    Friends,
}

/// One page of a user's relations, newest first.
async fn list(
    state: &AppState,
    caller: &MaybeAuth,
    id: String,
    page: PageQuery,
    listing: Listing,
) -> ApiResult<Json<UserPage>> {
    let request = pb::ListRelationsRequest {
        user_id: user_id(id),
        limit: page.limit(),
        cursor: page.cursor(),
    };
    let request = authorized(request, caller.token());
    let mut relations = state.relations();
    match listing {
        Listing::Following => respond(relations.list_following(request)).await,
        Listing::Followers => respond(relations.list_followers(request)).await,
        Listing::Friends => respond(relations.list_friends(request)).await,
    }
}

/// Whom a user follows, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/following", tag = "social", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "User id, or `me`"), PageQuery),
    responses((status = 200, description = "One page of users", body = UserPage),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn following(
    State(state): State<AppState>,
    caller: MaybeAuth,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<UserPage>> {
    list(&state, &caller, id, page, Listing::Following).await
}

/// Who follows a user, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/followers", tag = "social", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "User id, or `me`"), PageQuery),
    responses((status = 200, description = "One page of users", body = UserPage),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn followers(
    State(state): State<AppState>,
    caller: MaybeAuth,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<UserPage>> {
    list(&state, &caller, id, page, Listing::Followers).await
}

/// A user's friends (mutual follows), newest friendship first.
#[utoipa::path(get, path = "/api/v1/users/{id}/friends", tag = "social", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "User id, or `me`"), PageQuery),
    responses((status = 200, description = "One page of users", body = UserPage),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn friends(
    State(state): State<AppState>,
    caller: MaybeAuth,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<UserPage>> {
    list(&state, &caller, id, page, Listing::Friends).await
}

/// A user's public profile with following, follower, friend, post, product, like and favorite counts.
#[utoipa::path(get, path = "/api/v1/users/{id}/social-profile", tag = "social", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "User id, `me`, or `@username`")),
    responses((status = 200, description = "The profile", body = SocialProfile),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn social_profile(
    State(state): State<AppState>,
    caller: MaybeAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<SocialProfile>> {
    // `@name` names the user by username.
    let request = match id.strip_prefix('@') {
        Some(username) => pb::GetProfileRequest {
            username: username.to_owned(),
            ..Default::default()
        },
        None => pb::GetProfileRequest {
            user_id: user_id(id),
            ..Default::default()
        },
    };
    let request = authorized(request, caller.token());
    respond(state.relations().get_profile(request)).await
}
