//! The tonic surface of the cart service: checks the caller and quantities, keeps lines in the store, and prices
//! every view live from the catalog.

use std::collections::{BTreeMap, HashMap};

use tokshop_platform::grpc::{GrpcChannel, Reply, signed_in};
use tokshop_platform::{
    ServiceContext, ServiceError, ServiceResult,
    auth::{Principal, TokenKeys},
    check_len,
    limits::MAX_ID,
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

    async fn add(&self, caller: Principal, req: pb::AddItemRequest) -> ServiceResult<pb::Cart> {
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
        self.store
            .add(&caller.user_id, &variant_id, req.quantity)
            .await?;
        self.view(&caller.user_id).await
    }

    async fn change_quantity(
        &self,
        caller: Principal,
        req: pb::SetQuantityRequest,
    ) -> ServiceResult<pb::Cart> {
        check_quantity(req.quantity)?;
        self.store
            .set_quantity(&caller.user_id, req.variant_id.trim(), req.quantity)
            .await?;
        self.view(&caller.user_id).await
    }

    async fn remove(
        &self,
        caller: Principal,
        req: pb::RemoveItemRequest,
    ) -> ServiceResult<pb::Cart> {
        self.store
            .remove(&caller.user_id, req.variant_id.trim())
            .await?;
        self.view(&caller.user_id).await
    }

    async fn empty(&self, caller: Principal) -> ServiceResult<pb::Cart> {
        self.store.clear(&caller.user_id).await?;
        self.view(&caller.user_id).await
    }

    async fn cart_of(&self, caller: Principal) -> ServiceResult<pb::Cart> {
        self.view(&caller.user_id).await
    }
}

#[tonic::async_trait]
impl CartService for CartApi {
    async fn get_cart(&self, request: Request<pb::GetCartRequest>) -> Reply<pb::Cart> {
        signed_in(&self.keys, request, |caller, _| self.cart_of(caller)).await
    }

    async fn add_item(&self, request: Request<pb::AddItemRequest>) -> Reply<pb::Cart> {
        signed_in(&self.keys, request, |caller, req| self.add(caller, req)).await
    }

    async fn set_quantity(&self, request: Request<pb::SetQuantityRequest>) -> Reply<pb::Cart> {
        signed_in(&self.keys, request, |caller, req| {
            self.change_quantity(caller, req)
        })
        .await
    }

    async fn remove_item(&self, request: Request<pb::RemoveItemRequest>) -> Reply<pb::Cart> {
        signed_in(&self.keys, request, |caller, req| self.remove(caller, req)).await
    }

    async fn clear(&self, request: Request<pb::ClearRequest>) -> Reply<pb::Cart> {
        signed_in(&self.keys, request, |caller, _| self.empty(caller)).await
    }
}

#[cfg(test)]
mod tests {
    use tokshop_proto::catalog::Variant;

    use super::*;

    fn row(quantity: i64) -> LineRow {
        LineRow {
            variant_id: "var_a".into(),
            quantity,
            added_at_ms: 1,
        }
    }

    fn detail(buyable: bool, stock: i64, price: i64) -> VariantDetail {
        VariantDetail {
            product_id: "prd_a".into(),
            product_title: "Trail runner".into(),
            buyable,
            variant: Some(Variant {
                id: "var_a".into(),
                sku: "A".into(),
                stock,
                price: Some(Money {
                    amount_minor: price,
                    currency: "USD".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_line_is_priced_live_and_flags_what_checkout_would_refuse() {
        let ok = line(&row(3), Some(&detail(true, 5, 1_250)));
        assert_eq!(ok.line_total.unwrap().amount_minor, 3_750);
        assert!(!ok.unavailable && !ok.short_of_stock);

        let short = line(&row(3), Some(&detail(true, 2, 1_250)));
        assert!(short.short_of_stock && !short.unavailable);
        assert_eq!(short.available, 2);

        let delisted = line(&row(3), Some(&detail(false, 5, 1_250)));
        assert!(delisted.unavailable && !delisted.short_of_stock);

        let gone = line(&row(3), None);
        assert!(gone.unavailable);
        assert_eq!((gone.quantity, gone.line_total), (3, None));
    }
}
