//! The shopper's cart. Cart edits move no money, so they run without confirmation.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
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
pub struct VariantArgs {
    pub variant_id: String,
}

pub struct ViewCart;
pub struct AddToCart;
pub struct UpdateCartQuantity;
pub struct RemoveFromCart;
pub struct ClearCart;

fn shown(cart: tonic::Response<pb::Cart>) -> Value {
    view::cart(&cart.into_inner())
}

#[async_trait::async_trait]
impl TypedTool for ViewCart {
    type Args = NoArgs;
    type Output = Value;
    const NAME: &'static str = "view_cart";
    const DESCRIPTION: &'static str =
        "The cart with current prices; flags unavailable or short lines.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::GetCartRequest {});
        Ok(shown(ctx.clients.cart.clone().get_cart(request).await?))
    }
}

#[async_trait::async_trait]
impl TypedTool for AddToCart {
    type Args = LineArgs;
    type Output = Value;
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
    type Output = Value;
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
    type Output = Value;
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
    type Output = Value;
    const NAME: &'static str = "clear_cart";
    const DESCRIPTION: &'static str = "Empty the cart.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::ClearRequest {});
        Ok(shown(ctx.clients.cart.clone().clear(request).await?))
    }
}
