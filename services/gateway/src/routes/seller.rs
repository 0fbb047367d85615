//! Selling: onboarding as a seller and managing one's own products and variants.

use tokshop_proto::{catalog as pb, identity};

use crate::{
    error::ApiError,
    handler::prelude::*,
    shapes::{OptionValue, Product, ProductPage, Session},
};

#[derive(Debug, Deserialize, ToSchema)]
pub struct OnboardingRequest {
    /// Counted after trimming.
    #[schema(min_length = 2, max_length = 64)]
    pub shop_name: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1..=100, default 20.
    pub limit: Option<i32>,
    /// From a previous page's next_cursor.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewVariant {
    /// No spaces; unique within the product.
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    /// Each option name once.
    #[schema(max_items = 5)]
    pub options: Vec<OptionValue>,
    /// Price in minor units of the product's currency.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub price_minor: i64,
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub stock: i64,
    /// http(s) URLs.
    #[schema(max_items = 10, min_length = 1, max_length = 2048)]
    pub image_urls: Option<Vec<String>>,
}

impl From<NewVariant> for pb::VariantInput {
    fn from(v: NewVariant) -> Self {
        Self {
            sku: v.sku,
            options: v.options.into_iter().map(Into::into).collect(),
            price_minor: v.price_minor,
            stock: v.stock,
            image_urls: v.image_urls.unwrap_or_default(),
        }
    }
}

/// A new product. Lengths count characters after trimming.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewProduct {
    #[schema(min_length = 1, max_length = 64)]
    pub category_id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(max_length = 5000)]
    pub description: String,
    /// http(s) URLs.
    #[schema(max_items = 10, min_length = 1, max_length = 2048)]
    pub image_urls: Option<Vec<String>>,
    /// ISO 4217, in upper case; defaults to the shop currency. Every variant is priced in it.
    #[schema(min_length = 3, max_length = 3)]
    pub currency: Option<String>,
    /// SKUs unique among them.
    #[schema(min_items = 1, max_items = 50)]
    pub variants: Vec<NewVariant>,
}

/// Product fields to change; absent fields keep their value. `image_urls` replaces all images.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProductPatch {
    #[schema(min_length = 1, max_length = 64)]
    pub category_id: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    #[schema(max_items = 10, min_length = 1, max_length = 2048)]
    pub image_urls: Option<Vec<String>>,
    /// List or delist the product.
    pub listed: Option<bool>,
}

/// Variant fields to change; absent fields keep their value. `image_urls` replaces all images.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VariantPatch {
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub price_minor: Option<i64>,
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub stock: Option<i64>,
    pub listed: Option<bool>,
    #[schema(max_items = 10, min_length = 1, max_length = 2048)]
    pub image_urls: Option<Vec<String>>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(onboard))
        .routes(routes!(list_my_products, create_product))
        .routes(routes!(update_product))
        .routes(routes!(add_variant))
        .routes(routes!(update_variant))
}

/// Become a seller; returns fresh tokens that carry the seller role.
#[utoipa::path(post, path = "/api/v1/seller/onboarding", tag = "seller", security(("bearer" = [])),
    request_body = OnboardingRequest,
    responses((status = 200, description = "A new session with the seller role", body = Session),
        (status = 409, description = "Shop name taken or already a seller", body = ErrorBody)))]
async fn onboard(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<OnboardingRequest>,
) -> ApiResult<Json<Session>> {
    let request = identity::BecomeSellerRequest {
        shop_name: body.shop_name,
    };
    let session = state
        .identity()
        .become_seller(authorized(request, user.token()))
        .await?
        .into_inner();
    Ok(Json(session.try_into()?))
}

/// The caller's own products, listed or not.
#[utoipa::path(get, path = "/api/v1/seller/products", tag = "seller", security(("bearer" = [])), params(PageParams),
    responses((status = 200, description = "A page of the seller's products", body = ProductPage),
        (status = 403, description = "Not a seller", body = ErrorBody)))]
async fn list_my_products(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<ProductPage>> {
    let request = pb::ListMyProductsRequest {
        limit: page.limit.unwrap_or(0),
        cursor: page.cursor.unwrap_or_default(),
    };
    let page = state
        .catalog()
        .list_my_products(authorized(request, user.token()))
        .await?
        .into_inner();
    Ok(Json(ProductPage::new(page.products, page.next_cursor)))
}

/// Create a product with its variants.
#[utoipa::path(post, path = "/api/v1/seller/products", tag = "seller", security(("bearer" = [])), request_body = NewProduct,
    responses((status = 201, description = "Product created", body = Product),
        (status = 403, description = "Not a seller", body = ErrorBody),
        (status = 409, description = "Duplicate SKU", body = ErrorBody)))]
async fn create_product(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<NewProduct>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    let request = pb::CreateProductRequest {
        category_id: body.category_id,
        title: body.title,
        description: body.description,
        image_urls: body.image_urls.unwrap_or_default(),
        currency: body
            .currency
            .unwrap_or_else(|| state.settings.shop.currency.clone()),
        variants: body.variants.into_iter().map(Into::into).collect(),
    };
    let request = authorized(request, user.token());
    created(state.catalog().create_product(request)).await
}

/// Edit one of the caller's products; `listed` lists or delists it.
#[utoipa::path(patch, path = "/api/v1/seller/products/{id}", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")), request_body = ProductPatch,
    responses((status = 200, description = "The updated product", body = Product),
        (status = 403, description = "Not the product's seller", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody)))]
async fn update_product(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProductPatch>,
) -> ApiResult<Json<Product>> {
    let mut catalog = state.catalog();
    let edits_fields = body.category_id.is_some()
        || body.title.is_some()
        || body.description.is_some()
        || body.image_urls.is_some();
    let mut product = None;
    // Only `listed` in the body: skip the no-op update.
    if edits_fields || body.listed.is_none() {
        let request = pb::UpdateProductRequest {
            id: id.clone(),
            category_id: body.category_id,
            title: body.title,
            description: body.description,
            replace_images: body.image_urls.is_some(),
            image_urls: body.image_urls.unwrap_or_default(),
        };
        product = Some(
            catalog
                .update_product(authorized(request, user.token()))
                .await?
                .into_inner(),
        );
    }
    if let Some(listed) = body.listed {
        let request = pb::SetProductListedRequest { id, listed };
        product = Some(
            catalog
                .set_product_listed(authorized(request, user.token()))
                .await?
                .into_inner(),
        );
    }
    let product = product.ok_or_else(|| ApiError::internal("product update made no call"))?;
    Ok(Json(product.into()))
}

/// Add a variant to one of the caller's products.
#[utoipa::path(post, path = "/api/v1/seller/products/{id}/variants", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")), request_body = NewVariant,
    responses((status = 201, description = "The product with the new variant", body = Product),
        (status = 403, description = "Not the product's seller", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 409, description = "Duplicate SKU", body = ErrorBody)))]
async fn add_variant(
    State(state): State<AppState>,
    user: AuthUser,
    Path(product_id): Path<String>,
    ApiJson(body): ApiJson<NewVariant>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    let request = pb::AddVariantRequest {
        product_id,
        variant: Some(body.into()),
    };
    let request = authorized(request, user.token());
    created(state.catalog().add_variant(request)).await
}

/// Change a variant's price, stock, listing or images.
#[utoipa::path(patch, path = "/api/v1/seller/products/{id}/variants/{variant_id}", tag = "seller",
    security(("bearer" = [])), request_body = VariantPatch,
    params(("id" = String, Path, description = "Product id"), ("variant_id" = String, Path, description = "Variant id")),
    responses((status = 200, description = "The updated product", body = Product),
        (status = 403, description = "Not the product's seller", body = ErrorBody),
        (status = 404, description = "No such product or variant", body = ErrorBody)))]
async fn update_variant(
    State(state): State<AppState>,
    user: AuthUser,
    Path((product_id, variant_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<VariantPatch>,
) -> ApiResult<Json<Product>> {
    let request = pb::UpdateVariantRequest {
        product_id,
        variant_id,
        price_minor: body.price_minor,
        stock: body.stock,
        listed: body.listed,
        replace_images: body.image_urls.is_some(),
        image_urls: body.image_urls.unwrap_or_default(),
    };
    let request = authorized(request, user.token());
    respond(state.catalog().update_variant(request)).await
}
