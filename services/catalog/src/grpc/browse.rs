//! What anyone may read: the category tree, search, product pages, price history, and batch lookups of cards and
//! variants. Delisted things exist only for their seller (and the shop's own services, in batch lookups).

use std::collections::HashMap;

use tokshop_platform::{ServiceError, ServiceResult, auth::Principal, non_empty, page};
use tokshop_proto::catalog as pb;

use super::{
    CatalogApi,
    views::{
        card_message, category_message, money, product_message, sees_delisted,
        variant_detail_message,
    },
};
use crate::{
    search::{self, Cursor, SearchQuery, Sort},
    validate,
};

/// Most ids one batch lookup may ask for.
const MAX_LOOKUP: usize = 100;

/// The ids of a batch lookup without repeats, in the order asked; more than [`MAX_LOOKUP`] is refused.
fn lookup_ids(mut ids: Vec<String>) -> ServiceResult<Vec<String>> {
    if ids.len() > MAX_LOOKUP {
        return Err(ServiceError::invalid(
            "ids",
            format!("at most {MAX_LOOKUP} ids per call"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    Ok(ids)
}

impl CatalogApi {
    pub(super) async fn categories(&self) -> ServiceResult<pb::ListCategoriesResponse> {
        let rows = self.store.categories().await?;
        Ok(pb::ListCategoriesResponse {
            categories: rows.into_iter().map(category_message).collect(),
        })
    }

    /// The product as `viewer` may see it: delisted products exist only for their seller.
    async fn visible_product(
        &self,
        id: &str,
        viewer: Option<&Principal>,
    ) -> ServiceResult<pb::Product> {
        let record = self
            .store
            .product(id)
            .await?
            .ok_or(ServiceError::not_found("product"))?;
        let owner = viewer.is_some_and(|v| v.user_id == record.product.seller_id);
        if record.product.listed != 1 && !owner {
            return Err(ServiceError::not_found("product"));
        }
        Ok(product_message(record, owner))
    }

    pub(super) async fn product(
        &self,
        viewer: Option<Principal>,
        req: pb::GetProductRequest,
    ) -> ServiceResult<pb::Product> {
        self.visible_product(&req.id, viewer.as_ref()).await
    }

    pub(super) async fn price_history(
        &self,
        viewer: Option<Principal>,
        req: pb::GetPriceHistoryRequest,
    ) -> ServiceResult<pb::GetPriceHistoryResponse> {
        // Same visibility as the product itself.
        self.visible_product(&req.product_id, viewer.as_ref())
            .await?;
        let rows = self.store.price_history(&req.product_id).await?;
        Ok(pb::GetPriceHistoryResponse {
            changes: rows
                .into_iter()
                .map(|r| pb::PriceChange {
                    variant_id: r.variant_id,
                    price: Some(money(r.price_minor, &r.currency)),
                    changed_at_ms: r.changed_at_ms,
                })
                .collect(),
        })
    }

    /// Cards in the order asked; unknown ids, and delisted products the viewer may not see, are left out.
    pub(super) async fn cards(
        &self,
        viewer: Option<Principal>,
        req: pb::GetProductCardsRequest,
    ) -> ServiceResult<pb::GetProductCardsResponse> {
        let ids = lookup_ids(req.ids)?;
        let mut rows: HashMap<String, _> = self
            .store
            .product_cards(&ids)
            .await?
            .into_iter()
            .filter(|row| row.listed == 1 || sees_delisted(viewer.as_ref(), &row.seller_id))
            .map(|row| (row.id.clone(), row))
            .collect();
        let cards = ids
            .iter()
            .filter_map(|id| rows.remove(id))
            .map(card_message)
            .collect();
        Ok(pb::GetProductCardsResponse { cards })
    }

    /// Variants in the order asked, with what a cart or an order needs of their product; unknown ids, and
    /// delisted ones the viewer may not see, are left out.
    pub(super) async fn variants(
        &self,
        viewer: Option<Principal>,
        req: pb::GetVariantsRequest,
    ) -> ServiceResult<pb::GetVariantsResponse> {
        let ids = lookup_ids(req.ids)?;
        let mut rows: HashMap<String, _> = self
            .store
            .variant_details(&ids)
            .await?
            .into_iter()
            .filter(|row| {
                (row.product_listed == 1 && row.variant.listed == 1)
                    || sees_delisted(viewer.as_ref(), &row.seller_id)
            })
            .map(|row| (row.variant.id.clone(), row))
            .collect();
        let variants = ids
            .iter()
            .filter_map(|id| rows.remove(id))
            .map(variant_detail_message)
            .collect();
        Ok(pb::GetVariantsResponse { variants })
    }

    pub(super) async fn count_listed(
        &self,
        req: pb::CountSellerProductsRequest,
    ) -> ServiceResult<pb::CountSellerProductsResponse> {
        let listed = self.store.count_listed(&req.seller_id).await?;
        Ok(pb::CountSellerProductsResponse { listed })
    }

    pub(super) async fn search(
        &self,
        req: pb::SearchProductsRequest,
    ) -> ServiceResult<pb::SearchProductsResponse> {
        let terms = search::terms(&req.query);
        let sort = match pb::SortOrder::try_from(req.sort) {
            Ok(pb::SortOrder::Unspecified) if terms.is_empty() => Sort::Newest,
            Ok(pb::SortOrder::Unspecified | pb::SortOrder::Relevance) => Sort::Relevance,
            Ok(pb::SortOrder::PriceAsc) => Sort::PriceAsc,
            Ok(pb::SortOrder::PriceDesc) => Sort::PriceDesc,
            Ok(pb::SortOrder::Newest) => Sort::Newest,
            Err(_) => return Err(ServiceError::invalid("sort", "unknown sort order")),
        };
        if let Some(min) = req.price_min {
            validate::price("price_min", min)?;
        }
        if let Some(max) = req.price_max {
            validate::price("price_max", max)?;
        }
        if let (Some(min), Some(max)) = (req.price_min, req.price_max)
            && min > max
        {
            return Err(ServiceError::invalid(
                "price_min",
                "price_min must not exceed price_max",
            ));
        }
        let after = non_empty(req.cursor.trim())
            .map(|c| Cursor::decode(c, sort))
            .transpose()?;
        let query = SearchQuery {
            terms,
            category_id: non_empty(req.category_id.trim()).map(str::to_owned),
            price_min: req.price_min,
            price_max: req.price_max,
            seller_id: non_empty(req.seller_id.trim()).map(str::to_owned),
            in_stock_only: req.in_stock_only,
            include_delisted: false,
            sort,
            limit: page::limit(req.limit)?,
            after,
        };
        let (records, next) = self.store.search_page(&query).await?;
        Ok(pb::SearchProductsResponse {
            products: records
                .into_iter()
                .map(|r| product_message(r, false))
                .collect(),
            next_cursor: next.unwrap_or_default(),
        })
    }
}
