//! One tool result with the call that produced it, read into the type the tool returns: the planner reads
//! fields, never keys. Other parties' text is taken out of its envelope first (flagged text withheld).

use serde_json::Value;
use tokshop_chat::action::ActionRecord;
use tokshop_tools::{
    ToolError,
    account::{AddressList, AddressResult, Me},
    cart::Cart,
    catalog::{CategoryList, Product, ProductList},
    coupons::{ClaimedCoupon, ClaimedCouponList, CouponList},
    orders::{OrderList, OrderResult, ReturnResult},
    payments::{PaymentMethodList, PaymentResult, Wallet},
    social::{
        CommentList, CommentResult, FavoriteList, FavoriteState, Feed, LikeState, Messages,
        PublicProfile, RelationResult, SentMessage, UserList,
    },
    untrusted,
};

use super::text::Lang;

/// Declares [`Output`], which tools return which type, and [`Read`] for each type.
macro_rules! outputs {
    ($($variant:ident($ty:ty) = $($tool:literal)|+;)*) => {
        /// A successful tool result, as the type its tool returns.
        #[derive(Debug, Clone)]
        pub enum Output {
            $($variant($ty),)*
        }

        impl Output {
            /// `result` read as the output of `tool`; `None` for a tool the planner does not read, or a result
            /// not of its type.
            fn read(tool: &str, result: &Value) -> Option<Self> {
                match tool {
                    $($($tool)|+ => serde_json::from_value(result.clone()).ok().map(Self::$variant),)*
                    _ => None,
                }
            }
        }

        $(
            impl Read for $ty {
                fn within(output: &Output) -> Option<&Self> {
                    match output {
                        Output::$variant(value) => Some(value),
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

outputs! {
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

/// One tool result with the call that produced it.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Position of the tool message in the conversation.
    pub index: usize,
    pub call_id: String,
    pub tool: String,
    pub args: Value,
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
    /// `result` as the tool message carried it; other parties' text is taken out of its envelope for `lang`.
    pub fn new(
        index: usize,
        call_id: String,
        tool: String,
        args: Value,
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
        let mut observation = Self {
            index,
            call_id,
            tool,
            args,
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

    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
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
