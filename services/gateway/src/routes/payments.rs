//! Payment methods, the wallet, paying orders, an order's payments and refunds, and the ledger check.

use tokshop_platform::non_empty;
use tokshop_proto::payment as pb;

use crate::{
    error::ApiError,
    handler::prelude::*,
    shapes::{Money, money},
};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentMethod {
    /// `wallet`, or a card id.
    pub id: String,
    /// wallet or card.
    pub kind: String,
    pub brand: String,
    pub last4: Option<String>,
    pub exp_month: Option<i32>,
    pub exp_year: Option<i32>,
}

impl From<pb::PaymentMethod> for PaymentMethod {
    fn from(m: pb::PaymentMethod) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            brand: m.brand,
            last4: non_empty(m.last4),
            exp_month: (m.exp_month > 0).then_some(m.exp_month),
            exp_year: (m.exp_year > 0).then_some(m.exp_year),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentMethodList {
    pub methods: Vec<PaymentMethod>,
}

/// A card to save. Sandbox numbers: 4242424242424242 succeeds, 4000000000000002 is declined, 4000000000009995
/// fails for insufficient funds. Only a provider token and the last four digits are kept.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AddCard {
    /// 12 to 19 digits; spaces and hyphens between them are ignored.
    #[schema(min_length = 12, max_length = 32)]
    pub number: String,
    #[schema(minimum = 1, maximum = 12)]
    pub exp_month: i32,
    /// With `exp_month`, not in the past.
    #[schema(minimum = 2000, maximum = 2100)]
    pub exp_year: i32,
    /// 3 or 4 digits.
    #[schema(min_length = 3, max_length = 4)]
    pub cvc: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Wallet {
    pub balances: Vec<Money>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TopUp {
    /// A saved card.
    #[schema(max_length = 64)]
    pub payment_method_id: String,
    /// Minor units; a wallet also takes at most `orders.top_up_daily_limit_minor` a day.
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub amount_minor: i64,
    /// ISO 4217; the shop currency when absent.
    #[schema(min_length = 3, max_length = 3)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PayBody {
    /// `wallet` or a saved card id.
    #[schema(max_length = 64)]
    pub payment_method_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Payment {
    pub id: String,
    pub order_id: Option<String>,
    pub payment_method_id: String,
    /// order or top_up.
    pub purpose: String,
    pub amount: Money,
    /// succeeded or failed.
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at_ms: i64,
}

impl From<pb::Payment> for Payment {
    fn from(p: pb::Payment) -> Self {
        Self {
            id: p.id,
            order_id: non_empty(p.order_id),
            payment_method_id: p.payment_method_id,
            purpose: p.purpose,
            amount: money(p.amount),
            status: p.status,
            failure_code: non_empty(p.failure_code),
            failure_message: non_empty(p.failure_message),
            created_at_ms: p.created_at_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    pub id: String,
    pub order_id: String,
    pub payment_id: String,
    pub amount: Money,
    /// cancellation or return.
    pub reason: String,
    pub status: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderPayments {
    pub payments: Vec<Payment>,
    pub refunds: Vec<Refund>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LedgerReport {
    pub balanced: bool,
    pub transactions: i64,
    pub entries: i64,
    pub orders_checked: i64,
    pub problems: Vec<String>,
}

/// A declined payment is a 402 naming why (`card_declined`, `insufficient_funds`); the order stays unpaid.
fn settled(payment: pb::Payment) -> ApiResult<Json<Payment>> {
    if payment.status == "failed" {
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            payment.failure_code.clone(),
            format!("{} (payment {})", payment.failure_message, payment.id),
        )
        .with_param("payment_method_id"));
    }
    Ok(Json(payment.into()))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_methods, add_card))
        .routes(routes!(remove_method))
        .routes(routes!(get_wallet))
        .routes(routes!(top_up))
        .routes(routes!(pay_order))
        .routes(routes!(order_payments))
        .routes(routes!(verify_ledger))
}

/// The caller's wallet and saved cards.
#[utoipa::path(get, path = "/api/v1/payment-methods", tag = "payments", security(("bearer" = [])),
    responses((status = 200, description = "Payment methods", body = PaymentMethodList)))]
async fn list_methods(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<PaymentMethodList>> {
    let list = state
        .payments()
        .list_payment_methods(authorized(pb::ListPaymentMethodsRequest {}, user.token()))
        .await?
        .into_inner();
    Ok(Json(PaymentMethodList {
        methods: list.methods.into_iter().map(PaymentMethod::from).collect(),
    }))
}

/// Save a card (tokenized at once).
#[utoipa::path(post, path = "/api/v1/payment-methods", tag = "payments", security(("bearer" = [])),
    request_body = AddCard,
    responses((status = 201, description = "The saved card", body = PaymentMethod),
        (status = 422, description = "Not a valid card number, expiry or cvc", body = ErrorBody)))]
async fn add_card(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<AddCard>,
) -> ApiResult<(StatusCode, Json<PaymentMethod>)> {
    let request = pb::AddCardRequest {
        number: body.number,
        exp_month: body.exp_month,
        exp_year: body.exp_year,
        cvc: body.cvc,
    };
    created(state.payments().add_card(authorized(request, user.token()))).await
}

/// Remove a saved card.
#[utoipa::path(delete, path = "/api/v1/payment-methods/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path, description = "Card id")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No such card of yours", body = ErrorBody)))]
async fn remove_method(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .payments()
        .remove_payment_method(authorized(
            pb::RemovePaymentMethodRequest { id },
            user.token(),
        ))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The wallet's balances.
#[utoipa::path(get, path = "/api/v1/wallet", tag = "payments", security(("bearer" = [])),
    responses((status = 200, description = "Balances", body = Wallet)))]
async fn get_wallet(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Wallet>> {
    let wallet = state
        .payments()
        .get_wallet(authorized(pb::GetWalletRequest {}, user.token()))
        .await?
        .into_inner();
    Ok(Json(Wallet {
        balances: wallet.balances.into_iter().map(Money::from).collect(),
    }))
}

/// Top up the wallet from a saved card.
#[utoipa::path(post, path = "/api/v1/wallet/top-up", tag = "payments", security(("bearer" = [])),
    request_body = TopUp,
    responses((status = 200, description = "The top-up payment", body = Payment),
        (status = 402, description = "The card was declined", body = ErrorBody)))]
async fn top_up(
    State(state): State<AppState>,
    user: AuthUser,
    RequestId(request_id): RequestId,
    ApiJson(body): ApiJson<TopUp>,
) -> ApiResult<Json<Payment>> {
    let request = pb::TopUpWalletRequest {
        request_id,
        payment_method_id: body.payment_method_id,
        amount: Some(tokshop_proto::catalog::Money {
            amount_minor: body.amount_minor,
            currency: body
                .currency
                .unwrap_or_else(|| state.settings.shop.currency.clone()),
        }),
    };
    let payment = state
        .payments()
        .top_up_wallet(authorized(request, user.token()))
        .await?;
    settled(payment.into_inner())
}

/// Pay a pending order. With an `Idempotency-Key`, retries (even concurrent ones) charge once.
#[utoipa::path(post, path = "/api/v1/orders/{id}/pay", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")), request_body = PayBody,
    responses((status = 200, description = "The successful payment", body = Payment),
        (status = 402, description = "Declined or insufficient funds; the order stays unpaid", body = ErrorBody),
        (status = 409, description = "The order is not awaiting payment", body = ErrorBody)))]
async fn pay_order(
    State(state): State<AppState>,
    user: AuthUser,
    RequestId(request_id): RequestId,
    Path(order_id): Path<String>,
    ApiJson(body): ApiJson<PayBody>,
) -> ApiResult<Json<Payment>> {
    let request = pb::PayOrderRequest {
        request_id,
        order_id,
        payment_method_id: body.payment_method_id,
    };
    let payment = state
        .payments()
        .pay_order(authorized(request, user.token()))
        .await?;
    settled(payment.into_inner())
}

/// Payments and refunds of one of the caller's orders.
#[utoipa::path(get, path = "/api/v1/orders/{id}/payments", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Payments and refunds", body = OrderPayments),
        (status = 404, description = "No such order of yours", body = ErrorBody)))]
async fn order_payments(
    State(state): State<AppState>,
    user: AuthUser,
    Path(order_id): Path<String>,
) -> ApiResult<Json<OrderPayments>> {
    let request = pb::ListOrderPaymentsRequest {
        order_id,
        as_seller: false,
    };
    let list = state
        .payments()
        .list_order_payments(authorized(request, user.token()))
        .await?
        .into_inner();
    Ok(Json(OrderPayments {
        payments: list.payments.into_iter().map(Payment::from).collect(),
        refunds: list
            .refunds
            .into_iter()
            .map(|r| Refund {
                id: r.id,
                order_id: r.order_id,
                payment_id: r.payment_id,
                amount: money(r.amount),
                reason: r.reason,
                status: r.status,
                created_at_ms: r.created_at_ms,
            })
            .collect(),
    }))
}

/// Admin: verify that the ledger balances and every order's money matches its state.
#[utoipa::path(get, path = "/api/v1/admin/ledger/verify", tag = "payments", security(("bearer" = [])),
    responses((status = 200, description = "The report", body = LedgerReport),
        (status = 403, description = "Administrators only", body = ErrorBody)))]
async fn verify_ledger(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<LedgerReport>> {
    let report = state
        .payments()
        .verify_ledger(authorized(pb::VerifyLedgerRequest {}, user.token()))
        .await?
        .into_inner();
    Ok(Json(LedgerReport {
        balanced: report.balanced,
        transactions: report.transactions,
        entries: report.entries,
        orders_checked: report.orders_checked,
        problems: report.problems,
    }))
}
