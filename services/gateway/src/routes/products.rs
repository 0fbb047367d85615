//! Browsing the catalog: search, one product, its price history.

use tokshop_proto::catalog as pb;

use crate::{
    error::ApiError,
    handler::prelude::*,
    shapes::{Money, Product, ProductPage},
};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Full-text query.
    pub q: Option<String>,
    /// Category id; includes its descendants.
    pub category: Option<String>,
    /// Lowest price, in minor units.
    pub price_min: Option<i64>,
    /// Highest price, in minor units.
    pub price_max: Option<i64>,
    /// Seller (user) id.
    pub seller: Option<String>,
    /// Only products with stock.
    pub in_stock: Option<bool>,
    /// relevance, price_asc, price_desc or newest.
    pub sort: Option<String>,
    /// 1..=100, default 20.
    pub limit: Option<i32>,
    /// From a previous page's next_cursor.
    pub cursor: Option<String>,
}

/// The search order for a `sort` query value; unknown values are a 422 naming `sort`.
pub fn parse_sort(sort: Option<&str>) -> Result<pb::SortOrder, ApiError> {
    match sort.map(str::trim).unwrap_or_default() {
        "" => Ok(pb::SortOrder::Unspecified),
        "relevance" => Ok(pb::SortOrder::Relevance),
        "price_asc" => Ok(pb::SortOrder::PriceAsc),
        "price_desc" => Ok(pb::SortOrder::PriceDesc),
        "newest" => Ok(pb::SortOrder::Newest),
        other => Err(ApiError::invalid(
            "sort",
            format!("unknown sort {other:?}; use relevance, price_asc, price_desc or newest"),
        )),
    }
}

impl SearchParams {
    pub fn into_request(self) -> Result<pb::SearchProductsRequest, ApiError> {
        Ok(pb::SearchProductsRequest {
            sort: parse_sort(self.sort.as_deref())? as i32,
            query: self.q.unwrap_or_default(),
            category_id: self.category.unwrap_or_default(),
            price_min: self.price_min,
            price_max: self.price_max,
            seller_id: self.seller.unwrap_or_default(),
            in_stock_only: self.in_stock.unwrap_or(false),
            limit: self.limit.unwrap_or(0),
            cursor: self.cursor.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PriceChange {
    pub variant_id: String,
    pub price: Money,
    pub changed_at_ms: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PriceHistory {
    pub changes: Vec<PriceChange>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_products))
        .routes(routes!(get_product))
        .routes(routes!(price_history))
}

/// Search listed products.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", security((), ("bearer" = [])), params(SearchParams),
    responses((status = 200, description = "A page of products", body = ProductPage),
        (status = 400, description = "A query parameter has the wrong type", body = ErrorBody),
        (status = 422, description = "A query parameter is out of range or unknown", body = ErrorBody)))]
async fn search_products(
    State(state): State<AppState>,
    caller: MaybeAuth,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<ProductPage>> {
    let request = params.into_request()?;
    let page = state
        .catalog()
        .search_products(authorized(request, caller.token()))
        .await?
        .into_inner();
    Ok(Json(ProductPage::new(page.products, page.next_cursor)))
}

/// One product; its owner also sees it while delisted.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, description = "The product", body = Product),
        (status = 404, description = "No such product", body = ErrorBody)))]
async fn get_product(
    State(state): State<AppState>,
    caller: MaybeAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Product>> {
    let request = authorized(pb::GetProductRequest { id }, caller.token());
    respond(state.catalog().get_product(request)).await
}

/// Every price a product's variants have had, oldest first.
#[utoipa::path(get, path = "/api/v1/products/{id}/price-history", tag = "catalog", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, description = "Price changes", body = PriceHistory),
        (status = 404, description = "No such product", body = ErrorBody)))]
async fn price_history(
    State(state): State<AppState>,
    caller: MaybeAuth,
    Path(product_id): Path<String>,
) -> ApiResult<Json<PriceHistory>> {
    let history = state
        .catalog()
        .get_price_history(authorized(
            pb::GetPriceHistoryRequest { product_id },
            caller.token(),
        ))
        .await?
        .into_inner();
    let changes = history
        .changes
        .into_iter()
        .map(|c| PriceChange {
            variant_id: c.variant_id,
            price: c
                .price
                .map(Money::from)
                .unwrap_or_else(|| Money::new(0, String::new())),
            changed_at_ms: c.changed_at_ms,
        })
        .collect();
    Ok(Json(PriceHistory { changes }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_values() {
        assert_eq!(parse_sort(None).unwrap(), pb::SortOrder::Unspecified);
        assert_eq!(
            parse_sort(Some("price_asc")).unwrap(),
            pb::SortOrder::PriceAsc
        );
        assert_eq!(
            parse_sort(Some("price_desc")).unwrap(),
            pb::SortOrder::PriceDesc
        );
        assert_eq!(parse_sort(Some("newest")).unwrap(), pb::SortOrder::Newest);
        assert_eq!(
            parse_sort(Some("relevance")).unwrap(),
            pb::SortOrder::Relevance
        );
        let err = parse_sort(Some("cheapest")).unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        assert_eq!(err.param.as_deref(), Some("sort"));
    }
}
