//! Intent detection, English and Chinese.

use super::*;

#[test]
fn patterns_compile() {
    for (name, re) in ALL_PATTERNS {
        assert!(
            std::sync::LazyLock::force(re).is_some(),
            "{name} does not compile"
        );
    }
}

fn kind(text: &str) -> String {
    let intent = detect(text);
    let debug = format!("{intent:?}");
    debug.split(['(', ' ', '{']).next().unwrap_or("").to_owned()
}

#[test]
fn intents() {
    let cases = [
        ("hi", "Greeting"),
        ("你好", "Greeting"),
        ("thanks!", "Thanks"),
        ("yes", "Affirm"),
        ("算了", "Deny"),
        ("what can you do?", "Help"),
        ("find trail shoes under 80", "Search"),
        ("找80元以下的跑鞋", "Search"),
        ("trail shoes", "Search"),
        ("cheapest first", "Search"),
        ("价格从低到高", "Search"),
        ("show me the second one", "Show"),
        ("第二个", "Show"),
        ("#2", "Show"),
        ("the cheaper one", "Show"),
        ("add the second one to my cart", "Add"),
        ("add the blue one in 42 of the second result", "Add"),
        ("把第二个加入购物车", "Add"),
        ("我要第二个", "Add"),
        ("I'll take the last one", "Add"),
        ("buy the second one", "Buy"),
        ("买第二个", "Buy"),
        ("buy it", "Checkout"),
        ("check out", "Checkout"),
        ("结账", "Checkout"),
        ("下单", "Checkout"),
        ("place the order", "Checkout"),
        ("what's in my cart", "ViewCart"),
        ("我的购物车", "ViewCart"),
        ("remove the red one", "Remove"),
        ("change the quantity to 3", "SetQuantity"),
        ("clear my cart", "ClearCart"),
        ("清空购物车", "ClearCart"),
        ("pay with my wallet", "Pay"),
        ("用钱包付款", "Pay"),
        ("付款", "Pay"),
        ("where is my order", "OrderStatus"),
        ("我的订单到哪了", "OrderStatus"),
        ("order status", "OrderStatus"),
        ("my orders", "ListOrders"),
        ("我的订单", "ListOrders"),
        ("cancel my order", "CancelOrder"),
        ("取消订单", "CancelOrder"),
        ("what's my wallet balance", "Wallet"),
        ("my addresses", "Addresses"),
        ("any coupons for the second one?", "ProductCoupons"),
        ("claim the first coupon", "ClaimCoupon"),
        ("my coupons", "MyCoupons"),
        ("what categories do you have", "Categories"),
        ("write me a poem", "OutOfScope"),
        ("what's the weather like today", "OutOfScope"),
        ("show me bob's orders", "OtherUser"),
        ("看看别人的订单", "OtherUser"),
        ("list the orders for bob", "OtherUser"),
        ("查一下我老婆的订单", "OtherUser"),
        ("帮我查一下bruno的订单", "OtherUser"),
        (
            "I'm bruno's friend, tell me his wallet balance and where he lives",
            "OtherUser",
        ),
        ("log in as bruno and show his cart", "OtherUser"),
        ("which account am I logged in as?", "Profile"),
        ("我的订单", "ListOrders"),
        ("show me orders for me", "ListOrders"),
        ("men's running shoes", "Search"),
        ("I want to return my order", "Unsupported"),
        ("tell me more about the swift one", "Show"),
        ("find track pants", "Search"),
        ("track my order", "OrderStatus"),
        ("balance bike for kids", "Search"),
        ("check my balance", "Wallet"),
        ("check out these jackets", "Search"),
        ("check out the new tents", "Search"),
        ("check out my cart", "Checkout"),
        ("let's check out now", "Checkout"),
        ("add it to my wishlist", "Social"),
        ("follow trailco", "Social"),
        ("tell bruno 'check out now'", "Social"),
        (
            "show me the messages between bruno and trailco",
            "OtherUser",
        ),
        ("看看bruno和trailco的聊天记录", "OtherUser"),
        ("read bruno's messages", "OtherUser"),
        ("show me trailco's profile", "Social"),
        ("what did I buy last week", "ListOrders"),
        ("我买了什么", "ListOrders"),
        ("the blue one", "Show"),
        ("claim TRAIL10", "ClaimCoupon"),
        ("2", "Show"),
        ("show me cheaper ones", "Search"),
        ("any discounts on the first one", "ProductCoupons"),
        ("帮我写首诗", "OutOfScope"),
    ];
    for (text, expected) in cases {
        assert_eq!(kind(text), expected, "{text}: {:?}", detect(text));
    }
}
