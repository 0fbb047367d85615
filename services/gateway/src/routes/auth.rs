//! Sign-up, sign-in, token refresh and sign-out: thin translations onto the identity service.

use axum::Extension;
use tokshop_proto::identity as pb;

use crate::{client_ip::ClientIp, error::ApiError, handler::prelude::*, shapes::Session};

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Letters, digits and underscores.
    #[schema(min_length = 3, max_length = 32)]
    pub username: String,
    /// At most 254 bytes.
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// The username when absent or empty.
    #[schema(max_length = 64)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// A username or an email address.
    #[schema(max_length = 254)]
    pub login: String,
    #[schema(max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshTokenRequest {
    #[schema(max_length = 64)]
    pub refresh_token: String,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, description = "Account created", body = Session),
        (status = 409, description = "Username or email taken", body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let request = pb::RegisterRequest {
        username: body.username,
        email: body.email,
        password: body.password,
        display_name: body.display_name.unwrap_or_default(),
    };
    let session = state.identity().register(request).await?.into_inner();
    Ok((StatusCode::CREATED, Json(session.try_into()?)))
}

/// Sign in with a username or email and a password. Wrong passwords are counted per login name and per client
/// address; past `gateway.login_failures_per_account` / `login_failures_per_ip` in the window, sign-ins are refused
/// with 429 and Retry-After before any password is checked.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = Session),
        (status = 401, description = "Wrong username, email or password", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords for this account or from this address \
            (`too_many_login_failures`); the Retry-After header says when to try again", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    Extension(ClientIp(address)): Extension<ClientIp>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<Session>> {
    let throttle = state.login_throttle.as_deref();
    if let Some(throttle) = throttle
        && let Err(retry_after) = throttle.check(&body.login, address).await
    {
        return Err(ApiError::login_throttled(retry_after));
    }
    let login = body.login.clone();
    let request = pb::LoginRequest {
        login: body.login,
        password: body.password,
    };
    match state.identity().login(request).await {
        Ok(session) => {
            if let Some(throttle) = throttle {
                throttle.succeeded(&login).await;
            }
            Ok(Json(session.into_inner().try_into()?))
        }
        Err(status) => {
            if let Some(throttle) = throttle
                && status.code() == tonic::Code::Unauthenticated
            {
                throttle.failed(&login, address).await;
            }
            Err(status.into())
        }
    }
}

/// Exchange a refresh token for a new session; the presented refresh token stops working.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshTokenRequest,
    responses((status = 200, description = "New session", body = Session),
        (status = 401, description = "The refresh token is unknown, expired, revoked or already used", body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshTokenRequest>,
) -> ApiResult<Json<Session>> {
    let request = pb::RefreshRequest {
        refresh_token: body.refresh_token,
    };
    let session = state.identity().refresh(request).await?.into_inner();
    Ok(Json(session.try_into()?))
}

/// Sign out: revokes the refresh token's whole session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshTokenRequest,
    responses((status = 204, description = "Signed out")))]
async fn logout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshTokenRequest>,
) -> ApiResult<StatusCode> {
    let request = pb::LogoutRequest {
        refresh_token: body.refresh_token,
    };
    state.identity().logout(request).await?;
    Ok(StatusCode::NO_CONTENT)
}
