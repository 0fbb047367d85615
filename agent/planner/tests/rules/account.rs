//! Account, coupons, categories.

use super::*;

#[test]
fn wallet_addresses_and_categories() {
    for (text, tool) in [
        ("what's my wallet balance?", "wallet_balance"),
        ("钱包余额", "wallet_balance"),
        ("my addresses", "list_addresses"),
        ("what categories do you have", "list_categories"),
        ("my payment methods", "list_payment_methods"),
    ] {
        let response = Convo::new().user(text).respond();
        assert_eq!(one_call(&response).0, tool, "{text}");
    }
    let convo = Convo::new().user("wallet balance").tool(
        "wallet_balance",
        json!({}),
        json!({"balances": ["100.00 USD"]}),
    );
    assert_eq!(
        reply(&convo.respond()),
        "Your wallet balance is 100.00 USD."
    );

    let convo = Convo::new().user("categories").tool(
        "list_categories",
        json!({}),
        json!({"categories": [
            {"id": "cat_1", "name": "Shoes"},
            {"id": "cat_2", "name": "Trail Shoes", "parent_id": "cat_1"},
            {"id": "cat_3", "name": "Running Shoes", "parent_id": "cat_1"}
        ]}),
    );
    let text = reply(&convo.respond()).to_owned();
    assert!(
        text.contains("- Shoes: Trail Shoes, Running Shoes"),
        "{text}"
    );
}

#[test]
fn coupons_for_a_product_then_claim_one() {
    let response = after_search()
        .user("any coupons for the second one?")
        .respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "list_coupons");
    assert_eq!(args, &json!({"product_id": "prd_2"}));

    let convo = after_search()
        .user("any coupons for the second one?")
        .tool(
            "list_coupons",
            json!({"product_id": "prd_2"}),
            json!({"coupons": [
                {"id": "cpn_1", "code": "TRAIL10", "title": "Trail season", "off": "10%", "valid_until_ms": 1},
                {"id": "cpn_2", "code": "FIVEOFF", "title": "Five off", "off": "5.00 USD", "min_spend": "50.00 USD",
                 "valid_until_ms": 1}
            ]}),
        );
    let text = reply(&convo.respond()).to_owned();
    assert!(
        text.contains("2. FIVEOFF — Five off: 5.00 USD off, min spend 50.00 USD"),
        "{text}"
    );

    let convo = convo.assistant(&text);
    for (ask, coupon) in [
        ("claim the second coupon", "cpn_2"),
        ("claim TRAIL10", "cpn_1"),
        ("领取第一个优惠券", "cpn_1"),
    ] {
        let response = convo.clone().user(ask).respond();
        let (name, args) = one_call(&response);
        assert_eq!(name, "claim_coupon", "{ask}");
        assert_eq!(args, &json!({"coupon_id": coupon}), "{ask}");
    }
}
