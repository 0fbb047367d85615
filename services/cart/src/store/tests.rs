//! The cart store on a real SQLite file and a real PostgreSQL database: lines grow up to the per-line cap, a cart
//! holds a bounded number of lines, and every change touches only its owner's cart.

use tokshop_platform::{ServiceError, db::Db};

use super::{MAX_LINES, MAX_QUANTITY, Store, check_quantity};

async fn quantities(store: &Store, user_id: &str) -> Vec<(String, i64)> {
    store
        .lines(user_id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.variant_id, l.quantity))
        .collect()
}

async fn adding_a_variant_again_grows_its_line_up_to_the_cap(db: Db) {
    let store = Store::new(db);
    store.add("usr_ann", "var_a", 2).await.unwrap();
    store.add("usr_ann", "var_a", 3).await.unwrap();
    assert_eq!(
        quantities(&store, "usr_ann").await,
        vec![("var_a".into(), 5)]
    );

    let err = store
        .add("usr_ann", "var_a", MAX_QUANTITY - 4)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Invalid { ref param, .. } if param == "quantity"),
        "{err:?}"
    );
    assert_eq!(
        quantities(&store, "usr_ann").await,
        vec![("var_a".into(), 5)]
    );
    store
        .add("usr_ann", "var_a", MAX_QUANTITY - 5)
        .await
        .unwrap();
    assert_eq!(
        quantities(&store, "usr_ann").await,
        vec![("var_a".into(), MAX_QUANTITY)]
    );
}

async fn quantities_are_set_and_lines_removed_only_where_they_exist(db: Db) {
    let store = Store::new(db);
    store.add("usr_ann", "var_a", 1).await.unwrap();
    store.add("usr_ann", "var_b", 1).await.unwrap();
    store.set_quantity("usr_ann", "var_b", 7).await.unwrap();
    assert_eq!(
        quantities(&store, "usr_ann").await,
        vec![("var_a".into(), 1), ("var_b".into(), 7)]
    );

    // Ben has no such lines: nothing of Ann's changes.
    assert!(matches!(
        store.set_quantity("usr_ben", "var_a", 3).await,
        Err(ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        store.remove("usr_ben", "var_a").await,
        Err(ServiceError::NotFound { .. })
    ));
    store.clear("usr_ben").await.unwrap();
    assert_eq!(quantities(&store, "usr_ann").await.len(), 2);

    store.remove("usr_ann", "var_a").await.unwrap();
    assert!(matches!(
        store.remove("usr_ann", "var_a").await,
        Err(ServiceError::NotFound { .. })
    ));
    store.clear("usr_ann").await.unwrap();
    assert!(quantities(&store, "usr_ann").await.is_empty());
}

async fn a_cart_holds_a_bounded_number_of_lines(db: Db) {
    let store = Store::new(db);
    for i in 0..MAX_LINES {
        store
            .add("usr_ann", &format!("var_{i:03}"), 1)
            .await
            .unwrap();
    }
    let err = store.add("usr_ann", "var_new", 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Conflict {
                code: "cart_full",
                ..
            }
        ),
        "{err:?}"
    );
    // A line already there still grows, and another shopper's cart is not affected.
    store.add("usr_ann", "var_000", 1).await.unwrap();
    store.add("usr_ben", "var_new", 1).await.unwrap();
    assert_eq!(
        quantities(&store, "usr_ann").await.len(),
        MAX_LINES as usize
    );
}

tokshop_platform::storage_tests!(
    "cart", crate::MIGRATIONS;
    adding_a_variant_again_grows_its_line_up_to_the_cap,
    quantities_are_set_and_lines_removed_only_where_they_exist,
    a_cart_holds_a_bounded_number_of_lines,
);

#[test]
fn a_requested_quantity_is_one_to_the_cap() {
    for ok in [1, MAX_QUANTITY] {
        assert!(check_quantity(ok).is_ok(), "{ok}");
    }
    for bad in [0, -1, MAX_QUANTITY + 1] {
        assert!(
            matches!(check_quantity(bad), Err(ServiceError::Invalid { ref param, .. }) if param == "quantity"),
            "{bad}"
        );
    }
}
