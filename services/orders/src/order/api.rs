//! The tonic surface of the order service: who may call what, the wiring to checkout, the lifecycle and returns,
//! and the records as messages.

use std::sync::Arc;

use tokshop_platform::{
    ServiceResult,
    address::PostalAddress,
    auth::{TokenKeys, bearer_from_metadata},
    config::OrderSettings,
    db::Db,
    grpc::{Reply, signed_in},
    page::{self, Cursor},
};
use tokshop_proto::order::{self as pb, order_service_server::OrderService};
use tonic::Request;

use super::{
    checkout::{Checkout, Prepared},
    lifecycle, returns,
    rules::{CONFIRM_RECEIPT, MARK_DELIVERED, PENDING_PAYMENT, Viewer},
    store::{self, OrderRecord, OrderRow, ReturnRecord},
};
use crate::{clients::Clients, money, payment::Providers};

#[derive(Clone)]
pub struct OrderApi {
    db: Db,
    keys: TokenKeys,
    clients: Clients,
    providers: Arc<Providers>,
    settings: OrderSettings,
}

/// The caller's own access token, which checkout forwards to read their cart and addresses.
fn bearer<T>(request: &Request<T>) -> ServiceResult<String> {
    Ok(bearer_from_metadata(request)?
        .unwrap_or_default()
        .to_owned())
}

impl OrderApi {
    pub fn new(
        db: Db,
        keys: TokenKeys,
        clients: Clients,
        providers: Arc<Providers>,
        settings: OrderSettings,
    ) -> Self {
        Self {
            db,
            keys,
            clients,
            providers,
            settings,
        }
    }

    fn checkouts(&self) -> Checkout<'_> {
        Checkout {
            db: &self.db,
            clients: &self.clients,
            settings: &self.settings,
        }
    }

    /// One page of the viewer's orders.
    async fn list(
        &self,
        viewer: Viewer<'_>,
        req: &pb::ListOrdersRequest,
        limit: i64,
    ) -> ServiceResult<pb::ListOrdersResponse> {
        let after = Cursor::decode(&req.cursor)?;
        let mut conn = self.db.pool().acquire().await?;
        let rows = store::list(&mut conn, viewer, req.status().label(), &after, limit).await?;
        let (rows, next_cursor) =
            page::finish(rows, limit, |o: &OrderRow| (o.created_at_ms, o.id.clone()));
        let records = store::with_lines(&mut conn, rows).await?;
        Ok(pb::ListOrdersResponse {
            orders: records.iter().map(order_message).collect(),
            next_cursor,
        })
    }
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    async fn checkout(&self, request: Request<pb::CheckoutRequest>) -> Reply<pb::Order> {
        let bearer = bearer(&request);
        signed_in(&self.keys, request, |caller, req| async move {
            let record = self.checkouts().run(&caller.user_id, &bearer?, req).await?;
            Ok(order_message(&record))
        })
        .await
    }

    async fn quote_checkout(
        &self,
        request: Request<pb::CheckoutRequest>,
    ) -> Reply<pb::CheckoutQuote> {
        let bearer = bearer(&request);
        signed_in(&self.keys, request, |caller, req| async move {
            let prepared = self
                .checkouts()
                .quote(&caller.user_id, &bearer?, req)
                .await?;
            Ok(quote_message(prepared))
        })
        .await
    }

    async fn get_order(&self, request: Request<pb::GetOrderRequest>) -> Reply<pb::Order> {
        signed_in(&self.keys, request, |caller, req| async move {
            let viewer = Viewer::of(&caller, req.as_seller)?;
            let mut conn = self.db.pool().acquire().await?;
            let record = store::load_for(&mut conn, req.id.trim(), viewer).await?;
            Ok(order_message(&record))
        })
        .await
    }

    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Reply<pb::ListOrdersResponse> {
        signed_in(&self.keys, request, |caller, req| async move {
            let limit = page::limit(req.limit)?;
            self.list(Viewer::of(&caller, req.as_seller)?, &req, limit)
                .await
        })
        .await
    }

    async fn cancel_order(&self, request: Request<pb::CancelOrderRequest>) -> Reply<pb::Order> {
        signed_in(&self.keys, request, |caller, req| async move {
            let viewer = Viewer::of(&caller, req.as_seller)?;
            let record =
                lifecycle::cancel(&self.db, &self.providers, req.id.trim(), viewer).await?;
            Ok(order_message(&record))
        })
        .await
    }

    async fn change_address(&self, request: Request<pb::ChangeAddressRequest>) -> Reply<pb::Order> {
        let bearer = bearer(&request);
        signed_in(&self.keys, request, |caller, req| async move {
            let record = lifecycle::change_address(
                &self.db,
                &self.clients,
                &bearer?,
                req.id.trim(),
                &caller.user_id,
                &req.address_id,
            )
            .await?;
            Ok(order_message(&record))
        })
        .await
    }

    async fn confirm_receipt(
        &self,
        request: Request<pb::ConfirmReceiptRequest>,
    ) -> Reply<pb::Order> {
        signed_in(&self.keys, request, |caller, req| async move {
            let buyer = Viewer::Buyer(&caller.user_id);
            let record =
                lifecycle::advance(&self.db, req.id.trim(), buyer, CONFIRM_RECEIPT).await?;
            Ok(order_message(&record))
        })
        .await
    }

    async fn request_return(
        &self,
        request: Request<pb::RequestReturnRequest>,
    ) -> Reply<pb::ReturnRequest> {
        signed_in(&self.keys, request, |caller, req| async move {
            let (made, currency) = returns::request(&self.db, &caller.user_id, &req).await?;
            Ok(return_message(made, &currency))
        })
        .await
    }

    async fn list_returns(
        &self,
        request: Request<pb::ListReturnsRequest>,
    ) -> Reply<pb::ListReturnsResponse> {
        signed_in(&self.keys, request, |caller, req| async move {
            let viewer = Viewer::of(&caller, req.as_seller)?;
            let (found, currency) = returns::list(&self.db, &req.order_id, viewer).await?;
            Ok(pb::ListReturnsResponse {
                returns: found
                    .into_iter()
                    .map(|r| return_message(r, &currency))
                    .collect(),
            })
        })
        .await
    }

    async fn ship_order(&self, request: Request<pb::ShipOrderRequest>) -> Reply<pb::Order> {
        signed_in(&self.keys, request, |caller, req| async move {
            Viewer::of(&caller, true)?;
            let record = lifecycle::ship(
                &self.db,
                req.id.trim(),
                &caller.user_id,
                &req.tracking_number,
                &req.carrier,
            )
            .await?;
            Ok(order_message(&record))
        })
        .await
    }

    async fn mark_delivered(&self, request: Request<pb::MarkDeliveredRequest>) -> Reply<pb::Order> {
        signed_in(&self.keys, request, |caller, req| async move {
            let seller = Viewer::of(&caller, true)?;
            let record =
                lifecycle::advance(&self.db, req.id.trim(), seller, MARK_DELIVERED).await?;
            Ok(order_message(&record))
        })
        .await
    }

    async fn decide_return(
        &self,
        request: Request<pb::DecideReturnRequest>,
    ) -> Reply<pb::ReturnRequest> {
        signed_in(&self.keys, request, |caller, req| async move {
            Viewer::of(&caller, true)?;
            let (decided, currency) = returns::decide(
                &self.db,
                &self.providers,
                &caller.user_id,
                &req.return_id,
                req.accept,
            )
            .await?;
            Ok(return_message(decided, &currency))
        })
        .await
    }
}

fn order_message(record: &OrderRecord) -> pb::Order {
    let o = &record.order;
    let cur = o.currency.as_str();
    pb::Order {
        id: o.id.clone(),
        buyer_id: o.buyer_id.clone(),
        seller_id: o.seller_id.clone(),
        status: pb::OrderStatus::from_label(&o.status).unwrap_or_default() as i32,
        lines: record
            .lines
            .iter()
            .map(|l| pb::OrderLine {
                variant_id: l.variant_id.clone(),
                product_id: l.product_id.clone(),
                title: l.title.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: money(l.unit_price, cur),
                line_total: money(l.unit_price * l.quantity, cur),
                discount: money(l.discount, cur),
                returned_quantity: l.returned_quantity,
            })
            .collect(),
        subtotal: money(o.subtotal, cur),
        discount: money(o.discount, cur),
        shipping_fee: money(o.shipping_fee, cur),
        total: money(o.total, cur),
        refunded: money(o.refunded, cur),
        address: Some(o.ship.clone().into_shipping(o.address_id.clone())),
        claimed_coupon_id: o.claimed_coupon_id.clone(),
        coupon_code: o.coupon_code.clone(),
        tracking_number: o.tracking_number.clone(),
        carrier: o.carrier.clone(),
        cancel_reason: o.cancel_reason.clone(),
        created_at_ms: o.created_at_ms,
        updated_at_ms: o.updated_at_ms,
        expires_at_ms: if o.status == PENDING_PAYMENT {
            o.expires_at_ms
        } else {
            0
        },
        paid_at_ms: o.paid_at_ms,
        shipped_at_ms: o.shipped_at_ms,
        delivered_at_ms: o.delivered_at_ms,
        completed_at_ms: o.completed_at_ms,
        cancelled_at_ms: o.cancelled_at_ms,
        payment_id: o.payment_id.clone(),
    }
}

fn quote_message(prepared: Prepared) -> pb::CheckoutQuote {
    let cur = prepared.currency.as_str();
    let a = prepared.address;
    pb::CheckoutQuote {
        seller_id: prepared.seller_id.clone(),
        lines: prepared
            .lines
            .iter()
            .map(|l| pb::OrderLine {
                variant_id: l.variant_id.clone(),
                product_id: l.product_id.clone(),
                title: l.title.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: money(l.unit_price, cur),
                line_total: money(l.total(), cur),
                discount: money(l.discount, cur),
                returned_quantity: 0,
            })
            .collect(),
        subtotal: money(prepared.totals.subtotal, cur),
        discount: money(prepared.totals.discount, cur),
        shipping_fee: money(prepared.totals.shipping_fee, cur),
        total: money(prepared.totals.total, cur),
        address: Some({
            let address_id = a.id.clone();
            PostalAddress::from(a).into_shipping(address_id)
        }),
        claimed_coupon_id: prepared.claimed_coupon_id,
        coupon_code: prepared.coupon.map(|c| c.code).unwrap_or_default(),
        from_cart: prepared.from_cart,
    }
}

fn return_message(record: ReturnRecord, currency: &str) -> pb::ReturnRequest {
    let row = record.row;
    pb::ReturnRequest {
        id: row.id,
        order_id: row.order_id,
        status: row.status,
        lines: record
            .lines
            .into_iter()
            .map(|l| pb::ReturnLine {
                variant_id: l.variant_id,
                quantity: l.quantity,
                amount: money(l.amount, currency),
            })
            .collect(),
        amount: money(row.amount, currency),
        reason: row.reason,
        refund_id: row.refund_id,
        created_at_ms: row.created_at_ms,
        decided_at_ms: row.decided_at_ms,
    }
}
