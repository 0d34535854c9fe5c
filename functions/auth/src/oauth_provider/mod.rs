//! Portal as the OpenID Connect provider of its community services: BetterAuth's
//! `@better-auth/oauth-provider` plugin (1.5) as Portal configures it (scopes `openid profile
//! email offline_access xmpp irc`, the `xmpp_username` / `irc_nick` claims, login page
//! `/auth/sign-in`, consent page `/auth/consent`, issuer `<base>/api/auth`), over the OAuth
//! clients the admin API manages.
//!
//! - [`authorize`]: `/oauth2/authorize`, and the same decision after a sign-in
//!   ([`continuation`]), a consent or a continue ([`consent`]);
//! - [`token`]: `/oauth2/token` (authorization code with PKCE, refresh with rotation and
//!   reuse detection, client credentials);
//! - [`resource`]: `/oauth2/userinfo`, `/oauth2/introspect`, `/oauth2/revoke`,
//!   `/oauth2/end-session`, and the one check every token passes (its grant, user, client
//!   and consent, read together: a ban, a deletion, a disabled client or a withdrawn consent
//!   holds on the next request);
//! - [`clients`] and [`consents`]: the plugin's management routes; [`metadata`]: discovery.
//!
//! Where the plugin answers with a non-standard error code, this answers RFC 6749's (see
//! docs/DECISIONS.md).

pub mod authorize;
pub mod clients;
pub mod consent;
pub mod consents;
pub mod continuation;
pub mod metadata;
pub mod records;
pub mod resource;
pub mod token;

use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use data_encoding::BASE64;
use portal_domain::crypto::constant_time_eq;
use portal_domain::store::StoreError;
use portal_domain::store::oauth_clients::OAuthClient;
use serde_json::{Value, json};

use crate::error::AuthError;
use crate::state::{AuthState, BASE_PATH};

/// The scopes Portal offers (its `scopes` option): the store's one list, which the admin
/// API checks clients against too.
pub use portal_domain::store::oauth_clients::SCOPES;
/// Scopes about a person: never in a client's own (client credentials) token.
pub const USER_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// The claims the provider can put in ID tokens and userinfo.
pub const CLAIMS: [&str; 17] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "sid",
    "scope",
    "azp",
    "email",
    "email_verified",
    "name",
    "picture",
    "family_name",
    "given_name",
    "auth_time",
    "xmpp_username",
    "irc_nick",
];

/// The plugin's lifetimes (seconds): code 10 minutes, access token 1 hour, ID token 10
/// hours, refresh token 30 days.
pub const CODE_LIFETIME: i64 = 600;
pub const ACCESS_LIFETIME: i64 = 3600;
pub const ID_TOKEN_LIFETIME: i64 = 36_000;
pub const REFRESH_LIFETIME: i64 = 2_592_000;

/// The issuer: `<base>/api/auth` (the plugin's `ctx.context.baseURL`).
pub fn issuer(state: &AuthState) -> String {
    format!(
        "{}{BASE_PATH}",
        state.auth.base_url.as_str().trim_end_matches('/')
    )
}

/// An OAuth error: `{error, error_description}` with its status, never cached; or one of
/// BetterAuth's own (a missing session on a session route).
pub enum OAuthError {
    Protocol {
        status: StatusCode,
        error: &'static str,
        description: String,
        /// A bearer token was refused (RFC 6750: say so in `WWW-Authenticate`).
        bearer: bool,
    },
    Auth(AuthError),
    /// The rate limiter's own answer (429 with its headers).
    Limited(Box<Response>),
}

pub type OAuthResult<T> = Result<T, OAuthError>;

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self::Protocol {
            status,
            error,
            description: description.into(),
            bearer: false,
        }
    }

    pub fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    /// 400 `invalid_grant`: a code or refresh token that does not (or no longer) work.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::bad_request("invalid_grant", description)
    }

    /// 401 `invalid_token` with `WWW-Authenticate: Bearer error="invalid_token"`.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::Protocol {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: description.into(),
            bearer: true,
        }
    }

    /// The plugin's 404 `{error: "not_found"}`.
    pub fn not_found(description: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }
}

impl From<AuthError> for OAuthError {
    fn from(err: AuthError) -> Self {
        Self::Auth(err)
    }
}

impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => {
                let auth: AuthError = err.into();
                Self::Protocol {
                    status: auth.status,
                    error: "temporarily_unavailable",
                    description: auth.message,
                    bearer: false,
                }
            }
            other => Self::Auth(other.into()),
        }
    }
}

pub use crate::views::no_store;

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        match self {
            OAuthError::Auth(err) => err.into_response(),
            OAuthError::Limited(response) => *response,
            OAuthError::Protocol {
                status,
                error,
                description,
                bearer,
            } => {
                let body = json!({ "error": error, "error_description": description });
                let mut response = no_store((status, Json(body)).into_response());
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    response
                        .headers_mut()
                        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                }
                if bearer {
                    let value = format!(
                        "Bearer error=\"{error}\", error_description=\"{}\"",
                        description.replace('"', "'")
                    );
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        response.headers_mut().insert(WWW_AUTHENTICATE, value);
                    }
                }
                response
            }
        }
    }
}

/// What a body (form or JSON) says, each value as a string (JSON arrays, e.g. a
/// `resource` list, are kept whole).
pub fn form_value<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// The client's credentials as sent: HTTP Basic (`client_secret_basic`, each half
/// form-decoded as RFC 6749 says), or `client_id`/`client_secret` in the body.
#[derive(Debug, Default)]
pub struct Credentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub basic: bool,
}

impl Credentials {
    pub fn read(headers: &HeaderMap, body: &Value) -> OAuthResult<Self> {
        let basic = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "));
        if let Some(encoded) = basic {
            let bad = || {
                OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "invalid authorization header format",
                )
            };
            let decoded = BASE64
                .decode(encoded.trim().as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(bad)?;
            let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
            let unform = |raw: &str| -> String {
                url::form_urlencoded::parse(format!("v={raw}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let (id, secret) = (unform(id), unform(secret));
            if id.is_empty() || secret.is_empty() {
                return Err(bad());
            }
            return Ok(Self {
                client_id: Some(id),
                client_secret: Some(secret),
                basic: true,
            });
        }
        Ok(Self {
            client_id: form_value(body, "client_id").map(str::to_string),
            client_secret: form_value(body, "client_secret").map(str::to_string),
            basic: false,
        })
    }
}

/// The plugin's `validateClientCredentials`: the client exists and is enabled, a
/// confidential client proves its secret (compared in constant time against its hash), a
/// public one sends none; `scopes`, when given, are all the client's.
pub async fn authenticate(
    state: &AuthState,
    client_id: &str,
    secret: Option<&str>,
    scopes: Option<&[String]>,
) -> OAuthResult<OAuthClient> {
    let client = state.app.db.oauth_clients().by_client_id(client_id).await?;
    check_credentials(client, client_id, secret, scopes)
}

/// [`authenticate`] of a client already read (by its item id, with what else a request
/// reads): it must be the one `client_id` names.
pub fn check_credentials(
    client: Option<OAuthClient>,
    client_id: &str,
    secret: Option<&str>,
    scopes: Option<&[String]>,
) -> OAuthResult<OAuthClient> {
    let client = client.filter(|c| c.client_id == client_id).ok_or_else(|| {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", "missing client")
    })?;
    if client.disabled {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client is disabled",
        ));
    }
    match (client.is_public(), secret) {
        (false, None) => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client secret must be provided",
            ));
        }
        (true, Some(_)) => {
            return Err(OAuthError::bad_request(
                "invalid_client",
                "public client, client secret should not be received",
            ));
        }
        (false, Some(secret)) => {
            let hash = portal_domain::crypto::sha256_hex(secret.as_bytes());
            if !constant_time_eq(&hash, &client.client_secret_hash) {
                return Err(OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "invalid client_secret",
                ));
            }
            let now = portal_domain::time::now().unix_timestamp();
            if client
                .client_secret_expires_at
                .is_some_and(|at| at > 0 && at <= now)
            {
                return Err(OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client secret expired",
                ));
            }
        }
        (true, None) => {}
    }
    if let Some(scopes) = scopes {
        check_client_scopes(&client, scopes)?;
    }
    Ok(client)
}

/// The scopes a client may ask for.
pub fn allowed_scopes(client: &OAuthClient) -> Vec<String> {
    client
        .scopes
        .clone()
        .unwrap_or_else(|| SCOPES.iter().map(|s| s.to_string()).collect())
}

/// 400 `invalid_scope` unless every scope is the client's.
pub fn check_client_scopes(client: &OAuthClient, scopes: &[String]) -> OAuthResult<()> {
    let allowed = allowed_scopes(client);
    match scopes.iter().find(|s| !allowed.contains(s)) {
        Some(bad) => Err(OAuthError::bad_request(
            "invalid_scope",
            format!("client does not allow scope {bad}"),
        )),
        None => Ok(()),
    }
}

/// Space-separated scopes, empty ones dropped.
pub fn split_scopes(raw: &str) -> Vec<String> {
    raw.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The plugin's `isPKCERequired`: why this client must use PKCE, if it must.
pub fn pkce_required(client: &OAuthClient, scopes: &[String]) -> Option<&'static str> {
    if client.is_public() {
        Some("pkce is required for public clients")
    } else if scopes.iter().any(|s| s == "offline_access") {
        Some("pkce is required when requesting offline_access scope")
    } else if client.require_pkce.unwrap_or(true) {
        Some("pkce is required for this client")
    } else {
        None
    }
}

/// `BASE64URL(SHA-256(verifier))`, PKCE's S256.
pub fn s256(verifier: &str) -> String {
    portal_domain::crypto::sha256_b64url(verifier.as_bytes())
}

/// `{redirect: true, url}`: what the plugin's JSON answers say (the client's redirect
/// plugin navigates there).
pub fn redirect_body(url: &str) -> Response {
    Json(crate::wire::RedirectTo {
        url: url.to_string(),
        redirect: true,
    })
    .into_response()
}
