//! The signed-in user's shipping addresses.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use tokshop_platform::{address::PostalAddress, auth::authorized};
use tokshop_proto::identity as pb;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    error::{ApiResult, ErrorBody},
    extract::{ApiJson, AuthUser},
    state::AppState,
};

/// An address book entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub id: String,
    #[serde(flatten)]
    pub address: PostalAddress,
    pub is_default: bool,
    pub created_at_ms: i64,
}

impl From<pb::Address> for Address {
    fn from(a: pb::Address) -> Self {
        Self {
            id: a.id.clone(),
            is_default: a.is_default,
            created_at_ms: a.created_at_ms,
            address: a.into(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddressList {
    pub addresses: Vec<Address>,
}

/// A new shipping address. Lengths count characters after trimming.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAddress {
    #[schema(min_length = 1, max_length = 100)]
    pub recipient: String,
    /// Digits, spaces and `+ - ( )`.
    #[schema(max_length = 32)]
    pub phone: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub line1: String,
    #[schema(max_length = 200)]
    pub line2: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub city: String,
    #[schema(max_length = 100)]
    pub region: Option<String>,
    #[schema(min_length = 1, max_length = 20)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, in either case.
    #[schema(min_length = 2, max_length = 2)]
    pub country: String,
    /// Make this the default address.
    pub make_default: Option<bool>,
}

/// Any subset of an address's fields; absent fields keep their value. The result must still be a whole address,
/// within the same limits as a new one.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AddressPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub recipient: Option<String>,
    #[schema(max_length = 32)]
    pub phone: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub line1: Option<String>,
    #[schema(max_length = 200)]
    pub line2: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub city: Option<String>,
    #[schema(max_length = 100)]
    pub region: Option<String>,
    #[schema(min_length = 1, max_length = 20)]
    pub postal_code: Option<String>,
    #[schema(min_length = 2, max_length = 2)]
    pub country: Option<String>,
}

impl From<AddressPatch> for pb::AddressFields {
    fn from(p: AddressPatch) -> Self {
        Self {
            recipient: p.recipient,
            phone: p.phone,
            line1: p.line1,
            line2: p.line2,
            city: p.city,
            region: p.region,
            postal_code: p.postal_code,
            country: p.country,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_addresses, add_address))
        .routes(routes!(get_address, update_address, delete_address))
        .routes(routes!(set_default_address))
}

/// The caller's addresses.
#[utoipa::path(get, path = "/api/v1/me/addresses", tag = "addresses", security(("bearer" = [])),
    responses((status = 200, description = "Addresses", body = AddressList)))]
async fn list_addresses(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<AddressList>> {
    let list = state
        .identity()
        .list_addresses(authorized(pb::ListAddressesRequest {}, user.token()))
        .await?
        .into_inner();
    Ok(Json(AddressList {
        addresses: list.addresses.into_iter().map(Address::from).collect(),
    }))
}

/// Add a shipping address.
#[utoipa::path(post, path = "/api/v1/me/addresses", tag = "addresses", security(("bearer" = [])), request_body = NewAddress,
    responses((status = 201, description = "Address added", body = Address)))]
async fn add_address(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<NewAddress>,
) -> ApiResult<(StatusCode, Json<Address>)> {
    let make_default = body.make_default.unwrap_or(false);
    let fields = AddressPatch {
        recipient: Some(body.recipient),
        phone: body.phone,
        line1: Some(body.line1),
        line2: body.line2,
        city: Some(body.city),
        region: body.region,
        postal_code: Some(body.postal_code),
        country: Some(body.country),
    };
    let request = pb::AddAddressRequest {
        fields: Some(fields.into()),
        make_default,
    };
    let address = state
        .identity()
        .add_address(authorized(request, user.token()))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(address.into())))
}

/// One of the caller's addresses.
#[utoipa::path(get, path = "/api/v1/me/addresses/{id}", tag = "addresses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id")),
    responses((status = 200, description = "The address", body = Address),
        (status = 404, description = "No such address", body = ErrorBody)))]
async fn get_address(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Address>> {
    let address = state
        .identity()
        .get_address(authorized(pb::GetAddressRequest { id }, user.token()))
        .await?
        .into_inner();
    Ok(Json(address.into()))
}

/// Edit an address; absent fields keep their value.
#[utoipa::path(patch, path = "/api/v1/me/addresses/{id}", tag = "addresses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id")), request_body = AddressPatch,
    responses((status = 200, description = "The updated address", body = Address),
        (status = 404, description = "No such address", body = ErrorBody)))]
async fn update_address(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddressPatch>,
) -> ApiResult<Json<Address>> {
    let request = pb::UpdateAddressRequest {
        id,
        fields: Some(body.into()),
    };
    let address = state
        .identity()
        .update_address(authorized(request, user.token()))
        .await?
        .into_inner();
    Ok(Json(address.into()))
}

/// Delete an address.
#[utoipa::path(delete, path = "/api/v1/me/addresses/{id}", tag = "addresses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such address", body = ErrorBody)))]
async fn delete_address(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .identity()
        .delete_address(authorized(pb::DeleteAddressRequest { id }, user.token()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make an address the default one.
#[utoipa::path(post, path = "/api/v1/me/addresses/{id}/default", tag = "addresses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id")),
    responses((status = 200, description = "The new default address", body = Address),
        (status = 404, description = "No such address", body = ErrorBody)))]
async fn set_default_address(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Address>> {
    let address = state
        .identity()
        .set_default_address(authorized(
            pb::SetDefaultAddressRequest { id },
            user.token(),
        ))
        .await?
        .into_inner();
    Ok(Json(address.into()))
}
