//! Public profiles: what anyone may see about a user.

use tokshop_platform::non_empty;
use tokshop_proto::identity as pb;

use crate::handler::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicProfile {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub avatar_url: String,
    pub bio: String,
    pub is_seller: bool,
    /// Null unless the user is a seller.
    pub shop_name: Option<String>,
    pub joined_at_ms: i64,
}

impl From<pb::PublicProfile> for PublicProfile {
    fn from(p: pb::PublicProfile) -> Self {
        Self {
            id: p.id,
            username: p.username,
            display_name: p.display_name,
            avatar_url: p.avatar_url,
            bio: p.bio,
            is_seller: p.is_seller,
            shop_name: non_empty(p.shop_name),
            joined_at_ms: p.joined_at_ms,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_user))
}

/// A user's public profile.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The profile", body = PublicProfile),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> ApiResult<Json<PublicProfile>> {
    let request = pb::GetPublicProfileRequest {
        user_id,
        ..Default::default()
    };
    respond(state.identity().get_public_profile(request)).await
}
