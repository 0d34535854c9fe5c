//! `GET /api/integrations/mediawiki/user-stats`: the caller's wiki figures (edit count,
//! registration, the last 10 contributions), read from the wiki's public API.

use axum::Json;
use axum::extract::State;
use portal_services::integrations::Integration;
use portal_services::integrations::mediawiki::WikiStats;
use portal_web::caller::RequireAuth;
use portal_web::openapi::ErrorEnvelope;
use portal_web::{ApiError, ApiResult, AppState};
use serde::Serialize;
use utoipa::ToSchema;

pub const NO_WIKI_ACCOUNT: &str = "You have no wiki account";
pub const WIKI_NOT_CONFIGURED: &str = "The wiki is not configured";

/// `{ ok, stats }`.
#[derive(Serialize, ToSchema)]
pub struct StatsBody {
    pub ok: bool,
    pub stats: WikiStats,
}

/// The caller's wiki account's figures.
#[utoipa::path(
    get,
    path = "/api/integrations/mediawiki/user-stats",
    security(("signedIn" = [])),
    responses(
        (status = 200, description = "The figures", body = StatsBody),
        (status = 404, description = "`You have no wiki account`", body = ErrorEnvelope),
        (status = 502, description = "The wiki failed", body = ErrorEnvelope),
        (status = 503, description = "`The wiki is not configured`", body = ErrorEnvelope),
    )
)]
pub async fn user_stats(
    State(state): State<AppState>,
    RequireAuth(me): RequireAuth,
) -> ApiResult<Json<StatsBody>> {
    let wiki = state.integrations.mediawiki();
    if !wiki.enabled() {
        return Err(ApiError::ServiceUnavailable(WIKI_NOT_CONFIGURED.into()));
    }
    let account = state
        .db
        .integration_accounts()
        .list_for_user(&me.user.id, "mediawiki")
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(NO_WIKI_ACCOUNT))?;
    let stats = wiki.stats(&account).await?;
    Ok(Json(StatsBody { ok: true, stats }))
}
