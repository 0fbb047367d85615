//! The tonic surface of the identity service: validates input, checks the caller, calls the store.

use base64::Engine;
use tokshop_platform::grpc::{Reply, reply, signed_in};
use tokshop_platform::{
    ServiceContext, ServiceError, ServiceResult,
    address::PostalAddress,
    auth::{Principal, Role, TokenKeys},
    config::{AdminSettings, AuthSettings},
    ids::new_id,
    time::now_ms,
};
use tokshop_proto::identity::{self as pb, identity_service_server::IdentityService};
use tonic::Request;

use crate::{
    password,
    store::{AddressRow, NewUser, Rotation, Store, UserRow},
    validate,
};

#[derive(Clone, Debug)]
pub struct IdentityApi {
    store: Store,
    keys: TokenKeys,
    auth: AuthSettings,
}

fn roles_of(user: &UserRow) -> Vec<Role> {
    let mut roles = vec![Role::Buyer];
    if user.is_seller == 1 {
        roles.push(Role::Seller);
    }
    if user.is_admin == 1 {
        roles.push(Role::Admin);
    }
    roles
}

fn user_message(user: &UserRow) -> pb::User {
    pb::User {
        id: user.id.clone(),
        username: user.username.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        avatar_url: user.avatar_url.clone(),
        bio: user.bio.clone(),
        roles: roles_of(user)
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        shop_name: user.shop_name.clone().unwrap_or_default(),
        created_at_ms: user.created_at_ms,
    }
}

fn address_message(row: AddressRow) -> pb::Address {
    row.fields
        .into_book_entry(row.id, row.is_default == 1, row.created_at_ms)
}

/// Refresh tokens are 256 random bits; only their SHA-256 is stored, so a database leak yields no usable token.
fn new_refresh_token() -> (String, String) {
    let raw: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

fn hash_refresh_token(token: &str) -> String {
    tokshop_platform::sha256_hex(&[token.as_bytes()])
}

impl IdentityApi {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            store: Store::new(ctx.db.clone()),
            keys: ctx.keys.clone(),
            auth: ctx.settings.auth.clone(),
        }
    }

    /// Creates the configured administrator if no account has its username or email. It never grants the role to
    /// an account that exists: anyone could have registered that name first.
    pub async fn ensure_admin(&self, admin: &AdminSettings) -> anyhow::Result<()> {
        let (Some(username), Some(email), Some(password)) =
            (&admin.username, &admin.email, &admin.password)
        else {
            return Ok(());
        };
        for login in [username, email] {
            if let Some(user) = self.store.find_by_login(login).await? {
                if user.is_admin == 0 {
                    tracing::error!(
                        %login,
                        "the configured admin account was not created: an ordinary account already uses this name; \
                         it was not made an admin. Configure another admin username and email."
                    );
                }
                return Ok(());
            }
        }
        validate::username(username)?;
        validate::email(email)?;
        validate::password(password.expose())?;
        let hash = password::hash(password.expose().to_owned()).await?;
        self.store
            .create_user(NewUser {
                username,
                email,
                password_hash: &hash,
                display_name: username,
                is_admin: true,
            })
            .await?;
        tracing::info!(%username, "created the configured admin account");
        Ok(())
    }

    /// Signs an access token and records a refresh token for `user` in `session_id`.
    async fn session(&self, user: &UserRow, session_id: &str) -> ServiceResult<pb::AuthSession> {
        let access = self.keys.issue(&user.id, &roles_of(user))?;
        let (refresh, refresh_hash) = new_refresh_token();
        let refresh_expires_at_ms = now_ms() + self.auth.refresh_ttl_secs * 1000;
        self.store
            .insert_refresh_token(&refresh_hash, session_id, &user.id, refresh_expires_at_ms)
            .await?;
        Ok(pb::AuthSession {
            user: Some(user_message(user)),
            access_token: access.token,
            access_expires_at_ms: access.expires_at_ms,
            refresh_token: refresh,
            refresh_expires_at_ms,
        })
    }

    async fn register(&self, req: pb::RegisterRequest) -> ServiceResult<pb::AuthSession> {
        let username = req.username.trim();
        let email = req.email.trim();
        validate::username(username)?;
        validate::email(email)?;
        validate::password(&req.password)?;
        let display_name = match req.display_name.trim() {
            "" => username,
            name => name,
        };
        validate::display_name(display_name)?;
        let hash = password::hash(req.password).await?;
        let user = self
            .store
            .create_user(NewUser {
                username,
                email,
                password_hash: &hash,
                display_name,
                is_admin: false,
            })
            .await?;
        self.session(&user, &new_id("ses")).await
    }

    async fn login(&self, req: pb::LoginRequest) -> ServiceResult<pb::AuthSession> {
        let wrong = || ServiceError::unauthenticated("wrong username, email or password");
        let login = req.login.trim();
        validate::sign_in(login, &req.password)?;
        let user = self.store.find_by_login(login).await?;
        let stored = user.as_ref().map_or_else(
            || password::DECOY_HASH.to_owned(),
            |u| u.password_hash.clone(),
        );
        let matches = password::verify(req.password, stored).await?;
        match user {
            Some(user) if matches => self.session(&user, &new_id("ses")).await,
            _ => Err(wrong()),
        }
    }

    async fn refresh(&self, req: pb::RefreshRequest) -> ServiceResult<pb::AuthSession> {
        let presented = req.refresh_token.trim();
        validate::refresh_token(presented)?;
        let old_hash = hash_refresh_token(presented);
        let (refresh, new_hash) = new_refresh_token();
        let refresh_expires_at_ms = now_ms() + self.auth.refresh_ttl_secs * 1000;
        match self
            .store
            .rotate_refresh_token(&old_hash, &new_hash, refresh_expires_at_ms)
            .await?
        {
            Rotation::Rotated { user_id } => {
                let user = self.store.get_user(&user_id).await?;
                let access = self.keys.issue(&user.id, &roles_of(&user))?;
                Ok(pb::AuthSession {
                    user: Some(user_message(&user)),
                    access_token: access.token,
                    access_expires_at_ms: access.expires_at_ms,
                    refresh_token: refresh,
                    refresh_expires_at_ms,
                })
            }
            Rotation::Invalid => Err(ServiceError::unauthenticated(
                "refresh token is invalid, expired or revoked; sign in again",
            )),
            Rotation::Reused => Err(ServiceError::unauthenticated(
                "refresh token was already used; the session is revoked, sign in again",
            )),
        }
    }

    async fn end_session(&self, req: pb::LogoutRequest) -> ServiceResult<pb::LogoutResponse> {
        let presented = req.refresh_token.trim();
        validate::refresh_token(presented)?;
        self.store
            .revoke_session_of(&hash_refresh_token(presented))
            .await?;
        Ok(pb::LogoutResponse {})
    }

    async fn me(&self, caller: Principal) -> ServiceResult<pb::User> {
        let user = self.store.get_user(&caller.user_id).await?;
        Ok(user_message(&user))
    }

    async fn edit_profile(
        &self,
        caller: Principal,
        req: pb::UpdateProfileRequest,
    ) -> ServiceResult<pb::User> {
        let display_name = req.display_name.as_deref().map(str::trim);
        let avatar_url = req.avatar_url.as_deref().map(str::trim);
        let bio = req.bio.as_deref().map(str::trim);
        if let Some(name) = display_name {
            validate::display_name(name)?;
        }
        if let Some(url) = avatar_url {
            validate::avatar_url(url)?;
        }
        if let Some(bio) = bio {
            validate::bio(bio)?;
        }
        let user = self
            .store
            .update_profile(&caller.user_id, display_name, avatar_url, bio)
            .await?;
        Ok(user_message(&user))
    }

    async fn profile_of(
        &self,
        req: pb::GetPublicProfileRequest,
    ) -> ServiceResult<pb::PublicProfile> {
        let user = if req.user_id.is_empty() && !req.username.is_empty() {
            self.store.find_by_username(&req.username).await?
        } else {
            self.store.get_user(&req.user_id).await?
        };
        Ok(public_profile(user))
    }

    /// Profiles in the order asked; unknown ids are left out.
    async fn profiles_of(
        &self,
        req: pb::GetPublicProfilesRequest,
    ) -> ServiceResult<pb::GetPublicProfilesResponse> {
        let ids = req.user_ids;
        let mut found: std::collections::HashMap<String, UserRow> = self
            .store
            .get_users(&ids)
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        let profiles = ids
            .iter()
            .filter_map(|id| found.remove(id))
            .map(public_profile)
            .collect();
        Ok(pb::GetPublicProfilesResponse { profiles })
    }

    /// Grants the seller role and starts a new session whose token carries it.
    async fn open_shop(
        &self,
        caller: Principal,
        req: pb::BecomeSellerRequest,
    ) -> ServiceResult<pb::AuthSession> {
        let shop_name = req.shop_name.trim();
        validate::shop_name(shop_name)?;
        let user = self.store.make_seller(&caller.user_id, shop_name).await?;
        self.session(&user, &new_id("ses")).await
    }

    async fn addresses(&self, caller: Principal) -> ServiceResult<pb::ListAddressesResponse> {
        let rows = self.store.list_addresses(&caller.user_id).await?;
        Ok(pb::ListAddressesResponse {
            addresses: rows.into_iter().map(address_message).collect(),
        })
    }

    async fn address(
        &self,
        caller: Principal,
        req: pb::GetAddressRequest,
    ) -> ServiceResult<pb::Address> {
        let row = self.store.get_address(&caller.user_id, &req.id).await?;
        Ok(address_message(row))
    }

    async fn new_address(
        &self,
        caller: Principal,
        req: pb::AddAddressRequest,
    ) -> ServiceResult<pb::Address> {
        let input = PostalAddress::merge(None, req.fields.unwrap_or_default())?;
        let row = self
            .store
            .add_address(&caller.user_id, &input, req.make_default)
            .await?;
        Ok(address_message(row))
    }

    async fn edit_address(
        &self,
        caller: Principal,
        req: pb::UpdateAddressRequest,
    ) -> ServiceResult<pb::Address> {
        let existing = self.store.get_address(&caller.user_id, &req.id).await?;
        let input = PostalAddress::merge(Some(existing.fields), req.fields.unwrap_or_default())?;
        let row = self
            .store
            .update_address(&caller.user_id, &req.id, &input)
            .await?;
        Ok(address_message(row))
    }

    async fn remove_address(
        &self,
        caller: Principal,
        req: pb::DeleteAddressRequest,
    ) -> ServiceResult<pb::DeleteAddressResponse> {
        self.store.delete_address(&caller.user_id, &req.id).await?;
        Ok(pb::DeleteAddressResponse {})
    }

    async fn make_default_address(
        &self,
        caller: Principal,
        req: pb::SetDefaultAddressRequest,
    ) -> ServiceResult<pb::Address> {
        let row = self
            .store
            .set_default_address(&caller.user_id, &req.id)
            .await?;
        Ok(address_message(row))
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Reply<pb::AuthSession> {
        reply(IdentityApi::register(self, request.into_inner()).await)
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Reply<pb::AuthSession> {
        reply(IdentityApi::login(self, request.into_inner()).await)
    }

    async fn refresh(&self, request: Request<pb::RefreshRequest>) -> Reply<pb::AuthSession> {
        reply(IdentityApi::refresh(self, request.into_inner()).await)
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Reply<pb::LogoutResponse> {
        reply(self.end_session(request.into_inner()).await)
    }

    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Reply<pb::User> {
        signed_in(&self.keys, request, |caller, _| self.me(caller)).await
    }

    async fn update_profile(&self, request: Request<pb::UpdateProfileRequest>) -> Reply<pb::User> {
        signed_in(&self.keys, request, |caller, req| {
            self.edit_profile(caller, req)
        })
        .await
    }

    async fn get_public_profile(
        &self,
        request: Request<pb::GetPublicProfileRequest>,
    ) -> Reply<pb::PublicProfile> {
        reply(self.profile_of(request.into_inner()).await)
    }

    async fn get_public_profiles(
        &self,
        request: Request<pb::GetPublicProfilesRequest>,
    ) -> Reply<pb::GetPublicProfilesResponse> {
        reply(self.profiles_of(request.into_inner()).await)
    }

    async fn become_seller(
        &self,
        request: Request<pb::BecomeSellerRequest>,
    ) -> Reply<pb::AuthSession> {
        signed_in(&self.keys, request, |caller, req| {
            self.open_shop(caller, req)
        })
        .await
    }

    async fn list_addresses(
        &self,
        request: Request<pb::ListAddressesRequest>,
    ) -> Reply<pb::ListAddressesResponse> {
        signed_in(&self.keys, request, |caller, _| self.addresses(caller)).await
    }

    async fn get_address(&self, request: Request<pb::GetAddressRequest>) -> Reply<pb::Address> {
        signed_in(&self.keys, request, |caller, req| self.address(caller, req)).await
    }

    async fn add_address(&self, request: Request<pb::AddAddressRequest>) -> Reply<pb::Address> {
        signed_in(&self.keys, request, |caller, req| {
            self.new_address(caller, req)
        })
        .await
    }

    async fn update_address(
        &self,
        request: Request<pb::UpdateAddressRequest>,
    ) -> Reply<pb::Address> {
        signed_in(&self.keys, request, |caller, req| {
            self.edit_address(caller, req)
        })
        .await
    }

    async fn delete_address(
        &self,
        request: Request<pb::DeleteAddressRequest>,
    ) -> Reply<pb::DeleteAddressResponse> {
        signed_in(&self.keys, request, |caller, req| {
            self.remove_address(caller, req)
        })
        .await
    }

    async fn set_default_address(
        &self,
        request: Request<pb::SetDefaultAddressRequest>,
    ) -> Reply<pb::Address> {
        signed_in(&self.keys, request, |caller, req| {
            self.make_default_address(caller, req)
        })
        .await
    }
}

/// What anyone may see of a user.
fn public_profile(user: UserRow) -> pb::PublicProfile {
    pb::PublicProfile {
        id: user.id,
        username: user.username,
        display_name: user.display_name,
        avatar_url: user.avatar_url,
        bio: user.bio,
        is_seller: user.is_seller == 1,
        shop_name: user.shop_name.unwrap_or_default(),
        joined_at_ms: user.created_at_ms,
    }
}
