//! Browsing the catalog: search, one product, its price history. Also the product and money JSON shared with the
//! seller routes.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::{Deserialize, Serialize};
use tokshop_platform::auth::authorized;
use tokshop_proto::catalog as pb;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::non_empty;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiQuery, MaybeAuth},
    state::AppState,
};

/// An amount of money: integer minor units, an ISO 4217 currency and a display string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"amount_minor": 5990, "currency": "USD", "formatted": "59.90 USD"}))]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
    pub formatted: String,
}

impl Money {
    pub fn new(amount_minor: i64, currency: String) -> Self {
        Self {
            formatted: tokshop_platform::money::format(amount_minor, &currency),
            amount_minor,
            currency,
        }
    }
}

impl From<pb::Money> for Money {
    fn from(m: pb::Money) -> Self {
        Self::new(m.amount_minor, m.currency)
    }
}

/// A service's optional money field as JSON money (zero when absent).
pub fn money(m: Option<pb::Money>) -> Money {
    Money::from(m.unwrap_or_default())
}

/// A variant's option, such as colour: blue. Names are stored in lower case.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OptionValue {
    #[schema(min_length = 1, max_length = 32)]
    pub name: String,
    #[schema(min_length = 1, max_length = 64)]
    pub value: String,
}

impl From<pb::OptionValue> for OptionValue {
    fn from(o: pb::OptionValue) -> Self {
        Self {
            name: o.name,
            value: o.value,
        }
    }
}

impl From<OptionValue> for pb::OptionValue {
    fn from(o: OptionValue) -> Self {
        Self {
            name: o.name,
            value: o.value,
        }
    }
}

/// A sellable variant (SKU) of a product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Variant {
    pub id: String,
    pub sku: String,
    pub options: Vec<OptionValue>,
    pub price: Money,
    pub stock: i64,
    pub image_urls: Vec<String>,
    pub listed: bool,
}

impl From<pb::Variant> for Variant {
    fn from(v: pb::Variant) -> Self {
        Self {
            id: v.id,
            sku: v.sku,
            options: v.options.into_iter().map(OptionValue::from).collect(),
            price: v
                .price
                .map(Money::from)
                .unwrap_or_else(|| Money::new(0, String::new())),
            stock: v.stock,
            image_urls: v.image_urls,
            listed: v.listed,
        }
    }
}

/// A product (SPU) with its variants.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub seller_id: String,
    pub category_id: String,
    pub category_name: String,
    pub title: String,
    pub description: String,
    pub image_urls: Vec<String>,
    pub listed: bool,
    /// Lowest price over listed variants; null when none is listed.
    pub min_price: Option<Money>,
    /// Highest price over listed variants; null when none is listed.
    pub max_price: Option<Money>,
    pub in_stock: bool,
    pub variants: Vec<Variant>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Units sold on paid orders, less those cancelled after payment.
    pub sold_count: i64,
}

impl From<pb::Product> for Product {
    fn from(p: pb::Product) -> Self {
        Self {
            id: p.id,
            seller_id: p.seller_id,
            category_id: p.category_id,
            category_name: p.category_name,
            title: p.title,
            description: p.description,
            image_urls: p.image_urls,
            listed: p.listed,
            min_price: p.min_price.map(Money::from),
            max_price: p.max_price.map(Money::from),
            in_stock: p.in_stock,
            variants: p.variants.into_iter().map(Variant::from).collect(),
            created_at_ms: p.created_at_ms,
            updated_at_ms: p.updated_at_ms,
            sold_count: p.sold_count,
        }
    }
}

/// A page of products.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductPage {
    pub products: Vec<Product>,
    /// Pass as `cursor` for the next page; null when there is nothing more.
    pub next_cursor: Option<String>,
}

impl ProductPage {
    pub fn new(products: Vec<pb::Product>, next_cursor: String) -> Self {
        Self {
            products: products.into_iter().map(Product::from).collect(),
            next_cursor: non_empty(next_cursor),
        }
    }
}

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
    let product = state
        .catalog()
        .get_product(authorized(pb::GetProductRequest { id }, caller.token()))
        .await?
        .into_inner();
    Ok(Json(product.into()))
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
    fn money_json_has_a_formatted_amount() {
        let money = Money::from(pb::Money {
            amount_minor: 5990,
            currency: "USD".into(),
        });
        let json = serde_json::to_value(&money).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"amount_minor": 5990, "currency": "USD", "formatted": "59.90 USD"})
        );
        assert_eq!(Money::new(1200, "JPY".into()).formatted, "1200 JPY");
    }

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

    #[test]
    fn empty_cursor_is_null() {
        let page = ProductPage::new(Vec::new(), String::new());
        assert_eq!(
            serde_json::to_value(&page).unwrap()["next_cursor"],
            serde_json::Value::Null
        );
    }
}
