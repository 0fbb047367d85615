//! The model interface: streaming, naming, offered tools.

use super::*;

#[tokio::test]
async fn complete_streams_the_reply_and_names_itself() {
    let planner = RulePlanner;
    assert_eq!(planner.provider(), "tokshop.rules");
    assert_eq!(planner.model(), "rule-planner-1");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let request = Convo::new().user("hi").request();
    let response = planner.complete(&request, &Some(tx)).await.unwrap();
    assert_eq!(response.finish_reason, "stop");
    assert_eq!(rx.recv().await.unwrap(), response.text);
    assert!(response.usage.input_tokens > 0 && response.usage.output_tokens > 0);

    let response = planner
        .complete(&Convo::new().user("find tents").request(), &None)
        .await
        .unwrap();
    assert_eq!(response.finish_reason, "tool_calls");
    assert!(response.text.is_empty());
}

#[test]
fn the_same_conversation_gives_the_same_answer() {
    let convo = after_search().user("add the first one");
    assert_eq!(convo.respond(), convo.respond());
    let convo = Convo::new().user("找80元以下的跑鞋");
    assert_eq!(convo.respond(), convo.respond());
}

#[test]
fn a_call_is_never_repeated_within_one_message() {
    // The search already ran for this message: reply from it, never search again.
    let convo = Convo::new().user("find tents").tool(
        "search_products",
        json!({"query": "tents"}),
        json!({"products": [], "more": false}),
    );
    assert!(convo.respond().tool_calls.is_empty());

    // A product page without variants after the fetch: say so instead of fetching again.
    let convo = after_search().user("add the second one").tool(
        "get_product",
        json!({"product_id": "prd_2"}),
        json!({"id": "prd_2", "title": "Peakform Pro Mountain Trail Shoe 2", "price": "64.90 USD",
                   "in_stock": false, "variants": [], "description": "", "seller_id": "usr_1"}),
    );
    let response = convo.respond();
    assert!(response.tool_calls.is_empty(), "{:?}", response.tool_calls);
}

#[test]
fn tools_not_offered_are_not_called() {
    let mut request = Convo::new().user("pay with my wallet").request();
    request.tools = vec![ToolSpec {
        name: "search_products".to_owned(),
        description: "Search".to_owned(),
        parameters: json!({"type": "object"}),
    }];
    let response = RulePlanner.respond(&request);
    assert!(response.tool_calls.is_empty());
    assert!(
        response.text.contains("can't do that here"),
        "{}",
        response.text
    );
}

#[test]
fn answers_to_a_variant_question_narrow_or_explain() {
    let convo = after_search().user("add the first one").with_pages();
    let question = convo.respond().text;
    let asked = convo.assistant(&question);

    // Both offered options are size 42: the question comes again instead of reading "42" as item 42.
    let text = reply(&asked.clone().user("42").respond_fetching()).to_owned();
    assert!(text.contains("Which one would you like?"), "{text}");

    // Blue 43 exists but is sold out.
    let text = reply(&asked.clone().user("blue 43").respond_fetching()).to_owned();
    assert!(
        text.contains("(colour: blue, size: 43) is out of stock"),
        "{text}"
    );

    // Chinese answer.
    let response = asked.clone().user("红色的").respond_fetching();
    assert_eq!(
        one_call(&response).1,
        &json!({"variant_id": "var_1c", "quantity": 1})
    );

    // Something else entirely is a new request.
    let response = asked.user("find jackets").respond_fetching();
    assert_eq!(one_call(&response).0, "search_products");
}

#[test]
fn an_answer_to_which_product_continues_the_add() {
    let convo = after_search().user("add two of the blue 42").with_pages();
    let text = reply(&convo.respond()).to_owned();
    assert!(text.contains("Several products match"), "{text}");
    assert!(text.contains("1. Ridgeline Swift Trail Runner 1"), "{text}");
    assert!(
        text.contains("2. Peakform Pro Mountain Trail Shoe 2"),
        "{text}"
    );
    assert!(
        !text.contains("Rock Grip"),
        "a product without blue is not offered: {text}"
    );

    let response = convo
        .assistant(&text)
        .user("the second one")
        .respond_fetching();
    let (name, args) = one_call(&response);
    assert_eq!(name, "add_to_cart");
    assert_eq!(args, &json!({"variant_id": "var_2b", "quantity": 2}));
}

#[test]
fn option_words_after_a_product_page_add_that_product() {
    let [mut product, _, _] = trail_shoe_pages();
    product["description"] = json!("A light trail runner for rocky paths.");
    let page = after_search().user("show me the first one").tool(
        "get_product",
        json!({"product_id": "prd_1"}),
        product,
    );
    let text = reply(&page.respond_fetching()).to_owned();
    assert!(text.contains("Options:"), "{text}");
    assert!(
        text.contains("2. colour: blue, size: 43 — 59.90 USD (out of stock)"),
        "{text}"
    );
    assert!(text.contains("Say \"add the blue 42\""), "{text}");

    let page = page.assistant(&text);
    let response = page.clone().user("red 42").respond_fetching();
    assert_eq!(
        one_call(&response).1,
        &json!({"variant_id": "var_1c", "quantity": 1})
    );
    let response = page.user("buy it in blue").respond_fetching();
    let (name, args) = one_call(&response);
    assert_eq!(name, "checkout");
    assert_eq!(
        args,
        &json!({"items": [{"variant_id": "var_1a", "quantity": 1}]})
    );
}

#[test]
fn a_bare_number_picks_from_the_list() {
    let response = after_search().user("2").respond();
    assert_eq!(one_call(&response).1, &json!({"product_id": "prd_2"}));
}

#[test]
fn checkout_with_a_claimed_coupon() {
    let claimed = Convo::new()
        .user("claim TRAIL10")
        .approved(
            "claim_coupon",
            json!({"coupon_id": "cpn_1"}),
            json!({"claimed_coupon_id": "cc_1",
                   "coupon": {"id": "cpn_1", "code": "TRAIL10", "title": "Trail season", "off": "10%", "valid_until_ms": 1}}),
        );
    let text = reply(&claimed.respond()).to_owned();
    assert!(
        text.starts_with("Coupon claimed: TRAIL10 — Trail season: 10% off."),
        "{text}"
    );

    let claimed = claimed.assistant(&text);
    let response = claimed
        .clone()
        .user("check out with coupon TRAIL10")
        .respond();
    assert_eq!(
        one_call(&response),
        ("checkout", &json!({"claimed_coupon_id": "cc_1"}))
    );
    let response = claimed.user("check out with coupon NOPE5").respond();
    assert_eq!(one_call(&response).0, "my_coupons");
}

#[test]
fn chinese_journey_replies_stay_chinese() {
    let convo = Convo::new()
        .user("结账")
        .tool(
            "checkout",
            json!({}),
            json!({"status": "confirmation_required", "pending_action_id": "pa_1",
                   "summary": "Place an order for 2 items, total 64.90 USD", "expires_in_seconds": 600}),
        )
        .assistant("请确认 ...")
        .user("是")
        .approved("checkout", json!({}), json!({"order": order("ord_01A", "pending_payment")}));
    assert_eq!(
        reply(&convo.respond()),
        "订单 ord_01A 已创建：共 2 件，合计 64.90 USD。订单等待付款，说“用钱包付款”即可支付。"
    );
    let convo = convo
        .assistant("...")
        .user("用钱包付款")
        .approved(
            "pay_order",
            json!({"order_id": "ord_01A", "payment_method_id": "wallet"}),
            json!({"payment": {"id": "pay_1", "status": "succeeded", "amount": "64.90 USD"}, "order_status": "paid"}),
        );
    assert_eq!(
        reply(&convo.respond()),
        "已用钱包支付 64.90 USD。订单 ord_01A 现在已付款，等待商家发货。"
    );
}

#[test]
fn buy_it_right_after_a_search_buys_what_was_shown_not_the_cart() {
    // One product found: "buy it" checks out that product directly (after the usual confirmation).
    let mut one = trail_shoes();
    one["products"] = json!([trail_shoes()["products"][2].clone()]);
    one["products"][0]["variants"] = json!(1);
    one["products"][0]["variant_id"] = json!("var_3a");
    let found = Convo::new()
        .user("show me the rock grip trail shoe")
        .tool(
            "search_products",
            json!({"query": "rock grip trail shoe"}),
            one,
        )
        .assistant("Here is what I found ...");
    let response = found.user("I'll buy it").respond_fetching();
    let (name, args) = one_call(&response);
    assert_eq!(name, "checkout");
    assert_eq!(
        args,
        &json!({"items": [{"variant_id": "var_3a", "quantity": 1}]})
    );

    // Several found: "buy it" does not fall back to the cart; the planner asks which one.
    let response = after_search().user("I'll buy it").respond_fetching();
    assert!(response.tool_calls.is_empty(), "{:?}", response.tool_calls);

    // After looking at the cart, "buy it" means the cart.
    let carted = after_search()
        .user("what's in my cart")
        .tool("view_cart", json!({}), cart_two_lines())
        .assistant("Your cart ...");
    let response = carted.user("I'll buy it").respond_fetching();
    let (name, args) = one_call(&response);
    assert_eq!(name, "checkout");
    assert_eq!(args, &json!({}));
}

#[test]
fn tell_me_about_a_named_product_opens_it_when_the_search_finds_one() {
    let asked = Convo::new().user("tell me about the Summit Hiking Boot");
    let response = asked.clone().respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "search_products");
    assert_eq!(args, &json!({"query": "summit hiking boot"}));

    let mut one = trail_shoes();
    one["products"] = json!([trail_shoes()["products"][1].clone()]);
    let response = asked
        .clone()
        .tool("search_products", args.clone(), one)
        .respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "get_product");
    assert_eq!(args, &json!({"product_id": "prd_2"}));

    // Several found: the list, to pick from.
    let response = asked
        .tool(
            "search_products",
            json!({"query": "summit hiking boot"}),
            trail_shoes(),
        )
        .respond();
    assert!(response.tool_calls.is_empty());
}

#[test]
fn adding_a_named_product_found_by_its_own_search_asks_for_the_variant() {
    let asked = Convo::new().user("add the Swift Trail Runner to my cart");
    let first = asked.clone().respond_fetching();
    let (name, args) = one_call(&first);
    assert_eq!(name, "search_products");
    let mut one = trail_shoes();
    one["products"] = json!([trail_shoes()["products"][0].clone()]);
    let response = asked
        .clone()
        .tool("search_products", args.clone(), one)
        .respond_fetching();
    assert!(response.tool_calls.is_empty(), "{:?}", response.tool_calls);
    let text = reply(&response);
    assert!(text.contains("red") && text.contains("42"), "{text}");

    // Options named in the same message: search, the product's page, then the add, all for one message.
    let named = Convo::new().user("add the Swift Trail Runner in red 42 to my cart");
    let searched = {
        let response = named.respond();
        let (name, args) = one_call(&response);
        assert_eq!(name, "search_products");
        args.clone()
    };
    let mut one = trail_shoes();
    one["products"] = json!([trail_shoes()["products"][0].clone()]);
    let response = named
        .tool("search_products", searched, one)
        .respond_fetching();
    assert_eq!(
        one_call(&response),
        (
            "add_to_cart",
            &json!({"variant_id": "var_1c", "quantity": 1})
        )
    );

    // One variant: its card carries the variant's id, added at once.
    let single = json!({"products": [
        {"id": "prd_1", "title": "Ridgeline Swift Trail Runner 1", "price": "59.90 USD", "stock": 3,
         "variants": 1, "variant_id": "var_1a"}
    ], "more": false});
    let response = asked
        .tool("search_products", args.clone(), single)
        .respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "add_to_cart");
    assert_eq!(args, &json!({"variant_id": "var_1a", "quantity": 1}));
}
