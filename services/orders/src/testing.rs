//! What the crate's storage tests share beyond `tokshop_platform::storage_tests!` (which gives each test a fresh,
//! migrated SQLite file and PostgreSQL database): orders placed straight through the store, with no catalog and so
//! no stock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokshop_platform::{config::OrderSettings, db::Db, ids::new_id, time::now_ms};
use tokshop_proto::identity::Address;

use crate::{
    order::store::{self, NewOrder},
    pricing::{self, PricedLine, ShippingRule},
};

pub fn address() -> Address {
    Address {
        id: "adr_1".into(),
        recipient: "Ada".into(),
        line1: "1 Main St".into(),
        city: "Springfield".into(),
        country: "US".into(),
        ..Address::default()
    }
}

/// One line as (variant, quantity, unit price).
pub type Line<'a> = (&'a str, i64, i64);

/// Places a `pending_payment` order of `buyer` from `seller` through the store, as checkout writes it, priced
/// with the default shipping rule; it expires at `expires_at_ms`. Returns its id.
pub async fn place_order_until(
    db: &Db,
    buyer: &str,
    seller: &str,
    lines: &[Line<'_>],
    expires_at_ms: i64,
) -> String {
    let mut priced: Vec<PricedLine> = lines
        .iter()
        .map(|(variant, quantity, unit_price)| PricedLine {
            variant_id: (*variant).to_owned(),
            product_id: format!("prd_{variant}"),
            category_id: "cat_1".into(),
            title: format!("Item {variant}"),
            sku: variant.to_uppercase(),
            quantity: *quantity,
            unit_price: *unit_price,
            discount: 0,
        })
        .collect();
    let settings = OrderSettings::default();
    let shipping = ShippingRule {
        fee: settings.shipping_fee_minor,
        free_from: settings.free_shipping_from_minor,
    };
    let totals = pricing::price(&mut priced, None, shipping).unwrap();
    let now = now_ms();
    let (id, mut tx) = start_checkout(db, buyer, seller, now).await;
    store::write_lines(&mut tx, &id, &priced).await.unwrap();
    assert!(
        store::open_checkout(&mut tx, &id, &totals, expires_at_ms, now)
            .await
            .unwrap()
    );
    store::record_event(&mut tx, "created", &id, "")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Writes the `reserving` row a checkout starts with, at `created_at_ms`, and returns its id and the transaction
/// that wrote it (not yet committed).
async fn start_checkout(
    db: &Db,
    buyer: &str,
    seller: &str,
    created_at_ms: i64,
) -> (String, crate::Tx) {
    let id = new_id("ord");
    let address = address();
    let mut tx = db.begin_write().await.unwrap();
    let written = store::insert_reserving(
        &mut tx,
        &NewOrder {
            id: &id,
            buyer_id: buyer,
            seller_id: seller,
            request_id: &new_id("req"),
            fingerprint: "fp",
            currency: "USD",
            address: &address,
            claimed_coupon_id: "",
            coupon_code: "",
            expected_total: -1,
            created_at_ms,
        },
    )
    .await
    .unwrap();
    assert!(written);
    (id, tx)
}

/// A checkout that started at `created_at_ms` and never got its stock reserved: still `reserving`.
pub async fn stuck_checkout(db: &Db, buyer: &str, seller: &str, created_at_ms: i64) -> String {
    let (id, tx) = start_checkout(db, buyer, seller, created_at_ms).await;
    tx.commit().await.unwrap();
    id
}

/// [`place_order_until`] a quarter of an hour from now.
pub async fn place_order(db: &Db, buyer: &str, seller: &str, lines: &[Line<'_>]) -> String {
    place_order_until(db, buyer, seller, lines, now_ms() + 15 * 60 * 1000).await
}

/// The order's status, whoever owns it.
pub async fn status(db: &Db, id: &str) -> String {
    let mut conn = db.pool().acquire().await.unwrap();
    store::load(&mut conn, id)
        .await
        .unwrap()
        .unwrap()
        .order
        .status
}

/// The topics recorded for `aggregate_id`, oldest first.
pub async fn topics(db: &Db, aggregate_id: &str) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT topic FROM outbox WHERE aggregate_id = $1 ORDER BY occurred_at_ms, id",
    )
    .bind(aggregate_id)
    .fetch_all(db.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(t,)| t).collect()
}
