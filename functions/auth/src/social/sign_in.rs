//! `POST /sign-in/social` (Discord) and `POST /sign-in/oauth2` (the genericOAuth plugin:
//! Mailcow): the provider's authorization URL, `{url, redirect}`, with the `Location`
//! header and the state cookie.

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::{Kind, Pending, begin, code_verifier, provider};
use crate::error::{AuthError, AuthResult};
use crate::input::{Body, Fields};
use crate::origin::{check_url_fields, redirect_target};
use crate::state::AuthState;
use crate::views::{append_cookies, json_response};

/// What a sign-in or link body says.
pub struct Asked {
    pub provider: String,
    pub callback_url: Option<String>,
    pub error_url: Option<String>,
    pub new_user_url: Option<String>,
    pub disable_redirect: bool,
    pub scopes: Vec<String>,
    pub request_sign_up: bool,
    pub login_hint: Option<String>,
    /// The OpenID Connect request the login page carried, verified.
    pub oauth_query: Option<String>,
}

/// Reads the body (`provider_field`: `provider` or `providerId`), the URLs held to the
/// same origin rules as every callback URL.
pub fn read(state: &AuthState, body: &Value, provider_field: &str) -> AuthResult<Asked> {
    let mut f = Fields::of("body", body, false);
    let provider = f.string(provider_field);
    let callback_url = f.optional_string("callbackURL");
    let error_url = f.optional_string("errorCallbackURL");
    let new_user_url = f.optional_string("newUserCallbackURL");
    let disable_redirect = f.optional_bool("disableRedirect").unwrap_or(false);
    let request_sign_up = f.optional_bool("requestSignUp").unwrap_or(false);
    let login_hint = f.optional_string("loginHint");
    let scopes = match body.get("scopes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(all)) if all.iter().all(Value::is_string) => all
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(_) => {
            f.issue("scopes", "Invalid input: expected array");
            Vec::new()
        }
    };
    if body.get("idToken").is_some_and(|v| !v.is_null()) {
        return Err(AuthError::with_message(
            StatusCode::NOT_FOUND,
            "ID_TOKEN_NOT_SUPPORTED",
            "id token not supported",
        ));
    }
    f.finish()?;
    let Some(provider) = provider else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    check_url_fields(&state.app.config, body)?;
    // Checked already by the provider's sign-in hook (400 `invalid_signature`), which
    // leaves it for the callback to continue from.
    let oauth_query = body
        .get("oauth_query")
        .and_then(Value::as_str)
        .filter(|raw| !raw.is_empty())
        .and_then(|raw| crate::oauth_provider::authorize::verify_signed(state, raw).ok())
        .map(|params| params.encode());
    Ok(Asked {
        oauth_query,
        provider,
        callback_url,
        error_url,
        new_user_url,
        disable_redirect,
        scopes,
        request_sign_up,
        login_hint,
    })
}

/// 404 `PROVIDER_NOT_FOUND` (BetterAuth's answer for a provider not configured).
pub fn not_found() -> AuthError {
    AuthError::with_message(
        StatusCode::NOT_FOUND,
        "PROVIDER_NOT_FOUND",
        "Provider not found",
    )
}

/// The callback URL a flow ends at (resolved; BetterAuth's default: the base URL).
pub fn callback_of(state: &AuthState, asked: Option<&str>) -> AuthResult<String> {
    match asked {
        Some(raw) => {
            Ok(redirect_target(&state.app.config, raw, "INVALID_CALLBACK_URL")?.to_string())
        }
        None => Ok(state
            .auth
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string()),
    }
}

/// Starts the authorization and answers `{url, redirect}` (with `Location` unless
/// `disableRedirect`) and the state cookie.
pub async fn start(
    state: &AuthState,
    asked: &Asked,
    kind: Kind,
    link: Option<super::LinkTo>,
) -> AuthResult<Response> {
    let Some(provider) = provider(state, &asked.provider).filter(|p| p.kind == kind) else {
        return Err(not_found());
    };
    let resolve = |raw: &Option<String>| -> AuthResult<Option<String>> {
        raw.as_deref()
            .map(|r| callback_of(state, Some(r)))
            .transpose()
    };
    let pending = Pending {
        provider: provider.id.to_string(),
        callback_url: callback_of(state, asked.callback_url.as_deref())?,
        error_url: resolve(&asked.error_url)?,
        new_user_url: resolve(&asked.new_user_url)?,
        code_verifier: code_verifier(),
        request_sign_up: asked.request_sign_up,
        oauth_query: if link.is_none() {
            asked.oauth_query.clone()
        } else {
            None
        },
        link,
    };
    let (url, cookie) = begin(
        state,
        provider,
        &pending,
        &asked.scopes,
        asked.login_hint.as_deref(),
    )
    .await?;
    let mut response = json_response(&crate::wire::RedirectTo {
        url: url.clone(),
        redirect: !asked.disable_redirect,
    });
    if !asked.disable_redirect
        && let Ok(value) = HeaderValue::from_str(&url)
    {
        response.headers_mut().insert(LOCATION, value);
    }
    append_cookies(&mut response, vec![cookie]);
    Ok(response)
}

/// `POST /sign-in/social {provider, callbackURL?, errorCallbackURL?, newUserCallbackURL?,
/// disableRedirect?, scopes?, requestSignUp?, loginHint?}`.
#[utoipa::path(
    post, path = "/sign-in/social",
    request_body(content = Object, description = "`{provider: \"discord\", callbackURL?, errorCallbackURL?, newUserCallbackURL?, disableRedirect?, scopes?, requestSignUp?, loginHint?}`"),
    responses(
        (status = 200, description = "`{url, redirect}`: the provider's authorization URL (also in `Location`), the state cookie set", body = crate::wire::RedirectTo),
        (status = 403, description = "`INVALID_CALLBACK_URL`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`PROVIDER_NOT_FOUND` (not configured), `ID_TOKEN_NOT_SUPPORTED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn social(State(state): State<AuthState>, body: Body) -> AuthResult<Response> {
    let body = body.json_only()?.value;
    let asked = read(&state, &body, "provider")?;
    start(&state, &asked, Kind::Social, None).await
}

/// `POST /sign-in/oauth2 {providerId, callbackURL?, ...}` (the genericOAuth plugin).
#[utoipa::path(
    post, path = "/sign-in/oauth2",
    request_body(content = Object, description = "`{providerId: \"mailcow\", callbackURL?, errorCallbackURL?, newUserCallbackURL?, disableRedirect?, scopes?, requestSignUp?}`"),
    responses(
        (status = 200, description = "`{url, redirect}`", body = crate::wire::RedirectTo),
        (status = 403, description = "`INVALID_CALLBACK_URL`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`PROVIDER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn generic(State(state): State<AuthState>, body: Body) -> AuthResult<Response> {
    let body = body.json_only()?.value;
    let asked = read(&state, &body, "providerId")?;
    start(&state, &asked, Kind::Generic, None).await
}
