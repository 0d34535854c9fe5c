//! `GET /api/admin/audit-log`: every security-relevant event, newest first, filtered by
//! actor, target, action and time (admin and staff; index-backed, never a scan).

use axum::Json;
use axum::extract::State;
use portal_web::audit::{EventList, EventQuery, Reader, list as list_events};
use portal_web::caller::RequireAdminOrStaff;
use portal_web::validation::ValidQuery;
use portal_web::{ApiResult, AppState};

/// The audit log.
#[utoipa::path(
    get,
    path = "/api/admin/audit-log",
    security(("signedIn" = [])),
    params(
        ("actor" = Option<String>, Query, max_length = 128, description = "A user id, or `operator`"),
        ("target" = Option<String>, Query, max_length = 128, description = "The user the events are about"),
        ("action" = Option<String>, Query, max_length = 64, description = "E.g. `sign_in.failed`, `user.banned`"),
        ("since" = Option<String>, Query, format = DateTime),
        ("until" = Option<String>, Query, format = DateTime),
        portal_web::openapi::Paging,
    ),
    responses((status = 200, description = "A page of events, newest first", body = EventList))
)]
pub async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<EventQuery>,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<EventList>> {
    Ok(Json(
        list_events(&state, &query.filter, &query.paging, Reader::Moderator).await?,
    ))
}
