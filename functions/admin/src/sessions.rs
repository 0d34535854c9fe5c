//! `/api/admin/sessions`: everyone's sessions (or one user's), read and revoked.

use axum::Json;
use axum::extract::State;
use portal_domain::model::Power;
use portal_domain::time::{iso, now};
use portal_services::moderation::{Actor, revoke_session};
use portal_web::caller::RequireAdminOrStaff;
use portal_web::openapi::{ErrorEnvelope, Id};
use portal_web::validation::{FromQuery, Paging, PathId, QueryReader, ValidQuery};
use portal_web::views::{DONE, Done, SessionList, SessionView, next_cursor, session_view};
use portal_web::{ApiError, ApiResult, AppState};
use serde::Serialize;
use utoipa::ToSchema;

pub const SESSION_NOT_FOUND: &str = "Session not found";

pub struct SessionQuery {
    user_id: Option<String>,
    active: Option<bool>,
    paging: Paging,
}

impl FromQuery for SessionQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        Self {
            user_id: q.string("userId", portal_web::validation::MAX_ID_LEN),
            active: q.bool("active"),
            paging: Paging::read(q, 100),
        }
    }
}

/// `{ session }`.
#[derive(Serialize, ToSchema)]
pub struct SessionBody {
    pub session: SessionView,
}

/// Everyone's sessions (or one user's), newest first; never a token.
#[utoipa::path(
    get,
    path = "/api/admin/sessions",
    security(("signedIn" = [])),
    params(
        ("userId" = Option<String>, Query, max_length = 128),
        ("active" = Option<bool>, Query),
        portal_web::openapi::Paging,
    ),
    responses((status = 200, description = "A page of sessions", body = SessionList))
)]
pub async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<SessionQuery>,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
) -> ApiResult<Json<SessionList>> {
    actor.require_power(&state.config, Power::ListSessions)?;
    let page = state
        .db
        .sessions()
        .list_page(
            query.user_id.as_deref(),
            query.active,
            None,
            &iso(now()),
            &query.paging.request(&state.keyring)?,
        )
        .await?;
    Ok(Json(SessionList {
        sessions: page
            .items
            .iter()
            .map(|s| session_view(s, None))
            .collect::<Vec<_>>(),
        next_cursor: next_cursor(&state.keyring, page.next.as_ref()),
    }))
}

/// One session.
#[utoipa::path(
    get,
    path = "/api/admin/sessions/{id}",
    security(("signedIn" = [])),
    params(Id),
    responses(
        (status = 200, description = "The session", body = SessionBody),
        (status = 404, description = "`Session not found`", body = ErrorEnvelope),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
) -> ApiResult<Json<SessionBody>> {
    actor.require_power(&state.config, Power::ListSessions)?;
    let session = state
        .db
        .sessions()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(SESSION_NOT_FOUND))?;
    Ok(Json(SessionBody {
        session: session_view(&session, None),
    }))
}

/// The session stops working at once. Staff may revoke only regular users' sessions.
/// Ends a session, at once.
#[utoipa::path(
    delete,
    path = "/api/admin/sessions/{id}",
    security(("signedIn" = [])),
    params(Id),
    responses(
        (status = 200, description = "Ended", body = portal_web::views::Done),
        (status = 404, description = "`Session not found`", body = ErrorEnvelope),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
    portal_web::http::RequestProvenance(origin): portal_web::http::RequestProvenance,
) -> ApiResult<Json<Done>> {
    let moderator = actor.require_moderator(&state.config)?;
    let origin = origin.as_user(&actor.user.id);
    if !revoke_session(&state.db, Actor::Member(moderator), &origin, id.as_str()).await?? {
        return Err(ApiError::not_found(SESSION_NOT_FOUND));
    }
    Ok(Json(DONE))
}
