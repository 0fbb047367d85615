//! Browsing: search, one product, categories.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokshop_proto::catalog as pb;

use crate::{Registry, ToolContext, ToolError, TypedTool, view};

pub fn register(registry: &mut Registry) {
    registry.add(SearchProducts);
    registry.add(GetProduct);
    registry.add(ListCategories);
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Words to match in titles and descriptions.
    pub query: Option<String>,
    /// A category id from list_categories; includes its subcategories.
    pub category_id: Option<String>,
    /// Lowest price, in major units (e.g. 50).
    pub min_price: Option<view::Amount>,
    /// Highest price, in major units (e.g. 79.90).
    pub max_price: Option<view::Amount>,
    /// Only products with a variant in stock.
    pub in_stock_only: Option<bool>,
    pub sort: Option<Sort>,
    /// 1 to 10; default 5.
    pub limit: Option<u8>,
}

pub struct SearchProducts;

#[async_trait::async_trait]
impl TypedTool for SearchProducts {
    type Args = SearchArgs;
    const NAME: &'static str = "search_products";
    const DESCRIPTION: &'static str =
        "Search the catalog. Returns products with their variants (ids, options, price, stock).";

    async fn run(&self, ctx: &ToolContext, args: SearchArgs) -> Result<Value, ToolError> {
        let limit = args.limit.unwrap_or(5);
        if !(1..=10).contains(&limit) {
            return Err(ToolError::invalid_arguments("limit must be 1 to 10").with_param("limit"));
        }
        let min = args
            .min_price
            .map(|p| p.to_minor(&ctx.currency, "min_price"))
            .transpose()?;
        let max = args
            .max_price
            .map(|p| p.to_minor(&ctx.currency, "max_price"))
            .transpose()?;
        let sort = match args.sort {
            None => pb::SortOrder::Unspecified,
            Some(Sort::Relevance) => pb::SortOrder::Relevance,
            Some(Sort::PriceAsc) => pb::SortOrder::PriceAsc,
            Some(Sort::PriceDesc) => pb::SortOrder::PriceDesc,
            Some(Sort::Newest) => pb::SortOrder::Newest,
        };
        let request = pb::SearchProductsRequest {
            query: args.query.unwrap_or_default(),
            category_id: args.category_id.unwrap_or_default(),
            price_min: min,
            price_max: max,
            seller_id: String::new(),
            in_stock_only: args.in_stock_only.unwrap_or(false),
            sort: sort as i32,
            limit: i32::from(limit),
            cursor: String::new(),
        };
        let page = ctx
            .clients
            .catalog
            .clone()
            .search_products(ctx.request(request))
            .await?
            .into_inner();
        let products: Vec<Value> = page
            .products
            .iter()
            .map(|p| view::product(p, false))
            .collect();
        Ok(json!({"products": products, "more": !page.next_cursor.is_empty()}))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductArgs {
    pub product_id: String,
}

pub struct GetProduct;

#[async_trait::async_trait]
impl TypedTool for GetProduct {
    type Args = ProductArgs;
    const NAME: &'static str = "get_product";
    const DESCRIPTION: &'static str = "One product with its description and variants.";

    async fn run(&self, ctx: &ToolContext, args: ProductArgs) -> Result<Value, ToolError> {
        let product = ctx
            .clients
            .catalog
            .clone()
            .get_product(ctx.request(pb::GetProductRequest {
                id: args.product_id,
            }))
            .await?
            .into_inner();
        Ok(view::product(&product, true))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

pub struct ListCategories;

#[async_trait::async_trait]
impl TypedTool for ListCategories {
    type Args = NoArgs;
    const NAME: &'static str = "list_categories";
    const DESCRIPTION: &'static str = "All product categories (id, name, parent).";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Value, ToolError> {
        let list = ctx
            .clients
            .catalog
            .clone()
            .list_categories(ctx.request(pb::ListCategoriesRequest {}))
            .await?
            .into_inner();
        let categories: Vec<Value> = list
            .categories
            .iter()
            .map(|c| {
                let mut value = json!({"id": c.id, "name": c.name});
                if !c.parent_id.is_empty() {
                    value["parent_id"] = json!(c.parent_id);
                }
                value
            })
            .collect();
        Ok(json!({"categories": categories}))
    }
}
