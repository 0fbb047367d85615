//! Picking from a list: references, variants, questions and their answers.

use super::*;

#[test]
fn show_the_second_one_and_other_references() {
    let cases = [
        ("show me the second one", "prd_2"),
        ("#1", "prd_1"),
        ("the cheaper one", "prd_3"),
        ("the last one", "prd_3"),
        ("第2个", "prd_2"),
        ("看看便宜的那个", "prd_3"),
        ("最后一个", "prd_3"),
        ("tell me more about the swift one", "prd_1"),
    ];
    for (text, product) in cases {
        let response = after_search().user(text).respond();
        let (name, args) = one_call(&response);
        assert_eq!(name, "get_product", "{text}");
        assert_eq!(args, &json!({"product_id": product}), "{text}");
    }
    let text = reply(&after_search().user("the fifth one").respond()).to_owned();
    assert!(text.contains("only 3"), "{text}");
}

#[test]
fn add_the_second_one_with_named_options() {
    let response = after_search()
        .user("add the blue one in 42 of the second result")
        .respond_fetching();
    let (name, args) = one_call(&response);
    assert_eq!(name, "add_to_cart");
    assert_eq!(args, &json!({"variant_id": "var_2b", "quantity": 1}));
}

#[test]
fn add_the_only_variant_in_stock() {
    let response = after_search()
        .user("add the third one to my cart")
        .respond_fetching();
    let (name, args) = one_call(&response);
    assert_eq!(name, "add_to_cart");
    assert_eq!(args, &json!({"variant_id": "var_3a", "quantity": 1}));
}

#[test]
fn several_fitting_variants_get_a_question_then_the_answer_adds() {
    let convo = after_search().user("add the first one").with_pages();
    let text = reply(&convo.respond()).to_owned();
    assert!(text.contains("Which one would you like?"), "{text}");
    assert!(
        text.contains("1. colour: blue, size: 42 — 59.90 USD (3 left)"),
        "{text}"
    );
    assert!(
        text.contains("2. colour: red, size: 42 — 59.90 USD (5 left)"),
        "{text}"
    );
    assert!(
        !text.contains("size: 43"),
        "out-of-stock options are not offered: {text}"
    );

    let answered = convo.clone().assistant(&text).user("the red one, 2 pairs");
    let (name, args) = {
        let response = answered.respond();
        let (name, args) = one_call(&response);
        (name.to_owned(), args.clone())
    };
    assert_eq!(name, "add_to_cart");
    assert_eq!(args, json!({"variant_id": "var_1c", "quantity": 2}));

    let by_position = convo.assistant(&text).user("the first one").respond();
    let (_, args) = one_call(&by_position);
    assert_eq!(args, &json!({"variant_id": "var_1a", "quantity": 1}));
}

#[test]
fn chinese_add_with_options_and_quantity() {
    let response = after_search()
        .user("把第二个蓝色42码加两件到购物车")
        .respond_fetching();
    let (name, args) = one_call(&response);
    assert_eq!(name, "add_to_cart");
    assert_eq!(args, &json!({"variant_id": "var_2b", "quantity": 2}));
}

#[test]
fn unknown_variants_are_fetched_first_then_added() {
    let list_without_variants = json!({
        "products": [
            {"id": "prd_1", "title": "Ridgeline Swift Trail Runner 1", "price": "59.90 USD", "stock": 8},
            {"id": "prd_2", "title": "Peakform Pro Mountain Trail Shoe 2", "price": "from 64.90 USD", "stock": 7}
        ],
        "more": false
    });
    let convo = Convo::new()
        .user("trail shoes")
        .tool(
            "search_products",
            json!({"query": "trail shoes"}),
            list_without_variants,
        )
        .assistant("...")
        .user("add the blue one in 42 of the second result");
    let response = convo.respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "get_product");
    assert_eq!(args, &json!({"product_id": "prd_2"}));

    let [_, product, _] = trail_shoe_pages();
    let response = convo
        .tool("get_product", json!({"product_id": "prd_2"}), product)
        .respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "add_to_cart");
    assert_eq!(args, &json!({"variant_id": "var_2b", "quantity": 1}));
}

#[test]
fn options_that_match_nothing_are_explained() {
    let text = reply(
        &after_search()
            .user("add the first one in yellow")
            .respond_fetching(),
    )
    .to_owned();
    assert!(text.contains("no option matching \"yellow\""), "{text}");
    assert!(text.contains("colour: red, size: 42"), "{text}");
    let text = reply(
        &after_search()
            .user("add the second one, blue 43")
            .respond_fetching(),
    )
    .to_owned();
    assert!(text.contains("no option matching"), "{text}");
    assert!(text.contains("colour: blue, size: 44"), "{text}");
}

#[test]
fn added_reply_names_the_line_and_the_subtotal() {
    let convo = after_search().user("add the third one").tool(
        "add_to_cart",
        json!({"variant_id": "var_3a", "quantity": 1}),
        json!({"lines": [{"variant_id": "var_3a", "title": "Ridgeline Light Rock Grip Trail Shoe 3",
                          "options": "colour: green, size: 41", "quantity": 1, "unit_price": "49.90 USD",
                          "line_total": "49.90 USD"}],
               "subtotal": "49.90 USD", "ready_for_checkout": true}),
    );
    let text = reply(&convo.respond()).to_owned();
    assert!(
        text.contains("Added 1 × Ridgeline Light Rock Grip Trail Shoe 3 (colour: green, size: 41) to your cart"),
        "{text}"
    );
    assert!(text.contains("subtotal 49.90 USD"), "{text}");
}

#[test]
fn buy_the_third_one_checks_out_that_item() {
    let response = after_search().user("buy the third one").respond_fetching();
    let (name, args) = one_call(&response);
    assert_eq!(name, "checkout");
    assert_eq!(
        args,
        &json!({"items": [{"variant_id": "var_3a", "quantity": 1}]})
    );
}

#[test]
fn a_product_with_more_variants_than_a_page_is_asked_for_the_named_options() {
    let mut many = trail_shoes();
    many["products"][1]["variants"] = json!(40);
    let convo = Convo::new()
        .user("find trail shoes under 80")
        .tool(
            "search_products",
            json!({"query": "trail shoes", "max_price": 80}),
            many,
        )
        .assistant("Here is what I found ...");
    let response = convo
        .clone()
        .user("add the second one in blue 42")
        .respond();
    assert_eq!(
        one_call(&response),
        (
            "get_product",
            &json!({"product_id": "prd_2", "options": "42 blue"})
        )
    );
    // Without options named, the page as it comes.
    let response = convo.user("show me the second one").respond();
    assert_eq!(
        one_call(&response),
        ("get_product", &json!({"product_id": "prd_2"}))
    );
}

#[test]
fn a_page_showing_some_variants_is_read_again_for_the_named_options() {
    let [_, mut page, _] = trail_shoe_pages();
    page["more_variants"] = json!(25);
    let convo = after_search()
        .user("show me the second one")
        .tool("get_product", json!({"product_id": "prd_2"}), page)
        .assistant("...");
    let response = convo.user("add it in white 45").respond();
    assert_eq!(
        one_call(&response),
        (
            "get_product",
            &json!({"product_id": "prd_2", "options": "45 white"})
        )
    );
}
