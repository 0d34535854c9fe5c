//! `GET /api/health`: the function is alive and the table answers. Says nothing else.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portal_web::{ApiError, ApiResult, AppState};
use serde::Serialize;
use utoipa::ToSchema;

pub const TABLE_UNREACHABLE: &str = "Table unreachable";

/// `{ ok: true, status: "ok", checks: { table: "ok" } }`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub ok: bool,
    #[schema(example = "ok")]
    pub status: &'static str,
    pub checks: Checks,
}

/// What was checked, each `ok`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    #[schema(example = "ok")]
    pub table: &'static str,
}

/// The function is alive and the table answers (503 `Table unreachable` otherwise).
#[utoipa::path(
    get,
    path = "/api/health",
    responses((status = 200, description = "Healthy", body = Health))
)]
pub async fn check(State(state): State<AppState>) -> ApiResult<Response> {
    state.db.ping().await.map_err(|err| {
        tracing::error!(error = %err, "health check: table unreachable");
        ApiError::ServiceUnavailable(TABLE_UNREACHABLE.into())
    })?;
    let mut response = Json(Health {
        ok: true,
        status: "ok",
        checks: Checks { table: "ok" },
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
