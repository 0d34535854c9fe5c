//! `GET /api/user/me`, `PATCH /api/user/me {name?, image?}`.

use axum::Json;
use axum::extract::State;
use portal_shared::auth::RequireAuth;
use portal_shared::model::{
    MAX_IMAGE_CHARS, MAX_NAME_CHARS, User, is_http_url, is_valid_image, is_valid_name,
};
use portal_shared::time::{iso, now};
use portal_shared::validation::{Issue, Rules, ValidJson, Validate, present};
use portal_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use serde_json::{Value, json};

fn profile(user: &User) -> Value {
    json!({
        "user": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "image": user.image,
            "role": user.role.as_str(),
            "emailVerified": user.email_verified,
            "createdAt": user.created_at,
        }
    })
}

pub async fn show(RequireAuth(me): RequireAuth) -> Json<Value> {
    Json(profile(&me.user))
}

/// `image: null` clears the picture; an absent field is left alone; unknown fields are
/// ignored.
#[derive(Debug, Deserialize)]
pub struct UpdateMe {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
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

pub async fn update(
    State(state): State<AppState>,
    RequireAuth(me): RequireAuth,
    ValidJson(body): ValidJson<UpdateMe>,
) -> ApiResult<Json<Value>> {
    let updated = state
        .db
        .users()
        .update(&me.user.id, &iso(now()), |u| {
            if let Some(name) = &body.name {
                u.name = name.trim().to_string();
            }
            if let Some(image) = &body.image {
                u.image = image.clone();
            }
        })
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(profile(&updated)))
}
