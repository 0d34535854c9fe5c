//! `/api/admin/users`: list (role, banned, search, offset or cursor), get, update (role
//! rules, bans that end every session), delete (admin only, with everything theirs).

use axum::Json;
use axum::extract::State;
use portal_shared::auth::{RequireAdmin, RequireAdminOrStaff};
use portal_shared::error::USER_NOT_FOUND;
use portal_shared::model::{Role, User};
use portal_shared::moderation::{Actor, UserChange, change_user, delete_user};
use portal_shared::store::users::UserFilter;
use portal_shared::time::{now, parse_iso};
use portal_shared::validation::{
    FromQuery, Issue, Paging, PathId, QueryReader, Rules, ValidJson, ValidQuery, Validate, present,
    seal_cursor,
};
use portal_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use serde_json::{Value, json};

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
    let request = query.paging.request(&state.sealer)?;
    let found = state.db.users().list(&query.filter, &request).await?;
    let mut body = json!({
        "users": found.users.iter().map(admin_user).collect::<Vec<_>>(),
        "pagination": { "total": found.total, "limit": limit, "offset": offset, "hasMore": found.has_more },
    });
    if let Some(next) = seal_cursor(&state.sealer, found.next.as_ref()) {
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
    fn validate(&self) -> Result<(), Vec<Issue>> {
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
    let change = UserChange {
        name: body.name,
        role: body.role,
        banned: body.banned,
        ban_reason: body.ban_reason,
        ban_expires: body
            .ban_expires
            .map(|until| until.as_deref().and_then(parse_iso)),
    };
    let changed = change_user(
        &state.db,
        Actor::Member(&actor.user),
        id.as_str(),
        &change,
        now(),
    )
    .await??;
    Ok(Json(json!({ "user": admin_user(&changed.user) })))
}

pub async fn remove(
    State(state): State<AppState>,
    id: PathId,
    RequireAdmin(_): RequireAdmin,
) -> ApiResult<Json<Value>> {
    delete_user(&state.db, &state.integrations, id.as_str()).await??;
    Ok(Json(json!({ "ok": true })))
}
