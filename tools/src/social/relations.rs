//! Relations (following, followers, friends) and public profiles, and finding a user by the name the shopper
//! says.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::{catalog, identity, social as pb};

use super::{PageArgs, Person, USER_CONTENT_NOTE, User, next, user_text};
use crate::{
    Registry, ToolContext, ToolError, TypedTool,
    guard::{Effect, GuardedTool, Lang},
};

pub fn register(registry: &mut Registry) {
    registry.add_guarded(FollowUser);
    registry.add(UnfollowUser);
    registry.add(ListFollowing);
    registry.add(ListFollowers);
    registry.add(ViewProfile);
}

/// Someone, by id or by name.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserArgs {
    /// usr_...
    pub user_id: Option<String>,
    /// Or a username or shop name.
    pub username: Option<String>,
}

impl UserArgs {
    pub fn given(&self) -> bool {
        self.user_id
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
            || self
                .username
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
    }
}

/// Products scanned for their sellers when a name is not among the shopper's own relations or post authors.
const SELLER_SCAN: i32 = 100;

/// Lowercase, no `@`, no spaces: "@TrailCo", "Trail Co" and "trailco" are one name.
fn name_key(name: &str) -> String {
    name.trim()
        .trim_start_matches('@')
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn card_matches(key: &str, username: &str, shop_name: &str) -> bool {
    name_key(username) == key || (!shop_name.is_empty() && name_key(shop_name) == key)
}

/// The user a name means: the user with that exact username (case and a leading @ aside), else the one whose
/// shop name it is among those the shopper can see (whom they follow, their followers, authors of recent posts,
/// sellers of listed products). Two different users answering to a shop name is an error, never a guess.
async fn find_by_name(ctx: &ToolContext, name: &str) -> Result<String, ToolError> {
    let key = name_key(name);
    let not_found = || {
        ToolError::new(
            "user_not_found",
            format!("no user named {name}, and no shop of that name among the people you follow, your followers, post authors or sellers"),
        )
        .with_param("username")
    };
    if key.is_empty() {
        return Err(not_found());
    }
    // A username is unique: an exact one is the answer. Shop names are not, so those are looked for below.
    let by_username = ctx
        .clients
        .relations
        .clone()
        .get_profile(ctx.request(pb::GetProfileRequest {
            username: name.to_owned(),
            ..Default::default()
        }))
        .await;
    match by_username {
        Ok(profile) => {
            if let Some(card) = profile.into_inner().user {
                return Ok(card.id);
            }
        }
        Err(status) if status.code() == tonic::Code::NotFound => {}
        Err(status) => return Err(status.into()),
    }
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    let note = |found: &mut BTreeMap<String, String>, id: &str, username: &str, shop: &str| {
        if card_matches(&key, username, shop) {
            found.insert(id.to_owned(), username.to_owned());
        }
    };
    let page = |limit| pb::ListRelationsRequest {
        user_id: String::new(),
        limit,
        cursor: String::new(),
    };
    let mut relations = ctx.clients.relations.clone();
    let following = relations.list_following(ctx.request(page(50))).await?;
    let followers = relations.list_followers(ctx.request(page(50))).await?;
    for card in following
        .into_inner()
        .users
        .iter()
        .chain(&followers.into_inner().users)
    {
        note(&mut found, &card.id, &card.username, &card.shop_name);
    }
    if found.is_empty() {
        let feed = ctx
            .clients
            .posts
            .clone()
            .discovery_feed(ctx.request(pb::FeedRequest {
                limit: 50,
                cursor: String::new(),
                latest_time_ms: 0,
            }))
            .await?
            .into_inner();
        for card in feed.posts.iter().filter_map(|p| p.author.as_ref()) {
            note(&mut found, &card.id, &card.username, &card.shop_name);
        }
    }
    if found.is_empty() {
        let products = ctx
            .clients
            .catalog
            .clone()
            .search_products(ctx.request(catalog::SearchProductsRequest {
                sort: catalog::SortOrder::Newest as i32,
                limit: SELLER_SCAN,
                ..Default::default()
            }))
            .await?
            .into_inner()
            .products;
        let mut sellers: Vec<String> = products.into_iter().map(|p| p.seller_id).collect();
        sellers.sort();
        sellers.dedup();
        if !sellers.is_empty() {
            let profiles = ctx
                .clients
                .identity
                .clone()
                .get_public_profiles(
                    ctx.request(identity::GetPublicProfilesRequest { user_ids: sellers }),
                )
                .await?
                .into_inner()
                .profiles;
            for p in &profiles {
                note(&mut found, &p.id, &p.username, &p.shop_name);
            }
        }
    }
    let mut ids = found.into_iter();
    match (ids.next(), ids.next()) {
        (Some((id, _)), None) => Ok(id),
        (Some((_, a)), Some((_, b))) => Err(ToolError::new(
            "ambiguous_user",
            format!("{name} could be @{a} or @{b}; give the username"),
        )
        .with_param("username")),
        (None, _) => Err(not_found()),
    }
}

/// The id of the user the arguments name (the id as given, else found by name).
pub async fn user_id(ctx: &ToolContext, args: &UserArgs) -> Result<String, ToolError> {
    match (&args.user_id, &args.username) {
        (Some(id), _) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
        (_, Some(name)) if !name.trim().is_empty() => find_by_name(ctx, name).await,
        _ => Err(ToolError::invalid_arguments("give user_id or username").with_param("user_id")),
    }
}

/// The public profile of the user the arguments name (the shopper's own when they name nobody).
pub async fn profile(ctx: &ToolContext, args: &UserArgs) -> Result<pb::Profile, ToolError> {
    let id = if args.given() {
        user_id(ctx, args).await?
    } else {
        String::new()
    };
    Ok(ctx
        .clients
        .relations
        .clone()
        .get_profile(ctx.request(pb::GetProfileRequest {
            user_id: id,
            ..Default::default()
        }))
        .await?
        .into_inner())
}

/// The person the arguments name, as a pending action freezes them; naming nobody is an error.
pub async fn person(ctx: &ToolContext, args: &UserArgs) -> Result<Person, ToolError> {
    if !args.given() {
        return Err(ToolError::invalid_arguments("give user_id or username").with_param("user_id"));
    }
    let profile = profile(ctx, args).await?;
    let card = profile
        .user
        .as_ref()
        .ok_or_else(|| ToolError::new("user_not_found", "no such user").with_param("user_id"))?;
    Ok(Person::of(card))
}

/// The shopper's relation to someone, after a follow or an unfollow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Relation {
    pub following: bool,
    pub followed_by: bool,
    /// Mutual follows: messages allowed.
    pub friends: bool,
    /// False when nothing changed (already followed, or not followed).
    pub changed: bool,
    /// Their follower count now.
    pub followers: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

impl Relation {
    pub fn of(r: &pb::Relation) -> Self {
        Self {
            following: r.following,
            followed_by: r.followed_by,
            friends: r.friends,
            changed: r.changed,
            followers: r.followers,
            user: r.user.as_ref().map(User::of),
        }
    }
}

/// `follow_user`, `unfollow_user`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RelationResult {
    pub relation: Relation,
}

/// `list_following`, `list_followers`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct UserList {
    pub users: Vec<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A profile's counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ProfileCounts {
    pub followers: i64,
    pub following: i64,
    pub friends: i64,
    pub posts: i64,
    pub products: i64,
    pub likes_received: i64,
    pub favorites: i64,
}

/// `view_profile`: a public profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PublicProfile {
    pub counts: ProfileCounts,
    pub joined_at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// What they wrote about themselves, as data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub struct FollowUser;
pub struct UnfollowUser;
pub struct ListFollowing;
pub struct ListFollowers;
pub struct ViewProfile;

/// Following someone, as approved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FollowEffect {
    pub user: Person,
}

impl Effect for FollowEffect {
    fn describe(&self, lang: Lang) -> String {
        match lang {
            Lang::En => format!("Follow {}.", self.user.label()),
            Lang::Zh => format!("关注 {}。", self.user.label()),
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for FollowUser {
    type Args = UserArgs;
    type Effect = FollowEffect;
    type Output = RelationResult;
    const NAME: &'static str = "follow_user";
    const DESCRIPTION: &'static str = "Follow a user or seller.";

    async fn effect(&self, ctx: &ToolContext, args: &UserArgs) -> Result<FollowEffect, ToolError> {
        Ok(FollowEffect {
            user: person(ctx, args).await?,
        })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: FollowEffect,
    ) -> Result<Self::Output, ToolError> {
        let relation = ctx
            .clients
            .relations
            .clone()
            .follow(ctx.request(pb::FollowRequest {
                user_id: effect.user.user_id,
            }))
            .await?
            .into_inner();
        Ok(RelationResult {
            relation: Relation::of(&relation),
        })
    }
}

#[async_trait::async_trait]
impl TypedTool for UnfollowUser {
    type Args = UserArgs;
    type Output = RelationResult;
    const NAME: &'static str = "unfollow_user";
    const DESCRIPTION: &'static str = "Stop following a user or seller.";

    async fn run(&self, ctx: &ToolContext, args: UserArgs) -> Result<Self::Output, ToolError> {
        let user_id = user_id(ctx, &args).await?;
        let relation = ctx
            .clients
            .relations
            .clone()
            .unfollow(ctx.request(pb::FollowRequest { user_id }))
            .await?
            .into_inner();
        Ok(RelationResult {
            relation: Relation::of(&relation),
        })
    }
}

async fn relations_page(
    ctx: &ToolContext,
    args: &PageArgs,
    followers: bool,
) -> Result<UserList, ToolError> {
    let request = ctx.request(pb::ListRelationsRequest {
        user_id: String::new(),
        limit: args.limit()?,
        cursor: args.cursor(),
    });
    let mut client = ctx.clients.relations.clone();
    let page = if followers {
        client.list_followers(request).await?
    } else {
        client.list_following(request).await?
    }
    .into_inner();
    Ok(UserList {
        users: page.users.iter().map(User::of).collect(),
        next_cursor: next(&page.next_cursor),
    })
}

#[async_trait::async_trait]
impl TypedTool for ListFollowing {
    type Args = PageArgs;
    type Output = UserList;
    const NAME: &'static str = "list_following";
    const DESCRIPTION: &'static str = "The users and sellers the shopper follows, newest first.";

    async fn run(&self, ctx: &ToolContext, args: PageArgs) -> Result<Self::Output, ToolError> {
        relations_page(ctx, &args, false).await
    }
}

#[async_trait::async_trait]
impl TypedTool for ListFollowers {
    type Args = PageArgs;
    type Output = UserList;
    const NAME: &'static str = "list_followers";
    const DESCRIPTION: &'static str = "The users who follow the shopper, newest first.";

    async fn run(&self, ctx: &ToolContext, args: PageArgs) -> Result<Self::Output, ToolError> {
        relations_page(ctx, &args, true).await
    }
}

#[async_trait::async_trait]
impl TypedTool for ViewProfile {
    type Args = UserArgs;
    type Output = PublicProfile;
    const NAME: &'static str = "view_profile";
    const DESCRIPTION: &'static str =
        "A public profile and its counts; the shopper's own when no one is named.";

    async fn run(&self, ctx: &ToolContext, args: UserArgs) -> Result<Self::Output, ToolError> {
        let profile = profile(ctx, &args).await?;
        let counts = profile.counts.unwrap_or_default();
        let bio = !profile.bio.is_empty();
        Ok(PublicProfile {
            counts: ProfileCounts {
                followers: counts.followers,
                following: counts.following,
                friends: counts.friends,
                posts: counts.posts,
                products: counts.products,
                likes_received: counts.likes_received,
                favorites: counts.favorites,
            },
            joined_at_ms: profile.joined_at_ms,
            user: profile.user.as_ref().map(User::of),
            bio: bio.then(|| user_text(&profile.bio)),
            note: bio.then(|| USER_CONTENT_NOTE.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_by_username_or_shop_name() {
        let key = name_key("@TrailCo");
        assert_eq!(key, "trailco");
        assert!(card_matches(&key, "trailco", ""));
        assert!(card_matches(
            &name_key("Trail Co"),
            "tc_official",
            "Trail Co"
        ));
        assert!(!card_matches(&key, "trailco2", "Trail Company"));
        assert!(!card_matches("", "bruno", ""));
    }
}
