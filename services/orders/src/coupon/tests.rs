//! Coupons against real databases: claims stop at the per-user limit and the total quantity (also when shoppers
//! race), a claim is used by one order at a time and comes back when that order is cancelled unpaid, and another
//! shopper's claim is not found.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokshop_platform::{db::Db, ids::new_id, time::now_ms};

use super::{
    claim, claimed,
    rules::{AVAILABLE, EXPIRED, SHOP, USED},
    store::{self, CouponRow},
    usable,
};
use crate::{
    order::{Viewer, lifecycle},
    payment::Providers,
    testing::place_order,
};

tokshop_platform::storage_tests!(
    "orders",
    crate::MIGRATIONS;
    claims_stop_at_each_limit,
    racing_shoppers_never_claim_more_than_there_is,
    a_claim_pays_for_one_order_and_comes_back_on_cancel,
    codes_are_unique_per_seller,
);

/// A shop-wide coupon of `seller`, valid from a minute ago until `valid_until_ms`.
async fn coupon(
    db: &Db,
    seller: &str,
    code: &str,
    total: i64,
    per_user: i64,
    valid_until_ms: i64,
) -> CouponRow {
    let now = now_ms();
    let row = CouponRow {
        id: new_id("cpn"),
        seller_id: seller.into(),
        code: code.into(),
        title: "Five off".into(),
        amount_off: 500,
        percent_off: 0,
        currency: "USD".into(),
        min_spend: 0,
        scope: SHOP.into(),
        scope_id: String::new(),
        valid_from_ms: now - 60_000,
        valid_until_ms,
        total_quantity: total,
        per_user_limit: per_user,
        claimed: 0,
        used: 0,
        created_at_ms: now,
    };
    assert!(store::insert(db, &row).await.unwrap());
    row
}

async fn stored(db: &Db, id: &str) -> CouponRow {
    let mut conn = db.pool().acquire().await.unwrap();
    store::load(&mut conn, id).await.unwrap().unwrap()
}

async fn claims_stop_at_each_limit(db: Db) {
    let db = &db;
    let day = now_ms() + 86_400_000;
    let c = coupon(db, "seller", "SAVE5", 3, 2, day).await;
    claim(db, "ann", &c.id).await.unwrap();
    claim(db, "ann", &c.id).await.unwrap();
    let err = claim(db, "ann", &c.id).await.unwrap_err();
    assert_eq!(err.code(), "coupon_limit_reached");
    // The refused claim took no unit.
    assert_eq!(stored(db, &c.id).await.claimed, 2);
    let bob = claim(db, "bob", &c.id).await.unwrap();
    assert_eq!(
        (bob.status.as_str(), bob.coupon.id.as_str()),
        (AVAILABLE, c.id.as_str())
    );
    let err = claim(db, "cat", &c.id).await.unwrap_err();
    assert_eq!(err.code(), "coupon_sold_out");
    assert_eq!(stored(db, &c.id).await.claimed, 3);
    let err = claim(db, "cat", "cpn_missing").await.unwrap_err();
    assert_eq!(err.code(), "coupon_not_found");
    // The seller's claimable list leaves out what is sold out.
    assert!(
        store::claimable(db, "seller", now_ms())
            .await
            .unwrap()
            .is_empty()
    );

    // A coupon past its validity cannot be claimed, and a claim made while it was valid shows as expired.
    let over = coupon(db, "seller", "OVER", 10, 1, now_ms() - 1).await;
    let err = claim(db, "bob", &over.id).await.unwrap_err();
    assert_eq!(err.code(), "coupon_expired");
    let mut tx = db.begin_write().await.unwrap();
    store::insert_claim(&mut tx, "ccp_earlier", &over.id, "ann", now_ms() + 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mine = claimed(db, "ann", false).await.unwrap();
    let statuses: Vec<&str> = mine.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(statuses, [EXPIRED, AVAILABLE, AVAILABLE]);
    assert_eq!(claimed(db, "ann", true).await.unwrap().len(), 2);
}

async fn racing_shoppers_never_claim_more_than_there_is(db: Db) {
    let db = &db;
    let c = coupon(db, "seller", "RACE", 5, 1, now_ms() + 86_400_000).await;
    let racers = (0..12).map(|n| {
        let db = db.clone();
        let id = c.id.clone();
        tokio::spawn(async move { claim(&db, &format!("shopper{n}"), &id).await })
    });
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => won += 1,
            Err(err) => assert_eq!(err.code(), "coupon_sold_out"),
        }
    }
    assert_eq!(won, 5);
    assert_eq!(stored(db, &c.id).await.claimed, 5);
}

async fn a_claim_pays_for_one_order_and_comes_back_on_cancel(db: Db) {
    let db = &db;
    let c = coupon(db, "seller", "ONCE", 10, 1, now_ms() + 86_400_000).await;
    let mine = claim(db, "buyer", &c.id).await.unwrap();
    let mut conn = db.pool().acquire().await.unwrap();
    assert_eq!(usable(&mut conn, "buyer", &mine.id).await.unwrap().id, c.id);
    // Another shopper's claim is not theirs to use.
    let err = usable(&mut conn, "someone", &mine.id).await.unwrap_err();
    assert_eq!(err.code(), "coupon_not_found");
    drop(conn);

    let first = place_order(db, "buyer", "seller", &[("v1", 1, 2000)]).await;
    let second = place_order(db, "buyer", "seller", &[("v1", 1, 2000)]).await;
    let mut tx = db.begin_write().await.unwrap();
    assert!(
        !store::use_for_order(&mut tx, "someone", &mine.id, &first, now_ms())
            .await
            .unwrap()
    );
    assert!(
        store::use_for_order(&mut tx, "buyer", &mine.id, &first, now_ms())
            .await
            .unwrap()
    );
    assert!(
        !store::use_for_order(&mut tx, "buyer", &mine.id, &second, now_ms())
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert_eq!(stored(db, &c.id).await.used, 1);
    let mut conn = db.pool().acquire().await.unwrap();
    let err = usable(&mut conn, "buyer", &mine.id).await.unwrap_err();
    assert_eq!(err.code(), "coupon_used");
    drop(conn);
    let listed = claimed(db, "buyer", false).await.unwrap();
    assert_eq!(
        (listed[0].status.as_str(), listed[0].order_id.as_str()),
        (USED, first.as_str())
    );

    // Cancelling the unpaid order gives the coupon back, once.
    lifecycle::cancel(db, &Providers::new(false), &first, Viewer::Buyer("buyer"))
        .await
        .unwrap();
    assert_eq!(stored(db, &c.id).await.used, 0);
    let mut tx = db.begin_write().await.unwrap();
    store::give_back(&mut tx, &first).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stored(db, &c.id).await.used, 0);
    let mut conn = db.pool().acquire().await.unwrap();
    assert!(usable(&mut conn, "buyer", &mine.id).await.is_ok());
}

async fn codes_are_unique_per_seller(db: Db) {
    let db = &db;
    let later = now_ms() + 86_400_000;
    let first = coupon(db, "seller", "DUP", 1, 1, later).await;
    let again = CouponRow {
        id: new_id("cpn"),
        ..first.clone()
    };
    assert!(
        !store::insert(db, &again).await.unwrap(),
        "same seller, same code"
    );
    let elsewhere = CouponRow {
        id: new_id("cpn"),
        seller_id: "another_seller".into(),
        ..first
    };
    assert!(store::insert(db, &elsewhere).await.unwrap());
    assert_eq!(store::of_seller(db, "seller").await.unwrap().len(), 1);
}
