//! What the catalog stores and reads back: row types as selected, and validated inputs as written.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

/// A product as social views show it.
#[derive(Debug, Clone)]
pub struct ProductCardRow {
    pub id: String,
    pub title: String,
    pub seller_id: String,
    pub currency: String,
    pub listed: i64,
    pub image_urls: String,
    pub min_price: i64,
    pub in_stock: i64,
}

#[derive(Debug, Clone, FromRow, Serialize, Deserialize)]
pub struct CategoryRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub slug: String,
    pub depth: i64,
}

#[derive(Debug, Clone, FromRow, Serialize, Deserialize)]
pub struct ProductRow {
    pub id: String,
    pub seller_id: String,
    pub category_id: String,
    pub category_name: String,
    pub title: String,
    pub description: String,
    pub image_urls: String,
    pub currency: String,
    pub listed: i64,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub sold_count: i64,
}

/// Product columns as selected with the `p` alias; `category_name` comes from a join.
pub const PRODUCT_COLUMNS: &str = "p.id, p.seller_id, p.category_id, p.title, p.description, p.image_urls, \
                                   p.currency, p.listed, p.min_price, p.max_price, p.created_at_ms, p.updated_at_ms, p.sold_count";

#[derive(Debug, Clone, FromRow, Serialize, Deserialize)]
pub struct VariantRow {
    pub id: String,
    pub product_id: String,
    pub sku: String,
    pub options: String,
    pub price_minor: i64,
    pub stock: i64,
    pub image_urls: String,
    pub listed: i64,
}

pub(super) const VARIANT_COLUMNS: &str =
    "id, product_id, sku, options, price_minor, stock, image_urls, listed";

/// A variant with what a cart or an order needs of its product.
#[derive(Debug, Clone)]
pub struct VariantDetailRow {
    pub variant: VariantRow,
    pub title: String,
    pub seller_id: String,
    pub category_id: String,
    pub product_listed: i64,
    pub currency: String,
    pub product_images: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionPair {
    pub name: String,
    pub value: String,
}

/// A variant as validated input.
#[derive(Debug, Clone)]
pub struct NewVariant {
    pub sku: String,
    pub options: Vec<OptionPair>,
    pub price_minor: i64,
    pub stock: i64,
    pub image_urls: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewProduct {
    pub category_id: String,
    pub title: String,
    pub description: String,
    pub image_urls: Vec<String>,
    pub currency: String,
    pub variants: Vec<NewVariant>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    pub category_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub image_urls: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct VariantChanges {
    pub price_minor: Option<i64>,
    pub stock: Option<i64>,
    pub listed: Option<bool>,
    pub image_urls: Option<Vec<String>>,
}

#[derive(Debug, Clone, FromRow)]
pub struct PriceChangeRow {
    pub variant_id: String,
    pub price_minor: i64,
    pub currency: String,
    pub changed_at_ms: i64,
}

/// A product with its variants in position order: what the cache holds per product.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductRecord {
    pub product: ProductRow,
    pub variants: Vec<VariantRow>,
}
