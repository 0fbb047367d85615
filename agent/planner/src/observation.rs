//! One tool result with the call that produced it, read into the type the tool returns, and the call's arguments
//! into the type the tool takes: the planner reads fields, never keys. Other parties' text is taken out of its
//! envelope first (flagged text withheld).

use serde::Deserialize;
use serde_json::Value;
use tokshop_chat::action::ActionRecord;
use tokshop_tools::{
    ToolError,
    account::{AddressList, AddressResult, Me},
    cart::{Cart, LineArgs, VariantArgs},
    catalog::{CategoryList, Product, ProductList, SearchArgs},
    coupons::{ClaimedCoupon, ClaimedCouponList, CouponList},
    orders::{self, AddressArgs, OrderArgs, OrderList, OrderResult, ReturnResult},
    payments::{PayArgs, PaymentMethodList, PaymentResult, Wallet},
    social::{
        CommentList, CommentResult, CommentsArgs, FavoriteArgs, FavoriteList, FavoriteState, Feed,
        LikeState, Messages, PublicProfile, ReadArgs, RelationResult, SendArgs, SentMessage,
        UserArgs, UserList,
    },
    untrusted,
};

use super::text::Lang;

/// Declares `$name`, an enum of the types tools take or return with which tools use which, and `$read` for each
/// type, so one is read once, as its tool's type, and looked at by that type.
macro_rules! by_tool {
    ($(#[$doc:meta])* $name:ident, $read:ident { $($variant:ident($ty:ty) = $($tool:literal)|+;)* }) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $name {
            $($variant($ty),)*
        }

        impl $name {
            /// `value` read as the type `tool` uses; `None` for a tool the planner does not read, or a value not
            /// of its type.
            fn read(tool: &str, value: &Value) -> Option<Self> {
                match tool {
                    $($($tool)|+ => <$ty>::deserialize(value).ok().map(Self::$variant),)*
                    _ => None,
                }
            }
        }

        $(
            impl $read for $ty {
                fn within(value: &$name) -> Option<&Self> {
                    match value {
                        $name::$variant(value) => Some(value),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

/// A tool output type the planner reads.
pub trait Read {
    fn within(output: &Output) -> Option<&Self>;
}

/// A tool argument type the planner reads (its own calls' arguments).
pub trait CallArgs {
    fn within(arguments: &Arguments) -> Option<&Self>;
}

by_tool! {
    /// A successful tool result, as the type its tool returns.
    Output, Read {
        Products(ProductList) = "search_products";
        Product(Product) = "get_product";
        Categories(CategoryList) = "list_categories";
        Cart(Cart) = "view_cart" | "add_to_cart" | "update_cart_quantity" | "remove_from_cart" | "clear_cart";
        Coupons(CouponList) = "list_coupons";
        ClaimedCoupon(ClaimedCoupon) = "claim_coupon";
        ClaimedCoupons(ClaimedCouponList) = "my_coupons";
        Order(OrderResult) = "checkout" | "get_order" | "cancel_order" | "change_order_address" | "confirm_receipt";
        Orders(OrderList) = "list_orders";
        Return(ReturnResult) = "request_return";
        PaymentMethods(PaymentMethodList) = "list_payment_methods";
        Payment(PaymentResult) = "pay_order";
        Wallet(Wallet) = "wallet_balance";
        Me(Me) = "my_profile";
        Addresses(AddressList) = "list_addresses";
        Address(AddressResult) = "add_address";
        Relation(RelationResult) = "follow_user" | "unfollow_user";
        Users(UserList) = "list_following" | "list_followers";
        Profile(PublicProfile) = "view_profile";
        Like(LikeState) = "like_post";
        Favorite(FavoriteState) = "favorite_product";
        Favorites(FavoriteList) = "list_favorites";
        Comments(CommentList) = "list_comments";
        Comment(CommentResult) = "comment";
        Feed(Feed) = "view_feed";
        Sent(SentMessage) = "send_message";
        Messages(Messages) = "read_messages";
    }
}

by_tool! {
    /// A call's arguments, as the type its tool takes (for the tools whose arguments the planner reads back).
    Arguments, CallArgs {
        Search(SearchArgs) = "search_products";
        Line(LineArgs) = "add_to_cart" | "update_cart_quantity";
        Variant(VariantArgs) = "remove_from_cart";
        Orders(orders::ListArgs) = "list_orders";
        GetOrder(orders::GetOrderArgs) = "get_order";
        Order(OrderArgs) = "cancel_order" | "confirm_receipt";
        OrderAddress(AddressArgs) = "change_order_address";
        Pay(PayArgs) = "pay_order";
        User(UserArgs) = "follow_user" | "unfollow_user" | "view_profile";
        Favorite(FavoriteArgs) = "favorite_product";
        Comments(CommentsArgs) = "list_comments";
        Send(SendArgs) = "send_message";
        ReadMessages(ReadArgs) = "read_messages";
    }
}

impl Arguments {
    /// The order a call about one order names.
    fn order_id(&self) -> Option<&str> {
        match self {
            Arguments::Order(args) => Some(&args.order_id),
            Arguments::GetOrder(args) => Some(&args.order_id),
            Arguments::OrderAddress(args) => Some(&args.order_id),
            Arguments::Pay(args) => Some(&args.order_id),
            _ => None,
        }
    }

    /// The username a call about another person names.
    fn username(&self) -> Option<&str> {
        match self {
            Arguments::User(args) => args.username.as_deref(),
            Arguments::Send(args) => args.username.as_deref(),
            Arguments::ReadMessages(args) => args.username.as_deref(),
            _ => None,
        }
    }
}

/// One tool result with the call that produced it.
#[derive(Debug)]
pub struct Observation {
    /// Position of the tool message in the conversation.
    pub index: usize,
    pub call_id: String,
    pub tool: String,
    /// The call's arguments as its tool's type, when the planner reads that tool's arguments.
    arguments: Option<Arguments>,
    /// The result as its tool's type, when the call succeeded.
    output: Option<Output>,
    /// The failure, when the call failed.
    failure: Option<ToolError>,
    /// What the agent recorded in place of, or around, the tool's own result: a proposal waiting for the
    /// shopper, or a rejected or changed decision.
    record: Option<ActionRecord>,
    /// The result was a JSON object (anything else is no tool's answer).
    object: bool,
}

impl Observation {
    /// `result` as the tool message carried it, for a call with `args`; other parties' text is taken out of its
    /// envelope for `lang`.
    pub fn new(
        index: usize,
        call_id: String,
        tool: String,
        args: &Value,
        mut result: Value,
        lang: Lang,
    ) -> Self {
        let mut record = ActionRecord::read(&result);
        // A decided action's record holds the tool's own result, so an approved checkout reads like any
        // checkout; rejected and changed records stay as they are.
        if call_id.starts_with("confirm_")
            && let Some(
                ActionRecord::Approved { result: inner }
                | ActionRecord::Failed { result: inner, .. },
            ) = &record
            && !inner.is_null()
        {
            result = inner.clone();
            record = ActionRecord::read(&result);
        }
        as_plain_text(&mut result, lang);
        let failure = serde_json::from_value::<ToolError>(result.clone()).ok();
        let arguments = Arguments::read(&tool, args);
        let mut observation = Self {
            index,
            call_id,
            tool,
            arguments,
            output: None,
            failure,
            record,
            object: result.is_object(),
        };
        if observation.ok() {
            observation.output = Output::read(&observation.tool, &result);
        }
        observation
    }

    /// The result as `T`, when the call succeeded and its tool returns a `T`.
    pub fn get<T: Read>(&self) -> Option<&T> {
        self.output.as_ref().and_then(T::within)
    }

    /// The call's arguments as `T`, when its tool takes a `T`.
    pub fn args<T: CallArgs>(&self) -> Option<&T> {
        self.arguments.as_ref().and_then(T::within)
    }

    /// The order the call named, when its tool acts on one order (`get_order`, `pay_order`, ...).
    pub fn order_id(&self) -> Option<&str> {
        self.arguments.as_ref().and_then(Arguments::order_id)
    }

    /// The username the call named, when its tool is about another person (`follow_user`, `send_message`, ...).
    pub fn username(&self) -> Option<&str> {
        self.arguments.as_ref().and_then(Arguments::username)
    }

    /// The error code of a failed call.
    pub fn error(&self) -> Option<&str> {
        self.failure.as_ref().map(|f| f.code.as_str())
    }

    /// What a failed call said went wrong ("" when it did not fail).
    pub fn failure_message(&self) -> &str {
        self.failure.as_ref().map_or("", |f| f.message.as_str())
    }

    /// For `out_of_stock`: how many units there are.
    pub fn available(&self) -> Option<i64> {
        self.failure.as_ref().and_then(|f| f.available)
    }

    /// Why a decided action did not run as approved ("changed since it was proposed: ...").
    pub fn reason(&self) -> &str {
        self.record.as_ref().map_or("", ActionRecord::reason)
    }

    /// A consequential call that now waits for the shopper's approval.
    pub fn pending(&self) -> bool {
        matches!(self.record, Some(ActionRecord::ConfirmationRequired { .. }))
    }

    /// A pending action the shopper turned down (recorded like an approved one, with nothing done).
    pub fn rejected(&self) -> bool {
        matches!(self.record, Some(ActionRecord::Rejected { .. }))
    }

    /// An approved action that did not run because live state had changed; a new proposal waits.
    pub fn changed(&self) -> bool {
        matches!(self.record, Some(ActionRecord::Changed { .. }))
    }

    /// A call that ran and succeeded.
    pub fn ok(&self) -> bool {
        self.error().is_none()
            && !self.pending()
            && !self.rejected()
            && !self.changed()
            && self.object
    }

    /// The call the agent recorded after the shopper decided on a pending action (approved, or rejected).
    pub fn approved(&self) -> bool {
        self.call_id.starts_with("confirm_")
    }
}

/// Takes other parties' text out of its `<untrusted>` envelope for the planner, which quotes it to the shopper
/// only as data: text flagged as reading like instructions is withheld, never repeated as if the shop said it.
fn as_plain_text(value: &mut Value, lang: Lang) {
    match value {
        Value::String(text) => {
            let (plain, flagged) = untrusted::unwrap(text);
            *text = if flagged {
                lang.pick(WITHHELD_EN, WITHHELD_ZH).to_owned()
            } else {
                plain.to_owned()
            };
        }
        Value::Array(items) => items.iter_mut().for_each(|v| as_plain_text(v, lang)),
        Value::Object(map) => map.values_mut().for_each(|v| as_plain_text(v, lang)),
        _ => {}
    }
}

/// What the planner shows instead of flagged text.
pub const WITHHELD_EN: &str = "[not shown: this text, written by a seller or another user, contains instructions \
     aimed at the assistant, which I ignore]";
pub const WITHHELD_ZH: &str = "[未显示：这段由卖家或其他用户写的文字包含针对助手的指令，已忽略]";
