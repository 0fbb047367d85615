//! The signed-in shopper's cart: lines of variants and quantities, priced live by the catalog.

use tokshop_proto::cart as pb;

use crate::{
    handler::prelude::*,
    shapes::{Money, OptionValue},
};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartLine {
    pub variant_id: String,
    pub product_id: String,
    pub title: String,
    pub sku: String,
    pub options: Vec<OptionValue>,
    pub quantity: i64,
    /// The current price; carts never freeze prices.
    pub unit_price: Option<Money>,
    pub line_total: Option<Money>,
    /// Delisted or removed: cannot be bought.
    pub unavailable: bool,
    /// Fewer in stock than the line asks for; `available` says how many.
    pub short_of_stock: bool,
    pub available: i64,
    pub image_url: String,
    pub added_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    /// Sum over buyable lines, one per currency.
    pub subtotals: Vec<Money>,
    pub item_count: i64,
    /// Every line can be bought as it stands.
    pub ready_for_checkout: bool,
}

impl From<pb::Cart> for Cart {
    fn from(c: pb::Cart) -> Self {
        Self {
            lines: c
                .lines
                .into_iter()
                .map(|l| CartLine {
                    variant_id: l.variant_id,
                    product_id: l.product_id,
                    title: l.title,
                    sku: l.sku,
                    options: l.options.into_iter().map(OptionValue::from).collect(),
                    quantity: l.quantity,
                    unit_price: l.unit_price.map(Money::from),
                    line_total: l.line_total.map(Money::from),
                    unavailable: l.unavailable,
                    short_of_stock: l.short_of_stock,
                    available: l.available,
                    image_url: l.image_url,
                    added_at_ms: l.added_at_ms,
                })
                .collect(),
            subtotals: c.subtotals.into_iter().map(Money::from).collect(),
            item_count: c.item_count,
            ready_for_checkout: c.ready_for_checkout,
        }
    }
}

/// A variant to add, and how many (an existing line grows, to at most 99 units).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AddItem {
    #[schema(max_length = 64)]
    pub variant_id: String,
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

/// The new quantity of a line.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SetQuantity {
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cart, clear_cart))
        .routes(routes!(add_item))
        .routes(routes!(set_quantity, remove_item))
}

/// The cart, priced now, with unavailable and short lines flagged.
#[utoipa::path(get, path = "/api/v1/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 200, description = "The cart", body = Cart)))]
async fn get_cart(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Cart>> {
    let request = authorized(pb::GetCartRequest {}, user.token());
    respond(state.cart().get_cart(request)).await
}

/// Add a variant.
#[utoipa::path(post, path = "/api/v1/cart/items", tag = "cart", security(("bearer" = [])),
    request_body = AddItem,
    responses((status = 200, description = "The cart after adding", body = Cart),
        (status = 404, description = "No such variant", body = ErrorBody),
        (status = 409, description = "Not for sale, or the cart is full", body = ErrorBody)))]
async fn add_item(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<AddItem>,
) -> ApiResult<Json<Cart>> {
    let request = pb::AddItemRequest {
        variant_id: body.variant_id,
        quantity: body.quantity,
    };
    respond(state.cart().add_item(authorized(request, user.token()))).await
}

/// Change a line's quantity.
#[utoipa::path(patch, path = "/api/v1/cart/items/{variant_id}", tag = "cart", security(("bearer" = [])),
    params(("variant_id" = String, Path, description = "The line's variant")), request_body = SetQuantity,
    responses((status = 200, description = "The cart after the change", body = Cart),
        (status = 404, description = "No such line", body = ErrorBody)))]
async fn set_quantity(
    State(state): State<AppState>,
    user: AuthUser,
    Path(variant_id): Path<String>,
    ApiJson(body): ApiJson<SetQuantity>,
) -> ApiResult<Json<Cart>> {
    let request = pb::SetQuantityRequest {
        variant_id,
        quantity: body.quantity,
    };
    respond(state.cart().set_quantity(authorized(request, user.token()))).await
}

/// Remove a line.
#[utoipa::path(delete, path = "/api/v1/cart/items/{variant_id}", tag = "cart", security(("bearer" = [])),
    params(("variant_id" = String, Path, description = "The line's variant")),
    responses((status = 200, description = "The cart after removing", body = Cart),
        (status = 404, description = "No such line", body = ErrorBody)))]
async fn remove_item(
    State(state): State<AppState>,
    user: AuthUser,
    Path(variant_id): Path<String>,
) -> ApiResult<Json<Cart>> {
    let request = authorized(pb::RemoveItemRequest { variant_id }, user.token());
    respond(state.cart().remove_item(request)).await
}

/// Empty the cart.
#[utoipa::path(delete, path = "/api/v1/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 200, description = "The empty cart", body = Cart)))]
async fn clear_cart(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Cart>> {
    let request = authorized(pb::ClearRequest {}, user.token());
    respond(state.cart().clear(request)).await
}
