//! An account as its owner sees it, and a signed-in session.

use serde::{Deserialize, Serialize};
use tokshop_platform::non_empty;
use tokshop_proto::identity as pb;
use utoipa::ToSchema;

use crate::error::ApiError;

/// An account as its owner sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub avatar_url: String,
    pub bio: String,
    /// "buyer", "seller", "admin".
    pub roles: Vec<String>,
    /// Null unless the user is a seller.
    pub shop_name: Option<String>,
    pub created_at_ms: i64,
}

impl From<pb::User> for User {
    fn from(user: pb::User) -> Self {
        Self {
            id: user.id,
            username: user.username,
            email: user.email,
            display_name: user.display_name,
            avatar_url: user.avatar_url,
            bio: user.bio,
            roles: user.roles,
            shop_name: non_empty(user.shop_name),
            created_at_ms: user.created_at_ms,
        }
    }
}

/// A signed-in session: a short-lived access token and a refresh token that rotates on use.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub user: User,
    /// Always "Bearer".
    pub token_type: String,
    pub access_token: String,
    pub access_expires_at_ms: i64,
    pub refresh_token: String,
    pub refresh_expires_at_ms: i64,
}

impl TryFrom<pb::AuthSession> for Session {
    type Error = ApiError;

    fn try_from(session: pb::AuthSession) -> Result<Self, ApiError> {
        let user = session
            .user
            .ok_or_else(|| ApiError::internal("identity returned a session without a user"))?;
        Ok(Self {
            user: user.into(),
            token_type: "Bearer".into(),
            access_token: session.access_token,
            access_expires_at_ms: session.access_expires_at_ms,
            refresh_token: session.refresh_token,
            refresh_expires_at_ms: session.refresh_expires_at_ms,
        })
    }
}
