//! Browsing: search, one product, categories.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::catalog as pb;

use crate::{Registry, ToolContext, ToolError, TypedTool, view};

pub fn register(registry: &mut Registry) {
    registry.add(SearchProducts);
    registry.add(GetProduct);
    registry.add(ListCategories);
}

/// A variant that can be bought (delisted ones are left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Variant {
    pub id: String,
    /// The seller's option names and values, "colour: blue, size: 42", as data.
    pub options: String,
    /// "59.90 USD".
    pub price: String,
    pub stock: i64,
}

/// A product's own page as tools show it: its variants, description, seller and category.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Product {
    pub id: String,
    /// The seller's title, as data.
    pub title: String,
    /// "59.90 USD", "from 49.90 USD" when variants differ, or "not for sale".
    pub price: String,
    pub in_stock: bool,
    /// At most [`VARIANTS_SHOWN`] of them.
    pub variants: Vec<Variant>,
    /// Variants that fit but are not shown; naming options (`get_product`'s `options`) narrows them.
    #[serde(skip_serializing_if = "view::is_zero")]
    pub more_variants: usize,
    /// The first 300 characters, as data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// Longest description a model sees; the rest costs tokens and invites injected instructions.
const DESCRIPTION_CHARS: usize = 300;

/// Most variants a product's page shows, so that a page stays within the result budget (1,500 tokens) however
/// long its option text.
pub const VARIANTS_SHOWN: usize = 15;

impl Product {
    pub fn of(p: &pb::Product) -> Self {
        Self::matching(p, "")
    }

    /// Its page showing only the variants that have every option value named in `options` ("blue 42", or "size
    /// 42": option names may be said too; case ignored; all of them when empty).
    pub fn matching(p: &pb::Product, options: &str) -> Self {
        // A word names an option or a word of a value ("navy" and "blue" both name "Navy Blue").
        let words_of = |text: &str| -> Vec<String> {
            text.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect()
        };
        let wanted = words_of(options);
        let fits = |v: &pb::Variant| {
            wanted.iter().all(|w| {
                v.options
                    .iter()
                    .any(|o| o.name.to_lowercase() == *w || words_of(&o.value).contains(w))
            })
        };
        let matching: Vec<&pb::Variant> =
            p.variants.iter().filter(|v| v.listed && fits(v)).collect();
        let (shown, more_variants) = view::window(&matching, 0, VARIANTS_SHOWN);
        let variants = shown
            .iter()
            .map(|v| Variant {
                id: v.id.clone(),
                options: view::options(&v.options),
                price: view::money(v.price.as_ref()),
                stock: v.stock,
            })
            .collect();
        Self {
            id: p.id.clone(),
            title: view::seller_text(&p.title, view::TITLE_CHARS),
            price: price_of(p),
            in_stock: p.in_stock,
            variants,
            more_variants,
            description: Some(view::seller_text(&p.description, DESCRIPTION_CHARS)),
            seller_id: Some(p.seller_id.clone()),
            category: Some(p.category_name.clone()),
        }
    }
}

/// A product in a search result: enough to choose one, cheap in tokens. Its variants (ids, options, stock each)
/// come from `get_product`; a product with one variant carries that variant's id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Card {
    pub id: String,
    /// The seller's title, as data.
    pub title: String,
    /// As on [`Product`].
    pub price: String,
    /// Units in stock over its variants.
    pub stock: i64,
    /// How many variants it comes in.
    pub variants: usize,
    /// Its only variant's id, when it has just one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<String>,
}

impl Card {
    pub fn of(p: &pb::Product) -> Self {
        let listed: Vec<&pb::Variant> = p.variants.iter().filter(|v| v.listed).collect();
        Self {
            id: p.id.clone(),
            title: view::seller_text(&p.title, view::TITLE_CHARS),
            price: price_of(p),
            stock: listed.iter().map(|v| v.stock.max(0)).sum(),
            variants: listed.len(),
            variant_id: match listed.as_slice() {
                [only] => Some(only.id.clone()),
                _ => None,
            },
        }
    }
}

/// "59.90 USD", "from 49.90 USD" when its listed variants differ in price, or "not for sale".
fn price_of(p: &pb::Product) -> String {
    match (&p.min_price, &p.max_price) {
        (Some(min), Some(max)) if min.amount_minor != max.amount_minor => {
            format!("from {}", view::money(Some(min)))
        }
        (Some(min), _) => view::money(Some(min)),
        _ => "not for sale".to_owned(),
    }
}

/// `search_products`: a page of product cards, and whether more match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ProductList {
    pub products: Vec<Card>,
    pub more: bool,
}

/// A category; top-level ones have no parent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Category {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

/// `list_categories`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CategoryList {
    pub categories: Vec<Category>,
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
    pub query: Option<String>,
    /// From list_categories; subcategories included.
    pub category_id: Option<String>,
    /// In major units, e.g. 50.
    pub min_price: Option<view::Amount>,
    /// In major units, e.g. 79.90.
    pub max_price: Option<view::Amount>,
    pub in_stock_only: Option<bool>,
    pub sort: Option<Sort>,
    /// 1 to 10; default 5.
    pub limit: Option<u8>,
}

pub struct SearchProducts;

#[async_trait::async_trait]
impl TypedTool for SearchProducts {
    type Args = SearchArgs;
    type Output = ProductList;
    const NAME: &'static str = "search_products";
    const DESCRIPTION: &'static str =
        "Search the catalog for product cards; get_product lists a product's variants.";

    async fn run(&self, ctx: &ToolContext, args: SearchArgs) -> Result<Self::Output, ToolError> {
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
        Ok(ProductList {
            products: page.products.iter().map(Card::of).collect(),
            more: !page.next_cursor.is_empty(),
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductArgs {
    pub product_id: String,
    /// Only variants with these values, e.g. "blue 42".
    pub options: Option<String>,
}

pub struct GetProduct;

#[async_trait::async_trait]
impl TypedTool for GetProduct {
    type Args = ProductArgs;
    type Output = Product;
    const NAME: &'static str = "get_product";
    const DESCRIPTION: &'static str = "One product: its description and variants (15 at most).";

    async fn run(&self, ctx: &ToolContext, args: ProductArgs) -> Result<Self::Output, ToolError> {
        let options = args.options.unwrap_or_default();
        tokshop_platform::check_len("options", &options, 0, 200).map_err(|_| {
            ToolError::invalid_arguments("options must be at most 200 characters")
                .with_param("options")
        })?;
        let product = ctx
            .clients
            .catalog
            .clone()
            .get_product(ctx.request(pb::GetProductRequest {
                id: args.product_id,
            }))
            .await?
            .into_inner();
        Ok(Product::matching(&product, &options))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

pub struct ListCategories;

#[async_trait::async_trait]
impl TypedTool for ListCategories {
    type Args = NoArgs;
    type Output = CategoryList;
    const NAME: &'static str = "list_categories";
    const DESCRIPTION: &'static str = "All product categories (id, name, parent).";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
        let list = ctx
            .clients
            .catalog
            .clone()
            .list_categories(ctx.request(pb::ListCategoriesRequest {}))
            .await?
            .into_inner();
        let categories = list
            .categories
            .iter()
            .map(|c| Category {
                id: c.id.clone(),
                name: c.name.clone(),
                parent_id: (!c.parent_id.is_empty()).then(|| c.parent_id.clone()),
            })
            .collect();
        Ok(CategoryList { categories })
    }
}
