//! `GET /oauth2/authorize`, and the decision it makes, which a sign-in, a consent or a
//! continue makes again with the request they carry back: the client and its redirect URI
//! (exact match: an unregistered URI never receives a redirect, errors before it is known go
//! to the error page), the scopes, PKCE, then who is signed in (else the login page, with a
//! signed copy of the request), then consent (remembered consent is skipped; else the
//! consent page), then a single-use code to the client.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use axum::response::Response;
use portal_domain::crypto::{new_id, random_alphanumeric};
use portal_domain::model::{Session, User};
use portal_domain::store::oauth::{AuthorizationCode, secret_key};
use portal_domain::store::oauth_clients::OAuthClient;
use portal_domain::time::{iso, now, parse_iso};

use super::{
    CODE_LIFETIME, OAuthError, OAuthResult, allowed_scopes, issuer, pkce_required, redirect_body,
    split_scopes,
};
use crate::error::AuthError;
use crate::extract::SessionUser;
use crate::state::AuthState;
use crate::views::redirect;
use portal_domain::store::oauth_clients::redirect_uri_allowed;

/// An authorization request's parameters, in the order they came.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(raw: &str) -> Self {
        Self(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(pair) => pair.1 = value.to_string(),
            None => self.0.push((name.to_string(), value.to_string())),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| k != name);
    }

    pub fn encode(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter())
            .finish()
    }

    /// The prompts asked for (`none`, `login`, `consent`, `create`, `select_account`).
    pub fn prompts(&self) -> Vec<&str> {
        self.get("prompt")
            .map(|p| p.split(' ').filter(|p| !p.is_empty()).collect())
            .unwrap_or_default()
    }

    /// The plugin's `deleteFromPrompt`: one prompt answered, taken out.
    pub fn answered(mut self, prompt: &str) -> Self {
        let rest: Vec<String> = self
            .prompts()
            .into_iter()
            .filter(|p| *p != prompt)
            .map(str::to_string)
            .collect();
        if rest.is_empty() {
            self.remove("prompt");
        } else {
            self.set("prompt", &rest.join(" "));
        }
        self
    }
}

/// The list of signed parameter names the plugin's 1.6+ client looks for before it hands a
/// page's query back (`ba_param`, repeated: every name, itself included, sorted).
const SIGNED_NAMES: &str = "ba_param";

/// The request signed for the login or consent page: `exp` (the code's lifetime), the
/// signed names (`ba_param`, which the plugin's newer clients need to find the signed part
/// of the page's address), and `sig` (HMAC-SHA256 with the auth secret, base64), as the
/// plugin's `signParams`. Both client generations hand back every pair up to `sig`.
pub fn sign(state: &AuthState, params: &Params) -> String {
    let mut signed = params.clone();
    for name in ["exp", "sig", SIGNED_NAMES] {
        signed.remove(name);
    }
    signed.set("exp", &(now().unix_timestamp() + CODE_LIFETIME).to_string());
    let mut names: Vec<String> = signed.0.iter().map(|(k, _)| k.clone()).collect();
    names.push(SIGNED_NAMES.into());
    names.sort();
    names.dedup();
    for name in names {
        signed.0.push((SIGNED_NAMES.into(), name));
    }
    let sig = state.app.keyring.sign(&signed.encode());
    signed.0.push(("sig".into(), sig));
    signed.encode()
}

/// A signed request carried back (`oauth_query`): the pairs up to `sig`, the signature
/// good with the auth secret (or the previous one), not expired. 400 `invalid_signature`
/// otherwise (the plugin's answer).
pub fn verify_signed(state: &AuthState, raw: &str) -> OAuthResult<Params> {
    let refused = || OAuthError::bad_request("invalid_signature", "invalid oauth_query signature");
    let all = Params::parse(raw);
    let at = all
        .0
        .iter()
        .position(|(k, _)| k == "sig")
        .ok_or_else(refused)?;
    let sig = all.0[at].1.clone();
    let signed = Params(all.0[..at].to_vec());
    if !state.app.keyring.verify(&signed.encode(), &sig) {
        return Err(refused());
    }
    let exp: i64 = signed
        .get("exp")
        .and_then(|e| e.parse().ok())
        .ok_or_else(refused)?;
    if exp < now().unix_timestamp() {
        return Err(refused());
    }
    let mut params = signed;
    params.remove("exp");
    params.remove(SIGNED_NAMES);
    Ok(params)
}

/// Who is signed in, as the decision needs them.
#[derive(Clone, Copy)]
pub struct SignedIn<'a> {
    pub user: &'a User,
    pub session: &'a Session,
}

/// `url?error=...&error_description=...[&state][&iss]` (the plugin's `formatErrorURL`).
pub fn error_url(
    url: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
    iss: Option<&str>,
) -> String {
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    params.append_pair("error", error);
    params.append_pair("error_description", description);
    if let Some(state) = state {
        params.append_pair("state", state);
    }
    if let Some(iss) = iss {
        params.append_pair("iss", iss);
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{}", params.finish())
}

/// The error page (`<issuer>/error`), for errors before the redirect URI is trusted.
fn error_page(state: &AuthState, error: &str, description: &str) -> String {
    error_url(
        &format!("{}/error", issuer(state)),
        error,
        description,
        None,
        None,
    )
}

/// The client and redirect URI of a request, both checked; otherwise the error page's URL.
pub async fn trusted_client(
    state: &AuthState,
    params: &Params,
) -> OAuthResult<Result<(OAuthClient, String), String>> {
    let Some(client_id) = params.get("client_id") else {
        return Ok(Err(error_page(
            state,
            "invalid_client",
            "client_id is required",
        )));
    };
    let Some(client) = state.app.db.oauth_clients().by_client_id(client_id).await? else {
        return Ok(Err(error_page(
            state,
            "invalid_client",
            "client_id is required",
        )));
    };
    if client.disabled {
        return Ok(Err(error_page(
            state,
            "client_disabled",
            "client is disabled",
        )));
    }
    // Exactly one of the registered strings: no prefix, no normalisation, no fragment.
    let registered = params
        .get("redirect_uri")
        .filter(|uri| client.redirect_uris.iter().any(|r| r == uri))
        .filter(|uri| url::Url::parse(uri).is_ok_and(|u| u.fragment().is_none()));
    match registered {
        Some(uri) => {
            let uri = uri.to_string();
            Ok(Ok((client, uri)))
        }
        None => Ok(Err(error_page(
            state,
            "invalid_redirect",
            "invalid redirect uri",
        ))),
    }
}

/// The decision: the URL the browser goes to next.
pub async fn decide(
    state: &AuthState,
    mut params: Params,
    who: Option<SignedIn<'_>>,
) -> OAuthResult<String> {
    if params.get("response_type").is_none() {
        let url = match params.get("client_id") {
            None => error_page(state, "invalid_client", "client_id is required"),
            Some(_) => error_page(state, "invalid_request", "response_type is required"),
        };
        return Ok(url);
    }
    // The client and the signed-in user's consent to it (named by the request's client
    // id) do not depend on each other: read together.
    let oauth = state.app.db.oauth();
    let remembered = async {
        match (who, params.get("client_id")) {
            (Some(w), Some(client_id)) => oauth
                .consent(&w.user.id, client_id)
                .await
                .map_err(OAuthError::from),
            _ => Ok(None),
        }
    };
    let (found, remembered) = futures::try_join!(trusted_client(state, &params), remembered)?;
    let (client, redirect_uri) = match found {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let iss = issuer(state);
    let client_state = params.get("state").map(str::to_string);
    let to_client = |error: &str, description: &str| {
        error_url(
            &redirect_uri,
            error,
            description,
            client_state.as_deref(),
            Some(&iss),
        )
    };
    if params.get("response_type") != Some("code") {
        return Ok(to_client(
            "unsupported_response_type",
            "unsupported response type",
        ));
    }
    let prompts: Vec<String> = params.prompts().into_iter().map(str::to_string).collect();
    let has = |p: &str| prompts.iter().any(|x| x == p);
    if has("select_account") {
        return Ok(to_client(
            "unsupported_prompt_select_account",
            "unsupported prompt type",
        ));
    }
    if has("none") && prompts.len() > 1 {
        return Ok(to_client(
            "invalid_request",
            "prompt none cannot be combined with another prompt",
        ));
    }
    let scopes = match params.get("scope") {
        Some(raw) => {
            let asked = split_scopes(raw);
            let allowed = allowed_scopes(&client);
            let invalid: Vec<&str> = asked
                .iter()
                .filter(|s| !allowed.contains(s))
                .map(String::as_str)
                .collect();
            if !invalid.is_empty() {
                return Ok(to_client(
                    "invalid_scope",
                    &format!("The following scopes are invalid: {}", invalid.join(", ")),
                ));
            }
            asked
        }
        None => {
            let all = allowed_scopes(&client);
            params.set("scope", &all.join(" "));
            all
        }
    };
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    if let Some(why) = pkce_required(&client, &scopes)
        && (challenge.is_none() || method.is_none())
    {
        return Ok(to_client("invalid_request", why));
    }
    if challenge.is_some() || method.is_some() {
        if challenge.is_none() || method.is_none() {
            return Ok(to_client(
                "invalid_request",
                "code_challenge and code_challenge_method must both be provided",
            ));
        }
        if method != Some("S256") {
            return Ok(to_client(
                "invalid_request",
                "invalid code_challenge method, only S256 is supported",
            ));
        }
        if challenge.is_some_and(|c| c.len() != 43) {
            return Ok(to_client(
                "invalid_request",
                "code_challenge must be a base64url SHA-256 (43 characters)",
            ));
        }
    }

    // Who: a session, fresh enough for `max_age`, unless a new sign-in is asked for.
    let too_old = |session: &Session| {
        let max_age = params.get("max_age").and_then(|m| m.parse::<i64>().ok());
        let signed_in = parse_iso(&session.created_at).map(|t| t.unix_timestamp());
        matches!((max_age, signed_in), (Some(max), Some(at)) if now().unix_timestamp() - at >= max)
    };
    let who = match who {
        Some(w) if !has("login") && !has("create") && !too_old(w.session) => w,
        _ => {
            if has("none") {
                return Ok(to_client("login_required", "the user is not signed in"));
            }
            return Ok(page(state, &state.auth.sign_in_url, &params));
        }
    };
    if has("consent") {
        return Ok(page(state, &state.auth.oauth.consent_url, &params));
    }
    let consent_id = if client.skip_consent {
        None
    } else {
        let consent = remembered
            .filter(|c| c.client_id == client.client_id && c.user_id == who.user.id)
            .filter(|c| scopes.iter().all(|s| c.scopes.contains(s)));
        match consent {
            Some(consent) => Some(consent.id),
            None if has("none") => {
                return Ok(to_client("consent_required", "consent is required"));
            }
            None => return Ok(page(state, &state.auth.oauth.consent_url, &params)),
        }
    };
    let code = random_alphanumeric(32);
    let at = now();
    let record = AuthorizationCode {
        client_id: client.client_id.clone(),
        client_key: client.id.clone(),
        user_id: who.user.id.clone(),
        session_id: who.session.id.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes,
        nonce: params.get("nonce").map(str::to_string),
        code_challenge: params.get("code_challenge").map(str::to_string),
        auth_time: parse_iso(&who.session.created_at)
            .map_or(at.unix_timestamp(), |t| t.unix_timestamp()),
        consent_id,
        grant_id: new_id(),
        created_at: iso(at),
        expires_at: iso(at + time::Duration::seconds(CODE_LIFETIME)),
        used_at: None,
    };
    state
        .app
        .db
        .oauth()
        .put_code(&secret_key("code", &code), &record)
        .await?;
    let mut url = url::Url::parse(&redirect_uri)
        .map_err(|_| OAuthError::bad_request("invalid_request", "invalid redirect uri"))?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(s) = &client_state {
            query.append_pair("state", s);
        }
        query.append_pair("iss", &iss);
    }
    Ok(url.to_string())
}

/// A page of the front end (login, consent) with the request signed.
fn page(state: &AuthState, page: &url::Url, params: &Params) -> String {
    let mut url = page.clone();
    url.set_query(Some(&sign(state, params)));
    url.to_string()
}

/// The answer to a browser: a 302, or `{redirect: true, url}` to a fetch that asks for
/// JSON (the plugin's `handleRedirect`).
pub fn answer(headers: &HeaderMap, url: &str) -> Response {
    let wants_json = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        redirect_body(url)
    } else {
        redirect(url)
    }
}

/// `response_type`: the code flow only.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub enum ResponseType {
    #[serde(rename = "code")]
    Code,
}

/// PKCE's method: S256 only.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub enum ChallengeMethod {
    S256,
}

/// The prompts the plugin takes.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub enum Prompt {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "consent")]
    Consent,
    #[serde(rename = "login")]
    Login,
    #[serde(rename = "create")]
    Create,
    #[serde(rename = "select_account")]
    SelectAccount,
    #[serde(rename = "login consent")]
    LoginConsent,
    #[serde(rename = "select_account consent")]
    SelectAccountConsent,
}

/// The authorization request (the plugin's query schema, plus `max_age`, `login_hint`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuthorizeQuery {
    #[param(inline)]
    response_type: ResponseType,
    client_id: String,
    /// Exactly one the client registered (an https URL, http on localhost, or an app's
    /// own scheme).
    redirect_uri: Option<String>,
    /// Space-separated; the client's scopes when absent.
    scope: Option<String>,
    state: Option<String>,
    /// PKCE S256 challenge (required for public clients, `offline_access`, and clients that
    /// require PKCE: the default).
    code_challenge: Option<String>,
    #[param(inline)]
    code_challenge_method: Option<ChallengeMethod>,
    nonce: Option<String>,
    #[param(inline)]
    prompt: Option<Prompt>,
    /// Seconds since sign-in beyond which the user signs in again.
    #[param(minimum = 0)]
    max_age: Option<u64>,
    /// Passed to the login page.
    login_hint: Option<String>,
}

/// The plugin's query validation (zod, before the endpoint runs): 400 `VALIDATION_ERROR`.
fn validate(params: &Params) -> Result<(), AuthError> {
    let mut issues = Vec::new();
    let mut issue = |field: &str, message: &str| issues.push(format!("[query.{field}] {message}"));
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => issue("response_type", "Invalid option: expected \"code\""),
        None => issue("response_type", "Invalid option: expected \"code\""),
    }
    if params.get("client_id").is_none() {
        issue(
            "client_id",
            "Invalid input: expected string, received undefined",
        );
    }
    if params
        .get("redirect_uri")
        .is_some_and(|uri| !redirect_uri_allowed(uri))
    {
        issue("redirect_uri", "Invalid URL");
    }
    if params
        .get("code_challenge_method")
        .is_some_and(|m| m != "S256")
    {
        issue("code_challenge_method", "Invalid option: expected \"S256\"");
    }
    const PROMPTS: [&str; 7] = [
        "none",
        "consent",
        "login",
        "create",
        "select_account",
        "login consent",
        "select_account consent",
    ];
    if params.get("prompt").is_some_and(|p| !PROMPTS.contains(&p)) {
        issue("prompt", "Invalid option");
    }
    if params
        .get("max_age")
        .is_some_and(|m| m.parse::<u64>().is_err())
    {
        issue("max_age", "Invalid input: expected a non-negative integer");
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(AuthError::validation(issues.join("; ")))
    }
}

/// `GET /oauth2/authorize`: the authorization code flow's start.
#[utoipa::path(
    get, path = "/oauth2/authorize",
    params(AuthorizeQuery),
    responses(
        (status = 302, description = "To the client (`code` or `error`, with `state` and `iss`), the login page, the consent page, or the error page (unknown client or redirect URI)"),
        (status = 200, description = "`{redirect: true, url}` when the request accepts JSON", body = crate::wire::RedirectTo),
    )
)]
pub async fn authorize(
    State(state): State<AuthState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    user: Option<SessionUser>,
) -> OAuthResult<Response> {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    validate(&params)?;
    let who = user.as_ref().map(|u| SignedIn {
        user: &u.user,
        session: &u.session,
    });
    let url = decide(&state, params, who).await?;
    Ok(answer(&headers, &url))
}
