//! Slot extraction, English and Chinese.

use std::collections::BTreeSet;

use super::*;
use super::{filters, options, references};
use crate::text::normalize;

#[test]
fn patterns_compile() {
    for (name, re) in filters::ALL_PATTERNS
        .iter()
        .chain(references::ALL_PATTERNS)
        .chain(options::ALL_PATTERNS)
    {
        assert!(
            std::sync::LazyLock::force(re).is_some(),
            "{name} does not compile"
        );
    }
}

#[test]
fn english_filters() {
    let f = search_filters(&normalize("find trail shoes under 80"));
    assert_eq!(f.query, "trail shoes");
    assert_eq!(f.max_price, Some(80.0));
    let f = search_filters(&normalize(
        "show me jackets between 50 and 100, cheapest first",
    ));
    assert_eq!(
        (f.query.as_str(), f.min_price, f.max_price),
        ("jackets", Some(50.0), Some(100.0))
    );
    assert_eq!(f.sort, Some(Sort::PriceAsc));
    let f = search_filters(&normalize("newest headphones in stock only"));
    assert_eq!(
        (f.query.as_str(), f.sort, f.in_stock_only),
        ("headphones", Some(Sort::Newest), true)
    );
    let f = search_filters(&normalize("show me headphones sorted by price high to low"));
    assert_eq!(
        (f.query.as_str(), f.sort),
        ("headphones", Some(Sort::PriceDesc))
    );
    let f = search_filters(&normalize("I'm looking for men's jackets, sort by price"));
    assert_eq!(
        (f.query.as_str(), f.sort),
        ("men's jackets", Some(Sort::PriceAsc))
    );
    let f = search_filters(&normalize("I want some tents over $79.90 please"));
    assert_eq!((f.query.as_str(), f.min_price), ("tents", Some(79.9)));
}

#[test]
fn chinese_filters() {
    let f = search_filters(&normalize("找80元以下的跑鞋"));
    assert_eq!(
        (f.query.as_str(), f.max_price),
        ("running shoes", Some(80.0))
    );
    let f = search_filters(&normalize(
        "给我看看50到100元之间的夹克，价格从低到高，有货的",
    ));
    assert_eq!((f.min_price, f.max_price), (Some(50.0), Some(100.0)));
    assert_eq!(
        (f.query.as_str(), f.sort, f.in_stock_only),
        ("jacket", Some(Sort::PriceAsc), true)
    );
    let f = search_filters(&normalize("我想要八十块以内的帐篷"));
    assert_eq!((f.query.as_str(), f.max_price), ("tent", Some(80.0)));
    let f = search_filters(&normalize("有没有手机支架"));
    assert_eq!(f.query, "手机支架");
}

#[test]
fn references_and_quantities() {
    let mut t = normalize("add 2 of the second one");
    assert_eq!(cut_reference(&mut t), Some(Reference::Ordinal(2)));
    assert_eq!(cut_quantity(&mut t), Some(2));
    let mut t = normalize("把第二个加两件到购物车");
    assert_eq!(cut_reference(&mut t), Some(Reference::Ordinal(2)));
    assert_eq!(cut_quantity(&mut t), Some(2));
    let mut t = normalize("#3 x4");
    assert_eq!(cut_reference(&mut t), Some(Reference::Ordinal(3)));
    assert_eq!(cut_quantity(&mut t), Some(4));
    let mut t = normalize("the cheaper one");
    assert_eq!(cut_reference(&mut t), Some(Reference::Cheapest));
    let mut t = normalize("便宜的那个");
    assert_eq!(cut_reference(&mut t), Some(Reference::Cheapest));
    let mut t = normalize("最后一个");
    assert_eq!(cut_reference(&mut t), Some(Reference::Last));
    let mut t = normalize("cheapest first");
    assert_eq!(cut_reference(&mut t), None);
    let mut t = normalize("change the quantity to 3");
    assert_eq!(target_quantity(&mut t), Some(3));
    let mut t = normalize("数量改成三件");
    assert_eq!(target_quantity(&mut t), Some(3));
}

#[test]
fn options() {
    let values: BTreeSet<String> = ["blue", "red", "42", "43", "l", "s"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let m = mentioned_values(&normalize("the blue one in 42, men's"), &values);
    assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["42", "blue"]);
    let m = mentioned_values(&normalize("蓝色 42码 大号"), &values);
    assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["42", "blue", "l"]);
    let m = mentioned_values(&normalize("蓝牙耳机"), &values);
    assert!(m.is_empty());
    let pans: BTreeSet<String> = ["20cm", "24cm"].iter().map(|s| s.to_string()).collect();
    let m = mentioned_values(&normalize("the 24 one"), &pans);
    assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["24cm"]);
    let m = mentioned_values(&normalize("20 cm"), &pans);
    assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["20cm"]);
    assert_eq!(
        option_values("colour: blue, size: 42")
            .into_iter()
            .collect::<Vec<_>>(),
        vec!["42", "blue"]
    );
    assert_eq!(
        order_status_filter("my unpaid orders"),
        Some("pending_payment")
    );
    assert_eq!(
        order_id("where is ord_01ABC?"),
        Some("ord_01ABC".to_owned())
    );
}
