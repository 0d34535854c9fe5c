//! A fake OAuth 2.0 provider speaking Discord's wire (`/api/oauth2/authorize`,
//! `/api/oauth2/token`, `/api/users/@me`) or Mailcow's (`/oauth/authorize`, `/oauth/token`,
//! `/oauth/profile`): the authorization page consents at once (a 302 back with a code), the
//! token endpoint checks the client's credentials, the redirect URI and the PKCE verifier,
//! and the profile endpoint answers for the access token. Who signs in, and the failures
//! (the token endpoint refusing, the profile endpoint down), are the test's to set.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::upstream::serve;

/// Which provider's wire the fake speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Discord,
    Mailcow,
}

/// The person signed in at the provider.
#[derive(Debug, Clone)]
pub struct ProviderUser {
    pub id: String,
    pub email: String,
    pub verified: bool,
    pub name: String,
}

struct Grant {
    redirect_uri: String,
    challenge: Option<String>,
    user: ProviderUser,
}

#[derive(Default)]
struct Inner {
    user: Option<ProviderUser>,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, ProviderUser>,
    refresh: HashMap<String, ProviderUser>,
    last_access_token: Option<String>,
    token_failure: Option<(u16, Value)>,
    profile_down: bool,
    exchanges: usize,
}

#[derive(Clone)]
struct Shared {
    wire: Wire,
    client_id: String,
    client_secret: String,
    inner: Arc<Mutex<Inner>>,
}

pub struct FakeOAuthProvider {
    pub addr: std::net::SocketAddr,
    control: OAuthControl,
    task: tokio::task::JoinHandle<()>,
}

/// What a test (or `portal-fakes`) controls of a fake provider: who is signed in there,
/// and its failures.
#[derive(Clone)]
pub struct OAuthControl {
    shared: Shared,
}

impl std::ops::Deref for FakeOAuthProvider {
    type Target = OAuthControl;

    fn deref(&self) -> &OAuthControl {
        &self.control
    }
}

/// The provider's routes (to serve alone, or beside another fake on the same host: Mailcow
/// serves its OAuth endpoints beside its API).
pub(crate) fn routes(wire: Wire) -> (Router, OAuthControl) {
    let shared = Shared {
        wire,
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        inner: Arc::new(Mutex::new(Inner::default())),
    };
    let (authorize_path, token_path, profile_path) = match wire {
        Wire::Discord => (
            "/api/oauth2/authorize",
            "/api/oauth2/token",
            "/api/users/@me",
        ),
        Wire::Mailcow => ("/oauth/authorize", "/oauth/token", "/oauth/profile"),
    };
    let app = Router::new()
        .route(authorize_path, get(authorize))
        .route(token_path, post(token))
        .route(profile_path, get(profile))
        .with_state(shared.clone());
    (app, OAuthControl { shared })
}

impl Drop for FakeOAuthProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub const CLIENT_ID: &str = "portal-client";
pub const CLIENT_SECRET: &str = "portal-client-secret";

fn random(n: usize) -> String {
    portal_domain::crypto::random_alphanumeric(n)
}

async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != s.client_id || get("response_type") != "code" {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let Some(user) = s.inner.lock().unwrap().user.clone() else {
        return (StatusCode::UNAUTHORIZED, "nobody signed in at the provider").into_response();
    };
    let challenge = match (q.get("code_challenge"), q.get("code_challenge_method")) {
        (Some(c), Some(m)) if m == "S256" => Some(c.clone()),
        _ => None,
    };
    let code = random(24);
    let redirect_uri = get("redirect_uri");
    s.inner.lock().unwrap().codes.insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.clone(),
            challenge,
            user,
        },
    );
    let mut back = url::Url::parse(&redirect_uri).expect("a redirect URI");
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    Redirect::temporary(back.as_str()).into_response()
}

fn oauth_error(status: u16, error: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"error": error})),
    )
        .into_response()
}

async fn token(State(s): State<Shared>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut inner = s.inner.lock().unwrap();
    if let Some((status, body)) = inner.token_failure.clone() {
        return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    }
    if get("client_id") != s.client_id || get("client_secret") != s.client_secret {
        return oauth_error(401, "invalid_client");
    }
    let user = match get("grant_type").as_str() {
        "authorization_code" => {
            let Some(grant) = inner.codes.remove(&get("code")) else {
                return oauth_error(400, "invalid_grant");
            };
            if grant.redirect_uri != get("redirect_uri") {
                return oauth_error(400, "invalid_grant");
            }
            let verified = match &grant.challenge {
                Some(c) => {
                    portal_domain::crypto::sha256_b64url(get("code_verifier").as_bytes()) == *c
                }
                None => false,
            };
            if !verified {
                return oauth_error(400, "invalid_grant");
            }
            grant.user
        }
        "refresh_token" => match inner.refresh.remove(&get("refresh_token")) {
            Some(user) => user,
            None => return oauth_error(400, "invalid_grant"),
        },
        _ => return oauth_error(400, "unsupported_grant_type"),
    };
    inner.exchanges += 1;
    let (access, refresh) = (random(30), random(30));
    inner.last_access_token = Some(access.clone());
    inner.tokens.insert(access.clone(), user.clone());
    inner.refresh.insert(refresh.clone(), user);
    let scope = match s.wire {
        Wire::Discord => "identify email",
        Wire::Mailcow => "profile",
    };
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 604800,
        "refresh_token": refresh,
        "scope": scope,
    }))
    .into_response()
}

async fn profile(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let inner = s.inner.lock().unwrap();
    if inner.profile_down {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Some(user) = inner.tokens.get(token) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "401: Unauthorized"})),
        )
            .into_response();
    };
    let body = match s.wire {
        Wire::Discord => json!({
            "id": user.id,
            "username": user.name.to_lowercase().replace(' ', ""),
            "discriminator": "0",
            "global_name": user.name,
            "avatar": "a1b2c3",
            "email": user.email,
            "verified": user.verified,
            "mfa_enabled": false,
            "locale": "en-US",
            "flags": 0,
        }),
        // Mailcow's /oauth/profile (its mailbox: always a verified address).
        Wire::Mailcow => json!({
            "success": true,
            "id": 7,
            "identifier": user.email,
            "username": user.email,
            "email": user.email,
            "full_name": user.name,
            "displayName": user.name,
            "created": "2024-01-01 00:00:00",
            "modified": null,
            "active": 1,
        }),
    };
    Json(body).into_response()
}

impl FakeOAuthProvider {
    pub async fn start(wire: Wire) -> Self {
        let (app, control) = routes(wire);
        let (addr, task) = serve(app).await;
        Self {
            addr,
            control,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl OAuthControl {
    /// Who the provider says is signed in (who the next authorization is for).
    pub fn sign_in_as(&self, id: &str, email: &str, verified: bool, name: &str) {
        self.shared.inner.lock().unwrap().user = Some(ProviderUser {
            id: id.into(),
            email: email.into(),
            verified,
            name: name.into(),
        });
    }

    /// The token endpoint answers `status` with `body` from now on.
    pub fn refuse_tokens(&self, status: u16, body: Value) {
        self.shared.inner.lock().unwrap().token_failure = Some((status, body));
    }

    /// The profile endpoint is down (503) from now on.
    pub fn profile_down(&self) {
        self.shared.inner.lock().unwrap().profile_down = true;
    }

    /// The access token it issued last.
    pub fn last_access_token(&self) -> Option<String> {
        self.shared.inner.lock().unwrap().last_access_token.clone()
    }

    /// Follows an authorization URL as the person's browser would: the provider consents
    /// at once and answers the redirect back (its `Location`).
    pub async fn consent(&self, authorization_url: &str) -> String {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let res = client
            .get(authorization_url)
            .send()
            .await
            .expect("the fake answers");
        assert!(res.status().is_redirection(), "the fake provider consents");
        res.headers()["location"].to_str().unwrap().to_string()
    }

    /// How many tokens it issued (code and refresh exchanges).
    pub fn exchanges(&self) -> usize {
        self.shared.inner.lock().unwrap().exchanges
    }
}
