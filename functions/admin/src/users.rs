//! `/api/admin/users`: list (role, banned, search, offset or cursor), get, update (role
//! rules, bans that end every session), delete (admin only, with everything theirs).

use axum::Json;
use axum::extract::State;
use portal_shared::auth::{RequireAdmin, RequireAdminOrStaff};
use portal_shared::error::{FORBIDDEN_ADMIN, USER_NOT_FOUND};
use portal_shared::model::{Role, User};
use portal_shared::store::users::UserFilter;
use portal_shared::time::{iso, now, parse_iso};
use portal_shared::validation::{
    FromQuery, Paging, PathId, QueryReader, Rules, ValidJson, ValidQuery, present,
};
use portal_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::{Validate, ValidationErrors};

use crate::may_manage;

pub const LAST_ADMIN: &str = "Forbidden - the last admin cannot be demoted, banned or deleted";

pub fn admin_user(user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "image": user.image,
        "role": user.role.as_str(),
        "banned": user.is_banned_at(now()),
        "banReason": user.ban_reason,
        "banExpires": user.ban_expires,
        "emailVerified": user.email_verified,
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
    })
}

pub struct UserQuery {
    filter: UserFilter,
    paging: Paging,
}

impl FromQuery for UserQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        let role = q
            .one_of("role", &["user", "staff", "admin"])
            .and_then(|r| Role::parse(&r));
        Self {
            filter: UserFilter {
                role,
                banned: q.bool("banned"),
                search: q.string("search", 100),
            },
            paging: Paging::read(q, 50),
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<UserQuery>,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = (query.paging.limit, query.paging.offset);
    let found = state.db.users().list(&query.filter, &query.paging).await?;
    let mut body = json!({
        "users": found.users.iter().map(admin_user).collect::<Vec<_>>(),
        "pagination": { "total": found.total, "limit": limit, "offset": offset, "hasMore": found.has_more },
    });
    if let Some(next) = found.next_cursor {
        body["nextCursor"] = json!(next);
    }
    Ok(Json(body))
}

pub async fn show(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let user = state
        .db
        .users()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(USER_NOT_FOUND))?;
    Ok(Json(json!({ "user": admin_user(&user) })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminUpdate {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    banned: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    ban_reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    ban_expires: Option<Option<String>>,
}

impl Validate for AdminUpdate {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut rules = Rules::default();
        if let Some(name) = &self.name {
            rules.length("name", name.trim(), 1, 100);
        }
        if let Some(Some(reason)) = &self.ban_reason {
            rules.length("banReason", reason, 0, 500);
        }
        if let Some(Some(until)) = &self.ban_expires
            && parse_iso(until).is_none()
        {
            rules.broken("banExpires", "datetime", Some("Invalid datetime"));
        }
        rules.finish()
    }
}

pub async fn update(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
    ValidJson(body): ValidJson<AdminUpdate>,
) -> ApiResult<Json<Value>> {
    let at = now();
    let actor = actor.user;
    // The admin count is read before the change; when it says "last admin", it is read
    // once more, in case another admin appeared meanwhile.
    let mut result = None;
    for _ in 0..2 {
        let admins = state.db.stats().counters().await?.admins;
        let attempt = state
            .db
            .users()
            .modify(id.as_str(), &iso(at), |user| {
                apply(&actor, &body, admins, at, user)
            })
            .await?
            .ok_or_else(|| ApiError::not_found(USER_NOT_FOUND))?;
        let last_admin = matches!(&attempt, Err(ApiError::Forbidden(m)) if m == LAST_ADMIN);
        result = Some(attempt);
        if !last_admin || state.db.stats().counters().await?.admins <= 1 {
            break;
        }
    }
    let result = result.ok_or_else(|| ApiError::internal("no attempt made"))?;
    let updated = result?;
    if updated.is_banned_at(now()) {
        state
            .db
            .sessions()
            .delete_all_for_user(&updated.id, None)
            .await?;
    }
    Ok(Json(json!({ "user": admin_user(&updated) })))
}

/// Applies an admin's change to `user`, enforcing the role rules and the last-admin rule
/// (`admins` is the current number of admins).
fn apply(
    actor: &User,
    body: &AdminUpdate,
    admins: i64,
    at: time::OffsetDateTime,
    user: &mut User,
) -> Result<(), ApiError> {
    may_manage(actor, user.role)?;
    let was_admin = user.role == Role::Admin;
    if let Some(role) = body.role {
        if role != user.role {
            may_manage(actor, role)?;
            if actor.role != Role::Admin {
                return Err(ApiError::forbidden(FORBIDDEN_ADMIN));
            }
        }
        user.role = role;
    }
    if let Some(name) = &body.name {
        user.name = name.trim().to_string();
    }
    match body.banned {
        Some(true) => {
            user.banned = true;
            if let Some(reason) = &body.ban_reason {
                user.ban_reason = reason.clone();
            }
            if let Some(until) = &body.ban_expires {
                user.ban_expires = until.as_deref().and_then(parse_iso).map(iso);
            }
            // A ban that has already ended is no ban.
            if user
                .ban_expires
                .as_deref()
                .and_then(parse_iso)
                .is_some_and(|t| t <= at)
            {
                user.banned = false;
            }
        }
        Some(false) => {
            user.banned = false;
            user.ban_reason = None;
            user.ban_expires = None;
        }
        None => {
            if user.banned {
                if let Some(reason) = &body.ban_reason {
                    user.ban_reason = reason.clone();
                }
                if let Some(until) = &body.ban_expires {
                    user.ban_expires = until.as_deref().and_then(parse_iso).map(iso);
                }
            }
        }
    }
    // Nobody demotes or bans the last admin (themselves included). Two admins
    // demoting each other at the same instant can still both pass: documented.
    if was_admin && (user.role != Role::Admin || user.banned) && admins <= 1 {
        return Err(ApiError::forbidden(LAST_ADMIN));
    }
    Ok(())
}

pub async fn remove(
    State(state): State<AppState>,
    id: PathId,
    RequireAdmin(_): RequireAdmin,
) -> ApiResult<Json<Value>> {
    let target = state
        .db
        .users()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(USER_NOT_FOUND))?;
    if target.role == Role::Admin && state.db.stats().counters().await?.admins <= 1 {
        return Err(ApiError::forbidden(LAST_ADMIN));
    }
    portal_shared::integrations::remove_accounts_of_user(
        &state.integrations,
        &state.db,
        id.as_str(),
    )
    .await?;
    state
        .db
        .delete_user_and_belongings(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(USER_NOT_FOUND))?;
    Ok(Json(json!({ "ok": true })))
}
