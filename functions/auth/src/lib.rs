//! `auth`: BetterAuth's `/api/auth/*` wire protocol (email + password, sessions, password
//! reset, e-mail verification, API keys), so BetterAuth's own client works unchanged.

mod accounts;
mod admin;
mod api_keys;
mod credentials;
mod email;
pub mod error;
mod extract;
mod input;
mod jwt;
mod last_login;
mod limits;
pub mod mail;
mod multi_session;
pub mod oauth_provider;
mod one_time_token;
mod origin;
mod pages;
mod passkey;
mod password;
mod profile;
mod reauth;
mod session;
mod sign;
mod signing;
mod social;
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
use portal_web::routes::RouteList;
use utoipa_axum::router::OpenApiRouter;

/// The configuration this function reads: sessions and cookies, mail, and the community
/// services (removing or banning a user acts on their accounts there).
pub const NEEDS: portal_domain::config::Needs = portal_domain::config::Needs {
    auth: true,
    mail: true,
    tunnel: false,
    services: true,
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

/// Every route of `/api/auth`. Paths are exact: an unknown one, a trailing slash or a wrong
/// method is BetterAuth's empty 404.
fn route_list() -> impl RouteList<AuthState> {
    portal_web::route_list![AuthState;
        [sign::sign_up],
        [sign::sign_in],
        [username::sign_in_username],
        [social::sign_in::social],
        [social::sign_in::generic],
        [social::callback::social, social::callback::social_post],
        [social::callback::generic, social::callback::generic_post],
        [social::proxy_callback::callback],
        [username::is_username_available],
        [multi_session::list_device_sessions],
        [multi_session::set_active],
        [multi_session::revoke],
        [two_factor::enable],
        [two_factor::disable],
        [two_factor::get_totp_uri],
        [two_factor::verify_totp],
        [two_factor::send_otp],
        [two_factor::verify_otp],
        [two_factor::verify_backup_code],
        [two_factor::generate_backup_codes],
        [sign::sign_out],
        [sign::clear_stale_session],
        [session::get_session, session::get_session_post],
        [session::list_sessions],
        [session::update_session],
        [session::revoke_session],
        [session::revoke_sessions],
        [session::revoke_other_sessions],
        [profile::update_user],
        [profile::change_email],
        [profile::delete_user],
        [profile::avatar],
        [one_time_token::generate],
        [one_time_token::verify],
        [accounts::list],
        [accounts::info],
        [accounts::unlink],
        [accounts::link_social],
        [accounts::link_generic],
        [accounts::get_access_token],
        [accounts::refresh_token],
        [admin::users::list],
        [admin::users::get],
        [admin::users::create],
        [admin::users::update],
        [admin::users::set_role],
        [admin::users::set_user_password],
        [admin::users::ban],
        [admin::users::unban],
        [admin::users::remove],
        [admin::sessions::list],
        [admin::sessions::revoke],
        [admin::sessions::revoke_all],
        [admin::sessions::impersonate],
        [admin::sessions::stop],
        [admin::permission::has_permission],
        [passkey::register::options],
        [passkey::register::verify],
        [passkey::sign_in::options],
        [passkey::sign_in::verify],
        [passkey::manage::list],
        [passkey::manage::update],
        [passkey::manage::delete],
        [jwt::jwks],
        [jwt::token],
        [oauth_provider::metadata::openid_configuration],
        [oauth_provider::metadata::authorization_server],
        [oauth_provider::authorize::authorize],
        [oauth_provider::consent::consent],
        [oauth_provider::consent::continue_flow],
        [oauth_provider::token::token],
        [oauth_provider::resource::userinfo, oauth_provider::resource::userinfo_post],
        [oauth_provider::resource::introspect],
        [oauth_provider::resource::revoke],
        [oauth_provider::resource::end_session],
        [oauth_provider::clients::register],
        [oauth_provider::clients::create_client],
        [oauth_provider::clients::get_client],
        [oauth_provider::clients::get_clients],
        [oauth_provider::clients::public_client],
        [oauth_provider::clients::update_client],
        [oauth_provider::clients::rotate_secret],
        [oauth_provider::clients::delete_client],
        [oauth_provider::consents::get_consent],
        [oauth_provider::consents::get_consents],
        [oauth_provider::consents::update_consent],
        [oauth_provider::consents::delete_consent],
        [password::request_reset],
        [password::reset_redirect],
        [password::reset],
        [password::change],
        [email::send_verification],
        [email::verify],
        [api_keys::create],
        [api_keys::list],
        [api_keys::get],
        [api_keys::update],
        [api_keys::delete],
        [pages::ok],
        [pages::error_page],
    ]
}

/// The discovery documents at the root of the origin (outside `/api/auth`).
fn root_route_list() -> impl RouteList<AuthState> {
    portal_web::route_list![AuthState;
        [oauth_provider::metadata::root::openid_configuration],
        [oauth_provider::metadata::root::authorization_server],
        [oauth_provider::metadata::root::authorization_server_for_issuer],
        [oauth_provider::metadata::root::protected_resource],
    ]
}

/// The routes with their documentation (the OpenAPI document's `/api/auth` part).
pub fn routes() -> OpenApiRouter<AuthState> {
    let routes = route_list()
        .documented(only)
        .route("/{*rest}", any(not_found))
        .route("/", any(not_found));
    let mut routes = OpenApiRouter::new()
        .nest(BASE_PATH, routes)
        .merge(root_route_list().documented(only));
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
    let routes = route_list()
        .served(only)
        .route("/{*rest}", any(not_found))
        .route("/", any(not_found));
    Router::new()
        .nest(BASE_PATH, routes)
        .merge(root_route_list().served(only))
        // Innermost: it sees the handler's answer (a session started) first.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            oauth_provider::continuation::resume,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            multi_session::track,
        ))
        // After the multi-session cookie, as Portal's plugin order sets them.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            last_login::remember,
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
