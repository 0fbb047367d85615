//! Orders: status, listing, cancelling, receipts.

use super::*;

#[test]
fn where_is_my_order_gets_the_latest_order() {
    let response = after_checkout().user("where is my order?").respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "get_order");
    assert_eq!(args, &json!({"order_id": "ord_01A"}));

    let mut shipped = order("ord_01A", "shipped");
    shipped["tracking_number"] = json!("1Z999AA10123456784");
    let convo = after_checkout().user("where is my order?").tool(
        "get_order",
        json!({"order_id": "ord_01A"}),
        json!({"order": shipped}),
    );
    let text = reply(&convo.respond()).to_owned();
    assert!(text.contains("Order ord_01A"), "{text}");
    assert!(
        text.contains("shipped with tracking number 1Z999AA10123456784"),
        "{text}"
    );

    let mut paid = order("ord_01A", "paid");
    paid["tracking_number"] = Value::Null;
    let convo = after_checkout().user("order status").tool(
        "get_order",
        json!({"order_id": "ord_01A"}),
        json!({"order": paid}),
    );
    let text = reply(&convo.respond()).to_owned();
    assert!(
        text.contains("paid — waiting for the shop to ship it"),
        "{text}"
    );
}

#[test]
fn order_status_in_chinese_without_a_known_order() {
    let convo = Convo::new().user("我的订单到哪了");
    let response = convo.respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "list_orders");
    assert_eq!(args, &json!({"limit": 1}));

    let mut shipped = order("ord_05C", "shipped");
    shipped["tracking_number"] = json!("SF123456");
    let text = reply(
        &convo
            .tool(
                "list_orders",
                json!({"limit": 1}),
                json!({"orders": [shipped]}),
            )
            .respond(),
    )
    .to_owned();
    assert!(has_chinese(&text), "{text}");
    assert!(text.contains("已发货，物流单号 SF123456"), "{text}");
}

#[test]
fn my_orders_lists_them() {
    let response = Convo::new().user("show my unpaid orders").respond();
    let (name, args) = one_call(&response);
    assert_eq!(name, "list_orders");
    assert_eq!(args, &json!({"status": "pending_payment"}));

    let convo = Convo::new().user("my orders").tool(
        "list_orders",
        json!({}),
        json!({"orders": [order("ord_02B", "paid"), order("ord_01A", "cancelled")]}),
    );
    let text = reply(&convo.respond()).to_owned();
    assert!(text.contains("1. ord_02B — 64.90 USD — paid"), "{text}");
    assert!(
        text.contains("2. ord_01A — 64.90 USD — cancelled"),
        "{text}"
    );
}

#[test]
fn cancel_the_latest_order_asks_for_confirmation() {
    for text in ["cancel my order", "取消订单"] {
        let response = after_checkout().user(text).respond();
        let (name, args) = one_call(&response);
        assert_eq!(name, "cancel_order", "{text}");
        assert_eq!(args, &json!({"order_id": "ord_01A"}), "{text}");
    }
    let convo = after_checkout().user("取消订单").tool(
        "cancel_order",
        json!({"order_id": "ord_01A"}),
        json!({"status": "confirmation_required", "pending_action_id": "pa_3",
               "summary": "Cancel order ord_01A (64.90 USD)", "expires_in_seconds": 600}),
    );
    assert_eq!(reply(&convo.respond()), "");

    let done = after_checkout()
        .user("cancel my order")
        .approved(
            "cancel_order",
            json!({"order_id": "ord_01A"}),
            json!({"order": order("ord_01A", "cancelled")}),
        )
        .respond();
    assert_eq!(reply(&done), "Order ord_01A is cancelled.");
}
