//! The identity store on a real SQLite file and a real PostgreSQL database: unique names, refresh-token rotation,
//! seller onboarding and addresses.

use tokshop_platform::{ServiceError, db::Db, time::now_ms};

use super::{NewUser, Rotation, Store, UserRow, addresses::MAX_ADDRESSES};
use tokshop_platform::address::PostalAddress;

async fn user(store: &Store, username: &str, email: &str) -> UserRow {
    store
        .create_user(NewUser {
            username,
            email,
            password_hash: "$argon2id$not-checked-here",
            display_name: username,
            is_admin: false,
        })
        .await
        .unwrap()
}

fn conflict_code(err: ServiceError) -> (&'static str, Option<String>) {
    match err {
        ServiceError::Conflict { code, param, .. } => (code, param),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn address(line1: &str) -> PostalAddress {
    PostalAddress {
        recipient: "Ann".into(),
        line1: line1.into(),
        city: "Springfield".into(),
        postal_code: "12345".into(),
        country: "US".into(),
        ..Default::default()
    }
}

async fn usernames_and_emails_are_unique_whatever_their_case(db: Db) {
    let store = Store::new(db);
    let ann = user(&store, "Ann", "ann@example.com").await;

    let err = store
        .create_user(NewUser {
            username: "ANN",
            email: "other@example.com",
            password_hash: "x",
            display_name: "x",
            is_admin: false,
        })
        .await
        .unwrap_err();
    assert_eq!(
        conflict_code(err),
        ("username_taken", Some("username".into()))
    );
    let err = store
        .create_user(NewUser {
            username: "ann2",
            email: "ANN@Example.com",
            password_hash: "x",
            display_name: "x",
            is_admin: false,
        })
        .await
        .unwrap_err();
    assert_eq!(conflict_code(err), ("email_taken", Some("email".into())));

    // Either name signs in, in any case; the username lookup never matches an email.
    for login in ["ann", "ANN@EXAMPLE.COM"] {
        let found = store.find_by_login(login).await.unwrap().unwrap();
        assert_eq!(found.id, ann.id, "{login}");
    }
    assert!(store.find_by_login("nobody").await.unwrap().is_none());
    let known = store
        .get_users(&[ann.id.clone(), "usr_missing".into()])
        .await
        .unwrap();
    assert_eq!(known.len(), 1);
    assert!(matches!(
        store.get_users(&vec![ann.id.clone(); 101]).await,
        Err(ServiceError::Invalid { ref param, .. }) if param == "user_ids"
    ));
    assert!(matches!(
        store.find_by_username("ann@example.com").await,
        Err(ServiceError::NotFound { .. })
    ));
}

async fn a_refresh_token_rotates_once_and_a_replay_revokes_the_session(db: Db) {
    let store = Store::new(db);
    let ann = user(&store, "ann", "ann@example.com").await;
    let later = now_ms() + 60_000;
    store
        .insert_refresh_token("h1", "ses_1", &ann.id, later)
        .await
        .unwrap();

    let rotated = store.rotate_refresh_token("h1", "h2", later).await.unwrap();
    assert!(matches!(rotated, Rotation::Rotated { ref user_id } if *user_id == ann.id));
    // The spent token presented again: refused, and the whole session with it.
    assert!(matches!(
        store.rotate_refresh_token("h1", "h3", later).await.unwrap(),
        Rotation::Reused
    ));
    assert!(matches!(
        store.rotate_refresh_token("h2", "h4", later).await.unwrap(),
        Rotation::Invalid
    ));
    assert!(matches!(
        store
            .rotate_refresh_token("unknown", "h5", later)
            .await
            .unwrap(),
        Rotation::Invalid
    ));
}

async fn expired_and_signed_out_tokens_do_not_rotate(db: Db) {
    let store = Store::new(db);
    let ann = user(&store, "ann", "ann@example.com").await;
    store
        .insert_refresh_token("old", "ses_1", &ann.id, now_ms() - 1)
        .await
        .unwrap();
    assert!(matches!(
        store
            .rotate_refresh_token("old", "new", now_ms() + 60_000)
            .await
            .unwrap(),
        Rotation::Invalid
    ));

    store
        .insert_refresh_token("live", "ses_2", &ann.id, now_ms() + 60_000)
        .await
        .unwrap();
    store.revoke_session_of("live").await.unwrap();
    // Signing out twice, or with a token nobody issued, is fine.
    store.revoke_session_of("live").await.unwrap();
    store.revoke_session_of("never-issued").await.unwrap();
    assert!(matches!(
        store
            .rotate_refresh_token("live", "next", now_ms() + 60_000)
            .await
            .unwrap(),
        Rotation::Invalid
    ));
}

async fn racing_rotations_of_one_token_let_one_win(db: Db) {
    let store = Store::new(db);
    let ann = user(&store, "ann", "ann@example.com").await;
    let later = now_ms() + 60_000;
    store
        .insert_refresh_token("h1", "ses_1", &ann.id, later)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .rotate_refresh_token("h1", &format!("next{i}"), later)
                    .await
            })
        })
        .collect();
    let mut rotated = 0;
    for task in tasks {
        if let Ok(Rotation::Rotated { .. }) = task.await.unwrap() {
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1);
}

async fn sellers_open_a_shop_under_a_unique_name(db: Db) {
    let store = Store::new(db);
    let ann = user(&store, "ann", "ann@example.com").await;
    let ben = user(&store, "ben", "ben@example.com").await;
    assert_eq!(ann.is_seller, 0);

    let seller = store.make_seller(&ann.id, "Trail Shop").await.unwrap();
    assert_eq!(seller.is_seller, 1);
    assert_eq!(seller.shop_name.as_deref(), Some("Trail Shop"));
    assert_eq!(store.get_user(&ann.id).await.unwrap().is_seller, 1);

    let err = store.make_seller(&ben.id, "trail shop").await.unwrap_err();
    assert_eq!(
        conflict_code(err),
        ("shop_name_taken", Some("shop_name".into()))
    );
    assert_eq!(store.get_user(&ben.id).await.unwrap().is_seller, 0);
    // A seller may rename their own shop, even to another case of the same name.
    let renamed = store.make_seller(&ann.id, "TRAIL SHOP").await.unwrap();
    assert_eq!(renamed.shop_name.as_deref(), Some("TRAIL SHOP"));
    assert!(matches!(
        store.make_seller("usr_missing", "Other").await,
        Err(ServiceError::NotFound { .. })
    ));
}

async fn addresses_keep_one_default_and_belong_to_their_owner(db: Db) {
    let store = Store::new(db);
    let ann = user(&store, "ann", "ann@example.com").await;
    let ben = user(&store, "ben", "ben@example.com").await;

    let first = store
        .add_address(&ann.id, &address("1 Main St"), false)
        .await
        .unwrap();
    assert_eq!(first.is_default, 1, "the first address is the default");
    let second = store
        .add_address(&ann.id, &address("2 Side St"), true)
        .await
        .unwrap();
    let listed = store.list_addresses(&ann.id).await.unwrap();
    let defaults: Vec<&str> = listed
        .iter()
        .filter(|a| a.is_default == 1)
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(defaults, vec![second.id.as_str()]);

    // Someone else's address does not exist for ben.
    assert!(matches!(
        store.get_address(&ben.id, &first.id).await,
        Err(ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_address(&ben.id, &first.id).await,
        Err(ServiceError::NotFound { .. })
    ));

    // Deleting the default makes the oldest remaining one the default.
    store.delete_address(&ann.id, &second.id).await.unwrap();
    let left = store.list_addresses(&ann.id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].id.as_str(), left[0].is_default),
        (first.id.as_str(), 1)
    );

    for i in 1..MAX_ADDRESSES {
        store
            .add_address(&ann.id, &address(&format!("{i} Main St")), false)
            .await
            .unwrap();
    }
    let err = store
        .add_address(&ann.id, &address("one too many"), false)
        .await
        .unwrap_err();
    assert_eq!(conflict_code(err).0, "address_limit_reached");
}

tokshop_platform::storage_tests!(
    "identity", crate::MIGRATIONS;
    usernames_and_emails_are_unique_whatever_their_case,
    a_refresh_token_rotates_once_and_a_replay_revokes_the_session,
    expired_and_signed_out_tokens_do_not_rotate,
    racing_rotations_of_one_token_let_one_win,
    sellers_open_a_shop_under_a_unique_name,
    addresses_keep_one_default_and_belong_to_their_owner,
);
