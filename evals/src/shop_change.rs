//! Changes made to the shop outside the conversation between two scripted turns, through the services as their
//! owners would make them: a seller repricing or restocking a variant, the shopper filling their cart or saving an
//! address from another device. They let scenarios move live state between a proposal and its approval.

use anyhow::Context;
use tokshop_platform::auth::authorized;
use tokshop_proto::{cart, catalog, identity};
use tokshop_tools::Clients;

use crate::{
    fixture::{Loaded, parse_money},
    scenario::ShopChange,
};

/// Makes `change` in the trial's shop; `shopper` is the shopper's access token.
pub async fn apply(
    change: &ShopChange,
    clients: &Clients,
    loaded: &Loaded,
    shopper: &str,
) -> anyhow::Result<()> {
    match change {
        ShopChange::SetPrice { variant, price } => {
            let price = parse_money(price, &loaded.currency)?;
            as_seller(clients, loaded, shopper, variant, Some(price), None).await
        }
        ShopChange::SetStock { variant, stock } => {
            as_seller(clients, loaded, shopper, variant, None, Some(*stock)).await
        }
        ShopChange::CartAdd { variant, quantity } => {
            clients
                .cart
                .clone()
                .add_item(authorized(
                    cart::AddItemRequest {
                        variant_id: loaded.id(variant)?.to_owned(),
                        quantity: *quantity,
                    },
                    Some(shopper),
                ))
                .await
                .context("adding to the cart")?;
            Ok(())
        }
        ShopChange::AddAddress {
            recipient,
            line1,
            city,
            postal_code,
            country,
            make_default,
        } => {
            clients
                .identity
                .clone()
                .add_address(authorized(
                    identity::AddAddressRequest {
                        fields: Some(identity::AddressFields {
                            recipient: Some(recipient.clone()),
                            line1: Some(line1.clone()),
                            city: Some(city.clone()),
                            postal_code: Some(postal_code.clone()),
                            country: Some(country.clone()),
                            ..Default::default()
                        }),
                        make_default: *make_default,
                    },
                    Some(shopper),
                ))
                .await
                .context("saving an address")?;
            Ok(())
        }
    }
}

/// Updates a variant as the seller of its product.
async fn as_seller(
    clients: &Clients,
    loaded: &Loaded,
    shopper: &str,
    variant: &str,
    price_minor: Option<i64>,
    stock: Option<i64>,
) -> anyhow::Result<()> {
    let id = loaded.id(variant)?.to_owned();
    let mut catalog = clients.catalog.clone();
    let found = catalog
        .get_variants(authorized(
            catalog::GetVariantsRequest {
                ids: vec![id.clone()],
            },
            Some(shopper),
        ))
        .await
        .context("reading the variant")?
        .into_inner()
        .by_id();
    let detail = found.get(&id).context("the variant is gone")?;
    let seller = loaded
        .user_ids
        .iter()
        .find(|(_, user_id)| **user_id == detail.seller_id)
        .map(|(name, _)| name.as_str())
        .context("the variant's seller is not a fixture seller")?;
    catalog
        .update_variant(authorized(
            catalog::UpdateVariantRequest {
                product_id: detail.product_id.clone(),
                variant_id: id,
                price_minor,
                stock,
                ..Default::default()
            },
            Some(loaded.token(seller)?),
        ))
        .await
        .context("updating the variant")?;
    Ok(())
}
