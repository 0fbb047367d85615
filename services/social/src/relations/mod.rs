//! The relation service: follows, followers, friends (mutual follows) and public profiles with their counts.

mod store;

use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::Principal,
    grpc::{Reply, anyone, signed_in},
    page::{self, Cursor},
};
use tokshop_proto::social::{self as pb, relation_service_server::RelationService};
use tonic::Request;

use crate::{Social, directory::card_of, user_or_self};
use store::{Direction, RelationRow, Store};

#[derive(Clone, Debug)]
pub(crate) struct RelationApi {
    social: Social,
    store: Store,
}

/// Which list a `List*` call asks for.
#[derive(Debug, Clone, Copy)]
enum List {
    Following,
    Followers,
    Friends,
}

impl RelationApi {
    pub fn new(social: Social) -> Self {
        Self {
            store: Store::new(social.db.clone()),
            social,
        }
    }

    /// Follows or unfollows `target` for `caller` and reports the relation afterwards.
    async fn set_follow(
        &self,
        caller: Principal,
        req: pb::FollowRequest,
        follow: bool,
    ) -> ServiceResult<pb::Relation> {
        let target = req.user_id.trim();
        if target.is_empty() {
            return Err(ServiceError::invalid("user_id", "name the user to follow"));
        }
        if target == caller.user_id {
            return Err(ServiceError::invalid(
                "user_id",
                "you cannot follow or unfollow yourself",
            ));
        }
        let profile = self.social.directory.profile(target).await?;
        let changed = self
            .store
            .set_follow(&caller.user_id, target, follow)
            .await?;
        // After the call the caller follows `target` exactly when they asked to.
        let following = follow;
        let followed_by = self.store.follows(target, &caller.user_id).await?;
        let followers = self.store.counts(target).await?.followers;
        Ok(pb::Relation {
            user: Some(pb::UserCard {
                viewer_follows: following,
                follows_viewer: followed_by,
                ..card_of(profile)
            }),
            following,
            followed_by,
            friends: following && followed_by,
            changed,
            followers,
        })
    }

    async fn list(
        &self,
        viewer: Option<Principal>,
        req: pb::ListRelationsRequest,
        list: List,
    ) -> ServiceResult<pb::ListRelationsResponse> {
        let viewer = viewer.as_ref();
        let user_id = user_or_self(req.user_id.trim(), viewer)?;
        let limit = page::limit(req.limit)?;
        let after = Cursor::decode(&req.cursor)?;
        // An unknown user is a 404, not an empty list.
        self.social.directory.profile(&user_id).await?;
        let rows = match list {
            List::Following => {
                self.store
                    .relations(&user_id, Direction::Following, &after, limit)
                    .await?
            }
            List::Followers => {
                self.store
                    .relations(&user_id, Direction::Followers, &after, limit)
                    .await?
            }
            List::Friends => self.store.friends(&user_id, &after, limit).await?,
        };
        let (rows, next_cursor) = page::finish(rows, limit, |r: &RelationRow| {
            (r.since_ms, r.user_id.clone())
        });
        let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
        let mut cards = self
            .social
            .directory
            .user_cards(viewer.map(|v| v.user_id.as_str()), &ids)
            .await?;
        let users = rows
            .into_iter()
            .filter_map(|r| {
                cards.remove(&r.user_id).map(|card| pb::UserCard {
                    since_ms: r.since_ms,
                    ..card
                })
            })
            .collect();
        Ok(pb::ListRelationsResponse { users, next_cursor })
    }

    async fn profile(
        &self,
        viewer: Option<Principal>,
        req: pb::GetProfileRequest,
    ) -> ServiceResult<pb::Profile> {
        let viewer = viewer.as_ref();
        let profile = if req.user_id.trim().is_empty() && !req.username.trim().is_empty() {
            self.social
                .directory
                .profile_by_username(&req.username)
                .await?
        } else {
            let user_id = user_or_self(req.user_id.trim(), viewer)?;
            self.social.directory.profile(&user_id).await?
        };
        let user_id = profile.id.clone();
        let (viewer_follows, follows_viewer) = match viewer {
            Some(v) if v.user_id != user_id => {
                let (following, followers) = self
                    .social
                    .directory
                    .relation_flags(&v.user_id, std::slice::from_ref(&user_id))
                    .await?;
                (following.contains(&user_id), followers.contains(&user_id))
            }
            _ => (false, false),
        };
        let stored = self.store.counts(&user_id).await?;
        let products = if profile.is_seller {
            self.social.directory.listed_products(&user_id).await?
        } else {
            0
        };
        let counts = pb::ProfileCounts {
            following: stored.following,
            followers: stored.followers,
            friends: self.store.friend_count(&user_id).await?,
            posts: stored.posts,
            products,
            likes_received: stored.likes_received,
            favorites: stored.favorites,
        };
        let bio = profile.bio.clone();
        let joined_at_ms = profile.joined_at_ms;
        Ok(pb::Profile {
            user: Some(pb::UserCard {
                viewer_follows,
                follows_viewer,
                ..card_of(profile)
            }),
            bio,
            joined_at_ms,
            counts: Some(counts),
        })
    }
}

#[tonic::async_trait]
impl RelationService for RelationApi {
    async fn follow(&self, request: Request<pb::FollowRequest>) -> Reply<pb::Relation> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.set_follow(caller, req, true)
        })
        .await
    }

    async fn unfollow(&self, request: Request<pb::FollowRequest>) -> Reply<pb::Relation> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.set_follow(caller, req, false)
        })
        .await
    }

    async fn list_following(
        &self,
        request: Request<pb::ListRelationsRequest>,
    ) -> Reply<pb::ListRelationsResponse> {
        anyone(&self.social.keys, request, |viewer, req| {
            self.list(viewer, req, List::Following)
        })
        .await
    }

    async fn list_followers(
        &self,
        request: Request<pb::ListRelationsRequest>,
    ) -> Reply<pb::ListRelationsResponse> {
        anyone(&self.social.keys, request, |viewer, req| {
            self.list(viewer, req, List::Followers)
        })
        .await
    }

    async fn list_friends(
        &self,
        request: Request<pb::ListRelationsRequest>,
    ) -> Reply<pb::ListRelationsResponse> {
        anyone(&self.social.keys, request, |viewer, req| {
            self.list(viewer, req, List::Friends)
        })
        .await
    }

    async fn get_profile(&self, request: Request<pb::GetProfileRequest>) -> Reply<pb::Profile> {
        anyone(&self.social.keys, request, |viewer, req| {
            self.profile(viewer, req)
        })
        .await
    }
}
