//! The shopper's own account: profile and addresses.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::identity as pb;

use crate::{
    Registry, ToolContext, ToolError, TypedTool,
    catalog::NoArgs,
    guard::{AddressText, Effect, GuardedTool, Lang},
};

pub fn register(registry: &mut Registry) {
    registry.add(MyProfile);
    registry.add(ListAddresses);
    registry.add_guarded(AddAddress);
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    pub recipient: String,
    pub line1: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. US.
    pub country: String,
    pub line2: Option<String>,
    pub region: Option<String>,
    pub phone: Option<String>,
    pub make_default: Option<bool>,
}

pub struct MyProfile;
pub struct ListAddresses;
pub struct AddAddress;

/// `my_profile`: the signed-in shopper.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Me {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
}

/// An address book entry as tools show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Address {
    pub id: String,
    pub recipient: String,
    pub line1: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    /// Checkouts ship here unless told otherwise.
    pub default: bool,
}

impl Address {
    pub fn of(a: &pb::Address) -> Self {
        Self {
            id: a.id.clone(),
            recipient: a.recipient.clone(),
            line1: a.line1.clone(),
            city: a.city.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
            default: a.is_default,
        }
    }
}

/// `list_addresses`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AddressList {
    pub addresses: Vec<Address>,
}

/// `add_address`: the entry as added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AddressResult {
    pub address: Address,
}

/// The shopper's address book.
async fn book(ctx: &ToolContext) -> Result<Vec<pb::Address>, ToolError> {
    Ok(ctx
        .clients
        .identity
        .clone()
        .list_addresses(ctx.request(pb::ListAddressesRequest {}))
        .await?
        .into_inner()
        .addresses)
}

/// One of the shopper's addresses.
pub async fn address(ctx: &ToolContext, id: &str) -> Result<pb::Address, ToolError> {
    let request = ctx.request(pb::GetAddressRequest { id: id.to_owned() });
    Ok(ctx
        .clients
        .identity
        .clone()
        .get_address(request)
        .await?
        .into_inner())
}

#[async_trait::async_trait]
impl TypedTool for MyProfile {
    type Args = NoArgs;
    type Output = Me;
    const NAME: &'static str = "my_profile";
    const DESCRIPTION: &'static str = "The signed-in shopper's profile.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
        let me = ctx
            .clients
            .identity
            .clone()
            .get_me(ctx.request(pb::GetMeRequest {}))
            .await?
            .into_inner();
        Ok(Me {
            id: me.id,
            username: me.username,
            display_name: me.display_name,
            roles: me.roles,
        })
    }
}

#[async_trait::async_trait]
impl TypedTool for ListAddresses {
    type Args = NoArgs;
    type Output = AddressList;
    const NAME: &'static str = "list_addresses";
    const DESCRIPTION: &'static str = "The shopper's shipping addresses.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Self::Output, ToolError> {
        let list = ctx
            .clients
            .identity
            .clone()
            .list_addresses(ctx.request(pb::ListAddressesRequest {}))
            .await?
            .into_inner();
        Ok(AddressList {
            addresses: list.addresses.iter().map(Address::of).collect(),
        })
    }
}

/// A new address book entry as approved, and whether later checkouts will ship to it by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddAddressEffect {
    pub address: AddressText,
    pub make_default: bool,
}

impl Effect for AddAddressEffect {
    fn describe(&self, lang: Lang) -> String {
        match (lang, self.make_default) {
            (Lang::En, true) => format!(
                "Add {} to your address book and make it your default shipping address (later checkouts ship \
                 there).",
                self.address.text()
            ),
            (Lang::En, false) => format!("Add {} to your address book.", self.address.text()),
            (Lang::Zh, true) => format!(
                "把 {} 加入地址簿，并设为默认收货地址（之后的订单默认寄到这里）。",
                self.address.text()
            ),
            (Lang::Zh, false) => format!("把 {} 加入地址簿。", self.address.text()),
        }
    }
}

fn field(value: &str, param: &str, max: usize) -> Result<String, ToolError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ToolError::invalid_arguments(format!(
            "{param} must be 1 to {max} characters of plain text"
        ))
        .with_param(param));
    }
    Ok(value.to_owned())
}

fn optional(value: &Option<String>, param: &str, max: usize) -> Result<String, ToolError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(String::new()),
        Some(value) => field(value, param, max),
    }
}

#[async_trait::async_trait]
impl GuardedTool for AddAddress {
    type Args = NewAddress;
    type Effect = AddAddressEffect;
    type Output = AddressResult;
    const NAME: &'static str = "add_address";
    const DESCRIPTION: &'static str = "Add a shipping address to the shopper's address book.";

    /// The first address in a book becomes the default whatever was asked, and the description says so.
    async fn effect(
        &self,
        ctx: &ToolContext,
        args: &NewAddress,
    ) -> Result<AddAddressEffect, ToolError> {
        let country = field(&args.country, "country", 2)?.to_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ToolError::invalid_arguments(
                "country must be an ISO 3166-1 alpha-2 code such as US",
            )
            .with_param("country"));
        }
        Ok(AddAddressEffect {
            address: AddressText {
                address_id: String::new(),
                recipient: field(&args.recipient, "recipient", 100)?,
                phone: optional(&args.phone, "phone", 40)?,
                line1: field(&args.line1, "line1", 200)?,
                line2: optional(&args.line2, "line2", 200)?,
                city: field(&args.city, "city", 100)?,
                region: optional(&args.region, "region", 100)?,
                postal_code: field(&args.postal_code, "postal_code", 20)?,
                country,
            },
            make_default: args.make_default.unwrap_or(false) || book(ctx).await?.is_empty(),
        })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: AddAddressEffect,
    ) -> Result<Self::Output, ToolError> {
        let a = effect.address;
        let some = |s: String| (!s.is_empty()).then_some(s);
        let request = ctx.request(pb::AddAddressRequest {
            fields: Some(pb::AddressFields {
                recipient: Some(a.recipient),
                phone: some(a.phone),
                line1: Some(a.line1),
                line2: some(a.line2),
                city: Some(a.city),
                region: some(a.region),
                postal_code: Some(a.postal_code),
                country: Some(a.country),
            }),
            make_default: effect.make_default,
        });
        let added = ctx
            .clients
            .identity
            .clone()
            .add_address(request)
            .await?
            .into_inner();
        Ok(AddressResult {
            address: Address::of(&added),
        })
    }
}
