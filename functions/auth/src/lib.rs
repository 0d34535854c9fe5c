//! `auth`: BetterAuth's `/api/auth/*` wire protocol (email + password, sessions, password
//! reset, e-mail verification, API keys), so BetterAuth's own client works unchanged.

mod api_keys;
mod credentials;
mod email;
pub mod error;
mod extract;
mod input;
mod limits;
pub mod mail;
mod multi_session;
mod origin;
mod pages;
mod password;
mod profile;
mod reauth;
mod session;
mod sign;
pub mod state;
pub mod two_factor;
mod username;
mod views;
pub mod wire;

use crate::mail::Mailer;
use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any};
use portal_web::AppState;
use portal_web::http::VerbatimBody;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt as _};
use utoipa_axum::routes;

/// The configuration this function reads: sessions and cookies, and mail.
pub const NEEDS: portal_domain::config::Needs = portal_domain::config::Needs {
    auth: true,
    mail: true,
    tunnel: false,
    services: false,
};

pub use state::{AuthState, BASE_PATH};

/// BetterAuth answers unknown paths and wrong methods with an empty 404.
async fn not_found() -> Response {
    let mut response = (StatusCode::NOT_FOUND, Body::empty()).into_response();
    response.extensions_mut().insert(VerbatimBody);
    response
}

fn only(route: MethodRouter<AuthState>) -> MethodRouter<AuthState> {
    route.fallback(not_found)
}

/// Builds the state (the mailer the configuration names) and the routes.
pub async fn build(app: AppState) -> Router {
    let mailer = match &app.config.mail {
        Some(mail) => Mailer::new(mail).await,
        None => Mailer::Outbox(".portal/mail".into()),
    };
    router(app, mailer)
}

/// Every route of `/api/auth`, with its documentation. Paths are exact: an unknown one, a
/// trailing slash or a wrong method is BetterAuth's empty 404.
pub fn routes() -> OpenApiRouter<AuthState> {
    let routes = OpenApiRouter::new()
        .routes(routes!(sign::sign_up).map(only))
        .routes(routes!(sign::sign_in).map(only))
        .routes(routes!(username::sign_in_username).map(only))
        .routes(routes!(username::is_username_available).map(only))
        .routes(routes!(multi_session::list_device_sessions).map(only))
        .routes(routes!(multi_session::set_active).map(only))
        .routes(routes!(multi_session::revoke).map(only))
        .routes(routes!(two_factor::enable).map(only))
        .routes(routes!(two_factor::disable).map(only))
        .routes(routes!(two_factor::get_totp_uri).map(only))
        .routes(routes!(two_factor::verify_totp).map(only))
        .routes(routes!(two_factor::send_otp).map(only))
        .routes(routes!(two_factor::verify_otp).map(only))
        .routes(routes!(two_factor::verify_backup_code).map(only))
        .routes(routes!(two_factor::generate_backup_codes).map(only))
        .routes(routes!(sign::sign_out).map(only))
        .routes(routes!(sign::clear_stale_session).map(only))
        .routes(routes!(session::get_session, session::get_session_post).map(only))
        .routes(routes!(session::list_sessions).map(only))
        .routes(routes!(session::revoke_session).map(only))
        .routes(routes!(session::revoke_sessions).map(only))
        .routes(routes!(session::revoke_other_sessions).map(only))
        .routes(routes!(profile::update_user).map(only))
        .routes(routes!(password::request_reset).map(only))
        .routes(routes!(password::reset_redirect).map(only))
        .routes(routes!(password::reset).map(only))
        .routes(routes!(password::change).map(only))
        .routes(routes!(email::send_verification).map(only))
        .routes(routes!(email::verify).map(only))
        .routes(routes!(api_keys::create).map(only))
        .routes(routes!(api_keys::list).map(only))
        .routes(routes!(api_keys::get).map(only))
        .routes(routes!(api_keys::update).map(only))
        .routes(routes!(api_keys::delete).map(only))
        .routes(routes!(pages::ok).map(only))
        .routes(routes!(pages::error_page).map(only))
        .route("/{*rest}", any(not_found))
        .route("/", any(not_found));
    let mut routes = OpenApiRouter::new().nest(BASE_PATH, routes);
    // Sign-out reads no body at all; utoipa can only say "optional" through `Option<T>`,
    // which for "any JSON" would make `null` match two branches.
    if let Some(body) = routes
        .get_openapi_mut()
        .paths
        .paths
        .get_mut("/api/auth/sign-out")
        .and_then(|item| item.post.as_mut())
        .and_then(|op| op.request_body.as_mut())
    {
        body.required = Some(utoipa::openapi::Required::False);
    }
    routes
}

/// The group's router: the routes behind the origin check and the per-address limits.
pub fn router(app: AppState, mailer: Mailer) -> Router {
    let state = AuthState::new(app.clone(), mailer);
    Router::from(routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            multi_session::track,
        ))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            origin::origin_check,
        ))
        .layer(middleware::from_fn_with_state(
            app,
            limits::rate_limit_by_ip,
        ))
        .with_state(state)
}
