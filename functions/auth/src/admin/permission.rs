//! `POST /admin/has-permission`: whether the caller's role grants every power named, by
//! the one table (`Role::grants`) every entry point decides with, under the second-factor
//! rule (a staff or admin credential that has not passed it holds nothing).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::model::Power;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::SignedIn;
use crate::error::{AuthError, AuthResult};
use crate::input::Body;
use crate::state::AuthState;
use crate::views::json_response;

/// `{error: null, success}`.
#[derive(Serialize, ToSchema)]
pub struct PermissionAnswer {
    #[schema(value_type = Option<String>)]
    pub error: Option<()>,
    pub success: bool,
}

/// The powers a `{resource: [action, ...]}` map names: `None` when one names a power no
/// role can be granted, or a resource with no action (BetterAuth grants neither).
fn powers_named(map: &serde_json::Map<String, Value>) -> AuthResult<Option<Vec<Power>>> {
    let mut powers = Vec::new();
    let mut all_known = true;
    for (resource, actions) in map {
        let Value::Array(actions) = actions else {
            return Err(AuthError::validation(format!(
                "[body.permissions.{resource}] Invalid input: expected array"
            )));
        };
        if actions.is_empty() {
            all_known = false;
        }
        for action in actions {
            let Value::String(action) = action else {
                return Err(AuthError::validation(format!(
                    "[body.permissions.{resource}] Invalid input: expected string"
                )));
            };
            match Power::named(resource, action) {
                Some(power) => powers.push(power),
                None => all_known = false,
            }
        }
    }
    Ok(all_known.then_some(powers))
}

/// `POST /admin/has-permission {permissions, userId?, role?}`: answers for the CALLER (as
/// BetterAuth does over HTTP: `userId` and `role` only matter to its server-side calls).
#[utoipa::path(
    post, path = "/admin/has-permission", security(("signedIn" = [])),
    request_body(content = Object, description = "`{permissions: {user?: [...], session?: [...]}}` (`permission`, the older name, is taken too)"),
    responses(
        (status = 200, description = "Whether the caller holds every power named", body = PermissionAnswer),
        (status = 400, description = "No permissions were passed", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn has_permission(
    State(state): State<AuthState>,
    caller: Result<SignedIn, AuthError>,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let asked = body
        .value
        .get("permissions")
        .or_else(|| body.value.get("permission"));
    let Some(Value::Object(asked)) = asked else {
        return Err(AuthError::message_only(
            StatusCode::BAD_REQUEST,
            "invalid permission check. no permission(s) were passed.",
        ));
    };
    let caller = caller?;
    let powers = powers_named(asked)?;
    let role_counts = caller.0.moderator(&state.app.config).ok().flatten();
    // Asking for nothing is granted to nobody (BetterAuth's `authorize` of `{}`).
    let success = match (powers, role_counts) {
        (Some(powers), Some(moderator)) => {
            !powers.is_empty() && powers.iter().all(|p| moderator.may(*p))
        }
        _ => false,
    };
    Ok(json_response(&PermissionAnswer {
        error: None,
        success,
    }))
}
