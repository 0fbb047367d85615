//! Who and what social views show: users as cards (public profiles from the identity service, with the viewer's
//! follow flags from this service's own table) and products as cards (from the catalog, live price and stock).

use std::collections::{HashMap, HashSet};

use tokshop_platform::{
    ServiceError, ServiceResult, db::Db, grpc::GrpcChannel, page::placeholders,
};
use tokshop_proto::{
    catalog::{
        CountSellerProductsRequest, GetProductCardsRequest,
        catalog_service_client::CatalogServiceClient,
    },
    identity::{
        GetPublicProfileRequest, GetPublicProfilesRequest, PublicProfile,
        identity_service_client::IdentityServiceClient,
    },
    social as pb,
};

/// Most ids the identity and catalog services take per lookup.
const BATCH: usize = 100;

#[derive(Clone, Debug)]
pub struct Directory {
    db: Db,
    identity: IdentityServiceClient<GrpcChannel>,
    catalog: CatalogServiceClient<GrpcChannel>,
}

/// `ids` without repeats or empties, in first-seen order.
fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.iter()
        .filter(|id| !id.is_empty() && seen.insert(id.as_str()))
        .cloned()
        .collect()
}

impl Directory {
    pub fn new(db: Db, identity: GrpcChannel, catalog: GrpcChannel) -> Self {
        Self {
            db,
            identity: IdentityServiceClient::new(identity),
            catalog: CatalogServiceClient::new(catalog),
        }
    }

    /// Public profiles by id; unknown ids are missing from the map.
    pub async fn profiles(&self, ids: &[String]) -> ServiceResult<HashMap<String, PublicProfile>> {
        let mut found = HashMap::new();
        for chunk in distinct(ids).chunks(BATCH) {
            let response = self
                .identity
                .clone()
                .get_public_profiles(GetPublicProfilesRequest {
                    user_ids: chunk.to_vec(),
                })
                .await
                .map_err(|status| ServiceError::unavailable("identity", status))?;
            found.extend(
                response
                    .into_inner()
                    .profiles
                    .into_iter()
                    .map(|p| (p.id.clone(), p)),
            );
        }
        Ok(found)
    }

    /// One user's public profile; `user not found` when there is no such user.
    pub async fn profile(&self, id: &str) -> ServiceResult<PublicProfile> {
        self.profiles(&[id.to_owned()])
            .await?
            .remove(id)
            .ok_or(ServiceError::not_found("user"))
    }

    /// The user with this username (case-insensitive, a leading `@` ignored); `user not found` otherwise.
    pub async fn profile_by_username(&self, username: &str) -> ServiceResult<PublicProfile> {
        let username = username.trim().trim_start_matches('@');
        if username.is_empty() {
            return Err(ServiceError::not_found("user"));
        }
        match self
            .identity
            .clone()
            .get_public_profile(GetPublicProfileRequest {
                username: username.to_owned(),
                ..Default::default()
            })
            .await
        {
            Ok(response) => Ok(response.into_inner()),
            Err(status) if status.code() == tonic::Code::NotFound => {
                Err(ServiceError::not_found("user"))
            }
            Err(status) => Err(ServiceError::unavailable("identity", status)),
        }
    }

    /// Of `ids`, those the viewer follows and those who follow the viewer.
    pub async fn relation_flags(
        &self,
        viewer: &str,
        ids: &[String],
    ) -> ServiceResult<(HashSet<String>, HashSet<String>)> {
        let ids = distinct(ids);
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let list = placeholders(2, ids.len());
        let following = format!(
            "SELECT followee_id FROM follows WHERE follower_id = $1 AND followee_id IN ({list})"
        );
        let followers = format!(
            "SELECT follower_id FROM follows WHERE followee_id = $1 AND follower_id IN ({list})"
        );
        let mut sets = Vec::with_capacity(2);
        for sql in [following, followers] {
            // Built only from numbered placeholders; every value is bound.
            let mut query = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql)).bind(viewer);
            for id in &ids {
                query = query.bind(id);
            }
            let rows = query.fetch_all(self.db.pool()).await?;
            sets.push(rows.into_iter().map(|(id,)| id).collect::<HashSet<_>>());
        }
        let followers = sets.pop().unwrap_or_default();
        let following = sets.pop().unwrap_or_default();
        Ok((following, followers))
    }

    /// Cards of the users `ids` as `viewer` sees them (no follow flags without a viewer); unknown ids are missing.
    pub async fn user_cards(
        &self,
        viewer: Option<&str>,
        ids: &[String],
    ) -> ServiceResult<HashMap<String, pb::UserCard>> {
        let profiles = self.profiles(ids).await?;
        let (following, followers) = match viewer {
            Some(viewer) => self.relation_flags(viewer, ids).await?,
            None => Default::default(),
        };
        Ok(profiles
            .into_iter()
            .map(|(id, profile)| {
                let card = pb::UserCard {
                    viewer_follows: following.contains(&id),
                    follows_viewer: followers.contains(&id),
                    ..card_of(profile)
                };
                (id, card)
            })
            .collect())
    }

    /// Product cards by id; unknown ids are missing from the map.
    pub async fn products(
        &self,
        ids: &[String],
    ) -> ServiceResult<HashMap<String, pb::ProductCard>> {
        let mut found = HashMap::new();
        for chunk in distinct(ids).chunks(BATCH) {
            let response = self
                .catalog
                .clone()
                .get_product_cards(GetProductCardsRequest {
                    ids: chunk.to_vec(),
                })
                .await
                .map_err(|status| ServiceError::unavailable("catalog", status))?;
            found.extend(response.into_inner().cards.into_iter().map(|c| {
                let card = pb::ProductCard {
                    id: c.id.clone(),
                    title: c.title,
                    seller_id: c.seller_id,
                    price: c.min_price,
                    in_stock: c.in_stock,
                    image_url: c.image_url,
                    available: c.listed,
                };
                (c.id, card)
            }));
        }
        Ok(found)
    }

    /// One product's card; `product not found` when the catalog has no such product.
    pub async fn product(&self, id: &str) -> ServiceResult<pb::ProductCard> {
        self.products(&[id.to_owned()])
            .await?
            .remove(id)
            .ok_or(ServiceError::not_found("product"))
    }

    /// How many listed products a seller has.
    pub async fn listed_products(&self, seller_id: &str) -> ServiceResult<i64> {
        let response = self
            .catalog
            .clone()
            .count_seller_products(CountSellerProductsRequest {
                seller_id: seller_id.to_owned(),
            })
            .await
            .map_err(|status| ServiceError::unavailable("catalog", status))?;
        Ok(response.into_inner().listed)
    }
}

/// The card of a user the identity service no longer knows: the id alone, so the entry still shows.
pub fn unknown_user(id: &str) -> pb::UserCard {
    pb::UserCard {
        id: id.to_owned(),
        ..Default::default()
    }
}

/// A profile as a card, without relation flags.
pub fn card_of(profile: PublicProfile) -> pb::UserCard {
    pb::UserCard {
        id: profile.id,
        username: profile.username,
        display_name: profile.display_name,
        avatar_url: profile.avatar_url,
        is_seller: profile.is_seller,
        shop_name: profile.shop_name,
        ..Default::default()
    }
}
