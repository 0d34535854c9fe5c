//! `GET /api/user/sessions`, `DELETE /api/user/sessions/{id}`: the caller's own sessions.

use axum::Json;
use axum::extract::State;
use portal_domain::time::{iso, now};
use portal_web::caller::RequireAuth;
use portal_web::openapi::{ErrorEnvelope, Id};
use portal_web::validation::{FromQuery, Paging, PathId, QueryReader, ValidQuery};
use portal_web::views::{DONE, Done, SessionList, next_cursor, session_view};
use portal_web::{ApiError, ApiResult, AppState};

pub const SESSION_NOT_FOUND: &str = "Session not found";

pub struct SessionQuery {
    active: Option<bool>,
    paging: Paging,
}

impl FromQuery for SessionQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        Self {
            active: q.bool("active"),
            paging: Paging::read(q, 100),
        }
    }
}

/// The caller's sessions, newest first; never a token.
#[utoipa::path(
    get,
    path = "/api/user/sessions",
    security(("signedIn" = [])),
    params(("active" = Option<bool>, Query, description = "Only sessions that have (not) expired"), portal_web::openapi::Paging),
    responses((status = 200, description = "The caller's sessions", body = SessionList))
)]
pub async fn list(
    State(state): State<AppState>,
    RequireAuth(me): RequireAuth,
    ValidQuery(query): ValidQuery<SessionQuery>,
) -> ApiResult<Json<SessionList>> {
    let page = state
        .db
        .sessions()
        .list_page(
            Some(&me.user.id),
            query.active,
            Some(me.user.generations.sessions),
            &iso(now()),
            &query.paging.request(&state.keyring)?,
        )
        .await?;
    Ok(Json(SessionList {
        sessions: page
            .items
            .iter()
            .map(|s| session_view(s, me.session_id()))
            .collect(),
        next_cursor: next_cursor(&state.keyring, page.next.as_ref()),
    }))
}

/// Ends one of the caller's own sessions, at once.
#[utoipa::path(
    delete,
    path = "/api/user/sessions/{id}",
    security(("signedIn" = [])),
    params(Id),
    responses(
        (status = 200, description = "Ended", body = portal_web::views::Done),
        (status = 404, description = "Not one of the caller's sessions", body = ErrorEnvelope),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    id: PathId,
    RequireAuth(me): RequireAuth,
    portal_web::http::RequestProvenance(origin): portal_web::http::RequestProvenance,
) -> ApiResult<Json<Done>> {
    let origin = origin.as_user(&me.user.id);
    if state
        .db
        .sessions()
        .revoke(id.as_str(), Some(&me.user.id), &origin)
        .await?
    {
        Ok(Json(DONE))
    } else {
        Err(ApiError::not_found(SESSION_NOT_FOUND))
    }
}
