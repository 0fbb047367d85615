//! The signed-in user's own account: read it and edit the profile.

use tokshop_proto::identity as pb;

use crate::{handler::prelude::*, shapes::User};

/// Profile fields to change; absent fields keep their value. Lengths count characters after trimming.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProfileRequest {
    #[schema(max_length = 64)]
    pub display_name: Option<String>,
    /// An http(s) URL, or empty for none.
    #[schema(max_length = 2048)]
    pub avatar_url: Option<String>,
    #[schema(max_length = 500)]
    pub bio: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_me, update_me))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "The caller's account", body = User)))]
async fn get_me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<User>> {
    let request = authorized(pb::GetMeRequest {}, user.token());
    respond(state.identity().get_me(request)).await
}

/// Edit the profile; absent fields keep their value.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", security(("bearer" = [])), request_body = UpdateProfileRequest,
    responses((status = 200, description = "The updated account", body = User)))]
async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<UpdateProfileRequest>,
) -> ApiResult<Json<User>> {
    let request = pb::UpdateProfileRequest {
        display_name: body.display_name,
        avatar_url: body.avatar_url,
        bio: body.bio,
    };
    let request = authorized(request, user.token());
    respond(state.identity().update_profile(request)).await
}
