//! The tonic surface of the payment service: who may call what, and the rows as messages.

use std::sync::Arc;

use tokshop_platform::{
    ServiceError,
    auth::{Role, TokenKeys},
    db::Db,
    grpc::{Reply, signed_in},
};
use tokshop_proto::payment::{self as pb, payment_service_server::PaymentService};
use tonic::Request;

use super::{
    Providers,
    providers::WALLET,
    store::{self, MethodRow, PaymentRow, RefundRow},
};
use crate::{
    money,
    order::{self, Viewer},
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

fn payment_message(row: &PaymentRow) -> pb::Payment {
    pb::Payment {
        id: row.id.clone(),
        order_id: row.order_id.clone(),
        payment_method_id: row.method_id.clone(),
        purpose: row.purpose.clone(),
        amount: money(row.amount, &row.currency),
        status: row.status.clone(),
        failure_code: row.failure_code.clone(),
        failure_message: row.failure_message.clone(),
        created_at_ms: row.created_at_ms,
    }
}

fn refund_message(row: &RefundRow) -> pb::Refund {
    pb::Refund {
        id: row.id.clone(),
        order_id: row.order_id.clone(),
        payment_id: row.payment_id.clone(),
        amount: money(row.amount, &row.currency),
        reason: row.reason.clone(),
        status: row.status.clone(),
        created_at_ms: row.created_at_ms,
    }
}

fn method_message(row: &MethodRow) -> pb::PaymentMethod {
    pb::PaymentMethod {
        id: row.id.clone(),
        kind: "card".into(),
        brand: row.brand.clone(),
        last4: row.last4.clone(),
        exp_month: row.exp_month as i32,
        exp_year: row.exp_year as i32,
        created_at_ms: row.created_at_ms,
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn add_card(&self, request: Request<pb::AddCardRequest>) -> Reply<pb::PaymentMethod> {
        signed_in(&self.keys, request, |caller, req| async move {
            let row = super::add_card(&self.db, &self.providers, &caller.user_id, &req).await?;
            Ok(method_message(&row))
        })
        .await
    }

    async fn list_payment_methods(
        &self,
        request: Request<pb::ListPaymentMethodsRequest>,
    ) -> Reply<pb::ListPaymentMethodsResponse> {
        signed_in(&self.keys, request, |caller, _| async move {
            let mut methods = vec![pb::PaymentMethod {
                id: WALLET.into(),
                kind: WALLET.into(),
                brand: "tokshop wallet".into(),
                ..Default::default()
            }];
            let cards = store::methods(&self.db, &caller.user_id).await?;
            methods.extend(cards.iter().map(method_message));
            Ok(pb::ListPaymentMethodsResponse { methods })
        })
        .await
    }

    async fn remove_payment_method(
        &self,
        request: Request<pb::RemovePaymentMethodRequest>,
    ) -> Reply<pb::RemovePaymentMethodResponse> {
        signed_in(&self.keys, request, |caller, req| async move {
            if store::remove_method(&self.db, &caller.user_id, req.id.trim()).await? {
                Ok(pb::RemovePaymentMethodResponse {})
            } else {
                Err(ServiceError::not_found("payment method"))
            }
        })
        .await
    }

    async fn get_wallet(&self, request: Request<pb::GetWalletRequest>) -> Reply<pb::Wallet> {
        signed_in(&self.keys, request, |caller, _| async move {
            let balances = store::wallet(&self.db, &caller.user_id)
                .await?
                .into_iter()
                .filter_map(|(currency, balance)| money(balance, &currency))
                .collect();
            Ok(pb::Wallet { balances })
        })
        .await
    }

    async fn top_up_wallet(&self, request: Request<pb::TopUpWalletRequest>) -> Reply<pb::Payment> {
        signed_in(&self.keys, request, |caller, req| async move {
            let row = super::top_up(
                &self.db,
                &self.providers,
                self.top_up_daily_limit,
                &caller.user_id,
                &req,
            )
            .await?;
            Ok(payment_message(&row))
        })
        .await
    }

    async fn pay_order(&self, request: Request<pb::PayOrderRequest>) -> Reply<pb::Payment> {
        signed_in(&self.keys, request, |caller, req| async move {
            let row = super::pay_order(&self.db, &self.providers, &caller.user_id, &req).await?;
            Ok(payment_message(&row))
        })
        .await
    }

    async fn list_order_payments(
        &self,
        request: Request<pb::ListOrderPaymentsRequest>,
    ) -> Reply<pb::ListOrderPaymentsResponse> {
        signed_in(&self.keys, request, |caller, req| async move {
            let viewer = Viewer::of(&caller, req.as_seller)?;
            let mut conn = self.db.pool().acquire().await?;
            let record = order::store::load_for(&mut conn, req.order_id.trim(), viewer).await?;
            let (payments, refunds) = store::order_payments(&mut conn, &record.order.id).await?;
            Ok(pb::ListOrderPaymentsResponse {
                payments: payments.iter().map(payment_message).collect(),
                refunds: refunds.iter().map(refund_message).collect(),
            })
        })
        .await
    }

    async fn verify_ledger(
        &self,
        request: Request<pb::VerifyLedgerRequest>,
    ) -> Reply<pb::LedgerReport> {
        signed_in(&self.keys, request, |caller, _| async move {
            caller.require(Role::Admin)?;
            super::verify(&self.db).await
        })
        .await
    }
}
