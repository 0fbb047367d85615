//! The services orders depend on, called over gRPC: the catalog (variants, categories, stock reservations and
//! sales counts, as the service itself), identity (addresses) and the cart (as the buyer, forwarding their token).

use std::collections::HashMap;

use tokshop_platform::grpc::GrpcChannel;
use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::{TokenKeys, authorized},
    error::status_details,
};
use tokshop_proto::{
    cart::{self, cart_service_client::CartServiceClient},
    catalog::{self, catalog_service_client::CatalogServiceClient},
    identity::{self, identity_service_client::IdentityServiceClient},
};
use tonic::{Code, Status};

#[derive(Clone, Debug)]
pub struct Clients {
    keys: TokenKeys,
    catalog: CatalogServiceClient<GrpcChannel>,
    identity: IdentityServiceClient<GrpcChannel>,
    cart: CartServiceClient<GrpcChannel>,
}

/// Conflicts the catalog reports that a checkout passes on as they are; anything else is the catalog failing.
fn catalog_error(status: Status) -> ServiceError {
    if status.code() == Code::AlreadyExists {
        let (code, param) = status_details(&status);
        let code = match code.as_deref() {
            Some("out_of_stock") => "out_of_stock",
            Some("variant_unavailable") => "variant_unavailable",
            Some("reservation_conflict") => "reservation_conflict",
            _ => return ServiceError::unavailable("catalog", status),
        };
        return ServiceError::Conflict {
            code,
            message: status.message().to_owned(),
            param,
        };
    }
    if status.code() == Code::InvalidArgument {
        let (_, param) = status_details(&status);
        return ServiceError::invalid(param.unwrap_or_default(), status.message());
    }
    ServiceError::unavailable("catalog", status)
}

impl Clients {
    pub fn new(
        keys: TokenKeys,
        catalog: GrpcChannel,
        identity: GrpcChannel,
        cart: GrpcChannel,
    ) -> Self {
        Self {
            keys,
            catalog: CatalogServiceClient::new(catalog),
            identity: IdentityServiceClient::new(identity),
            cart: CartServiceClient::new(cart),
        }
    }

    fn as_service<T>(&self, message: T) -> ServiceResult<tonic::Request<T>> {
        let token = self.keys.issue_service("orders")?;
        Ok(authorized(message, Some(&token.token)))
    }

    /// Variants by id (unknown ids left out), with their product's seller, category and listing state. Asked as
    /// the orders service, so delisted ones are still described (and then refused by name).
    pub async fn variants(
        &self,
        ids: Vec<String>,
    ) -> ServiceResult<HashMap<String, catalog::VariantDetail>> {
        let response = self
            .catalog
            .clone()
            .get_variants(self.as_service(catalog::GetVariantsRequest { ids })?)
            .await
            .map_err(|s| ServiceError::unavailable("catalog", s))?;
        Ok(response.into_inner().by_id())
    }

    /// Each category's parent, to tell whether a product sits under a coupon's category.
    pub async fn category_parents(&self) -> ServiceResult<HashMap<String, String>> {
        let response = self
            .catalog
            .clone()
            .list_categories(catalog::ListCategoriesRequest {})
            .await
            .map_err(|s| ServiceError::unavailable("catalog", s))?;
        Ok(response
            .into_inner()
            .categories
            .into_iter()
            .map(|c| (c.id, c.parent_id))
            .collect())
    }

    /// A listed product, or `None` when it does not exist (or is not visible).
    pub async fn product(&self, id: &str) -> ServiceResult<Option<catalog::Product>> {
        match self
            .catalog
            .clone()
            .get_product(catalog::GetProductRequest { id: id.to_owned() })
            .await
        {
            Ok(response) => Ok(Some(response.into_inner())),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(ServiceError::unavailable("catalog", status)),
        }
    }

    pub async fn reserve(
        &self,
        reservation_id: &str,
        lines: &[(String, i64)],
    ) -> ServiceResult<catalog::Reservation> {
        let request = self.as_service(catalog::ReserveStockRequest {
            reservation_id: reservation_id.to_owned(),
            lines: lines
                .iter()
                .map(|(variant_id, quantity)| catalog::StockLine {
                    variant_id: variant_id.clone(),
                    quantity: *quantity,
                })
                .collect(),
        })?;
        self.catalog
            .clone()
            .reserve_stock(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(catalog_error)
    }

    /// Gives a reservation's stock back; releasing twice, or an id never reserved, is harmless.
    pub async fn release(&self, reservation_id: &str) -> anyhow::Result<()> {
        let request = self.as_service(catalog::ReleaseReservationRequest {
            reservation_id: reservation_id.to_owned(),
        })?;
        self.catalog.clone().release_reservation(request).await?;
        Ok(())
    }

    pub async fn record_sales(
        &self,
        event_id: &str,
        lines: Vec<(String, i64)>,
    ) -> anyhow::Result<()> {
        let request = self.as_service(catalog::RecordSalesRequest {
            event_id: event_id.to_owned(),
            lines: lines
                .into_iter()
                .map(|(product_id, quantity)| catalog::SalesLine {
                    product_id,
                    quantity,
                })
                .collect(),
        })?;
        self.catalog.clone().record_sales(request).await?;
        Ok(())
    }

    /// One of the buyer's addresses, or their default when `id` is empty.
    pub async fn address(&self, bearer: &str, id: &str) -> ServiceResult<identity::Address> {
        let mut client = self.identity.clone();
        if id.is_empty() {
            let list = client
                .list_addresses(authorized(identity::ListAddressesRequest {}, Some(bearer)))
                .await
                .map_err(|s| ServiceError::unavailable("identity", s))?
                .into_inner();
            return list
                .addresses
                .into_iter()
                .find(|a| a.is_default)
                .ok_or_else(|| {
                    ServiceError::conflict_on(
                        "address_required",
                        "address_id",
                        "no default shipping address on file: add one or choose an address",
                    )
                });
        }
        match client
            .get_address(authorized(
                identity::GetAddressRequest { id: id.to_owned() },
                Some(bearer),
            ))
            .await
        {
            Ok(response) => Ok(response.into_inner()),
            Err(status) if status.code() == Code::NotFound => {
                Err(ServiceError::not_found("address"))
            }
            Err(status) => Err(ServiceError::unavailable("identity", status)),
        }
    }

    pub async fn cart(&self, bearer: &str) -> ServiceResult<cart::Cart> {
        self.cart
            .clone()
            .get_cart(authorized(cart::GetCartRequest {}, Some(bearer)))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| ServiceError::unavailable("cart", s))
    }

    /// Takes checked-out lines out of the buyer's cart. The order stands either way, so a failure is only logged.
    pub async fn remove_from_cart(&self, bearer: &str, variant_ids: &[String]) {
        for variant_id in variant_ids {
            let request = authorized(
                cart::RemoveItemRequest {
                    variant_id: variant_id.clone(),
                },
                Some(bearer),
            );
            if let Err(status) = self.cart.clone().remove_item(request).await {
                tracing::warn!(%variant_id, error = %status, "could not remove a checked-out line from the cart");
            }
        }
    }
}
