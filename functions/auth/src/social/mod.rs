//! Sign-in with other providers: Discord (BetterAuth's `socialProviders.discord`) and
//! Portal's Mailcow server (BetterAuth's `genericOAuth`, provider id `mailcow`), each only
//! when configured.
//!
//! - Every outgoing authorization carries a `state` (single use, 10 minutes, stored by a
//!   hash with its kind in front, bound to the browser by the signed `state` cookie) and a
//!   PKCE S256 challenge (the verifier stays in the stored state).
//! - The callback exchanges the code, reads the provider's profile, and signs the person in:
//!   by the linked account; else into the account with that e-mail, linking only when the
//!   provider says the address is verified (BetterAuth's rule: an unverified provider
//!   e-mail never takes over an account); else a new account with the account linked, in
//!   one transaction. Banned users are refused. Provider tokens are kept sealed.

pub mod callback;
pub mod proxy;
pub mod proxy_callback;
pub mod sign_in;

use std::sync::OnceLock;
use std::time::Duration;

use portal_domain::config::ProviderEndpoints;
use portal_domain::crypto::random_alphanumeric;
use portal_domain::time::{iso, now};
use portal_services::outbound::Outbound;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{AuthError, AuthResult};
use crate::state::AuthState;

/// The kind of the stored state of an outgoing authorization.
pub const STATE_KIND: &str = "oauth-state";
/// BetterAuth's state cookie (`<prefix>.state`, signed, 5 minutes).
pub const STATE_COOKIE: &str = "state";
const STATE_COOKIE_SECONDS: i64 = 300;
/// How long an authorization may take (BetterAuth's 10 minutes).
const STATE_SECONDS: i64 = 600;

/// How the provider is reached in BetterAuth's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/sign-in/social`, `/callback/{id}`.
    Social,
    /// `/sign-in/oauth2`, `/oauth2/callback/{id}` (the genericOAuth plugin).
    Generic,
}

/// A configured provider.
#[derive(Clone, Copy)]
pub struct Provider<'a> {
    pub id: &'static str,
    pub kind: Kind,
    pub endpoints: &'a ProviderEndpoints,
    scopes: &'static [&'static str],
    /// Discord's `prompt=none` (no consent screen when already granted).
    prompt_none: bool,
}

/// The provider `id`, if it is configured.
pub fn provider<'a>(state: &'a AuthState, id: &str) -> Option<Provider<'a>> {
    let social = &state.auth.social;
    match id {
        "discord" => social.discord.as_ref().map(|endpoints| Provider {
            id: "discord",
            kind: Kind::Social,
            endpoints,
            scopes: &["identify", "email"],
            prompt_none: true,
        }),
        "mailcow" => social.mailcow.as_ref().map(|endpoints| Provider {
            id: "mailcow",
            kind: Kind::Generic,
            endpoints,
            scopes: &["profile"],
            prompt_none: false,
        }),
        _ => None,
    }
}

impl Provider<'_> {
    /// Where the provider sends the browser back.
    pub fn redirect_uri(&self, state: &AuthState) -> String {
        match self.kind {
            Kind::Social => state.link(&format!("/callback/{}", self.id)),
            Kind::Generic => state.link(&format!("/oauth2/callback/{}", self.id)),
        }
    }

    /// The redirect URI of the deployment at `base` (the production one, when proxying).
    pub fn redirect_uri_at(&self, base: &url::Url) -> String {
        let base = base.as_str().trim_end_matches('/');
        match self.kind {
            Kind::Social => format!("{base}{}/callback/{}", crate::state::BASE_PATH, self.id),
            Kind::Generic => format!(
                "{base}{}/oauth2/callback/{}",
                crate::state::BASE_PATH,
                self.id
            ),
        }
    }

    /// What the provider says about the person, as BetterAuth's providers map it.
    fn profile(&self, raw: &Value) -> Option<Profile> {
        let text = |name: &str| {
            raw.get(name).and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        match self.id {
            "discord" => {
                let id = text("id")?;
                let image = match text("avatar") {
                    Some(avatar) => {
                        let format = if avatar.starts_with("a_") {
                            "gif"
                        } else {
                            "png"
                        };
                        format!("https://cdn.discordapp.com/avatars/{id}/{avatar}.{format}")
                    }
                    None => {
                        let n = id
                            .parse::<u64>()
                            .map_or(0, |snowflake| (snowflake >> 22) % 6);
                        format!("https://cdn.discordapp.com/embed/avatars/{n}.png")
                    }
                };
                Some(Profile {
                    name: text("global_name")
                        .or_else(|| text("username"))
                        .unwrap_or_default(),
                    email: text("email").map(|e| e.to_lowercase()),
                    email_verified: raw
                        .get("verified")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    image: Some(image),
                    id,
                })
            }
            // Portal's mapping of Mailcow's profile: a mailbox's address is verified.
            _ => {
                let email = text("email");
                let id = text("username")
                    .or_else(|| text("identifier"))
                    .or_else(|| email.clone())?;
                Some(Profile {
                    name: text("full_name")
                        .or_else(|| text("displayName"))
                        .or_else(|| email.clone())
                        .unwrap_or_default(),
                    email: email.map(|e| e.to_lowercase()),
                    email_verified: true,
                    image: None,
                    id,
                })
            }
        }
    }
}

/// The person as the provider describes them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: String,
    pub image: Option<String>,
}

/// Who a linking authorization is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkTo {
    pub user_id: String,
    pub email: String,
}

/// An authorization in progress, kept under its `state` (BetterAuth's state data).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    pub provider: String,
    pub callback_url: String,
    #[serde(default)]
    pub error_url: Option<String>,
    #[serde(default)]
    pub new_user_url: Option<String>,
    pub code_verifier: String,
    #[serde(default)]
    pub link: Option<LinkTo>,
    #[serde(default)]
    pub request_sign_up: bool,
    /// The OpenID Connect provider's signed request the login page carried (verified when
    /// the sign-in started): the flow goes on from the callback.
    #[serde(default)]
    pub oauth_query: Option<String>,
}

/// Starts an authorization at `provider`: stores `pending` under a fresh state and answers
/// the provider's authorization URL and the state cookie.
pub async fn begin(
    state: &AuthState,
    provider: Provider<'_>,
    pending: &Pending,
    extra_scopes: &[String],
    login_hint: Option<&str>,
) -> AuthResult<(String, String)> {
    let token = random_alphanumeric(32);
    let at = now();
    let payload =
        serde_json::to_string(pending).map_err(|e| AuthError::internal(&e.to_string()))?;
    state
        .app
        .db
        .tokens()
        .issue_ceremony(
            STATE_KIND,
            &token,
            pending.link.as_ref().map(|l| l.user_id.as_str()),
            payload,
            &iso(at),
            &iso(at + time::Duration::seconds(STATE_SECONDS)),
        )
        .await?;
    let mut scopes: Vec<String> = provider.scopes.iter().map(|s| s.to_string()).collect();
    for scope in extra_scopes {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    // A preview deployment: the production deployment takes the provider's answer, and
    // the state it is given is a sealed package it can act on without this one's table.
    let (redirect_uri, state_param) = match proxy::production(state) {
        Some(production) => (
            provider.redirect_uri_at(&production),
            proxy::package(state, &token, pending),
        ),
        None => (provider.redirect_uri(state), token.clone()),
    };
    let mut url = provider.endpoints.authorize_url.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &provider.endpoints.client_id);
        q.append_pair("redirect_uri", &redirect_uri);
        q.append_pair("scope", &scopes.join(" "));
        q.append_pair("state", &state_param);
        q.append_pair(
            "code_challenge",
            &portal_domain::crypto::sha256_b64url(pending.code_verifier.as_bytes()),
        );
        q.append_pair("code_challenge_method", "S256");
        if provider.prompt_none {
            q.append_pair("prompt", "none");
        }
        if let Some(hint) = login_hint {
            q.append_pair("login_hint", hint);
        }
    }
    let cookie = state
        .app
        .cookies
        .signed_cookie(STATE_COOKIE, &token, STATE_COOKIE_SECONDS);
    Ok((url.to_string(), cookie))
}

/// A new PKCE verifier (BetterAuth's: 128 characters).
pub fn code_verifier() -> String {
    random_alphanumeric(128)
}

/// The tokens a provider issued.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<String>,
    pub scopes: Vec<String>,
}

fn http() -> Option<&'static Outbound> {
    static CLIENT: OnceLock<Option<Outbound>> = OnceLock::new();
    CLIENT
        .get_or_init(|| Outbound::new(Duration::from_secs(10)))
        .as_ref()
}

/// Why a call to the provider failed (said to the browser only as a code).
#[derive(Debug)]
pub struct ProviderFailure(pub String);

/// Posts a token request (`grant_type` and its fields) with the client's credentials.
async fn token_request(
    provider: Provider<'_>,
    fields: &[(&str, &str)],
) -> Result<Tokens, ProviderFailure> {
    let client = http().ok_or_else(|| ProviderFailure("no HTTP client".into()))?;
    let secret = provider.endpoints.client_secret.expose_secret();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().copied())
        .append_pair("client_id", &provider.endpoints.client_id)
        .append_pair("client_secret", secret)
        .finish();
    let response = client
        .post(provider.endpoints.token_url.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| ProviderFailure(format!("token endpoint unreachable: {e}")))?;
    let status = response.status();
    let json: Value = response
        .json()
        .await
        .map_err(|e| ProviderFailure(format!("token endpoint answered no JSON ({status}): {e}")))?;
    let Some(access_token) = json.get("access_token").and_then(Value::as_str) else {
        return Err(ProviderFailure(format!(
            "token endpoint refused ({status}): {}",
            json.get("error")
                .and_then(Value::as_str)
                .unwrap_or("no access token")
        )));
    };
    let expires_at = json
        .get("expires_in")
        .and_then(Value::as_i64)
        .map(|s| iso(now() + time::Duration::seconds(s)));
    Ok(Tokens {
        access_token: access_token.to_string(),
        refresh_token: json
            .get("refresh_token")
            .and_then(Value::as_str)
            .map(str::to_string),
        id_token: json
            .get("id_token")
            .and_then(Value::as_str)
            .map(str::to_string),
        access_token_expires_at: expires_at,
        scopes: json
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| {
                s.split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Exchanges an authorization code (with its PKCE verifier).
pub async fn exchange(
    state: &AuthState,
    provider: Provider<'_>,
    code: &str,
    verifier: &str,
) -> Result<Tokens, ProviderFailure> {
    // The redirect URI the authorization named: this deployment's (a proxied one's
    // production deployment exchanges its own callback's code).
    let redirect_uri = provider.redirect_uri(state);
    token_request(
        provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Exchanges a refresh token for fresh tokens.
pub async fn refresh(
    provider: Provider<'_>,
    refresh_token: &str,
) -> Result<Tokens, ProviderFailure> {
    token_request(
        provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// The person behind an access token, from the provider's profile endpoint.
pub async fn profile(
    provider: Provider<'_>,
    access_token: &str,
) -> Result<Profile, ProviderFailure> {
    profile_and_raw(provider, access_token)
        .await
        .map(|(p, _)| p)
}

/// [`profile`], with what the provider answered as it was.
pub async fn profile_and_raw(
    provider: Provider<'_>,
    access_token: &str,
) -> Result<(Profile, Value), ProviderFailure> {
    let client = http().ok_or_else(|| ProviderFailure("no HTTP client".into()))?;
    let response = client
        .get(provider.endpoints.userinfo_url.clone())
        .bearer_auth(access_token)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| ProviderFailure(format!("profile endpoint unreachable: {e}")))?;
    if !response.status().is_success() {
        return Err(ProviderFailure(format!(
            "profile endpoint answered {}",
            response.status()
        )));
    }
    let raw: Value = response
        .json()
        .await
        .map_err(|e| ProviderFailure(format!("profile endpoint answered no JSON: {e}")))?;
    let profile = provider
        .profile(&raw)
        .ok_or_else(|| ProviderFailure("the profile has no id".into()))?;
    Ok((profile, raw))
}
