//! Stored rows shaped into the messages the catalog answers with.

use tokshop_platform::auth::{Principal, Role};
use tokshop_proto::catalog as pb;

use crate::{
    reservations::ReservationRecord,
    store::{CategoryRow, OptionPair, ProductCardRow, ProductRecord, VariantDetailRow, VariantRow},
};

pub(super) fn money(amount_minor: i64, currency: &str) -> pb::Money {
    pb::Money {
        amount_minor,
        currency: currency.to_owned(),
    }
}

fn json_list<T: serde::de::DeserializeOwned>(text: &str) -> Vec<T> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Whether `viewer` may look up a delisted product or variant of `seller_id` by id: its seller, and the shop's own
/// services (the orders service pricing a checkout it will refuse, or an order that already holds it). Anyone else
/// finds no such thing, as with a product page.
pub(super) fn sees_delisted(viewer: Option<&Principal>, seller_id: &str) -> bool {
    viewer.is_some_and(|v| v.has(Role::Service) || v.user_id == seller_id)
}

pub(super) fn category_message(row: CategoryRow) -> pb::Category {
    pb::Category {
        id: row.id,
        parent_id: row.parent_id.unwrap_or_default(),
        name: row.name,
        slug: row.slug,
        depth: i32::try_from(row.depth).unwrap_or(i32::MAX),
    }
}

fn variant_message(v: VariantRow, currency: &str) -> pb::Variant {
    pb::Variant {
        options: json_list::<OptionPair>(&v.options)
            .into_iter()
            .map(|o| pb::OptionValue {
                name: o.name,
                value: o.value,
            })
            .collect(),
        price: Some(money(v.price_minor, currency)),
        image_urls: json_list(&v.image_urls),
        listed: v.listed == 1,
        id: v.id,
        sku: v.sku,
        stock: v.stock,
    }
}

/// Shapes a stored product; `full` also shows delisted variants (for the owning seller).
pub(super) fn product_message(record: ProductRecord, full: bool) -> pb::Product {
    let p = record.product;
    let listed = p.listed == 1;
    let variants: Vec<pb::Variant> = record
        .variants
        .into_iter()
        .filter(|v| full || v.listed == 1)
        .map(|v| variant_message(v, &p.currency))
        .collect();
    let in_stock = listed && variants.iter().any(|v| v.listed && v.stock > 0);
    pb::Product {
        id: p.id,
        seller_id: p.seller_id,
        category_id: p.category_id,
        category_name: p.category_name,
        title: p.title,
        description: p.description,
        image_urls: json_list(&p.image_urls),
        listed,
        min_price: p.min_price.map(|m| money(m, &p.currency)),
        max_price: p.max_price.map(|m| money(m, &p.currency)),
        in_stock,
        variants,
        created_at_ms: p.created_at_ms,
        updated_at_ms: p.updated_at_ms,
        sold_count: p.sold_count,
    }
}

pub(super) fn card_message(row: ProductCardRow) -> pb::ProductCard {
    pb::ProductCard {
        image_url: json_list::<String>(&row.image_urls)
            .into_iter()
            .next()
            .unwrap_or_default(),
        min_price: Some(pb::Money {
            amount_minor: row.min_price,
            currency: row.currency,
        }),
        in_stock: row.in_stock == 1,
        listed: row.listed == 1,
        id: row.id,
        title: row.title,
        seller_id: row.seller_id,
    }
}

pub(super) fn variant_detail_message(row: VariantDetailRow) -> pb::VariantDetail {
    pb::VariantDetail {
        buyable: row.product_listed == 1 && row.variant.listed == 1,
        image_url: json_list::<String>(&row.variant.image_urls)
            .into_iter()
            .chain(json_list::<String>(&row.product_images))
            .next()
            .unwrap_or_default(),
        product_id: row.variant.product_id.clone(),
        product_title: row.title,
        seller_id: row.seller_id,
        category_id: row.category_id,
        variant: Some(variant_message(row.variant, &row.currency)),
    }
}

pub(super) fn reservation_message(record: ReservationRecord) -> pb::Reservation {
    pb::Reservation {
        reservation_id: record.id,
        state: record.state,
        created_at_ms: record.created_at_ms,
        lines: record
            .lines
            .into_iter()
            .map(|l| pb::ReservedLine {
                unit_price: Some(money(l.unit_price, &l.currency)),
                variant_id: l.variant_id,
                product_id: l.product_id,
                seller_id: l.seller_id,
                title: l.title,
                sku: l.sku,
                quantity: l.quantity,
            })
            .collect(),
    }
}
