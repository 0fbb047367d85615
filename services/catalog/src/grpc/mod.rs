//! The tonic surface of the catalog service. Each handler is one call: who may call is decided here (signed in,
//! or anyone), what they may do in the method it calls. `browse` holds the public reads, `manage` the admin's and
//! sellers' changes, `stock` the orders service's reservations, `views` the shaping of rows into messages.

mod browse;
mod manage;
mod stock;
mod views;

use tokshop_platform::{
    ServiceContext,
    auth::TokenKeys,
    grpc::{Reply, anyone, reply, signed_in},
};
use tokshop_proto::catalog::{self as pb, catalog_service_server::CatalogService};
use tonic::Request;

use crate::store::{Caches, Store};

#[derive(Clone, Debug)]
pub struct CatalogApi {
    store: Store,
    keys: TokenKeys,
    default_currency: String,
}

impl CatalogApi {
    /// The service on the context's database, its hot reads through `caches`.
    pub fn new(ctx: &ServiceContext, caches: Caches) -> Self {
        Self {
            store: Store::cached(ctx.db.clone(), caches),
            keys: ctx.keys.clone(),
            default_currency: ctx.settings.shop.currency.clone(),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn list_categories(
        &self,
        _request: Request<pb::ListCategoriesRequest>,
    ) -> Reply<pb::ListCategoriesResponse> {
        reply(self.categories().await)
    }

    async fn create_category(
        &self,
        request: Request<pb::CreateCategoryRequest>,
    ) -> Reply<pb::Category> {
        signed_in(&self.keys, request, |caller, req| {
            self.add_category(caller, req)
        })
        .await
    }

    async fn search_products(
        &self,
        request: Request<pb::SearchProductsRequest>,
    ) -> Reply<pb::SearchProductsResponse> {
        reply(self.search(request.into_inner()).await)
    }

    async fn get_product(&self, request: Request<pb::GetProductRequest>) -> Reply<pb::Product> {
        anyone(&self.keys, request, |viewer, req| self.product(viewer, req)).await
    }

    async fn get_price_history(
        &self,
        request: Request<pb::GetPriceHistoryRequest>,
    ) -> Reply<pb::GetPriceHistoryResponse> {
        anyone(&self.keys, request, |viewer, req| {
            self.price_history(viewer, req)
        })
        .await
    }

    async fn get_product_cards(
        &self,
        request: Request<pb::GetProductCardsRequest>,
    ) -> Reply<pb::GetProductCardsResponse> {
        anyone(&self.keys, request, |viewer, req| self.cards(viewer, req)).await
    }

    async fn count_seller_products(
        &self,
        request: Request<pb::CountSellerProductsRequest>,
    ) -> Reply<pb::CountSellerProductsResponse> {
        reply(self.count_listed(request.into_inner()).await)
    }

    async fn get_variants(
        &self,
        request: Request<pb::GetVariantsRequest>,
    ) -> Reply<pb::GetVariantsResponse> {
        anyone(&self.keys, request, |viewer, req| {
            self.variants(viewer, req)
        })
        .await
    }

    async fn create_product(
        &self,
        request: Request<pb::CreateProductRequest>,
    ) -> Reply<pb::Product> {
        signed_in(&self.keys, request, |caller, req| {
            self.new_product(caller, req)
        })
        .await
    }

    async fn update_product(
        &self,
        request: Request<pb::UpdateProductRequest>,
    ) -> Reply<pb::Product> {
        signed_in(&self.keys, request, |caller, req| {
            self.edit_product(caller, req)
        })
        .await
    }

    async fn set_product_listed(
        &self,
        request: Request<pb::SetProductListedRequest>,
    ) -> Reply<pb::Product> {
        signed_in(&self.keys, request, |caller, req| {
            self.list_or_delist(caller, req)
        })
        .await
    }

    async fn add_variant(&self, request: Request<pb::AddVariantRequest>) -> Reply<pb::Product> {
        signed_in(&self.keys, request, |caller, req| {
            self.new_variant(caller, req)
        })
        .await
    }

    async fn update_variant(
        &self,
        request: Request<pb::UpdateVariantRequest>,
    ) -> Reply<pb::Product> {
        signed_in(&self.keys, request, |caller, req| {
            self.edit_variant(caller, req)
        })
        .await
    }

    async fn reserve_stock(
        &self,
        request: Request<pb::ReserveStockRequest>,
    ) -> Reply<pb::Reservation> {
        signed_in(&self.keys, request, |caller, req| self.reserve(caller, req)).await
    }

    async fn release_reservation(
        &self,
        request: Request<pb::ReleaseReservationRequest>,
    ) -> Reply<pb::Reservation> {
        signed_in(&self.keys, request, |caller, req| self.release(caller, req)).await
    }

    async fn record_sales(
        &self,
        request: Request<pb::RecordSalesRequest>,
    ) -> Reply<pb::RecordSalesResponse> {
        signed_in(&self.keys, request, |caller, req| {
            self.count_sales(caller, req)
        })
        .await
    }

    async fn list_my_products(
        &self,
        request: Request<pb::ListMyProductsRequest>,
    ) -> Reply<pb::ListMyProductsResponse> {
        signed_in(&self.keys, request, |caller, req| {
            self.list_mine(caller, req)
        })
        .await
    }
}
