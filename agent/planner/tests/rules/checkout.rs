//! Checking out and paying.

use super::*;

#[test]
fn checkout_asks_for_confirmation() {
    let response = Convo::new().user("check out please").respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "checkout");
    assert_eq!(args, &json!({}));

    let convo = Convo::new().user("place the order").tool(
        "checkout",
        json!({}),
        json!({"status": "confirmation_required", "pending_action_id": "pa_9",
               "summary": "Place an order for 2 items, total 64.90 USD", "expires_in_seconds": 600}),
    );
    // The server itself shows the summary it rendered and asks; the planner adds no words of its own.
    assert_eq!(reply(&convo.respond()), "");
}

#[test]
fn chinese_checkout_confirmation_is_in_chinese() {
    let response = Convo::new().user("结账").respond();
    assert_eq!(one_call(&response).0, "checkout");
    let convo = Convo::new().user("下单").tool(
        "checkout",
        json!({}),
        json!({"status": "confirmation_required", "pending_action_id": "pa_9",
               "summary": "Place an order for 2 items, total 64.90 USD", "expires_in_seconds": 600}),
    );
    assert_eq!(reply(&convo.respond()), "");
}

#[test]
fn an_approved_checkout_is_reported() {
    let convo = Convo::new()
        .user("check out")
        .tool(
            "checkout",
            json!({}),
            json!({"status": "confirmation_required", "pending_action_id": "pa_1",
                   "summary": "Place an order for 2 items, total 64.90 USD", "expires_in_seconds": 600}),
        )
        .assistant("Please confirm ...")
        .user("yes")
        .approved("checkout", json!({}), json!({"order": order("ord_01A", "pending_payment")}));
    let text = reply(&convo.respond()).to_owned();
    assert_eq!(
        text,
        "Order ord_01A placed: 2 items, total 64.90 USD. It waits for payment; say \"pay with my wallet\" to pay."
    );
}

#[test]
fn a_rejected_action_is_reported_as_not_done() {
    let convo = after_checkout()
        .user("pay with my wallet")
        .tool(
            "pay_order",
            json!({"order_id": "ord_01A", "payment_method_id": "wallet"}),
            json!({"status": "confirmation_required", "pending_action_id": "pa_2",
                   "summary": "Pay 64.90 USD for order ord_01A with wallet", "expires_in_seconds": 600}),
        )
        .assistant("Please confirm ...")
        .user("no")
        .approved(
            "pay_order",
            json!({"order_id": "ord_01A", "payment_method_id": "wallet"}),
            json!({"status": "rejected", "message": "the shopper said no; nothing was done"}),
        );
    let text = reply(&convo.respond()).to_owned();
    assert!(text.starts_with("Okay, I didn't do it"), "{text}");

    // The order is still the one to pay.
    let response = convo.assistant(&text).user("pay with my wallet").respond();
    assert_eq!(
        one_call(&response),
        (
            "pay_order",
            &json!({"order_id": "ord_01A", "payment_method_id": "wallet"})
        )
    );
}

#[test]
fn pay_with_the_wallet_uses_the_latest_order() {
    for text in ["pay with my wallet", "用钱包付款", "pay it"] {
        let response = after_checkout().user(text).respond();
        let (name, args) = one_call(&response);
        assert_eq!(name, "pay_order", "{text}");
        assert_eq!(
            args,
            &json!({"order_id": "ord_01A", "payment_method_id": "wallet"}),
            "{text}"
        );
    }
}

#[test]
fn pay_without_a_known_order_lists_unpaid_orders_first() {
    let convo = Convo::new().user("pay with my wallet");
    let response = convo.respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "list_orders");
    assert_eq!(args, &json!({"status": "pending_payment", "limit": 1}));

    let listed = convo.clone().tool(
        "list_orders",
        json!({"status": "pending_payment", "limit": 1}),
        json!({"orders": [order("ord_07Z", "pending_payment")]}),
    );
    let response = listed.respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "pay_order");
    assert_eq!(
        args,
        &json!({"order_id": "ord_07Z", "payment_method_id": "wallet"})
    );

    let none = convo.tool(
        "list_orders",
        json!({"status": "pending_payment", "limit": 1}),
        json!({"orders": []}),
    );
    let text = reply(&none.respond()).to_owned();
    assert!(text.contains("no order waiting for payment"), "{text}");
}

#[test]
fn pay_with_a_card_looks_the_card_up_first() {
    let convo = after_checkout().user("pay with my card");
    let response = convo.respond();
    let (name, _) = one_call(&response);
    assert_eq!(name, "list_payment_methods");

    let response = convo
        .tool(
            "list_payment_methods",
            json!({}),
            json!({"methods": [{"id": "wallet", "kind": "wallet"},
                               {"id": "pm_42", "kind": "card", "brand": "visa", "last4": "4242"}]}),
        )
        .respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "pay_order");
    assert_eq!(
        args,
        &json!({"order_id": "ord_01A", "payment_method_id": "pm_42"})
    );
}

#[test]
fn an_approved_payment_is_reported() {
    let convo = after_checkout()
        .user("pay with my wallet")
        .tool(
            "pay_order",
            json!({"order_id": "ord_01A", "payment_method_id": "wallet"}),
            json!({"status": "confirmation_required", "pending_action_id": "pa_2",
                   "summary": "Pay 64.90 USD for order ord_01A with wallet", "expires_in_seconds": 600}),
        )
        .assistant("Please confirm ...")
        .user("yes")
        .approved(
            "pay_order",
            json!({"order_id": "ord_01A", "payment_method_id": "wallet"}),
            json!({"payment": {"id": "pay_1", "status": "succeeded", "amount": "64.90 USD"}, "order_status": "paid"}),
        );
    let text = reply(&convo.respond()).to_owned();
    assert!(
        text.starts_with("Paid 64.90 USD with your wallet. Order ord_01A is now paid"),
        "{text}"
    );

    // Afterwards the order is known as paid, so "where is my order" asks about it.
    let response = convo.assistant(&text).user("where is my order").respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "get_order");
    assert_eq!(args, &json!({"order_id": "ord_01A"}));
}

#[test]
fn payment_errors_are_explained() {
    let base = after_checkout().user("pay with my wallet");
    let text = reply(
        &base
            .clone()
            .tool(
                "pay_order",
                json!({"order_id": "ord_01A", "payment_method_id": "wallet"}),
                json!({"error": "insufficient_funds", "message": "the wallet balance is too low"}),
            )
            .respond(),
    )
    .to_owned();
    assert!(text.contains("isn't enough money"), "{text}");
    assert!(text.contains("still unpaid"), "{text}");

    let text = reply(
        &base
            .approved(
                "pay_order",
                json!({"order_id": "ord_01A", "payment_method_id": "pm_42"}),
                json!({"error": "card_declined", "message": "the card was declined"}),
            )
            .respond(),
    )
    .to_owned();
    assert!(text.contains("card was declined"), "{text}");
}
