//! Discovery: `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0) and
//! `/.well-known/oauth-authorization-server` (RFC 8414), under `/api/auth` (the issuer's
//! path) and at the root (what clients that ignore the issuer path look for, and RFC 8414's
//! `/.well-known/oauth-authorization-server/api/auth`); `/.well-known/oauth-protected-resource`
//! (RFC 9728) at the root. Cached briefly, as the plugin's helpers answer.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use portal_domain::config::ClientRegistration;
use serde_json::{Value, json};

use super::{CLAIMS, SCOPES, issuer};
use crate::signing::Alg;
use crate::state::AuthState;

/// The provider's metadata (the plugin's `oidcServerMetadata`, with Portal's settings).
pub fn document(state: &AuthState) -> Value {
    let iss = issuer(state);
    let mut doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "jwks_uri": format!("{iss}/jwks"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "end_session_endpoint": format!("{iss}/oauth2/end-session"),
        "scopes_supported": SCOPES,
        "claims_supported": CLAIMS,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": Alg::ALL.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "acr_values_supported": ["urn:mace:incommon:iap:bronze"],
        "prompt_values_supported": ["none", "login", "consent", "create"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    });
    // Advertised only where it answers: registration is closed by default.
    if state.auth.oauth.registration != ClientRegistration::Closed {
        doc["registration_endpoint"] = json!(format!("{iss}/oauth2/register"));
    }
    doc
}

fn cached(body: Value) -> Response {
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static(
            "public, max-age=15, stale-while-revalidate=15, stale-if-error=86400",
        ),
    );
    response
}

/// `GET /.well-known/openid-configuration` (under the issuer).
#[utoipa::path(
    get, path = "/.well-known/openid-configuration",
    responses((status = 200, description = "OpenID Connect Discovery metadata", body = Object))
)]
pub async fn openid_configuration(State(state): State<AuthState>) -> Response {
    cached(document(&state))
}

/// `GET /.well-known/oauth-authorization-server` (under the issuer).
#[utoipa::path(
    get, path = "/.well-known/oauth-authorization-server",
    responses((status = 200, description = "RFC 8414 authorization server metadata", body = Object))
)]
pub async fn authorization_server(State(state): State<AuthState>) -> Response {
    cached(document(&state))
}

pub mod root {
    //! The same documents at the root of the origin.

    use super::*;

    /// `GET /.well-known/openid-configuration` at the root.
    #[utoipa::path(
        get, path = "/.well-known/openid-configuration",
        responses((status = 200, description = "OpenID Connect Discovery metadata (the issuer's, also at the root)", body = Object))
    )]
    pub async fn openid_configuration(State(state): State<AuthState>) -> Response {
        cached(document(&state))
    }

    /// `GET /.well-known/oauth-authorization-server` at the root.
    #[utoipa::path(
        get, path = "/.well-known/oauth-authorization-server",
        responses((status = 200, description = "RFC 8414 metadata", body = Object))
    )]
    pub async fn authorization_server(State(state): State<AuthState>) -> Response {
        cached(document(&state))
    }

    /// `GET /.well-known/oauth-authorization-server/api/auth` (RFC 8414's place for an
    /// issuer with a path).
    #[utoipa::path(
        get, path = "/.well-known/oauth-authorization-server/api/auth",
        responses((status = 200, description = "RFC 8414 metadata", body = Object))
    )]
    pub async fn authorization_server_for_issuer(State(state): State<AuthState>) -> Response {
        cached(document(&state))
    }

    /// `GET /.well-known/oauth-protected-resource` (RFC 9728): Portal's API as a resource
    /// its tokens are for.
    #[utoipa::path(
        get, path = "/.well-known/oauth-protected-resource",
        responses((status = 200, description = "RFC 9728 protected resource metadata", body = Object))
    )]
    pub async fn protected_resource(State(state): State<AuthState>) -> Response {
        let base = state
            .auth
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string();
        cached(json!({
            "resource": base,
            "authorization_servers": [issuer(&state)],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "bearer_methods_supported": ["header"],
            "resource_documentation": format!("{base}/docs"),
        }))
    }
}
