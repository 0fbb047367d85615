//! The shopper's cart. Cart edits move no money, so they run without confirmation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::cart as pb;

use crate::{Registry, ToolContext, ToolError, TypedTool, catalog::NoArgs, view};

pub fn register(registry: &mut Registry) {
    registry.add(ViewCart);
    registry.add(AddToCart);
    registry.add(UpdateCartQuantity);
    registry.add(RemoveFromCart);
    registry.add(ClearCart);
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineArgs {
    pub variant_id: String,
    /// 1 to 99.
    pub quantity: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CartPage {
    /// Lines to skip, e.g. 8.
    pub from: Option<u8>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantArgs {
    pub variant_id: String,
}

/// A line of the cart at today's price, flagged when it cannot be bought as it stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CartLine {
    pub variant_id: String,
    /// The seller's title, as data.
    pub title: String,
    /// The seller's option names and values, as data.
    pub options: String,
    pub quantity: i64,
    pub unit_price: String,
    pub line_total: String,
    /// Delisted: it cannot be bought.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unavailable: bool,
    /// Fewer units in stock than the line asks for; `available` says how many there are.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub short_of_stock: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}

/// The cart, as every cart tool answers: at most [`LINES_SHOWN`] lines, the subtotal of all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    /// Lines after those shown (`view_cart` with `from` shows them).
    #[serde(skip_serializing_if = "view::is_zero")]
    pub more_lines: usize,
    /// One amount per currency, joined with " + ".
    pub subtotal: String,
    pub ready_for_checkout: bool,
}

/// Most lines one cart answer shows, so that it stays within the result budget (1,500 tokens) however long the
/// cart (up to 100 lines) and its titles.
pub const LINES_SHOWN: usize = 8;

impl Cart {
    pub fn of(c: &pb::Cart) -> Self {
        Self::from_line(c, 0)
    }

    /// The cart showing its lines from the `from`-th on (0 for the first).
    pub fn from_line(c: &pb::Cart, from: usize) -> Self {
        let (shown, more_lines) = view::window(&c.lines, from, LINES_SHOWN);
        let lines = shown
            .iter()
            .map(|l| CartLine {
                variant_id: l.variant_id.clone(),
                title: view::seller_text(&l.title, view::TITLE_CHARS),
                options: view::options(&l.options),
                quantity: l.quantity,
                unit_price: view::money(l.unit_price.as_ref()),
                line_total: view::money(l.line_total.as_ref()),
                unavailable: l.unavailable,
                short_of_stock: l.short_of_stock,
                available: l.short_of_stock.then_some(l.available),
            })
            .collect();
        let subtotal: Vec<String> = c.subtotals.iter().map(|m| view::money(Some(m))).collect();
        Self {
            lines,
            more_lines,
            subtotal: subtotal.join(" + "),
            ready_for_checkout: c.ready_for_checkout,
        }
    }
}

pub struct ViewCart;
pub struct AddToCart;
pub struct UpdateCartQuantity;
pub struct RemoveFromCart;
pub struct ClearCart;

fn shown(cart: tonic::Response<pb::Cart>) -> Cart {
    Cart::of(&cart.into_inner())
}

#[async_trait::async_trait]
impl TypedTool for ViewCart {
    type Args = CartPage;
    type Output = Cart;
    const NAME: &'static str = "view_cart";
    const DESCRIPTION: &'static str = "The cart at current prices, 8 lines at a time.";

    async fn run(&self, ctx: &ToolContext, args: CartPage) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::GetCartRequest {});
        let cart = ctx
            .clients
            .cart
            .clone()
            .get_cart(request)
            .await?
            .into_inner();
        Ok(Cart::from_line(&cart, usize::from(args.from.unwrap_or(0))))
    }
}

#[async_trait::async_trait]
impl TypedTool for AddToCart {
    type Args = LineArgs;
    type Output = Cart;
    const NAME: &'static str = "add_to_cart";
    const DESCRIPTION: &'static str = "Add a variant to the cart (an existing line grows).";

    async fn run(&self, ctx: &ToolContext, args: LineArgs) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::AddItemRequest {
            variant_id: args.variant_id,
            quantity: args.quantity,
        });
        Ok(shown(ctx.clients.cart.clone().add_item(request).await?))
    }
}

#[async_trait::async_trait]
impl TypedTool for UpdateCartQuantity {
    type Args = LineArgs;
    type Output = Cart;
    const NAME: &'static str = "update_cart_quantity";
    const DESCRIPTION: &'static str = "Set the quantity of a cart line.";

    async fn run(&self, ctx: &ToolContext, args: LineArgs) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::SetQuantityRequest {
            variant_id: args.variant_id,
            quantity: args.quantity,
        });
        Ok(shown(ctx.clients.cart.clone().set_quantity(request).await?))
    }
}

#[async_trait::async_trait]
impl TypedTool for RemoveFromCart {
    type Args = VariantArgs;
    type Output = Cart;
    const NAME: &'static str = "remove_from_cart";
    const DESCRIPTION: &'static str = "Remove a line from the cart.";

    async fn run(&self, ctx: &ToolContext, args: VariantArgs) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::RemoveItemRequest {
            variant_id: args.variant_id,
        });
        Ok(shown(ctx.clients.cart.clone().remove_item(request).await?))
    }
}

#[async_trait::async_trait]
impl TypedTool for ClearCart {
    type Args = NoArgs;
    type Output = Cart;
    const NAME: &'static str = "clear_cart";
    const DESCRIPTION: &'static str = "Empty the cart.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::ClearRequest {});
        Ok(shown(ctx.clients.cart.clone().clear(request).await?))
    }
}
