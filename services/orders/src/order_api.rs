//! The tonic surface of the order service: who may call what, and the wiring to checkout and the lifecycle.

use std::sync::Arc;

use tokshop_platform::grpc::{Reply, reply};
use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::{TokenKeys, bearer_from_metadata},
    config::OrderSettings,
    db::Db,
};
use tokshop_proto::order::{self as pb, order_service_server::OrderService};
use tonic::Request;

use crate::{
    checkout::Checkout,
    clients::Clients,
    lifecycle,
    orders::{self, COMPLETED, DELIVERED, PAID, PENDING_PAYMENT, SHIPPED, Viewer},
    payments::Providers,
};

const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;

#[derive(Clone)]
pub struct OrderApi {
    db: Db,
    keys: TokenKeys,
    clients: Clients,
    providers: Arc<Providers>,
    settings: OrderSettings,
}

fn cursor(value: &str) -> ServiceResult<Option<(i64, String)>> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .split_once('.')
        .and_then(|(ms, id)| Some((ms.parse().ok()?, id.to_owned())))
        .map(Some)
        .ok_or_else(|| ServiceError::invalid("cursor", "not a cursor from a previous page"))
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

    /// The buyer a checkout is for, and their own access token (to read their cart and addresses).
    fn buyer<T>(&self, request: &Request<T>) -> ServiceResult<(String, String)> {
        let caller = self.keys.require_caller(request)?;
        let bearer = bearer_from_metadata(request)?
            .unwrap_or_default()
            .to_owned();
        Ok((caller.user_id, bearer))
    }

    fn checkouts(&self) -> Checkout<'_> {
        Checkout {
            db: &self.db,
            clients: &self.clients,
            settings: &self.settings,
        }
    }

    async fn get(&self, id: &str, viewer: Viewer<'_>) -> ServiceResult<pb::Order> {
        let mut conn = self.db.pool().acquire().await?;
        Ok(orders::message(
            &orders::load_for(&mut conn, id.trim(), viewer).await?,
        ))
    }
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    async fn checkout(&self, request: Request<pb::CheckoutRequest>) -> Reply<pb::Order> {
        let result = async {
            let (buyer_id, bearer) = self.buyer(&request)?;
            let record = self
                .checkouts()
                .run(&buyer_id, &bearer, request.into_inner())
                .await?;
            Ok(orders::message(&record))
        };
        reply(result.await)
    }

    async fn quote_checkout(
        &self,
        request: Request<pb::CheckoutRequest>,
    ) -> Reply<pb::CheckoutQuote> {
        let result = async {
            let (buyer_id, bearer) = self.buyer(&request)?;
            self.checkouts()
                .quote(&buyer_id, &bearer, request.into_inner())
                .await
        };
        reply(result.await)
    }

    async fn get_order(&self, request: Request<pb::GetOrderRequest>) -> Reply<pb::Order> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let req = request.get_ref();
            self.get(&req.id, Viewer::of(&caller, req.as_seller)?).await
        };
        reply(result.await)
    }

    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Reply<pb::ListOrdersResponse> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let req = request.get_ref();
            let limit = match i64::from(req.limit) {
                0 => DEFAULT_PAGE,
                n if (1..=MAX_PAGE).contains(&n) => n,
                _ => {
                    return Err(ServiceError::invalid(
                        "limit",
                        format!("limit must be 1 to {MAX_PAGE}"),
                    ));
                }
            };
            let status = req.status().label();
            let mut conn = self.db.pool().acquire().await?;
            let (records, next) = orders::list(
                &mut conn,
                Viewer::of(&caller, req.as_seller)?,
                status,
                limit,
                cursor(&req.cursor)?,
            )
            .await?;
            Ok(pb::ListOrdersResponse {
                orders: records.iter().map(orders::message).collect(),
                next_cursor: next
                    .map(|(ms, id)| format!("{ms}.{id}"))
                    .unwrap_or_default(),
            })
        };
        reply(result.await)
    }

    async fn cancel_order(&self, request: Request<pb::CancelOrderRequest>) -> Reply<pb::Order> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let req = request.get_ref();
            let record = lifecycle::cancel(
                &self.db,
                &self.providers,
                req.id.trim(),
                Viewer::of(&caller, req.as_seller)?,
            )
            .await?;
            Ok(orders::message(&record))
        };
        reply(result.await)
    }

    async fn change_address(&self, request: Request<pb::ChangeAddressRequest>) -> Reply<pb::Order> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let bearer = bearer_from_metadata(&request)?
                .unwrap_or_default()
                .to_owned();
            let req = request.get_ref();
            let address_id = req.address_id.trim();
            if address_id.is_empty() {
                return Err(ServiceError::invalid("address_id", "choose an address"));
            }
            tokshop_platform::limits::check_id("address_id", address_id)?;
            // Ownership and state first, so another user's order is a 404 and a shipped one a 409, whatever
            // address is given.
            let current = {
                let mut conn = self.db.pool().acquire().await?;
                orders::load_for(&mut conn, req.id.trim(), Viewer::Buyer(&caller.user_id)).await?
            };
            if current.order.status != PENDING_PAYMENT && current.order.status != PAID {
                return Err(orders::wrong_state(&current.order, "given a new address"));
            }
            let address = self.clients.address(&bearer, address_id).await?;
            let record =
                lifecycle::change_address(&self.db, req.id.trim(), &caller.user_id, &address)
                    .await?;
            Ok(orders::message(&record))
        };
        reply(result.await)
    }

    async fn confirm_receipt(
        &self,
        request: Request<pb::ConfirmReceiptRequest>,
    ) -> Reply<pb::Order> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let record = lifecycle::advance(
                &self.db,
                request.get_ref().id.trim(),
                Viewer::Buyer(&caller.user_id),
                &[SHIPPED, DELIVERED],
                COMPLETED,
                "confirmed as received (only shipped or delivered orders can be)",
            )
            .await?;
            Ok(orders::message(&record))
        };
        reply(result.await)
    }

    async fn request_return(
        &self,
        request: Request<pb::RequestReturnRequest>,
    ) -> Reply<pb::ReturnRequest> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            lifecycle::request_return(&self.db, &caller.user_id, request.get_ref()).await
        };
        reply(result.await)
    }

    async fn list_returns(
        &self,
        request: Request<pb::ListReturnsRequest>,
    ) -> Reply<pb::ListReturnsResponse> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let req = request.get_ref();
            let returns = lifecycle::list_returns(
                &self.db,
                &req.order_id,
                Viewer::of(&caller, req.as_seller)?,
            )
            .await?;
            Ok(pb::ListReturnsResponse { returns })
        };
        reply(result.await)
    }

    async fn ship_order(&self, request: Request<pb::ShipOrderRequest>) -> Reply<pb::Order> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            Viewer::of(&caller, true)?;
            let req = request.get_ref();
            let record = lifecycle::ship(
                &self.db,
                req.id.trim(),
                &caller.user_id,
                &req.tracking_number,
                &req.carrier,
            )
            .await?;
            Ok(orders::message(&record))
        };
        reply(result.await)
    }

    async fn mark_delivered(&self, request: Request<pb::MarkDeliveredRequest>) -> Reply<pb::Order> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let record = lifecycle::advance(
                &self.db,
                request.get_ref().id.trim(),
                Viewer::of(&caller, true)?,
                &[SHIPPED],
                DELIVERED,
                "marked delivered (only shipped orders can be)",
            )
            .await?;
            Ok(orders::message(&record))
        };
        reply(result.await)
    }

    async fn decide_return(
        &self,
        request: Request<pb::DecideReturnRequest>,
    ) -> Reply<pb::ReturnRequest> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            Viewer::of(&caller, true)?;
            let req = request.get_ref();
            lifecycle::decide_return(
                &self.db,
                &self.providers,
                &caller.user_id,
                &req.return_id,
                req.accept,
            )
            .await
        };
        reply(result.await)
    }
}
