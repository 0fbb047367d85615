//! The interaction service: likes on posts, favorite products, comments with one level of replies, and the
//! repair of stored counts.

mod store;

use std::collections::HashMap;

use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::{Principal, Role},
    grpc::{Reply, anyone, signed_in},
    limits::social::MAX_COMMENT,
    page::{self, Cursor},
};
use tokshop_proto::social::{self as pb, interaction_service_server::InteractionService};
use tonic::Request;

use crate::{Social, counts, directory::unknown_user};
use store::{CommentRow, Store, Target, Thread};

#[derive(Clone, Debug)]
pub(crate) struct InteractionApi {
    social: Social,
    store: Store,
}

fn required(param: &str, value: &str) -> ServiceResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ServiceError::invalid(param, format!("{param} is required")));
    }
    Ok(value.to_owned())
}

impl InteractionApi {
    pub fn new(social: Social) -> Self {
        Self {
            store: Store::new(social.db.clone()),
            social,
        }
    }

    async fn like(
        &self,
        caller: Principal,
        req: pb::PostRef,
        like: bool,
    ) -> ServiceResult<pb::LikeState> {
        let post_id = required("post_id", &req.post_id)?;
        let (changed, like_count) = self.store.set_like(&post_id, &caller.user_id, like).await?;
        Ok(pb::LikeState {
            // After the call the post is liked exactly when the caller asked it to be.
            liked: like,
            post_id,
            like_count,
            changed,
        })
    }

    async fn favorite(
        &self,
        caller: Principal,
        req: pb::ProductRef,
        favorite: bool,
    ) -> ServiceResult<pb::FavoriteState> {
        let product_id = required("product_id", &req.product_id)?;
        if favorite {
            self.social.directory.product(&product_id).await?;
        }
        let (changed, favorite_count) = self
            .store
            .set_favorite(&product_id, &caller.user_id, favorite)
            .await?;
        Ok(pb::FavoriteState {
            favorited: favorite,
            product_id,
            favorite_count,
            changed,
        })
    }

    async fn favorites(
        &self,
        caller: Principal,
        req: pb::ListFavoritesRequest,
    ) -> ServiceResult<pb::ListFavoritesResponse> {
        let limit = page::limit(req.limit)?;
        let after = Cursor::decode(&req.cursor)?;
        let rows = self.store.favorites(&caller.user_id, &after, limit).await?;
        let (rows, next_cursor) =
            page::finish(rows, limit, |r| (r.created_at_ms, r.product_id.clone()));
        let ids: Vec<String> = rows.iter().map(|r| r.product_id.clone()).collect();
        let mut cards = self.social.directory.products(&ids).await?;
        let favorites = rows
            .into_iter()
            .map(|r| pb::Favorite {
                // The catalog no longer knows it: still listed, as unavailable.
                product: Some(
                    cards
                        .remove(&r.product_id)
                        .unwrap_or_else(|| pb::ProductCard {
                            id: r.product_id.clone(),
                            available: false,
                            ..Default::default()
                        }),
                ),
                favorited_at_ms: r.created_at_ms,
            })
            .collect();
        Ok(pb::ListFavoritesResponse {
            favorites,
            next_cursor,
        })
    }

    /// Where a new comment goes (its parent's product or post for a reply, else exactly one of the two), and the
    /// seller of that product, who may delete it.
    async fn target(&self, req: &pb::AddCommentRequest) -> ServiceResult<(Target, Option<String>)> {
        let parent_id = req.parent_id.trim();
        if !parent_id.is_empty() {
            let parent = self
                .store
                .comment(parent_id)
                .await?
                .ok_or(ServiceError::not_found("comment"))?;
            if !parent.parent_id.is_empty() {
                return Err(ServiceError::invalid(
                    "parent_id",
                    "replies go one level deep: reply to the top-level comment instead",
                ));
            }
            let seller = self.seller_of(&parent.product_id).await?;
            let target = Target {
                product_id: parent.product_id,
                post_id: parent.post_id,
                parent_id: parent.id,
            };
            return Ok((target, seller));
        }
        let product_id = req.product_id.trim();
        let post_id = req.post_id.trim();
        let seller = match (product_id.is_empty(), post_id.is_empty()) {
            (false, true) => Some(self.social.directory.product(product_id).await?.seller_id),
            (true, false) => {
                if !self.store.post_exists(post_id).await? {
                    return Err(ServiceError::not_found("post"));
                }
                None
            }
            _ => {
                return Err(ServiceError::invalid(
                    "product_id",
                    "comment on exactly one of a product, a post or a comment (parent_id)",
                ));
            }
        };
        let target = Target {
            product_id: product_id.to_owned(),
            post_id: post_id.to_owned(),
            parent_id: String::new(),
        };
        Ok((target, seller))
    }

    /// The seller of the product a comment is on, if it is on a product the catalog still knows.
    async fn seller_of(&self, product_id: &str) -> ServiceResult<Option<String>> {
        if product_id.is_empty() {
            return Ok(None);
        }
        let cards = self
            .social
            .directory
            .products(&[product_id.to_owned()])
            .await?;
        Ok(cards.get(product_id).map(|c| c.seller_id.clone()))
    }

    /// Comments as the viewer sees them: author cards and whether the viewer may delete each.
    async fn shown(
        &self,
        viewer: Option<&Principal>,
        rows: Vec<CommentRow>,
        seller: Option<&str>,
    ) -> ServiceResult<Vec<pb::Comment>> {
        let viewer_id = viewer.map(|v| v.user_id.as_str());
        let authors: Vec<String> = rows.iter().map(|r| r.author_id.clone()).collect();
        let cards: HashMap<String, pb::UserCard> = self
            .social
            .directory
            .user_cards(viewer_id, &authors)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let deletable =
                    viewer_id.is_some_and(|v| v == r.author_id || seller.is_some_and(|s| s == v));
                pb::Comment {
                    author: Some(
                        cards
                            .get(&r.author_id)
                            .cloned()
                            .unwrap_or_else(|| unknown_user(&r.author_id)),
                    ),
                    id: r.id,
                    product_id: r.product_id,
                    post_id: r.post_id,
                    parent_id: r.parent_id,
                    text: r.text,
                    created_at_ms: r.created_at_ms,
                    reply_count: r.reply_count,
                    deletable,
                }
            })
            .collect())
    }

    async fn post_comment(
        &self,
        caller: Principal,
        req: pb::AddCommentRequest,
    ) -> ServiceResult<pb::Comment> {
        let text = self
            .social
            .policy
            .check("text", &req.text, 1, MAX_COMMENT)?;
        let (target, seller) = self.target(&req).await?;
        let row = self
            .store
            .add_comment(&target, &caller.user_id, &text, req.request_id.trim())
            .await?;
        let mut shown = self
            .shown(Some(&caller), vec![row], seller.as_deref())
            .await?;
        shown.pop().ok_or(ServiceError::not_found("comment"))
    }

    async fn remove_comment(
        &self,
        caller: Principal,
        req: pb::DeleteCommentRequest,
    ) -> ServiceResult<pb::DeleteCommentResponse> {
        let id = required("id", &req.id)?;
        let comment = self
            .store
            .comment(&id)
            .await?
            .ok_or(ServiceError::not_found("comment"))?;
        if comment.author_id != caller.user_id
            && self.seller_of(&comment.product_id).await?.as_deref()
                != Some(caller.user_id.as_str())
        {
            return Err(ServiceError::forbidden(
                "only the comment's author or the seller of its product may delete it",
            ));
        }
        let deleted = self.store.delete_comment(&comment, &caller.user_id).await?;
        Ok(pb::DeleteCommentResponse { id, deleted })
    }

    async fn comments(
        &self,
        viewer: Option<Principal>,
        req: pb::ListCommentsRequest,
    ) -> ServiceResult<pb::ListCommentsResponse> {
        let viewer = viewer.as_ref();
        let limit = page::limit(req.limit)?;
        let after = Cursor::decode(&req.cursor)?;
        let (thread, product_id) = match (
            req.parent_id.trim(),
            req.product_id.trim(),
            req.post_id.trim(),
        ) {
            ("", "", "") => {
                return Err(ServiceError::invalid(
                    "product_id",
                    "name the product, post or comment (parent_id) whose comments to list",
                ));
            }
            ("", "", post) => (Thread::Post(post.to_owned()), String::new()),
            ("", product, _) => (Thread::Product(product.to_owned()), product.to_owned()),
            (parent, _, _) => {
                let parent = self
                    .store
                    .comment(parent)
                    .await?
                    .ok_or(ServiceError::not_found("comment"))?;
                (Thread::Replies(parent.id), parent.product_id)
            }
        };
        let rows = self.store.comments(&thread, &after, limit).await?;
        let (rows, next_cursor) = page::finish(rows, limit, |r| (r.created_at_ms, r.id.clone()));
        let total = self.store.comment_total(&thread).await?;
        let seller = self.seller_of(&product_id).await?;
        Ok(pb::ListCommentsResponse {
            comments: self.shown(viewer, rows, seller.as_deref()).await?,
            next_cursor,
            total,
        })
    }

    /// Recomputes every stored count from the rows; for admins and the shop's own services.
    async fn repair(&self, caller: Principal) -> ServiceResult<pb::RepairCountsResponse> {
        if !caller.has(Role::Admin) && !caller.has(Role::Service) {
            return Err(ServiceError::forbidden(
                "repairing counts needs the admin role",
            ));
        }
        counts::repair(&self.social.db).await
    }
}

#[tonic::async_trait]
impl InteractionService for InteractionApi {
    async fn like_post(&self, request: Request<pb::PostRef>) -> Reply<pb::LikeState> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.like(caller, req, true)
        })
        .await
    }

    async fn unlike_post(&self, request: Request<pb::PostRef>) -> Reply<pb::LikeState> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.like(caller, req, false)
        })
        .await
    }

    async fn favorite_product(&self, request: Request<pb::ProductRef>) -> Reply<pb::FavoriteState> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.favorite(caller, req, true)
        })
        .await
    }

    async fn unfavorite_product(
        &self,
        request: Request<pb::ProductRef>,
    ) -> Reply<pb::FavoriteState> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.favorite(caller, req, false)
        })
        .await
    }

    async fn list_favorites(
        &self,
        request: Request<pb::ListFavoritesRequest>,
    ) -> Reply<pb::ListFavoritesResponse> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.favorites(caller, req)
        })
        .await
    }

    async fn add_comment(&self, request: Request<pb::AddCommentRequest>) -> Reply<pb::Comment> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.post_comment(caller, req)
        })
        .await
    }

    async fn delete_comment(
        &self,
        request: Request<pb::DeleteCommentRequest>,
    ) -> Reply<pb::DeleteCommentResponse> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.remove_comment(caller, req)
        })
        .await
    }

    async fn list_comments(
        &self,
        request: Request<pb::ListCommentsRequest>,
    ) -> Reply<pb::ListCommentsResponse> {
        anyone(&self.social.keys, request, |viewer, req| {
            self.comments(viewer, req)
        })
        .await
    }

    async fn repair_counts(
        &self,
        request: Request<pb::RepairCountsRequest>,
    ) -> Reply<pb::RepairCountsResponse> {
        signed_in(&self.social.keys, request, |caller, _| self.repair(caller)).await
    }
}
