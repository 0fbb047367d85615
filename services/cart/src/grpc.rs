//! The tonic surface of the cart service: checks the caller and quantities, keeps lines in the store, and prices
//! every view live from the catalog.

use std::collections::{BTreeMap, HashMap};

use tokshop_platform::grpc::GrpcChannel;
use tokshop_platform::grpc::{Reply, reply};
use tokshop_platform::{
    ServiceContext, ServiceError, ServiceResult, auth::TokenKeys, check_len, limits::MAX_ID,
};
use tokshop_proto::{
    cart::{self as pb, cart_service_server::CartService},
    catalog::{
        GetVariantsRequest, Money, VariantDetail, catalog_service_client::CatalogServiceClient,
    },
};
use tonic::Request;

use crate::store::{LineRow, Store, check_quantity};

#[derive(Clone, Debug)]
pub struct CartApi {
    store: Store,
    keys: TokenKeys,
    catalog: CatalogServiceClient<GrpcChannel>,
}

/// One line as the shopper sees it, from the stored quantity and the catalog's current view of the variant.
fn line(row: &LineRow, detail: Option<&VariantDetail>) -> pb::CartLine {
    let variant = detail.and_then(|d| d.variant.as_ref());
    let Some((detail, variant)) = detail.zip(variant) else {
        return pb::CartLine {
            variant_id: row.variant_id.clone(),
            title: "no longer available".into(),
            quantity: row.quantity,
            unavailable: true,
            added_at_ms: row.added_at_ms,
            ..Default::default()
        };
    };
    let unit_price = variant.price.clone().unwrap_or_default();
    let line_total = Money {
        amount_minor: unit_price.amount_minor.saturating_mul(row.quantity),
        currency: unit_price.currency.clone(),
    };
    pb::CartLine {
        variant_id: row.variant_id.clone(),
        product_id: detail.product_id.clone(),
        title: detail.product_title.clone(),
        sku: variant.sku.clone(),
        options: variant.options.clone(),
        quantity: row.quantity,
        unit_price: Some(unit_price),
        line_total: Some(line_total),
        unavailable: !detail.buyable,
        short_of_stock: detail.buyable && variant.stock < row.quantity,
        available: variant.stock,
        image_url: detail.image_url.clone(),
        added_at_ms: row.added_at_ms,
    }
}

impl CartApi {
    pub fn new(ctx: &ServiceContext, catalog: GrpcChannel) -> Self {
        Self {
            store: Store::new(ctx.db.clone()),
            keys: ctx.keys.clone(),
            catalog: CatalogServiceClient::new(catalog),
        }
    }

    async fn variants(&self, ids: Vec<String>) -> ServiceResult<HashMap<String, VariantDetail>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let response = self
            .catalog
            .clone()
            .get_variants(GetVariantsRequest { ids })
            .await
            .map_err(|status| ServiceError::unavailable("catalog", status))?;
        Ok(response.into_inner().by_id())
    }

    /// The caller's cart, priced now.
    async fn view(&self, user_id: &str) -> ServiceResult<pb::Cart> {
        let rows = self.store.lines(user_id).await?;
        let details = self
            .variants(rows.iter().map(|r| r.variant_id.clone()).collect())
            .await?;
        let lines: Vec<pb::CartLine> = rows
            .iter()
            .map(|r| line(r, details.get(&r.variant_id)))
            .collect();
        let mut subtotals: BTreeMap<String, i64> = BTreeMap::new();
        for l in lines.iter().filter(|l| !l.unavailable) {
            if let Some(total) = &l.line_total {
                *subtotals.entry(total.currency.clone()).or_default() += total.amount_minor;
            }
        }
        Ok(pb::Cart {
            item_count: lines.iter().map(|l| l.quantity).sum(),
            ready_for_checkout: !lines.is_empty()
                && lines.iter().all(|l| !l.unavailable && !l.short_of_stock),
            subtotals: subtotals
                .into_iter()
                .map(|(currency, amount_minor)| Money {
                    amount_minor,
                    currency,
                })
                .collect(),
            lines,
        })
    }

    async fn add(&self, user_id: &str, req: pb::AddItemRequest) -> ServiceResult<pb::Cart> {
        check_quantity(req.quantity)?;
        let variant_id = req.variant_id.trim().to_owned();
        check_len("variant_id", &variant_id, 0, MAX_ID)?;
        let details = self.variants(vec![variant_id.clone()]).await?;
        match details.get(&variant_id) {
            None => return Err(ServiceError::not_found("variant")),
            Some(detail) if !detail.buyable => {
                return Err(ServiceError::conflict_on(
                    "variant_unavailable",
                    "variant_id",
                    "that variant is not for sale right now",
                ));
            }
            Some(_) => {}
        }
        self.store.add(user_id, &variant_id, req.quantity).await?;
        self.view(user_id).await
    }
}

#[tonic::async_trait]
impl CartService for CartApi {
    async fn get_cart(&self, request: Request<pb::GetCartRequest>) -> Reply<pb::Cart> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            self.view(&caller.user_id).await
        };
        reply(result.await)
    }

    async fn add_item(&self, request: Request<pb::AddItemRequest>) -> Reply<pb::Cart> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            self.add(&caller.user_id, request.into_inner()).await
        };
        reply(result.await)
    }

    async fn set_quantity(&self, request: Request<pb::SetQuantityRequest>) -> Reply<pb::Cart> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let req = request.into_inner();
            check_quantity(req.quantity)?;
            self.store
                .set_quantity(&caller.user_id, req.variant_id.trim(), req.quantity)
                .await?;
            self.view(&caller.user_id).await
        };
        reply(result.await)
    }

    async fn remove_item(&self, request: Request<pb::RemoveItemRequest>) -> Reply<pb::Cart> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            self.store
                .remove(&caller.user_id, request.get_ref().variant_id.trim())
                .await?;
            self.view(&caller.user_id).await
        };
        reply(result.await)
    }

    async fn clear(&self, request: Request<pb::ClearRequest>) -> Reply<pb::Cart> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            self.store.clear(&caller.user_id).await?;
            self.view(&caller.user_id).await
        };
        reply(result.await)
    }
}
