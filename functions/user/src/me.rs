//! `GET /api/user/me`, `PATCH /api/user/me {name?, image?}`.

use axum::Json;
use axum::extract::State;
use portal_domain::model::{
    MAX_IMAGE_CHARS, MAX_NAME_CHARS, User, is_http_url, is_valid_image, is_valid_name,
};
use portal_domain::time::{iso, now};
use portal_web::caller::RequireAuth;
use portal_web::validation::{Issue, Rules, ValidJson, Validate, present};
use portal_web::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The signed-in user, as `/api/user/me` shows them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub email: String,
    pub image: Option<String>,
    /// Lower-cased; `null` until chosen.
    pub username: Option<String>,
    pub display_username: Option<String>,
    /// `user`, `staff` or `admin`.
    pub role: &'static str,
    pub email_verified: bool,
    /// Sign-in asks for a second factor.
    pub two_factor_enabled: bool,
    pub created_at: String,
}

/// `{ "user": {...} }`.
#[derive(Serialize, ToSchema)]
pub struct ProfileBody {
    pub user: Profile,
}

impl From<&User> for Profile {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            image: user.image.clone(),
            username: user.username.clone(),
            display_username: user.display_username.clone(),
            role: user.role.as_str(),
            email_verified: user.email_verified,
            two_factor_enabled: user.two_factor_enabled,
            created_at: user.created_at.clone(),
        }
    }
}

fn profile(user: &User) -> ProfileBody {
    ProfileBody {
        user: Profile::from(user),
    }
}

/// The signed-in user's profile.
#[utoipa::path(
    get,
    path = "/api/user/me",
    security(("signedIn" = [])),
    responses((status = 200, description = "The caller", body = ProfileBody))
)]
pub async fn show(RequireAuth(me): RequireAuth) -> Json<ProfileBody> {
    Json(profile(&me.user))
}

/// `image: null` clears the picture; an absent field is left alone; unknown fields are
/// ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMe {
    /// Trimmed, 1 to 100 characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// An http(s) URL up to 2048 characters, or `null` to clear the picture.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    image: Option<Option<String>>,
}

impl Validate for UpdateMe {
    fn validate(&self) -> Result<(), Vec<Issue>> {
        let mut rules = Rules::default();
        if let Some(name) = &self.name
            && !is_valid_name(name)
        {
            rules.length("name", name.trim(), 1, MAX_NAME_CHARS as u64);
        }
        if let Some(Some(image)) = &self.image
            && !is_valid_image(image)
        {
            rules.length("image", image, 0, MAX_IMAGE_CHARS as u64);
            if !is_http_url(image) {
                rules.broken("image", "url", None);
            }
        }
        rules.finish()
    }
}

/// Changes the caller's name or picture.
#[utoipa::path(
    patch,
    path = "/api/user/me",
    security(("signedIn" = [])),
    request_body = UpdateMe,
    responses((status = 200, description = "The updated caller", body = ProfileBody))
)]
pub async fn update(
    State(state): State<AppState>,
    RequireAuth(me): RequireAuth,
    ValidJson(body): ValidJson<UpdateMe>,
) -> ApiResult<Json<ProfileBody>> {
    let updated = state
        .db
        .users()
        .update_from(
            &me.user.id,
            Some((me.user.clone(), me.user_version)),
            &iso(now()),
            |u| {
                if let Some(name) = &body.name {
                    u.name = name.trim().to_string();
                }
                if let Some(image) = &body.image {
                    u.image = image.clone();
                }
            },
        )
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(profile(&updated)))
}
