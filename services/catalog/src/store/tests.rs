//! The catalog store on a real SQLite file and a real PostgreSQL database: creating products, listing and
//! delisting, ownership of edits, price history and search. Stock reservations are tested in `reservations`.

use tokshop_platform::{ServiceError, db::Db};

use super::{NewProduct, NewVariant, OptionPair, ProductChanges, Store, VariantChanges};
use crate::search::{SearchQuery, Sort};

pub(crate) fn variant(sku: &str, price_minor: i64, stock: i64) -> NewVariant {
    NewVariant {
        sku: sku.into(),
        options: vec![OptionPair {
            name: "colour".into(),
            value: sku.to_lowercase(),
        }],
        price_minor,
        stock,
        image_urls: vec![],
    }
}

/// A category and a listed product of `seller` in it with `variants`; returns the product id.
pub(crate) async fn product(
    store: &Store,
    seller: &str,
    title: &str,
    variants: Vec<NewVariant>,
) -> String {
    let slug = format!("c-{}", title.to_lowercase().replace(' ', "-"));
    let category = store.create_category(None, "Shoes", &slug).await.unwrap();
    store
        .create_product(
            seller,
            &NewProduct {
                category_id: category.id,
                title: title.into(),
                description: "Light and grippy.".into(),
                image_urls: vec![],
                currency: "USD".into(),
                variants,
            },
        )
        .await
        .unwrap()
}

fn query(terms: &[&str]) -> SearchQuery {
    SearchQuery {
        terms: terms.iter().map(|t| (*t).to_owned()).collect(),
        category_id: None,
        price_min: None,
        price_max: None,
        seller_id: None,
        in_stock_only: false,
        include_delisted: false,
        sort: if terms.is_empty() {
            Sort::Newest
        } else {
            Sort::Relevance
        },
        limit: 20,
        after: None,
    }
}

async fn found(store: &Store, terms: &[&str]) -> Vec<String> {
    let (records, _) = store.search(&query(terms)).await.unwrap();
    records.into_iter().map(|r| r.product.id).collect()
}

async fn a_new_product_has_its_variants_price_range_and_index_entry(db: Db) {
    let store = Store::new(db);
    let id = product(
        &store,
        "usr_seller",
        "Trail runner",
        vec![variant("BLUE-42", 7_900, 3), variant("RED-42", 8_900, 0)],
    )
    .await;
    let record = store.get_product(&id).await.unwrap().unwrap();
    assert_eq!(record.product.title, "Trail runner");
    assert_eq!(record.product.category_name, "Shoes");
    assert_eq!(
        (record.product.min_price, record.product.max_price),
        (Some(7_900), Some(8_900))
    );
    let skus: Vec<&str> = record.variants.iter().map(|v| v.sku.as_str()).collect();
    assert_eq!(skus, vec!["BLUE-42", "RED-42"]);

    assert_eq!(found(&store, &["trail"]).await, vec![id.clone()]);
    // Option values and the category path are searchable too.
    assert_eq!(found(&store, &["blue"]).await, vec![id.clone()]);
    assert_eq!(found(&store, &["shoes"]).await, vec![id.clone()]);
    assert!(found(&store, &["sandal"]).await.is_empty());
    assert!(store.get_product("prd_missing").await.unwrap().is_none());
}

async fn delisting_hides_a_product_from_search_and_counts_until_listed_again(db: Db) {
    let store = Store::new(db);
    let id = product(
        &store,
        "usr_seller",
        "Trail runner",
        vec![variant("A", 100, 1)],
    )
    .await;
    assert_eq!(store.count_listed("usr_seller").await.unwrap(), 1);

    store.set_listed("usr_seller", &id, false).await.unwrap();
    assert!(found(&store, &["trail"]).await.is_empty());
    assert!(found(&store, &[]).await.is_empty());
    assert_eq!(store.count_listed("usr_seller").await.unwrap(), 0);
    let cards = store
        .product_cards(std::slice::from_ref(&id))
        .await
        .unwrap();
    assert_eq!(cards[0].listed, 0);
    // The seller's own listing still shows it.
    let mine = SearchQuery {
        seller_id: Some("usr_seller".into()),
        include_delisted: true,
        ..query(&[])
    };
    assert_eq!(store.search(&mine).await.unwrap().0.len(), 1);

    store.set_listed("usr_seller", &id, true).await.unwrap();
    assert_eq!(found(&store, &["trail"]).await, vec![id.clone()]);
    assert_eq!(store.count_listed("usr_seller").await.unwrap(), 1);
}

async fn only_the_owning_seller_changes_a_product(db: Db) {
    let store = Store::new(db);
    let id = product(
        &store,
        "usr_seller",
        "Trail runner",
        vec![variant("A", 100, 1)],
    )
    .await;
    let rename = ProductChanges {
        title: Some("Road runner".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_product("usr_other", &id, &rename).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(
        store.set_listed("usr_other", &id, false).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(
        store
            .add_variant("usr_other", &id, &variant("B", 1, 1))
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(
        store.set_listed("usr_seller", "prd_missing", false).await,
        Err(ServiceError::NotFound { .. })
    ));

    store
        .update_product("usr_seller", &id, &rename)
        .await
        .unwrap();
    // The index follows the edit: the new title is found, the old one is not.
    assert_eq!(found(&store, &["road"]).await, vec![id.clone()]);
    assert!(found(&store, &["trail"]).await.is_empty());
}

async fn variants_keep_unique_skus_and_a_price_history(db: Db) {
    let store = Store::new(db);
    let id = product(
        &store,
        "usr_seller",
        "Trail runner",
        vec![variant("A", 1_000, 1)],
    )
    .await;
    let err = store
        .add_variant("usr_seller", &id, &variant("A", 2_000, 1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Conflict {
                code: "sku_taken",
                ..
            }
        ),
        "{err:?}"
    );
    store
        .add_variant("usr_seller", &id, &variant("B", 2_000, 1))
        .await
        .unwrap();

    let record = store.get_product(&id).await.unwrap().unwrap();
    let a = record.variants[0].id.clone();
    let reprice = |price| VariantChanges {
        price_minor: Some(price),
        ..Default::default()
    };
    store
        .update_variant("usr_seller", &id, &a, &reprice(900))
        .await
        .unwrap();
    // The same price again is no change.
    store
        .update_variant("usr_seller", &id, &a, &reprice(900))
        .await
        .unwrap();
    let history: Vec<i64> = store
        .price_history(&id)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.variant_id == a)
        .map(|c| c.price_minor)
        .collect();
    assert_eq!(history, vec![1_000, 900]);

    // Delisting the cheap variant moves the price range to the listed ones.
    let delist = VariantChanges {
        listed: Some(false),
        ..Default::default()
    };
    store
        .update_variant("usr_seller", &id, &a, &delist)
        .await
        .unwrap();
    let product = store.get_product(&id).await.unwrap().unwrap().product;
    assert_eq!(
        (product.min_price, product.max_price),
        (Some(2_000), Some(2_000))
    );
    assert!(matches!(
        store
            .update_variant("usr_seller", &id, "var_missing", &delist)
            .await,
        Err(ServiceError::NotFound { .. })
    ));
}

async fn category_slugs_are_unique_and_parents_must_exist(db: Db) {
    let store = Store::new(db);
    let shoes = store.create_category(None, "Shoes", "shoes").await.unwrap();
    let trail = store
        .create_category(Some(&shoes.id), "Trail", "trail")
        .await
        .unwrap();
    assert_eq!((shoes.depth, trail.depth), (0, 1));
    assert!(matches!(
        store.create_category(None, "Shoes again", "shoes").await,
        Err(ServiceError::Conflict {
            code: "slug_taken",
            ..
        })
    ));
    assert!(matches!(
        store.create_category(Some("cat_missing"), "Lost", "lost").await,
        Err(ServiceError::Invalid { ref param, .. }) if param == "parent_id"
    ));
    let names: Vec<String> = store
        .list_categories()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, vec!["Shoes", "Trail"]);
}

async fn retitle_behind_the_back(db: &Db, id: &str, title: &str) {
    sqlx::query("UPDATE products SET title = $2 WHERE id = $1")
        .bind(id)
        .bind(title)
        .execute(db.pool())
        .await
        .unwrap();
}

async fn cached_title(store: &Store, id: &str) -> String {
    store.product(id).await.unwrap().unwrap().product.title
}

/// Reads through the in-memory cache: cards and variant lookups come from the cached product; an edit records
/// `catalog.product_changed` with its change and drops the product at once; the event's handler drops it again.
async fn edits_record_an_event_and_drop_the_cached_product(db: Db) {
    use tokshop_platform::{
        config::CacheSettings,
        events::{Event, EventHandler},
    };

    use super::{CacheInvalidator, Caches};

    let store = Store::cached(db.clone(), Caches::new(&CacheSettings::default(), None));
    let id = product(
        &store,
        "usr_seller",
        "Cached runner",
        vec![variant("A", 700, 3), variant("B", 500, 0)],
    )
    .await;
    assert_eq!(cached_title(&store, &id).await, "Cached runner");
    retitle_behind_the_back(&db, &id, "Behind the back").await;
    assert_eq!(cached_title(&store, &id).await, "Cached runner", "cached");

    let cards = store
        .product_cards(std::slice::from_ref(&id))
        .await
        .unwrap();
    assert_eq!((cards[0].min_price, cards[0].in_stock), (500, 1));
    let variant_id = store.product(&id).await.unwrap().unwrap().variants[1]
        .id
        .clone();
    let details = store
        .variant_details(&[variant_id.clone(), "var_missing".into()])
        .await
        .unwrap();
    assert_eq!(details.len(), 1);
    assert_eq!(
        (details[0].variant.price_minor, details[0].title.as_str()),
        (500, "Cached runner")
    );

    let changes = VariantChanges {
        price_minor: Some(450),
        ..VariantChanges::default()
    };
    store
        .update_variant("usr_seller", &id, &variant_id, &changes)
        .await
        .unwrap();
    assert_eq!(
        cached_title(&store, &id).await,
        "Behind the back",
        "dropped"
    );
    let details = store.variant_details(&[variant_id]).await.unwrap();
    assert_eq!(details[0].variant.price_minor, 450);
    let (events,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE topic = 'catalog.product_changed' AND aggregate_id = $1",
    )
    .bind(&id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(events, 2, "created, then the price");

    retitle_behind_the_back(&db, &id, "Seen after the event").await;
    assert_eq!(cached_title(&store, &id).await, "Behind the back");
    let invalidator = CacheInvalidator {
        store: store.clone(),
    };
    assert!(invalidator.wants("catalog.product_changed"));
    let event = Event {
        id: "evt_test".into(),
        topic: "catalog.product_changed".into(),
        aggregate_id: id.clone(),
        payload: serde_json::json!({ "product_id": id }),
        occurred_at_ms: 0,
    };
    invalidator.handle(&event).await.unwrap();
    assert_eq!(cached_title(&store, &id).await, "Seen after the event");

    // The category tree is cached until a category is added.
    assert_eq!(store.categories().await.unwrap().len(), 1);
    store.create_category(None, "Boots", "boots").await.unwrap();
    assert_eq!(store.categories().await.unwrap().len(), 2);
}

/// Searches without text in the plain orders walk their index in order: no sort step over the matching products,
/// whatever filters ride along (PostgreSQL told to avoid sorts and full scans if it can, since an almost empty
/// table would otherwise make either the cheaper plan).
async fn plain_sorts_walk_an_index_in_their_order(db: Db) {
    use sqlx::Row;

    let cases = [
        (Sort::Newest, "products_listed_newest"),
        (Sort::PriceAsc, "products_listed_price_up"),
        (Sort::PriceDesc, "products_listed_price_down"),
    ];
    for (sort, index) in cases {
        for in_stock_only in [false, true] {
            let search = SearchQuery {
                sort,
                in_stock_only,
                price_max: Some(9000),
                after: Some(crate::search::Cursor {
                    sort,
                    key: 4200.0,
                    id: "prd_x".into(),
                }),
                ..query(&[])
            };
            let (sql, args) = crate::search::build(&search, db.backend(), super::PRODUCT_COLUMNS);
            let mut conn = db.pool().acquire().await.unwrap();
            let plan: Vec<String> = match db.backend() {
                tokshop_platform::db::Backend::Sqlite => args
                    .bind(format!("EXPLAIN QUERY PLAN {sql}"))
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.get::<String, _>("detail"))
                    .collect(),
                tokshop_platform::db::Backend::Postgres => {
                    sqlx::raw_sql("SET enable_seqscan = off; SET enable_sort = off")
                        .execute(&mut *conn)
                        .await
                        .unwrap();
                    let plan = args
                        .bind(format!("EXPLAIN {sql}"))
                        .fetch_all(&mut *conn)
                        .await
                        .unwrap()
                        .iter()
                        .map(|row| row.get::<String, _>(0))
                        .collect();
                    sqlx::raw_sql("RESET enable_seqscan; RESET enable_sort")
                        .execute(&mut *conn)
                        .await
                        .unwrap();
                    plan
                }
            };
            let text = plan.join("\n");
            assert!(text.contains(index), "{sort:?}: {text}");
            assert!(!text.contains("TEMP B-TREE"), "{sort:?} sorts: {text}");
            assert!(!text.contains("Sort"), "{sort:?} sorts: {text}");
        }
    }
}

tokshop_platform::storage_tests!(
    "catalog", crate::MIGRATIONS;
    plain_sorts_walk_an_index_in_their_order,
    edits_record_an_event_and_drop_the_cached_product,
    a_new_product_has_its_variants_price_range_and_index_entry,
    delisting_hides_a_product_from_search_and_counts_until_listed_again,
    only_the_owning_seller_changes_a_product,
    variants_keep_unique_skus_and_a_price_history,
    category_slugs_are_unique_and_parents_must_exist,
);
