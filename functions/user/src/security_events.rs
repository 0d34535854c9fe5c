//! `GET /api/user/security-events`: the audit events about the caller (sign-ins, failed
//! sign-ins, password and two-factor changes, what staff did to the account), newest first.
//! What someone else did shows without who they were or where they acted from.

use axum::Json;
use axum::extract::State;
use portal_web::audit::{EventList, EventQuery, Reader, list as list_events};
use portal_web::caller::RequireAuth;
use portal_web::validation::ValidQuery;
use portal_web::{ApiResult, AppState};

/// The caller's security events.
#[utoipa::path(
    get,
    path = "/api/user/security-events",
    security(("signedIn" = [])),
    params(
        ("action" = Option<String>, Query, max_length = 64, description = "E.g. `sign_in.failed`"),
        ("since" = Option<String>, Query, format = DateTime),
        ("until" = Option<String>, Query, format = DateTime),
        portal_web::openapi::Paging,
    ),
    responses((status = 200, description = "A page of events about the caller, newest first", body = EventList))
)]
pub async fn list(
    State(state): State<AppState>,
    RequireAuth(me): RequireAuth,
    ValidQuery(query): ValidQuery<EventQuery>,
) -> ApiResult<Json<EventList>> {
    // Only the caller's own: `target` is the caller whatever the query says, and who else
    // acted is not a filter a user gets.
    let mut filter = query.filter;
    filter.target = Some(me.user.id.clone());
    filter.actor = None;
    let reader = Reader::Subject(&me.user.id);
    Ok(Json(
        list_events(&state, &filter, &query.paging, reader).await?,
    ))
}
