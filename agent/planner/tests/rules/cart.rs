//! The cart: viewing, removing, changing quantities.

use super::*;

#[test]
fn cart_view_remove_change_and_clear() {
    let (name, _) = {
        let response = Convo::new().user("what's in my cart?").respond();
        let (name, args) = one_call(&response);
        (name.to_owned(), args.clone())
    };
    assert_eq!(name, "view_cart");

    let with_cart = Convo::new()
        .user("my cart")
        .tool("view_cart", json!({}), cart_two_lines())
        .assistant("Your cart ...");
    let text = reply(
        &Convo::new()
            .user("我的购物车")
            .tool("view_cart", json!({}), cart_two_lines())
            .respond(),
    )
    .to_owned();
    assert!(text.contains("你的购物车"), "{text}");
    assert!(
        text.contains("2. Ridgeline Swift Trail Runner 1 (colour: red, size: 42) × 2 — 119.80 USD"),
        "{text}"
    );

    let response = with_cart.clone().user("remove the red one").respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "remove_from_cart");
    assert_eq!(args, &json!({"variant_id": "var_1c"}));

    let response = with_cart
        .clone()
        .user("change the quantity of the blue one to 3")
        .respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "update_cart_quantity");
    assert_eq!(args, &json!({"variant_id": "var_1a", "quantity": 3}));

    let text = reply(&with_cart.clone().user("change the quantity to 3").respond()).to_owned();
    assert!(text.contains("Which item do you mean?"), "{text}");

    let response = with_cart.user("清空购物车").respond();
    assert_eq!(one_call(&response).0, "clear_cart");
}

#[test]
fn removal_reply_names_what_was_removed() {
    let convo = Convo::new()
        .user("my cart")
        .tool("view_cart", json!({}), cart_two_lines())
        .assistant("...")
        .user("remove the red one")
        .tool(
            "remove_from_cart",
            json!({"variant_id": "var_1c"}),
            json!({"lines": [cart_two_lines()["lines"][0].clone()], "subtotal": "59.90 USD", "ready_for_checkout": true}),
        );
    let text = reply(&convo.respond()).to_owned();
    assert!(
        text.starts_with(
            "Removed Ridgeline Swift Trail Runner 1 (colour: red, size: 42) from your cart."
        ),
        "{text}"
    );
}

#[test]
fn quantity_change_defaults_to_the_item_just_added() {
    let convo = after_search()
        .user("add the third one")
        .tool(
            "add_to_cart",
            json!({"variant_id": "var_3a", "quantity": 1}),
            json!({"lines": [{"variant_id": "var_3a", "title": "Ridgeline Light Rock Grip Trail Shoe 3",
                              "options": "colour: green, size: 41", "quantity": 1, "unit_price": "49.90 USD",
                              "line_total": "49.90 USD"},
                             cart_two_lines()["lines"][0].clone()],
                   "subtotal": "109.80 USD", "ready_for_checkout": true}),
        )
        .assistant("Added ...")
        .user("数量改成3件");
    let response = convo.respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "update_cart_quantity");
    assert_eq!(args, &json!({"variant_id": "var_3a", "quantity": 3}));
}

#[test]
fn a_cart_longer_than_its_answer_is_never_edited_by_guess() {
    // Ten lines, of which the answer shows the first eight.
    let lines: Vec<Value> = (1..=8)
        .map(|i| {
            json!({"variant_id": format!("var_{i}"), "title": format!("Item number {i}"), "options": "",
                   "quantity": 1, "unit_price": "10.00 USD", "line_total": "10.00 USD"})
        })
        .collect();
    let long = json!({"lines": lines, "more_lines": 2, "subtotal": "100.00 USD", "ready_for_checkout": true});
    let convo = Convo::new()
        .user("show my cart")
        .tool("view_cart", json!({}), long)
        .assistant("...");
    for text in [
        "remove the last one",
        "remove the cheapest one",
        "remove the tenth one",
    ] {
        let text_reply = reply(&convo.clone().user(text).respond()).to_owned();
        assert!(text_reply.contains("10 lines"), "{text}: {text_reply}");
    }
    // A line it can see is still edited.
    let response = convo.user("remove the second one").respond();
    assert_eq!(
        one_call(&response),
        ("remove_from_cart", &json!({"variant_id": "var_2"}))
    );
}
