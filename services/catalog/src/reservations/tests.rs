//! Stock reservations on a real SQLite file and a real PostgreSQL database: all or nothing, never more than is in
//! stock however many reserve at once, idempotent by id, released once; and sales counted once per event.

use tokshop_platform::{ServiceError, db::Db};

use super::{merge_lines, record_sales, release, reserve};
use crate::store::{
    Store, VariantChanges,
    tests::{product, variant},
};

/// Each variant's stock, in the order given.
async fn stock(store: &Store, product_id: &str) -> Vec<i64> {
    let record = store.get_product(product_id).await.unwrap().unwrap();
    record.variants.iter().map(|v| v.stock).collect()
}

/// The ids of a product's variants, in position order.
async fn variant_ids(store: &Store, product_id: &str) -> Vec<String> {
    let record = store.get_product(product_id).await.unwrap().unwrap();
    record.variants.into_iter().map(|v| v.id).collect()
}

fn lines(asked: &[(&str, i64)]) -> Vec<(String, i64)> {
    merge_lines(
        &asked
            .iter()
            .map(|(id, n)| ((*id).to_owned(), *n))
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

fn conflict(err: ServiceError) -> (&'static str, Option<String>) {
    match err {
        ServiceError::Conflict { code, param, .. } => (code, param),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn a_reservation_takes_every_line_or_none(db: Db) {
    let store = Store::new(db.clone());
    let id = product(
        &store,
        "usr_seller",
        "Trail runner",
        vec![variant("A", 100, 5), variant("B", 200, 1)],
    )
    .await;
    let v = variant_ids(&store, &id).await;
    let (a, b) = (v[0].as_str(), v[1].as_str());

    let err = reserve(&db, "res_1", &lines(&[(a, 2), (b, 2)]))
        .await
        .unwrap_err();
    let (code, param) = conflict(err);
    assert_eq!(code, "out_of_stock");
    let short_line = if a < b { 1 } else { 0 };
    assert_eq!(param, Some(format!("lines[{short_line}].quantity")));
    assert_eq!(stock(&store, &id).await, vec![5, 1], "nothing was taken");

    let held = reserve(&db, "res_1", &lines(&[(a, 2), (b, 1)]))
        .await
        .unwrap();
    assert_eq!(held.state, "held");
    assert_eq!(held.lines.len(), 2);
    let unit_prices: Vec<i64> = held.lines.iter().map(|l| l.unit_price).collect();
    assert!(unit_prices.contains(&100) && unit_prices.contains(&200));
    assert_eq!(stock(&store, &id).await, vec![3, 0]);
}

async fn a_reservation_id_is_used_once(db: Db) {
    let store = Store::new(db.clone());
    let id = product(
        &store,
        "usr_seller",
        "Trail runner",
        vec![variant("A", 100, 5)],
    )
    .await;
    let a = variant_ids(&store, &id).await.remove(0);

    reserve(&db, "res_1", &lines(&[(&a, 2)])).await.unwrap();
    // The same call again answers the same reservation and takes nothing more.
    let again = reserve(&db, "res_1", &lines(&[(&a, 2)])).await.unwrap();
    assert_eq!(again.lines[0].quantity, 2);
    assert_eq!(stock(&store, &id).await, vec![3]);
    let err = reserve(&db, "res_1", &lines(&[(&a, 1)])).await.unwrap_err();
    assert_eq!(
        conflict(err),
        ("reservation_conflict", Some("reservation_id".into()))
    );

    // Released once: the stock comes back once.
    assert_eq!(release(&db, "res_1").await.unwrap().state, "released");
    assert_eq!(release(&db, "res_1").await.unwrap().state, "released");
    assert_eq!(stock(&store, &id).await, vec![5]);

    // A release that arrives before its reserve leaves the id spent: the late reserve takes nothing.
    let early = release(&db, "res_2").await.unwrap();
    assert!(early.lines.is_empty());
    assert!(reserve(&db, "res_2", &lines(&[(&a, 1)])).await.is_err());
    assert_eq!(stock(&store, &id).await, vec![5]);
}

async fn concurrent_reservations_never_oversell(db: Db) {
    let store = Store::new(db.clone());
    let id = product(
        &store,
        "usr_seller",
        "Trail runner",
        vec![variant("A", 100, 10)],
    )
    .await;
    let a = variant_ids(&store, &id).await.remove(0);

    let tasks: Vec<_> = (0..25)
        .map(|i| {
            let (db, asked) = (db.clone(), lines(&[(&a, 1)]));
            tokio::spawn(async move { reserve(&db, &format!("res_{i}"), &asked).await })
        })
        .collect();
    let (mut held, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => held += 1,
            Err(err) => {
                assert_eq!(conflict(err).0, "out_of_stock");
                refused += 1;
            }
        }
    }
    assert_eq!((held, refused), (10, 15));
    assert_eq!(stock(&store, &id).await, vec![0]);
}

async fn only_listed_variants_of_listed_products_are_reserved(db: Db) {
    let store = Store::new(db.clone());
    let id = product(
        &store,
        "usr_seller",
        "Trail runner",
        vec![variant("A", 100, 5), variant("B", 100, 5)],
    )
    .await;
    let v = variant_ids(&store, &id).await;
    let delist = VariantChanges {
        listed: Some(false),
        ..Default::default()
    };
    store
        .update_variant("usr_seller", &id, &v[1], &delist)
        .await
        .unwrap();
    let err = reserve(&db, "res_1", &lines(&[(&v[1], 1)]))
        .await
        .unwrap_err();
    assert_eq!(conflict(err).0, "variant_unavailable");
    let err = reserve(&db, "res_2", &lines(&[("var_missing", 1)]))
        .await
        .unwrap_err();
    assert_eq!(conflict(err).0, "variant_unavailable");

    store.set_listed("usr_seller", &id, false).await.unwrap();
    let err = reserve(&db, "res_3", &lines(&[(&v[0], 1)]))
        .await
        .unwrap_err();
    assert_eq!(conflict(err).0, "variant_unavailable");
    assert_eq!(stock(&store, &id).await, vec![5, 5]);
}

async fn sales_are_counted_once_per_event(db: Db) {
    let store = Store::new(db.clone());
    let id = product(
        &store,
        "usr_seller",
        "Trail runner",
        vec![variant("A", 100, 5)],
    )
    .await;
    let sold = vec![(id.clone(), 3)];
    assert!(record_sales(&db, "evt_1", &sold).await.unwrap());
    assert!(
        !record_sales(&db, "evt_1", &sold).await.unwrap(),
        "a redelivery changes nothing"
    );
    assert!(
        record_sales(&db, "evt_2", &[(id.clone(), -1)])
            .await
            .unwrap()
    );
    let product = store.get_product(&id).await.unwrap().unwrap().product;
    assert_eq!(product.sold_count, 2);
}

tokshop_platform::storage_tests!(
    "catalog", crate::MIGRATIONS;
    a_reservation_takes_every_line_or_none,
    a_reservation_id_is_used_once,
    concurrent_reservations_never_oversell,
    only_listed_variants_of_listed_products_are_reserved,
    sales_are_counted_once_per_event,
);

#[test]
fn requested_lines_merge_by_variant_within_bounds() {
    let merged = merge_lines(&[
        ("var_b".into(), 2),
        (" var_a ".into(), 1),
        ("var_b".into(), 3),
    ])
    .unwrap();
    assert_eq!(merged, vec![("var_a".into(), 1), ("var_b".into(), 5)]);
    assert!(merge_lines(&[]).is_err());
    let too_many: Vec<(String, i64)> = (0..=super::MAX_LINES)
        .map(|i| (format!("v{i}"), 1))
        .collect();
    assert!(merge_lines(&too_many).is_err());
    for bad in [0, -1, super::MAX_QUANTITY + 1] {
        let err = merge_lines(&[("a".into(), 1), ("b".into(), bad)]).unwrap_err();
        assert!(
            matches!(err, ServiceError::Invalid { ref param, .. } if param == "lines[1].quantity"),
            "{bad}: {err:?}"
        );
    }
}
