//! The tonic surface of the payment service.

use std::sync::Arc;

use tokshop_platform::grpc::{Reply, reply};
use tokshop_platform::{
    auth::{Role, TokenKeys},
    db::Db,
};
use tokshop_proto::payment::{self as pb, payment_service_server::PaymentService};
use tonic::Request;

use crate::{
    orders::{self, Viewer},
    payments::{self, Providers},
    providers::WALLET,
};

#[derive(Clone)]
pub struct PaymentApi {
    db: Db,
    keys: TokenKeys,
    providers: Arc<Providers>,
    /// Most a wallet takes in 24 hours, per currency (`orders.top_up_daily_limit_minor`).
    top_up_daily_limit: i64,
}

impl PaymentApi {
    pub fn new(
        db: Db,
        keys: TokenKeys,
        providers: Arc<Providers>,
        top_up_daily_limit: i64,
    ) -> Self {
        Self {
            db,
            keys,
            providers,
            top_up_daily_limit,
        }
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn add_card(&self, request: Request<pb::AddCardRequest>) -> Reply<pb::PaymentMethod> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let row = payments::add_card(
                &self.db,
                &self.providers,
                &caller.user_id,
                request.get_ref(),
            )
            .await?;
            Ok(payments::method_message(&row))
        };
        reply(result.await)
    }

    async fn list_payment_methods(
        &self,
        request: Request<pb::ListPaymentMethodsRequest>,
    ) -> Reply<pb::ListPaymentMethodsResponse> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let mut methods = vec![pb::PaymentMethod {
                id: WALLET.into(),
                kind: WALLET.into(),
                brand: "tokshop wallet".into(),
                ..Default::default()
            }];
            methods.extend(
                payments::methods(&self.db, &caller.user_id)
                    .await?
                    .iter()
                    .map(payments::method_message),
            );
            Ok(pb::ListPaymentMethodsResponse { methods })
        };
        reply(result.await)
    }

    async fn remove_payment_method(
        &self,
        request: Request<pb::RemovePaymentMethodRequest>,
    ) -> Reply<pb::RemovePaymentMethodResponse> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            payments::remove_method(&self.db, &caller.user_id, request.get_ref().id.trim()).await?;
            Ok(pb::RemovePaymentMethodResponse {})
        };
        reply(result.await)
    }

    async fn get_wallet(&self, request: Request<pb::GetWalletRequest>) -> Reply<pb::Wallet> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let balances = payments::wallet(&self.db, &caller.user_id)
                .await?
                .into_iter()
                .filter_map(|(currency, balance)| orders::money(balance, &currency))
                .collect();
            Ok(pb::Wallet { balances })
        };
        reply(result.await)
    }

    async fn top_up_wallet(&self, request: Request<pb::TopUpWalletRequest>) -> Reply<pb::Payment> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let row = payments::top_up(
                &self.db,
                &self.providers,
                self.top_up_daily_limit,
                &caller.user_id,
                request.get_ref(),
            )
            .await?;
            Ok(payments::payment_message(&row))
        };
        reply(result.await)
    }

    async fn pay_order(&self, request: Request<pb::PayOrderRequest>) -> Reply<pb::Payment> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let row = payments::pay_order(
                &self.db,
                &self.providers,
                &caller.user_id,
                request.get_ref(),
            )
            .await?;
            Ok(payments::payment_message(&row))
        };
        reply(result.await)
    }

    async fn list_order_payments(
        &self,
        request: Request<pb::ListOrderPaymentsRequest>,
    ) -> Reply<pb::ListOrderPaymentsResponse> {
        let result = async {
            let caller = self.keys.require_caller(&request)?;
            let req = request.get_ref();
            let viewer = Viewer::of(&caller, req.as_seller)?;
            let mut conn = self.db.pool().acquire().await?;
            let record = orders::load_for(&mut conn, req.order_id.trim(), viewer).await?;
            let (payments, refunds) = payments::order_payments(&mut conn, &record.order.id).await?;
            Ok(pb::ListOrderPaymentsResponse {
                payments: payments.iter().map(payments::payment_message).collect(),
                refunds: refunds.iter().map(payments::refund_message).collect(),
            })
        };
        reply(result.await)
    }

    async fn verify_ledger(
        &self,
        request: Request<pb::VerifyLedgerRequest>,
    ) -> Reply<pb::LedgerReport> {
        let result = async {
            self.keys.require_caller(&request)?.require(Role::Admin)?;
            payments::verify(&self.db).await
        };
        reply(result.await)
    }
}
