//! What a relying party does with its tokens: `/oauth2/userinfo`, `/oauth2/introspect`,
//! `/oauth2/revoke`, `/oauth2/end-session`; and the one check every access token passes
//! ([`check_access`]): its record, then its grant, user, client and consent in ONE
//! BatchGetItem. A revoked grant, a banned or deleted user, a disabled or deleted client, or
//! a withdrawn consent stops the token on the next request.

use axum::extract::{RawQuery, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::oauth::{AccessToken, RefreshToken, Standing, StandingOf};
use portal_domain::store::oauth_clients::OAuthClient;
use portal_domain::time::{iso, now, parse_iso};
use portal_web::http::RequestClient;
use serde_json::{Map, Value, json};

use super::authorize::Params;
use super::records::{find_refresh, jwt_access_key, opaque_access_key, user_claims};
use super::{Credentials, OAuthError, OAuthResult, authenticate, form_value, issuer, no_store};
use crate::input::Body;
use crate::limits::{AddressCount, count_address};
use crate::signing;
use crate::state::AuthState;
use crate::views::redirect;

/// A live access token: its record, what it depends on, and (a JWT's) verified claims.
pub struct Active {
    pub record: AccessToken,
    pub standing: Standing,
    pub claims: Option<Map<String, Value>>,
}

/// Why a token does not work (never said in more detail to its bearer).
const INACTIVE: &str = "the access token is not active";

/// Whether `standing` lets a token of `record` work now.
fn stands(
    record_user: Option<&str>,
    consent_id: Option<&str>,
    scopes: &[String],
    standing: &Standing,
) -> bool {
    let at = now();
    let client_ok = standing.client.as_ref().is_some_and(|c| !c.disabled);
    let user_ok = match record_user {
        Some(_) => standing.user.as_ref().is_some_and(|u| !u.is_banned_at(at)),
        None => true,
    };
    let grant_ok = standing
        .grant
        .as_ref()
        .is_none_or(|g| g.revoked_at.is_none());
    let consent_ok = match consent_id {
        Some(id) => standing
            .consent
            .as_ref()
            .is_some_and(|c| c.id == id && scopes.iter().all(|s| c.scopes.contains(s))),
        None => true,
    };
    client_ok && user_ok && grant_ok && consent_ok
}

/// The access token `token` if it works now; `None` otherwise. `integrations`: the user's
/// claims on these are read in the same batch (userinfo's `xmpp`/`irc` claims).
pub async fn check_access(
    state: &AuthState,
    token: &str,
    integrations: &[&str],
) -> OAuthResult<Option<Active>> {
    let db = &state.app.db;
    let store = db.oauth();
    // A JWT (three parts, a `kid`): its signature first, then its record by `jti`.
    let jwt = signing::peek(token).filter(|(header, _)| header.contains_key("kid"));
    let (record, claims) = match jwt {
        Some((_, unverified)) => {
            let Some(jti) = unverified.get("jti").and_then(Value::as_str) else {
                return Ok(None);
            };
            let (keys, record) = futures::try_join!(
                async { signing::all_keys(state).await.map_err(OAuthError::from) },
                async {
                    store
                        .access_token(&jwt_access_key(jti))
                        .await
                        .map_err(OAuthError::from)
                },
            )?;
            let Some(claims) = signing::verify(&keys, token) else {
                return Ok(None);
            };
            if claims.get("iss").and_then(Value::as_str) != Some(issuer(state).as_str()) {
                return Ok(None);
            }
            (record, Some(claims))
        }
        None => (store.access_token(&opaque_access_key(token)).await?, None),
    };
    let Some(record) = record else {
        return Ok(None);
    };
    if parse_iso(&record.expires_at).is_none_or(|exp| exp <= now()) {
        return Ok(None);
    }
    let standing = store
        .standing(StandingOf {
            user_id: record.user_id.as_deref(),
            client_key: &record.client_key,
            grant_id: record.grant_id.as_deref(),
            consent_of: record
                .consent_id
                .as_ref()
                .zip(record.user_id.as_ref())
                .map(|(_, user)| (user.as_str(), record.client_id.as_str())),
            integrations,
        })
        .await?;
    if record.grant_id.is_some() && standing.grant.is_none() {
        return Ok(None);
    }
    if !stands(
        record.user_id.as_deref(),
        record.consent_id.as_deref(),
        &record.scopes,
        &standing,
    ) {
        return Ok(None);
    }
    Ok(Some(Active {
        record,
        standing,
        claims,
    }))
}

/// The bearer token of a request (`Authorization: Bearer ...`), or a body's
/// `access_token` (RFC 6750 form parameter).
fn bearer(headers: &HeaderMap, body: &Value) -> Option<String> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_string())
        .or_else(|| form_value(body, "access_token").map(str::to_string))
        .filter(|t| !t.is_empty())
}

/// The claims the `xmpp` and `irc` scopes add, from the accounts whose claims the token
/// check read (one more batch): the user's XMPP username (their account there, unless it is
/// being made or was deleted) and IRC nick (an active account).
async fn service_claims(state: &AuthState, active: &Active) -> OAuthResult<Map<String, Value>> {
    let ids: Vec<&str> = active
        .standing
        .accounts
        .iter()
        .map(|(_, id)| id.as_str())
        .collect();
    let accounts = state.app.db.integration_accounts().get_many(&ids).await?;
    let mut claims = Map::new();
    for account in accounts {
        if Some(account.user_id.as_str()) != active.record.user_id.as_deref() {
            continue;
        }
        match account.integration_id.as_str() {
            "xmpp" if account.is_live() => {
                claims.insert("xmpp_username".into(), json!(account.username));
            }
            "irc" if account.status == "active" => {
                claims.insert("irc_nick".into(), json!(account.username));
            }
            _ => {}
        }
    }
    Ok(claims)
}

/// `GET|POST /oauth2/userinfo`: the signed-in user's claims, as the token's scopes allow
/// (`openid` required), with `xmpp_username` / `irc_nick` for the `xmpp` / `irc` scopes.
#[utoipa::path(
    get, path = "/oauth2/userinfo", security(("bearer" = [])),
    responses(
        (status = 200, description = "`{sub, name?, picture?, given_name?, family_name?, email?, email_verified?, xmpp_username?, irc_nick?}`", body = Object),
        (status = 401, description = "`{error: invalid_token}` (with `WWW-Authenticate`): missing, unknown, expired or revoked", body = portal_web::openapi::OAuthErrorBody),
        (status = 403, description = "`{error: insufficient_scope}`: no `openid` scope", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn userinfo(
    State(state): State<AuthState>,
    headers: HeaderMap,
    address: Option<Extension<AddressCount>>,
) -> OAuthResult<Response> {
    let address = address.map(|Extension(a)| a);
    userinfo_of(&state, &headers, &Value::Null, address.as_ref()).await
}

/// `POST /oauth2/userinfo` (OpenID Connect allows both).
#[utoipa::path(
    post, path = "/oauth2/userinfo", security(("bearer" = [])),
    responses(
        (status = 200, description = "As GET", body = Object),
        (status = 401, description = "`{error: invalid_token}`", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn userinfo_post(
    State(state): State<AuthState>,
    headers: HeaderMap,
    address: Option<Extension<AddressCount>>,
    body: Body,
) -> OAuthResult<Response> {
    let address = address.map(|Extension(a)| a);
    userinfo_of(&state, &headers, &body.value, address.as_ref()).await
}

/// Userinfo: the caller's address counted beside the token's first read.
async fn userinfo_of(
    state: &AuthState,
    headers: &HeaderMap,
    body: &Value,
    address: Option<&AddressCount>,
) -> OAuthResult<Response> {
    let Some(token) = bearer(headers, body) else {
        return Err(OAuthError::invalid_token("authorization header not found"));
    };
    let (counted, active) = tokio::join!(
        count_address(&state.app, address),
        check_access(state, &token, &["xmpp", "irc"])
    );
    if let Err(limited) = counted {
        return Err(OAuthError::Limited(Box::new(limited)));
    }
    let Some(active) = active? else {
        return Err(OAuthError::invalid_token(INACTIVE));
    };
    let scopes = &active.record.scopes;
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::Protocol {
            status: StatusCode::FORBIDDEN,
            error: "insufficient_scope",
            description: "Missing required scope".into(),
            bearer: true,
        });
    }
    let Some(user) = &active.standing.user else {
        return Err(OAuthError::invalid_token(INACTIVE));
    };
    let mut claims = user_claims(user, scopes);
    let wanted = |s: &str| scopes.iter().any(|x| x == s);
    if wanted("xmpp") || wanted("irc") {
        let mut services = service_claims(state, &active).await?;
        if !wanted("xmpp") {
            services.remove("xmpp_username");
        }
        if !wanted("irc") {
            services.remove("irc_nick");
        }
        claims.extend(services);
    }
    Ok(no_store(Json(Value::Object(claims)).into_response()))
}

/// The credentials of the client calling introspection or revocation, present
/// (introspection: with its secret, as the plugin requires); checked by [`authenticate`]
/// beside the token's own reads.
fn caller_credentials(
    headers: &HeaderMap,
    body: &Value,
    secret_required: bool,
) -> OAuthResult<(String, Option<String>)> {
    let credentials = Credentials::read(headers, body)?;
    let missing = || {
        OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "missing required credentials",
        )
    };
    let client_id = credentials.client_id.ok_or_else(missing)?;
    if secret_required && credentials.client_secret.is_none() {
        return Err(missing());
    }
    Ok((client_id, credentials.client_secret))
}

/// The calling client authenticated, and the token checked as an access token and read as
/// a refresh token (each when asked): the three do not depend on each other.
async fn caller_and_token(
    state: &AuthState,
    (client_id, secret): &(String, Option<String>),
    token: &str,
    (as_access, as_refresh): (bool, bool),
) -> OAuthResult<(OAuthClient, Option<Active>, Option<RefreshToken>)> {
    let store = state.app.db.oauth();
    futures::try_join!(
        authenticate(state, client_id, secret.as_deref(), None),
        async {
            if !as_access {
                return Ok(None);
            }
            check_access(state, token, &[]).await
        },
        async {
            if !as_refresh {
                return Ok(None);
            }
            Ok(find_refresh(&store, token).await?.map(|(_, found)| found))
        },
    )
}

fn token_of(body: &Value) -> OAuthResult<String> {
    form_value(body, "token")
        .map(|t| t.strip_prefix("Bearer ").unwrap_or(t).to_string())
        .ok_or_else(|| {
            OAuthError::bad_request(
                "invalid_request",
                "missing a required token for introspection",
            )
        })
}

fn seconds(iso_at: &str) -> i64 {
    parse_iso(iso_at).map_or(0, |t| t.unix_timestamp())
}

/// `POST /oauth2/introspect` (RFC 7662): whether a token issued to the calling client works
/// now, and what it says.
#[utoipa::path(
    post, path = "/oauth2/introspect",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "`token`, `token_type_hint?` (`access_token` | `refresh_token`), the client's credentials (HTTP Basic or in the body)"),
    responses(
        (status = 200, description = "`{active: false}`, or `{active: true, client_id, sub?, scope, exp, iat, iss, sid?, token_type}`", body = Object),
        (status = 401, description = "`{error: invalid_client}`", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn introspect(
    State(state): State<AuthState>,
    headers: HeaderMap,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.value;
    let credentials = caller_credentials(&headers, &body, true)?;
    let token = token_of(&body)?;
    let hint = form_value(&body, "token_type_hint");
    let (as_access, as_refresh) = (hint != Some("refresh_token"), hint != Some("access_token"));
    let (client, active, refresh) =
        caller_and_token(&state, &credentials, &token, (as_access, as_refresh)).await?;
    let inactive = || Ok(no_store(Json(json!({ "active": false })).into_response()));
    if let Some(active) = active {
        if active.record.client_id != client.client_id {
            return inactive();
        }
        let record = &active.record;
        let mut answer = json!({
            "active": true,
            "client_id": record.client_id,
            "scope": record.scopes.join(" "),
            "exp": seconds(&record.expires_at),
            "iat": seconds(&record.created_at),
            "iss": issuer(&state),
            "token_type": "Bearer",
        });
        if let Some(user) = &record.user_id {
            answer["sub"] = json!(user);
        }
        if let Some(sid) = &record.session_id {
            answer["sid"] = json!(sid);
        }
        if let Some(aud) = active.claims.as_ref().and_then(|c| c.get("aud")) {
            answer["aud"] = aud.clone();
        }
        return Ok(no_store(Json(answer).into_response()));
    }
    if hint != Some("access_token") {
        let store = state.app.db.oauth();
        if let Some(refresh) = refresh
            && refresh.client_id == client.client_id
            && refresh.rotated_at.is_none()
            && parse_iso(&refresh.expires_at).is_some_and(|exp| exp > now())
        {
            let standing = store
                .standing(StandingOf {
                    user_id: Some(&refresh.user_id),
                    client_key: &refresh.client_key,
                    grant_id: Some(&refresh.grant_id),
                    consent_of: refresh
                        .consent_id
                        .as_ref()
                        .map(|_| (refresh.user_id.as_str(), client.client_id.as_str())),
                    integrations: &[],
                })
                .await?;
            if standing.grant.is_some()
                && stands(
                    Some(&refresh.user_id),
                    refresh.consent_id.as_deref(),
                    &refresh.scopes,
                    &standing,
                )
            {
                let answer = json!({
                    "active": true,
                    "client_id": client.client_id,
                    "sub": refresh.user_id,
                    "scope": refresh.scopes.join(" "),
                    "exp": seconds(&refresh.expires_at),
                    "iat": seconds(&refresh.created_at),
                    "iss": issuer(&state),
                    "token_type": "refresh_token",
                });
                return Ok(no_store(Json(answer).into_response()));
            }
        }
    }
    inactive()
}

/// `POST /oauth2/revoke` (RFC 7009): a refresh token revokes its whole grant (every access
/// token of it stops too); an access token is deleted. Always 200 for a token the client
/// does not hold (nothing is said about others' tokens).
#[utoipa::path(
    post, path = "/oauth2/revoke",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "`token`, `token_type_hint?`, the client's credentials"),
    responses(
        (status = 200, description = "Revoked (or not the caller's to revoke)", body = Object),
        (status = 401, description = "`{error: invalid_client}`", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AuthState>,
    headers: HeaderMap,
    RequestClient(from): RequestClient,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.value;
    let credentials = caller_credentials(&headers, &body, false)?;
    let token = token_of(&body)?;
    let hint = form_value(&body, "token_type_hint");
    let origin = Provenance::request(&state.app.config, &from);
    let store = state.app.db.oauth();
    let at = iso(now());
    let done = || Ok(no_store(Json(Value::Null).into_response()));
    // The client's authentication and the refresh token's record, read together (the
    // access token's record is read below only when no refresh token matched).
    let as_refresh = hint != Some("access_token");
    let (client, _, refresh) =
        caller_and_token(&state, &credentials, &token, (false, as_refresh)).await?;
    if let Some(refresh) = refresh {
        if refresh.client_id == client.client_id {
            let event = Event::now(
                &origin,
                "oauth.token_revoked",
                Some(&refresh.user_id),
                Some(
                    json!({ "clientId": client.client_id, "grantId": refresh.grant_id, "tokenType": "refresh_token" }),
                ),
            );
            store
                .revoke_grant(&refresh.grant_id, &at, Some(&event))
                .await?;
        }
        return done();
    }
    if hint != Some("refresh_token") {
        let key = match signing::peek(&token) {
            Some((_, claims)) => claims
                .get("jti")
                .and_then(Value::as_str)
                .map(jwt_access_key),
            None => Some(opaque_access_key(&token)),
        };
        if let Some(key) = key
            && let Some(record) = store.access_token(&key).await?
            && record.client_id == client.client_id
        {
            let event = Event::now(
                &origin,
                "oauth.token_revoked",
                record.user_id.as_deref(),
                Some(
                    json!({ "clientId": client.client_id, "grantId": record.grant_id, "tokenType": "access_token" }),
                ),
            );
            store.delete_access_token(&key, Some(&event)).await?;
        }
    }
    done()
}

/// `GET /oauth2/end-session` (RP-initiated logout): the session the ID token names ends;
/// the browser goes to the client's registered `post_logout_redirect_uri` (with `state`).
#[utoipa::path(
    get, path = "/oauth2/end-session",
    params(
        ("id_token_hint" = String, Query, description = "An ID token Portal issued to the client (expired ones are accepted)"),
        ("client_id" = Option<String>, Query),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "Followed only when the client registered it"),
        ("state" = Option<String>, Query),
    ),
    responses(
        (status = 302, description = "To the registered post-logout URI"),
        (status = 200, description = "Signed out (no registered URI given)", body = Object),
        (status = 400, description = "`{error: invalid_client | invalid_request}`", body = portal_web::openapi::OAuthErrorBody),
        (status = 401, description = "`{error: invalid_token | invalid_client}`: a bad hint, or a client without end-session", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn end_session(
    State(state): State<AuthState>,
    RequestClient(from): RequestClient,
    RawQuery(query): RawQuery,
) -> OAuthResult<Response> {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    let bad_hint = || {
        OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "invalid id token",
        )
    };
    let hint = params.get("id_token_hint").ok_or_else(bad_hint)?;
    let (_, unverified) = signing::peek(hint).ok_or_else(bad_hint)?;
    let client_id = match params.get("client_id") {
        Some(id) => id.to_string(),
        None => match unverified.get("aud") {
            Some(Value::String(aud)) => aud.clone(),
            _ => return Err(bad_hint()),
        },
    };
    // The client and the signing keys do not depend on each other: read together.
    let clients = state.app.db.oauth_clients();
    let (client, keys) = futures::try_join!(
        async {
            clients
                .by_client_id(&client_id)
                .await
                .map_err(OAuthError::from)
        },
        async { signing::all_keys(&state).await.map_err(OAuthError::from) },
    )?;
    let client =
        client.ok_or_else(|| OAuthError::bad_request("invalid_client", "client doesn't exist"))?;
    if client.disabled {
        return Err(OAuthError::bad_request(
            "invalid_client",
            "client is disabled",
        ));
    }
    if !client.enable_end_session {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client unable to logout",
        ));
    }
    let claims = signing::verify(&keys, hint).ok_or_else(bad_hint)?;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer(&state).as_str()) {
        return Err(OAuthError::bad_request("invalid_request", "invalid issuer"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == &client.client_id,
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(&client.client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "audience mismatch",
        ));
    }
    let sid = claims
        .get("sid")
        .and_then(Value::as_str)
        .ok_or_else(|| OAuthError::bad_request("invalid_request", "id token missing session"))?;
    let sessions = state.app.db.sessions();
    if let Some(session) = sessions.get(sid).await? {
        let origin = Provenance::request(&state.app.config, &from).as_user(&session.user_id);
        sessions.revoke_read(&session, &origin).await?;
    }
    if let Some(uri) = params.get("post_logout_redirect_uri")
        && client.post_logout_redirect_uris.iter().any(|r| r == uri)
        && let Ok(mut url) = url::Url::parse(uri)
    {
        if let Some(s) = params.get("state") {
            url.query_pairs_mut().append_pair("state", s);
        }
        return Ok(redirect(url.as_str()));
    }
    Ok(no_store(Json(Value::Null).into_response()))
}
