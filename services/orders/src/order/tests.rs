//! Orders against real databases: the state machine through the store and the lifecycle (no catalog, so no
//! stock), ownership in the queries, keyset pages, and the sweeper.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokshop_platform::{
    ServiceError,
    config::OrderSettings,
    db::Db,
    page::{self, Cursor},
    time::now_ms,
};

use super::{
    lifecycle,
    rules::{
        CANCELLED, COMPLETED, CONFIRM_RECEIPT, DELIVERED, FAILED, MARK_DELIVERED, PAID,
        PENDING_PAYMENT, RESERVING, SHIPPED, Viewer,
    },
    store::{self, OrderRow},
    sweep,
};
use crate::{
    payment::Providers,
    testing::{self, place_order, place_order_until, status, stuck_checkout, topics},
};

tokshop_platform::storage_tests!(
    "orders",
    crate::MIGRATIONS;
    an_order_moves_forward_one_step_at_a_time,
    cancelling_an_unpaid_order_records_who_and_why,
    another_users_order_is_not_found,
    orders_page_newest_first,
    the_sweeper_expires_abandons_and_completes,
);

fn code(err: ServiceError) -> String {
    err.code()
}

/// Pays the order in the store only (no money moves): enough to walk the state machine.
async fn mark_paid(db: &Db, id: &str, buyer: &str) {
    let mut tx = db.begin_write().await.unwrap();
    let claimed = store::claim_for_payment(&mut tx, id, buyer, "pay_test", now_ms())
        .await
        .unwrap();
    assert!(claimed, "a fresh unpaid order can be claimed for payment");
    tx.commit().await.unwrap();
}

async fn an_order_moves_forward_one_step_at_a_time(db: Db) {
    let db = &db;
    let id = place_order(db, "buyer", "seller", &[("v1", 2, 1500)]).await;
    assert_eq!(status(db, &id).await, PENDING_PAYMENT);
    // Unpaid orders cannot ship or be received.
    let err = lifecycle::ship(db, &id, "seller", "TRACK1", "UPS").await;
    assert_eq!(code(err.unwrap_err()), "invalid_order_state");
    let err = lifecycle::advance(db, &id, Viewer::Buyer("buyer"), CONFIRM_RECEIPT).await;
    assert_eq!(code(err.unwrap_err()), "invalid_order_state");

    mark_paid(db, &id, "buyer").await;
    assert_eq!(status(db, &id).await, PAID);
    // A second claim (another payer) finds it paid.
    let mut tx = db.begin_write().await.unwrap();
    assert!(
        !store::claim_for_payment(&mut tx, &id, "buyer", "pay_2", now_ms())
            .await
            .unwrap()
    );
    drop(tx);

    let shipped = lifecycle::ship(db, &id, "seller", " TRACK1 ", "UPS")
        .await
        .unwrap();
    assert_eq!(shipped.order.status, SHIPPED);
    assert_eq!(shipped.order.tracking_number, "TRACK1");
    assert!(shipped.order.shipped_at_ms > 0);
    let again = lifecycle::ship(db, &id, "seller", "TRACK2", "UPS").await;
    let err = again.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("order {id} is shipped; it cannot be shipped")
    );
    let err = lifecycle::cancel(db, &Providers::new(false), &id, Viewer::Buyer("buyer")).await;
    assert_eq!(code(err.unwrap_err()), "invalid_order_state");

    let delivered = lifecycle::advance(db, &id, Viewer::Seller("seller"), MARK_DELIVERED)
        .await
        .unwrap();
    assert_eq!(delivered.order.status, DELIVERED);
    let completed = lifecycle::advance(db, &id, Viewer::Buyer("buyer"), CONFIRM_RECEIPT)
        .await
        .unwrap();
    assert_eq!(completed.order.status, COMPLETED);
    assert!(completed.order.completed_at_ms > 0);
    // Completed is final, and a conditional move from a state it left does nothing.
    let mut tx = db.begin_write().await.unwrap();
    assert!(
        !store::transition(&mut tx, &id, &[DELIVERED], COMPLETED)
            .await
            .unwrap()
    );
    drop(tx);
    assert_eq!(
        topics(db, &id).await,
        [
            "order.created",
            "order.shipped",
            "order.delivered",
            "order.completed"
        ]
    );
}

async fn cancelling_an_unpaid_order_records_who_and_why(db: Db) {
    let db = &db;
    let providers = Providers::new(false);
    let id = place_order(db, "buyer", "seller", &[("v1", 1, 800)]).await;
    let cancelled = lifecycle::cancel(db, &providers, &id, Viewer::Seller("seller"))
        .await
        .unwrap();
    assert_eq!(cancelled.order.status, CANCELLED);
    assert_eq!(cancelled.order.cancel_reason, "seller");
    assert!(cancelled.order.cancelled_at_ms > 0);
    // Cancelling twice is refused, and records nothing more.
    let err = lifecycle::cancel(db, &providers, &id, Viewer::Buyer("buyer")).await;
    assert_eq!(code(err.unwrap_err()), "invalid_order_state");
    assert_eq!(topics(db, &id).await, ["order.created", "order.cancelled"]);
}

async fn another_users_order_is_not_found(db: Db) {
    let db = &db;
    let id = place_order(db, "buyer", "seller", &[("v1", 1, 800)]).await;
    let mut conn = db.pool().acquire().await.unwrap();
    for viewer in [
        Viewer::Buyer("someone"),
        Viewer::Buyer("seller"),
        Viewer::Seller("buyer"),
        Viewer::Seller("other_seller"),
    ] {
        let err = store::load_for(&mut conn, &id, viewer).await.unwrap_err();
        assert_eq!(code(err), "order_not_found", "{viewer:?}");
    }
    assert!(
        store::load_for(&mut conn, &id, Viewer::Buyer("buyer"))
            .await
            .is_ok()
    );
    assert!(
        store::load_for(&mut conn, &id, Viewer::Seller("seller"))
            .await
            .is_ok()
    );
    let empty = store::list(
        &mut conn,
        Viewer::Buyer("someone"),
        None,
        &Cursor::start(),
        20,
    )
    .await
    .unwrap();
    assert!(empty.is_empty());
    drop(conn);

    // Acting on it is the same 404, and changes nothing.
    let providers = Providers::new(false);
    let err = lifecycle::cancel(db, &providers, &id, Viewer::Buyer("someone")).await;
    assert_eq!(code(err.unwrap_err()), "order_not_found");
    let err = lifecycle::cancel(db, &providers, &id, Viewer::Seller("other_seller")).await;
    assert_eq!(code(err.unwrap_err()), "order_not_found");
    mark_paid(db, &id, "buyer").await;
    let err = lifecycle::ship(db, &id, "other_seller", "T", "").await;
    assert_eq!(code(err.unwrap_err()), "order_not_found");
    let mut tx = db.begin_write().await.unwrap();
    let moved = store::change_address(
        &mut tx,
        &id,
        "someone",
        &testing::address(),
        super::rules::ADDRESS_CHANGEABLE,
    )
    .await
    .unwrap();
    assert!(!moved, "another buyer cannot redirect the order");
    drop(tx);
    assert_eq!(status(db, &id).await, PAID);

    // A checkout still reserving stock is nobody's to see yet, not even its buyer's.
    let reserving = stuck_checkout(db, "buyer", "seller", now_ms()).await;
    let mut conn = db.pool().acquire().await.unwrap();
    let err = store::load_for(&mut conn, &reserving, Viewer::Buyer("buyer")).await;
    assert_eq!(code(err.unwrap_err()), "order_not_found");
    let mine = store::list(
        &mut conn,
        Viewer::Buyer("buyer"),
        None,
        &Cursor::start(),
        20,
    )
    .await
    .unwrap();
    assert_eq!(mine.len(), 1, "only the placed order is listed");
}

async fn orders_page_newest_first(db: Db) {
    let db = &db;
    let mut placed = Vec::new();
    for n in 0..3 {
        placed.push(place_order(db, "buyer", "seller", &[("v1", 1, 100 + n)]).await);
    }
    place_order(db, "other", "seller", &[("v1", 1, 100)]).await;
    let mut conn = db.pool().acquire().await.unwrap();
    let key = |o: &OrderRow| (o.created_at_ms, o.id.clone());
    let rows = store::list(&mut conn, Viewer::Buyer("buyer"), None, &Cursor::start(), 2)
        .await
        .unwrap();
    let (first, next) = page::finish(rows, 2, key);
    let ids: Vec<&str> = first.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, [placed[2].as_str(), placed[1].as_str()]);
    let after = Cursor::decode(&next).unwrap();
    let rows = store::list(&mut conn, Viewer::Buyer("buyer"), None, &after, 2)
        .await
        .unwrap();
    let (second, last) = page::finish(rows, 2, key);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, placed[0]);
    assert!(last.is_empty());
    let sellers = store::list(
        &mut conn,
        Viewer::Seller("seller"),
        None,
        &Cursor::start(),
        20,
    )
    .await
    .unwrap();
    assert_eq!(sellers.len(), 4);
    let paid = store::list(
        &mut conn,
        Viewer::Seller("seller"),
        Some(PAID),
        &Cursor::start(),
        20,
    )
    .await
    .unwrap();
    assert!(paid.is_empty());
}

async fn the_sweeper_expires_abandons_and_completes(db: Db) {
    let db = &db;
    let now = now_ms();
    let unpaid = place_order_until(db, "buyer", "seller", &[("v1", 1, 800)], now - 1).await;
    let fresh = place_order(db, "buyer", "seller", &[("v1", 1, 800)]).await;
    let stuck = stuck_checkout(db, "buyer", "seller", now - 10 * 60 * 1000).await;
    let starting = stuck_checkout(db, "buyer", "seller", now).await;
    let delivered = place_order(db, "buyer", "seller", &[("v1", 1, 800)]).await;
    mark_paid(db, &delivered, "buyer").await;
    lifecycle::ship(db, &delivered, "seller", "T", "")
        .await
        .unwrap();
    lifecycle::advance(db, &delivered, Viewer::Seller("seller"), MARK_DELIVERED)
        .await
        .unwrap();

    let settings = OrderSettings {
        auto_complete_secs: 0,
        ..OrderSettings::default()
    };
    let swept = sweep(db, &settings).await.unwrap();
    assert_eq!((swept.expired, swept.abandoned, swept.completed), (1, 1, 1));
    assert_eq!(status(db, &unpaid).await, CANCELLED);
    assert_eq!(status(db, &fresh).await, PENDING_PAYMENT);
    assert_eq!(status(db, &stuck).await, FAILED);
    assert_eq!(status(db, &starting).await, RESERVING);
    assert_eq!(status(db, &delivered).await, COMPLETED);
    assert!(
        topics(db, &stuck)
            .await
            .contains(&"order.checkout_failed".to_owned())
    );
    // A second sweep finds nothing left to do.
    assert_eq!(sweep(db, &settings).await.unwrap(), super::Swept::default());
}
