//! Products as JSON: a product (SPU) with its variants (SKUs) and their options, and a page of products.

use serde::{Deserialize, Serialize};
use tokshop_platform::non_empty;
use tokshop_proto::catalog as pb;
use utoipa::ToSchema;

use super::Money;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_cursor_is_null() {
        let page = ProductPage::new(Vec::new(), String::new());
        assert_eq!(
            serde_json::to_value(&page).unwrap()["next_cursor"],
            serde_json::Value::Null
        );
    }
}
