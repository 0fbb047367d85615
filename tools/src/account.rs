//! The shopper's own account: profile and addresses.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokshop_proto::identity as pb;

use crate::{Registry, ToolContext, ToolError, TypedTool, catalog::NoArgs};

pub fn register(registry: &mut Registry) {
    registry.add(MyProfile);
    registry.add(ListAddresses);
    registry.add(AddAddress);
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

fn address_view(a: &pb::Address) -> Value {
    json!({"id": a.id, "recipient": a.recipient, "line1": a.line1, "city": a.city,
           "postal_code": a.postal_code, "country": a.country, "default": a.is_default})
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
    const NAME: &'static str = "my_profile";
    const DESCRIPTION: &'static str = "The signed-in shopper's profile.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Value, ToolError> {
        let me = ctx
            .clients
            .identity
            .clone()
            .get_me(ctx.request(pb::GetMeRequest {}))
            .await?
            .into_inner();
        Ok(
            json!({"id": me.id, "username": me.username, "display_name": me.display_name, "roles": me.roles}),
        )
    }
}

#[async_trait::async_trait]
impl TypedTool for ListAddresses {
    type Args = NoArgs;
    const NAME: &'static str = "list_addresses";
    const DESCRIPTION: &'static str = "The shopper's shipping addresses.";

    async fn run(&self, ctx: &ToolContext, _: NoArgs) -> Result<Value, ToolError> {
        let list = ctx
            .clients
            .identity
            .clone()
            .list_addresses(ctx.request(pb::ListAddressesRequest {}))
            .await?
            .into_inner();
        let addresses: Vec<Value> = list.addresses.iter().map(address_view).collect();
        Ok(json!({"addresses": addresses}))
    }
}

#[async_trait::async_trait]
impl TypedTool for AddAddress {
    type Args = NewAddress;
    const NAME: &'static str = "add_address";
    const DESCRIPTION: &'static str = "Add a shipping address to the shopper's address book.";

    async fn run(&self, ctx: &ToolContext, args: NewAddress) -> Result<Value, ToolError> {
        let request = ctx.request(pb::AddAddressRequest {
            fields: Some(pb::AddressFields {
                recipient: Some(args.recipient),
                phone: args.phone,
                line1: Some(args.line1),
                line2: args.line2,
                city: Some(args.city),
                region: args.region,
                postal_code: Some(args.postal_code),
                country: Some(args.country),
            }),
            make_default: args.make_default.unwrap_or(false),
        });
        let added = ctx
            .clients
            .identity
            .clone()
            .add_address(request)
            .await?
            .into_inner();
        Ok(json!({"address": address_view(&added)}))
    }
}
