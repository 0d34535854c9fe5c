//! `auth`: BetterAuth's `/api/auth/*` wire protocol (email + password, sessions, password
//! reset, e-mail verification, API keys), so BetterAuth's own client works unchanged.

mod api_keys;
mod email;
pub mod error;
mod extract;
mod input;
mod limits;
mod origin;
mod pages;
mod password;
mod profile;
mod session;
mod sign;
mod views;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use portal_shared::AppState;
use portal_shared::http::VerbatimBody;
use portal_shared::mail::Mailer;

/// The configuration this function reads: sessions and cookies, and mail.
pub const NEEDS: portal_shared::config::Needs = portal_shared::config::Needs {
    auth: true,
    mail: true,
    sentry: false,
    prosody: false,
};

pub const BASE_PATH: &str = "/api/auth";

/// The public URL of an auth route (`rest` starts with `/`), for links in mails.
pub fn auth_link(config: &portal_shared::Config, rest: &str) -> String {
    format!(
        "{}{BASE_PATH}{rest}",
        config.auth.base_url.as_str().trim_end_matches('/')
    )
}

/// What auth handlers need: the common state and the mailer.
#[derive(Clone)]
pub struct AuthState {
    pub app: AppState,
    pub mailer: Mailer,
}

impl FromRef<AuthState> for AppState {
    fn from_ref(state: &AuthState) -> Self {
        state.app.clone()
    }
}

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
    let mailer = Mailer::from_config(&app.config).await;
    router(app, mailer)
}

/// Every route of the group.
pub fn router(app: AppState, mailer: Mailer) -> Router {
    let state = AuthState {
        app: app.clone(),
        mailer,
    };
    let routes = Router::new()
        .route("/sign-up/email", only(post(sign::sign_up)))
        .route("/sign-in/email", only(post(sign::sign_in)))
        .route("/sign-out", only(post(sign::sign_out)))
        .route(
            "/get-session",
            only(get(session::get_session).post(session::get_session_post)),
        )
        .route("/list-sessions", only(get(session::list_sessions)))
        .route("/revoke-session", only(post(session::revoke_session)))
        .route("/revoke-sessions", only(post(session::revoke_sessions)))
        .route(
            "/revoke-other-sessions",
            only(post(session::revoke_other_sessions)),
        )
        .route("/update-user", only(post(profile::update_user)))
        .route(
            "/request-password-reset",
            only(post(password::request_reset)),
        )
        .route(
            "/reset-password/{token}",
            only(get(password::reset_redirect)),
        )
        .route("/reset-password", only(post(password::reset)))
        .route("/change-password", only(post(password::change)))
        .route(
            "/send-verification-email",
            only(post(email::send_verification)),
        )
        .route("/verify-email", only(get(email::verify)))
        .route("/api-key/create", only(post(api_keys::create)))
        .route("/api-key/list", only(get(api_keys::list)))
        .route("/api-key/get", only(get(api_keys::get)))
        .route("/api-key/update", only(post(api_keys::update)))
        .route("/api-key/delete", only(post(api_keys::delete)))
        .route("/ok", only(get(pages::ok)))
        .route("/error", only(get(pages::error_page)))
        .route("/{*rest}", any(not_found))
        .route("/", any(not_found))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            origin::origin_check,
        ))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            limits::rate_limit_by_ip,
        ))
        .with_state(state);
    Router::new().nest(BASE_PATH, routes)
}
