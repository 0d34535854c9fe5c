//! `/api/admin/sessions`: everyone's sessions (or one user's), read and revoked.

use axum::Json;
use axum::extract::State;
use portal_shared::auth::RequireAdminOrStaff;
use portal_shared::model::session_view;
use portal_shared::time::{iso, now};
use portal_shared::validation::{FromQuery, Paging, PathId, QueryReader, ValidQuery};
use portal_shared::{ApiError, ApiResult, AppState};
use serde_json::{Value, json};

use crate::may_manage;
use portal_shared::http::listed;

pub const SESSION_NOT_FOUND: &str = "Session not found";

pub struct SessionQuery {
    user_id: Option<String>,
    active: Option<bool>,
    paging: Paging,
}

impl FromQuery for SessionQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        Self {
            user_id: q.string("userId", portal_shared::validation::MAX_ID_LEN),
            active: q.bool("active"),
            paging: Paging::read(q, 100),
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<SessionQuery>,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let page = state
        .db
        .sessions()
        .list_page(
            query.user_id.as_deref(),
            query.active,
            None,
            &iso(now()),
            &query.paging.request(&state.sealer)?,
        )
        .await?;
    Ok(Json(listed(
        &state.sealer,
        "sessions",
        page.items
            .iter()
            .map(|s| session_view(s, None))
            .collect::<Vec<_>>(),
        page.next.as_ref(),
    )))
}

pub async fn show(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let session = state
        .db
        .sessions()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(SESSION_NOT_FOUND))?;
    Ok(Json(json!({ "session": session_view(&session, None) })))
}

/// The session stops working at once. Staff may revoke only regular users' sessions.
pub async fn revoke(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let session = state
        .db
        .sessions()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(SESSION_NOT_FOUND))?;
    if let Some(owner) = state.db.users().get(&session.user_id).await? {
        may_manage(&actor.user, owner.role)?;
    }
    if !state.db.sessions().delete_read(&session).await? {
        return Err(ApiError::not_found(SESSION_NOT_FOUND));
    }
    Ok(Json(json!({ "ok": true })))
}
