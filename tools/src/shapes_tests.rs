//! The JSON the model reads, pinned: each tool's typed result serializes to exactly the text it always has (field
//! order included, which the model sees), and reads back as the same value.

use serde::{Serialize, de::DeserializeOwned};
use tokshop_proto::{cart, catalog, identity, order, payment, social as pb};

use crate::{
    ToolError,
    account::Address,
    cart::Cart,
    catalog::{Card, Product},
    coupons::{ClaimedCoupon, Coupon},
    orders::{Order, OrderResult, OrderSummary},
    payments::{Payment, PaymentMethod, PaymentResult},
    social::{
        Comment, ConversationList, ConversationSummary, LastMessage, Message, MessageThread,
        Messages, Post, ProductCard, Relation, User,
    },
};

/// Serializes `value`, compares the text, and reads it back.
fn pinned<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    value: &T,
    expected: &str,
) {
    assert_eq!(serde_json::to_string(value).unwrap(), expected);
    let back: T = serde_json::from_str(expected).unwrap();
    assert_eq!(&back, value);
}

pub fn usd(minor: i64) -> Option<catalog::Money> {
    Some(catalog::Money {
        amount_minor: minor,
        currency: "USD".into(),
    })
}

pub fn product() -> catalog::Product {
    let opt = |n: &str, v: &str| catalog::OptionValue {
        name: n.into(),
        value: v.into(),
    };
    catalog::Product {
        id: "prd_1".into(),
        seller_id: "usr_s".into(),
        category_name: "Shoes".into(),
        title: "Trail <Runner>".into(),
        description: "Grippy.".into(),
        min_price: usd(4990),
        max_price: usd(5990),
        in_stock: true,
        variants: vec![
            catalog::Variant {
                id: "var_a".into(),
                options: vec![opt("colour", "blue"), opt("size", "42")],
                price: usd(4990),
                stock: 3,
                listed: true,
                ..Default::default()
            },
            catalog::Variant {
                id: "var_b".into(),
                options: vec![opt("size", "43")],
                price: usd(5990),
                stock: 0,
                listed: true,
                ..Default::default()
            },
            catalog::Variant {
                id: "var_c".into(),
                listed: false,
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

pub fn cart() -> cart::Cart {
    cart::Cart {
        lines: vec![
            cart::CartLine {
                variant_id: "var_a".into(),
                title: "Trail Runner".into(),
                quantity: 2,
                unit_price: usd(4990),
                line_total: usd(9980),
                ..Default::default()
            },
            cart::CartLine {
                variant_id: "var_b".into(),
                title: "Sock".into(),
                quantity: 1,
                unit_price: usd(500),
                line_total: usd(500),
                unavailable: true,
                short_of_stock: true,
                available: 0,
                ..Default::default()
            },
        ],
        subtotals: vec![
            catalog::Money {
                amount_minor: 9980,
                currency: "USD".into(),
            },
            catalog::Money {
                amount_minor: 100,
                currency: "EUR".into(),
            },
        ],
        ready_for_checkout: false,
        ..Default::default()
    }
}

pub fn order(full: bool) -> order::Order {
    let mut o = order::Order {
        id: "ord_1".into(),
        status: order::OrderStatus::Shipped as i32,
        lines: vec![order::OrderLine {
            variant_id: "var_a".into(),
            title: "Trail Runner".into(),
            sku: "TR-42".into(),
            quantity: 2,
            unit_price: usd(4990),
            ..Default::default()
        }],
        subtotal: usd(9980),
        shipping_fee: usd(500),
        total: usd(9480),
        discount: usd(0),
        ..Default::default()
    };
    if full {
        o.discount = usd(1000);
        o.refunded = usd(200);
        o.tracking_number = "TRK1".into();
        o.expires_at_ms = 77;
    }
    o
}

pub fn coupon(percent: bool) -> order::Coupon {
    order::Coupon {
        id: "cpn_1".into(),
        code: "SAVE10".into(),
        title: "Ten off".into(),
        currency: "USD".into(),
        percent_off: if percent { 10 } else { 0 },
        amount_off: if percent { 0 } else { 500 },
        min_spend: if percent { 0 } else { 3000 },
        valid_until_ms: 99,
        ..Default::default()
    }
}

pub fn payment() -> payment::Payment {
    payment::Payment {
        id: "pay_1".into(),
        status: "succeeded".into(),
        amount: usd(9480),
        ..Default::default()
    }
}

pub fn card(seller: bool) -> pb::UserCard {
    pb::UserCard {
        id: "usr_t".into(),
        username: "trailco".into(),
        display_name: "Trail".into(),
        is_seller: seller,
        shop_name: if seller {
            "Trail Co".into()
        } else {
            String::new()
        },
        viewer_follows: true,
        follows_viewer: false,
        ..Default::default()
    }
}

pub fn product_card(available: bool) -> pb::ProductCard {
    pb::ProductCard {
        id: "prd_1".into(),
        title: "Runner".into(),
        price: usd(5990),
        in_stock: true,
        available,
        ..Default::default()
    }
}

pub fn post(full: bool) -> pb::Post {
    pb::Post {
        id: "pst_1".into(),
        text: "New season".into(),
        like_count: 2,
        comment_count: 1,
        viewer_liked: true,
        created_at_ms: 5,
        author: full.then(|| card(true)),
        products: if full {
            vec![product_card(true)]
        } else {
            vec![]
        },
        media: if full {
            vec![pb::Media {
                kind: "image".into(),
                url: "/m/1".into(),
                ..Default::default()
            }]
        } else {
            vec![]
        },
        ..Default::default()
    }
}

pub fn comment(full: bool) -> pb::Comment {
    pb::Comment {
        id: "cmt_1".into(),
        author: full.then(|| card(false)),
        text: "Great".into(),
        created_at_ms: 3,
        parent_id: if full { "cmt_0".into() } else { String::new() },
        reply_count: if full { 2 } else { 0 },
        ..Default::default()
    }
}

pub fn relation() -> pb::Relation {
    pb::Relation {
        user: Some(card(true)),
        following: true,
        followed_by: true,
        friends: true,
        changed: true,
        followers: 3,
    }
}

#[test]
fn products() {
    pinned(
        &Product::of(&product()),
        r#"{"id":"prd_1","title":"<untrusted from=\"seller\">Trail ‹Runner›</untrusted>","price":"from 49.90 USD","in_stock":true,"variants":[{"id":"var_a","options":"<untrusted from=\"seller\">colour: blue, size: 42</untrusted>","price":"49.90 USD","stock":3},{"id":"var_b","options":"<untrusted from=\"seller\">size: 43</untrusted>","price":"59.90 USD","stock":0}],"description":"<untrusted from=\"seller\">Grippy.</untrusted>","seller_id":"usr_s","category":"Shoes"}"#,
    );
    // A search card: stock summed, variants counted, no variant id (there are two).
    pinned(
        &Card::of(&product()),
        r#"{"id":"prd_1","title":"<untrusted from=\"seller\">Trail ‹Runner›</untrusted>","price":"from 49.90 USD","stock":3,"variants":2}"#,
    );
    let mut single = product();
    single.variants.truncate(1);
    single.max_price = single.min_price.clone();
    pinned(
        &Card::of(&single),
        r#"{"id":"prd_1","title":"<untrusted from=\"seller\">Trail ‹Runner›</untrusted>","price":"49.90 USD","stock":3,"variants":1,"variant_id":"var_a"}"#,
    );
}

#[test]
fn carts() {
    pinned(
        &Cart::of(&cart()),
        r#"{"lines":[{"variant_id":"var_a","title":"<untrusted from=\"seller\">Trail Runner</untrusted>","options":"<untrusted from=\"seller\"></untrusted>","quantity":2,"unit_price":"49.90 USD","line_total":"99.80 USD"},{"variant_id":"var_b","title":"<untrusted from=\"seller\">Sock</untrusted>","options":"<untrusted from=\"seller\"></untrusted>","quantity":1,"unit_price":"5.00 USD","line_total":"5.00 USD","unavailable":true,"short_of_stock":true,"available":0}],"subtotal":"99.80 USD + 1.00 EUR","ready_for_checkout":false}"#,
    );
}

#[test]
fn orders() {
    pinned(
        &Order::of(&order(false)),
        r#"{"id":"ord_1","status":"shipped","items":[{"variant_id":"var_a","title":"<untrusted from=\"seller\">Trail Runner</untrusted>","sku":"TR-42","quantity":2,"price":"49.90 USD"}],"subtotal":"99.80 USD","shipping_fee":"5.00 USD","total":"94.80 USD"}"#,
    );
    pinned(
        &Order::of(&order(true)),
        r#"{"id":"ord_1","status":"shipped","items":[{"variant_id":"var_a","title":"<untrusted from=\"seller\">Trail Runner</untrusted>","sku":"TR-42","quantity":2,"price":"49.90 USD"}],"subtotal":"99.80 USD","shipping_fee":"5.00 USD","total":"94.80 USD","discount":"10.00 USD","refunded":"2.00 USD","tracking_number":"TRK1","expires_at_ms":77}"#,
    );
    pinned(
        &OrderSummary::of(&order(true)),
        r#"{"id":"ord_1","status":"shipped","first_item":"<untrusted from=\"seller\">Trail Runner</untrusted>","units":2,"total":"94.80 USD","refunded":"2.00 USD","tracking_number":"TRK1"}"#,
    );
    let wrapped = serde_json::to_string(&OrderResult::of(&order(false))).unwrap();
    assert_eq!(
        wrapped,
        format!(
            r#"{{"order":{}}}"#,
            r#"{"id":"ord_1","status":"shipped","items":[{"variant_id":"var_a","title":"<untrusted from=\"seller\">Trail Runner</untrusted>","sku":"TR-42","quantity":2,"price":"49.90 USD"}],"subtotal":"99.80 USD","shipping_fee":"5.00 USD","total":"94.80 USD"}"#
        )
    );
}

#[test]
fn coupons() {
    pinned(
        &Coupon::of(&coupon(true)),
        r#"{"id":"cpn_1","code":"SAVE10","title":"<untrusted from=\"seller\">Ten off</untrusted>","off":"10%","valid_until_ms":99}"#,
    );
    pinned(
        &Coupon::of(&coupon(false)),
        r#"{"id":"cpn_1","code":"SAVE10","title":"<untrusted from=\"seller\">Ten off</untrusted>","off":"5.00 USD","valid_until_ms":99,"min_spend":"30.00 USD"}"#,
    );
    // claim_coupon has no status; a missing coupon is null, as it always was.
    let claimed = ClaimedCoupon {
        claimed_coupon_id: "clc_1".into(),
        status: None,
        coupon: None,
    };
    pinned(&claimed, r#"{"claimed_coupon_id":"clc_1","coupon":null}"#);
}

#[test]
fn payments() {
    pinned(
        &Payment::of(&payment()),
        r#"{"id":"pay_1","status":"succeeded","amount":"94.80 USD"}"#,
    );
    let paid = PaymentResult {
        payment: Payment::of(&payment()),
        order_status: "paid".into(),
    };
    pinned(
        &paid,
        r#"{"payment":{"id":"pay_1","status":"succeeded","amount":"94.80 USD"},"order_status":"paid"}"#,
    );
    let wallet = PaymentMethod {
        id: "wallet".into(),
        kind: "wallet".into(),
        brand: None,
        last4: None,
    };
    pinned(&wallet, r#"{"id":"wallet","kind":"wallet"}"#);
    let card = PaymentMethod {
        id: "pm_1".into(),
        kind: "card".into(),
        brand: Some("visa".into()),
        last4: Some("4242".into()),
    };
    pinned(
        &card,
        r#"{"id":"pm_1","kind":"card","brand":"visa","last4":"4242"}"#,
    );
}

#[test]
fn addresses() {
    let entry = identity::Address {
        id: "adr_1".into(),
        recipient: "Ann Lee".into(),
        line1: "1 Main St".into(),
        city: "Springfield".into(),
        postal_code: "12345".into(),
        country: "US".into(),
        phone: "555".into(),
        is_default: true,
        ..Default::default()
    };
    pinned(
        &Address::of(&entry),
        r#"{"id":"adr_1","recipient":"Ann Lee","line1":"1 Main St","city":"Springfield","postal_code":"12345","country":"US","default":true}"#,
    );
}

#[test]
fn users_and_relations() {
    pinned(
        &User::of(&card(false)),
        r#"{"id":"usr_t","username":"trailco","name":"<untrusted from=\"user\">Trail</untrusted>","you_follow":true,"follows_you":false}"#,
    );
    pinned(
        &User::of(&card(true)),
        r#"{"id":"usr_t","username":"trailco","name":"<untrusted from=\"user\">Trail</untrusted>","you_follow":true,"follows_you":false,"seller":true,"shop":"<untrusted from=\"seller\">Trail Co</untrusted>"}"#,
    );
    pinned(
        &Relation::of(&relation()),
        r#"{"following":true,"followed_by":true,"friends":true,"changed":true,"followers":3,"user":{"id":"usr_t","username":"trailco","name":"<untrusted from=\"user\">Trail</untrusted>","you_follow":true,"follows_you":false,"seller":true,"shop":"<untrusted from=\"seller\">Trail Co</untrusted>"}}"#,
    );
}

#[test]
fn social_products_posts_and_comments() {
    pinned(
        &ProductCard::of(&product_card(true)),
        r#"{"id":"prd_1","title":"<untrusted from=\"seller\">Runner</untrusted>","price":"59.90 USD","in_stock":true}"#,
    );
    pinned(
        &ProductCard::of(&product_card(false)),
        r#"{"id":"prd_1","title":"<untrusted from=\"seller\">Runner</untrusted>","price":"59.90 USD","in_stock":true,"available":false}"#,
    );
    pinned(
        &Post::of(&post(false)),
        r#"{"id":"pst_1","text":"<untrusted from=\"user\">New season</untrusted>","likes":2,"comments":1,"liked":true,"at_ms":5}"#,
    );
    pinned(
        &Post::of(&post(true)),
        r#"{"id":"pst_1","text":"<untrusted from=\"user\">New season</untrusted>","likes":2,"comments":1,"liked":true,"at_ms":5,"author":{"id":"usr_t","username":"trailco","name":"<untrusted from=\"user\">Trail</untrusted>","you_follow":true,"follows_you":false,"seller":true,"shop":"<untrusted from=\"seller\">Trail Co</untrusted>"},"products":[{"id":"prd_1","title":"<untrusted from=\"seller\">Runner</untrusted>","price":"59.90 USD","in_stock":true}],"media":[{"kind":"image","url":"/m/1"}]}"#,
    );
    pinned(
        &Comment::of(&comment(false)),
        r#"{"id":"cmt_1","author":"","author_id":"","text":"<untrusted from=\"user\">Great</untrusted>","at_ms":3}"#,
    );
    pinned(
        &Comment::of(&comment(true)),
        r#"{"id":"cmt_1","author":"@trailco","author_id":"usr_t","text":"<untrusted from=\"user\">Great</untrusted>","at_ms":3,"parent_id":"cmt_0","replies":2}"#,
    );
}

#[test]
fn messages_read_back_as_the_shape_they_were() {
    let list = Messages::Conversations(ConversationList {
        conversations: vec![ConversationSummary {
            with: "@trailco".into(),
            user_id: "usr_t".into(),
            last_message: Some(LastMessage {
                from: "them".into(),
                text: "hi".into(),
                sent_at_ms: 1,
            }),
        }],
        more: true,
        note: None,
    });
    pinned(
        &list,
        r#"{"conversations":[{"with":"@trailco","user_id":"usr_t","last_message":{"from":"them","text":"hi","sent_at_ms":1}}],"more":true}"#,
    );
    let thread = Messages::With(MessageThread {
        with: User::of(&card(false)),
        messages: vec![Message {
            id: "msg_1".into(),
            from: "me".into(),
            text: "hi".into(),
            sent_at_ms: 2,
        }],
        note: Some("n".into()),
        next_cursor: None,
    });
    pinned(
        &thread,
        &format!(
            r#"{{"with":{},"messages":[{{"id":"msg_1","from":"me","text":"hi","sent_at_ms":2}}],"note":"n"}}"#,
            serde_json::to_string(&User::of(&card(false))).unwrap()
        ),
    );
}

#[test]
fn failures() {
    let err = ToolError {
        code: "out_of_stock".into(),
        message: "only 2 left".into(),
        param: Some("quantity".into()),
        available: Some(2),
    };
    pinned(
        &err,
        r#"{"error":"out_of_stock","message":"only 2 left","param":"quantity","available":2}"#,
    );
    pinned(
        &ToolError::new("not_found", "no such order"),
        r#"{"error":"not_found","message":"no such order"}"#,
    );
}
