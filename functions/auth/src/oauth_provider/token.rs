//! `POST /oauth2/token`: an authorization code (single use; a second use revokes what the
//! first issued), a refresh token (rotated; a retired one used again revokes its grant), or
//! the client's own credentials. Bodies form-encoded (RFC 6749) or JSON (the plugin takes
//! both); client authentication HTTP Basic or in the body.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use portal_domain::crypto::{new_id, random_letters};
use portal_domain::model::User;
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::oauth::{
    AccessToken, CodeUse, Grant, RefreshToken, StandingOf, secret_key,
};
use portal_domain::store::oauth_clients::OAuthClient;
use portal_domain::store::signing_keys::SigningKey;
use portal_domain::time::{iso, now};
use portal_web::http::RequestClient;
use serde_json::{Map, Value, json};

use super::records::{find_refresh, jwt_access_key, opaque_access_key, refresh_key, user_claims};
use super::{
    ACCESS_LIFETIME, Credentials, ID_TOKEN_LIFETIME, OAuthError, OAuthResult, REFRESH_LIFETIME,
    USER_SCOPES, authenticate, check_client_scopes, check_credentials, form_value, issuer,
    no_store, pkce_required, s256, split_scopes,
};
use crate::input::Body;
use crate::limits::{AddressCount, count_address};
use crate::signing::{self, Alg};
use crate::state::AuthState;

/// What the token endpoint is asked.
struct Ask<'a> {
    state: &'a AuthState,
    body: &'a Value,
    credentials: Credentials,
    origin: Provenance,
    /// The caller's address, counted beside the grant's first read.
    address: Option<AddressCount>,
}

impl Ask<'_> {
    fn field(&self, name: &str) -> Option<&str> {
        form_value(self.body, name)
    }

    /// `read`, with the caller's address counted beside it (429 when over).
    async fn counted<T>(
        &self,
        read: impl std::future::Future<Output = OAuthResult<T>>,
    ) -> OAuthResult<T> {
        let (counted, read) =
            tokio::join!(count_address(&self.state.app, self.address.as_ref()), read);
        if let Err(limited) = counted {
            return Err(OAuthError::Limited(Box::new(limited)));
        }
        read
    }
}

/// `POST /oauth2/token`.
#[utoipa::path(
    post, path = "/oauth2/token",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "`grant_type` (`authorization_code`: `code`, `redirect_uri`, `code_verifier`; `refresh_token`: `refresh_token`, `scope?`; `client_credentials`: `scope?`), `resource?`, and the client's `client_id`/`client_secret` unless sent as HTTP Basic"),
    responses(
        (status = 200, description = "`{access_token, token_type: Bearer, expires_in, expires_at, scope, refresh_token?, id_token?}` (no-store)", body = Object),
        (status = 400, description = "`{error, error_description}`: `invalid_request`, `invalid_grant`, `invalid_scope`, `unsupported_grant_type`, `unauthorized_client`", body = portal_web::openapi::OAuthErrorBody),
        (status = 401, description = "`{error: invalid_client}`", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn token(
    State(state): State<AuthState>,
    headers: HeaderMap,
    RequestClient(from): RequestClient,
    address: Option<Extension<AddressCount>>,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.value;
    let credentials = Credentials::read(&headers, &body)?;
    let ask = Ask {
        state: &state,
        body: &body,
        credentials,
        origin: Provenance::request(&state.app.config, &from),
        address: address.map(|Extension(a)| a),
    };
    let answer = match ask.field("grant_type") {
        Some("authorization_code") => authorization_code(&ask).await?,
        Some("refresh_token") => refresh(&ask).await?,
        Some("client_credentials") => client_credentials(&ask).await?,
        None => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                "missing required grant_type",
            ));
        }
        Some(other) => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                format!("unsupported grant_type {other}"),
            ));
        }
    };
    Ok(no_store(Json(answer).into_response()))
}

fn required<'a>(ask: &'a Ask<'_>, name: &str) -> OAuthResult<&'a str> {
    ask.field(name)
        .ok_or_else(|| OAuthError::bad_request("invalid_request", format!("{name} is required")))
}

fn client_id<'a>(ask: &'a Ask<'_>) -> OAuthResult<&'a str> {
    ask.credentials
        .client_id
        .as_deref()
        .ok_or_else(|| OAuthError::bad_request("invalid_request", "client_id is required"))
}

/// RFC 7636: 43 to 128 of `[A-Za-z0-9-._~]`.
fn verifier_ok(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

async fn authorization_code(ask: &Ask<'_>) -> OAuthResult<Value> {
    let state = ask.state;
    let client_id = client_id(ask)?;
    let code = required(ask, "code")?;
    let redirect_uri = required(ask, "redirect_uri")?;
    let secret = ask.credentials.client_secret.as_deref();
    let verifier = ask.field("code_verifier");
    if secret.is_none() && verifier.is_none() {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "Either code_verifier or client_secret is required",
        ));
    }
    let at = now();
    let spend = async {
        Ok(state
            .app
            .db
            .oauth()
            .use_code(&secret_key("code", code), &iso(at))
            .await?)
    };
    let code = match ask.counted(spend).await? {
        CodeUse::First(code) => code,
        CodeUse::Again(code) => {
            // A second use: whoever holds it, what the first use issued is revoked.
            let event = Event::now(
                &ask.origin,
                "oauth.code_reused",
                Some(&code.user_id),
                Some(json!({ "clientId": code.client_id, "grantId": code.grant_id })),
            );
            state
                .app
                .db
                .oauth()
                .revoke_grant(&code.grant_id, &iso(at), Some(&event))
                .await?;
            return Err(OAuthError::invalid_grant("authorization code already used"));
        }
        CodeUse::Unknown => return Err(OAuthError::invalid_grant("Invalid code")),
    };
    if code.expires_at.as_str() < iso(at).as_str() {
        return Err(OAuthError::invalid_grant("code expired"));
    }
    if code.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "code was issued to another client",
        ));
    }
    if code.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant("redirect_uri does not match"));
    }
    // One round trip: the client (by its item id), the user, the consent, the session, and
    // the signing keys.
    let store = state.app.db.oauth();
    let sessions = state.app.db.sessions();
    let (standing, session, mut keys) = futures::try_join!(
        async {
            store
                .standing(StandingOf {
                    user_id: Some(&code.user_id),
                    client_key: &code.client_key,
                    consent_of: code
                        .consent_id
                        .as_ref()
                        .map(|_| (code.user_id.as_str(), code.client_id.as_str())),
                    ..StandingOf::default()
                })
                .await
                .map_err(OAuthError::from)
        },
        async {
            sessions
                .get(&code.session_id)
                .await
                .map_err(OAuthError::from)
        },
        async { signing::all_keys(state).await.map_err(OAuthError::from) },
    )?;
    let client = check_credentials(
        standing.client.clone(),
        client_id,
        secret,
        Some(&code.scopes),
    )?;
    if pkce_required(&client, &code.scopes).is_some() && verifier.is_none() {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "PKCE is required for this client",
        ));
    }
    match (&code.code_challenge, verifier) {
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier required because PKCE was used in authorization",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier provided but PKCE was not used in authorization",
            ));
        }
        (Some(challenge), Some(verifier)) => {
            if !verifier_ok(verifier) || &s256(verifier) != challenge {
                return Err(OAuthError::invalid_grant("code verification failed"));
            }
        }
        (None, None) => {}
    }
    let user = live_user(&standing.user, at)?;
    let session = session
        .filter(|s| !s.is_expired_at(at) && s.generation >= user.generations.sessions)
        .ok_or_else(|| OAuthError::invalid_grant("session no longer exists"))?;
    if let Some(consent_id) = &code.consent_id
        && standing
            .consent
            .as_ref()
            .is_none_or(|c| &c.id != consent_id)
    {
        return Err(OAuthError::invalid_grant("consent was withdrawn"));
    }
    let grant = Grant {
        id: code.grant_id.clone(),
        client_id: client.client_id.clone(),
        client_key: client.id.clone(),
        user_id: user.id.clone(),
        session_id: Some(session.id.clone()),
        scopes: code.scopes.clone(),
        consent_id: code.consent_id.clone(),
        auth_time: Some(code.auth_time),
        created_at: iso(at),
        expires_at: iso(at + time::Duration::seconds(REFRESH_LIFETIME)),
        revoked_at: None,
    };
    let issued = Issue {
        new_grant: true,
        nonce: code.nonce.as_deref(),
        rotating: None,
    };
    issue(ask, &mut keys, &client, user, &grant, issued).await
}

/// The user a token is for: there, and not banned.
pub fn live_user(user: &Option<User>, at: time::OffsetDateTime) -> OAuthResult<&User> {
    match user {
        Some(user) if !user.is_banned_at(at) => Ok(user),
        Some(_) => Err(OAuthError::invalid_grant("the user is banned")),
        None => Err(OAuthError::invalid_grant(
            "missing user, user may have been deleted",
        )),
    }
}

/// The `resource` asked for, checked against the audiences this provider serves (its base
/// URL and `<base>/api`, as Portal's `validAudiences`): a JWT access token for it.
fn audience(ask: &Ask<'_>, scopes: &[String]) -> OAuthResult<Option<Value>> {
    let asked: Vec<String> = match ask.body.get("resource") {
        Some(Value::String(r)) if !r.is_empty() => vec![r.clone()],
        Some(Value::Array(all)) => all
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => return Ok(None),
    };
    let base = ask
        .state
        .auth
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let userinfo = format!("{}/oauth2/userinfo", issuer(ask.state));
    let mut valid = vec![base.clone(), format!("{base}/api")];
    if scopes.iter().any(|s| s == "openid") {
        valid.push(userinfo.clone());
    }
    if let Some(bad) = asked.iter().find(|a| !valid.contains(a)) {
        return Err(OAuthError::bad_request(
            "invalid_target",
            format!("requested resource invalid: {bad}"),
        ));
    }
    let mut all = asked;
    if scopes.iter().any(|s| s == "openid") && !all.contains(&userinfo) {
        all.push(userinfo);
    }
    Ok(Some(if all.len() == 1 {
        json!(all[0])
    } else {
        json!(all)
    }))
}

/// The access token of a grant (or of a client), and its record: opaque, or a JWT when a
/// resource was asked for (its `jti` is the record's key).
async fn access_token(
    ask: &Ask<'_>,
    keys: &mut Vec<SigningKey>,
    client: &OAuthClient,
    record: &AccessToken,
    audience: Option<Value>,
) -> OAuthResult<(String, String)> {
    let Some(audience) = audience else {
        let token = random_letters(32);
        return Ok((opaque_access_key(&token), token));
    };
    let jti = new_id();
    let issued =
        portal_domain::time::parse_iso(&record.created_at).map_or(0, |t| t.unix_timestamp());
    let expires =
        portal_domain::time::parse_iso(&record.expires_at).map_or(0, |t| t.unix_timestamp());
    let mut claims = Map::new();
    if let Some(user_id) = &record.user_id {
        claims.insert("sub".into(), json!(user_id));
    }
    claims.insert("aud".into(), audience);
    claims.insert("azp".into(), json!(client.client_id));
    claims.insert("scope".into(), json!(record.scopes.join(" ")));
    if let Some(sid) = &record.session_id {
        claims.insert("sid".into(), json!(sid));
    }
    claims.insert("iss".into(), json!(issuer(ask.state)));
    claims.insert("iat".into(), json!(issued));
    claims.insert("exp".into(), json!(expires));
    claims.insert("jti".into(), json!(jti));
    let token = signing::sign_with(ask.state, keys, Alg::EdDsa, &claims).await?;
    Ok((jwt_access_key(&jti), token))
}

/// The ID token: the user's claims, `auth_time`, `acr`, `nonce`, `sid` (clients that may end
/// the session), signed with the client's algorithm.
async fn id_token(
    ask: &Ask<'_>,
    keys: &mut Vec<SigningKey>,
    client: &OAuthClient,
    user: &User,
    grant: &Grant,
    nonce: Option<&str>,
) -> OAuthResult<String> {
    let issued = now().unix_timestamp();
    let mut claims = user_claims(user, &grant.scopes);
    if let Some(auth_time) = grant.auth_time {
        claims.insert("auth_time".into(), json!(auth_time));
    }
    claims.insert("acr".into(), json!("urn:mace:incommon:iap:bronze"));
    claims.insert("iss".into(), json!(issuer(ask.state)));
    claims.insert("aud".into(), json!(client.client_id));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("iat".into(), json!(issued));
    claims.insert("exp".into(), json!(issued + ID_TOKEN_LIFETIME));
    if client.enable_end_session
        && let Some(sid) = &grant.session_id
    {
        claims.insert("sid".into(), json!(sid));
    }
    let alg = client
        .id_token_signed_response_alg
        .as_deref()
        .and_then(Alg::parse)
        .unwrap_or(Alg::EdDsa);
    Ok(signing::sign_with(ask.state, keys, alg, &claims).await?)
}

/// How tokens are issued: with a new grant (a code exchange), or replacing the refresh token
/// `rotating` names.
struct Issue<'a> {
    new_grant: bool,
    nonce: Option<&'a str>,
    rotating: Option<&'a str>,
}

/// Tokens for a user's grant: the access token, a refresh token with `offline_access` (and
/// in exchange for one), an ID token with `openid`, written in one transaction.
async fn issue(
    ask: &Ask<'_>,
    keys: &mut Vec<SigningKey>,
    client: &OAuthClient,
    user: &User,
    grant: &Grant,
    how: Issue<'_>,
) -> OAuthResult<Value> {
    let Issue {
        new_grant,
        nonce,
        rotating,
    } = how;
    let at = now();
    let scopes = &grant.scopes;
    let record = AccessToken {
        grant_id: Some(grant.id.clone()),
        client_id: client.client_id.clone(),
        client_key: client.id.clone(),
        user_id: Some(user.id.clone()),
        session_id: grant.session_id.clone(),
        scopes: scopes.clone(),
        consent_id: grant.consent_id.clone(),
        created_at: iso(at),
        expires_at: iso(at + time::Duration::seconds(ACCESS_LIFETIME)),
    };
    let audience = audience(ask, scopes)?;
    let (access_key, access) = access_token(ask, keys, client, &record, audience).await?;
    // A refresh token with `offline_access`; and a new one for each one exchanged.
    let with_refresh = rotating.is_some() || scopes.iter().any(|s| s == "offline_access");
    let refresh = with_refresh.then(|| {
        let token = random_letters(32);
        let record = RefreshToken {
            grant_id: grant.id.clone(),
            client_id: client.client_id.clone(),
            client_key: client.id.clone(),
            consent_id: grant.consent_id.clone(),
            user_id: user.id.clone(),
            scopes: scopes.clone(),
            created_at: iso(at),
            expires_at: iso(at + time::Duration::seconds(REFRESH_LIFETIME)),
            rotated_at: None,
        };
        (refresh_key(&token), token, record)
    });
    let id_token = if scopes.iter().any(|s| s == "openid") {
        Some(id_token(ask, keys, client, user, grant, nonce).await?)
    } else {
        None
    };
    let store = ask.state.app.db.oauth();
    match (rotating, &refresh) {
        (Some(old), Some((key, _, record_rt))) => {
            let done = store
                .rotate(
                    old,
                    &grant.id,
                    &iso(at + time::Duration::seconds(REFRESH_LIFETIME)),
                    (&access_key, &record),
                    (key, record_rt),
                )
                .await?;
            if !done {
                return Err(rotation_lost(ask, old, grant).await);
            }
        }
        _ => {
            store
                .issue(
                    new_grant.then_some(grant),
                    (&access_key, &record),
                    refresh.as_ref().map(|(key, _, r)| (key.as_str(), r)),
                )
                .await?;
        }
    }
    let mut answer = json!({
        "access_token": access,
        "expires_in": ACCESS_LIFETIME,
        "expires_at": at.unix_timestamp() + ACCESS_LIFETIME,
        "token_type": "Bearer",
        "scope": scopes.join(" "),
    });
    if let Some((_, token, _)) = refresh {
        answer["refresh_token"] = json!(token);
    }
    if let Some(id_token) = id_token {
        answer["id_token"] = json!(id_token);
    }
    Ok(answer)
}

/// A rotation that lost: the refresh token was used twice at once (a reuse: the grant is
/// revoked), or the grant was revoked meanwhile.
async fn rotation_lost(ask: &Ask<'_>, old: &str, grant: &Grant) -> OAuthError {
    let store = ask.state.app.db.oauth();
    if let Ok(Some(token)) = store.refresh_token(old).await
        && token.rotated_at.is_some()
    {
        let _ = revoke_for_reuse(ask, grant).await;
    }
    OAuthError::invalid_grant("invalid refresh token")
}

async fn revoke_for_reuse(ask: &Ask<'_>, grant: &Grant) -> OAuthResult<()> {
    let event = Event::now(
        &ask.origin,
        "oauth.refresh_token_reused",
        Some(&grant.user_id),
        Some(json!({ "clientId": grant.client_id, "grantId": grant.id })),
    );
    ask.state
        .app
        .db
        .oauth()
        .revoke_grant(&grant.id, &iso(now()), Some(&event))
        .await?;
    Ok(())
}

async fn refresh(ask: &Ask<'_>) -> OAuthResult<Value> {
    let state = ask.state;
    let client_id = client_id(ask)?;
    let presented = required(ask, "refresh_token")?;
    let store = state.app.db.oauth();
    let (key, token) = ask
        .counted(async { Ok(find_refresh(&store, presented).await?) })
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("invalid refresh token"))?;
    if token.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "refresh token was issued to another client",
        ));
    }
    let at = now();
    if token.expires_at.as_str() < iso(at).as_str() {
        return Err(OAuthError::invalid_grant("invalid refresh token"));
    }
    // One round trip: the grant, the client, the user, the consent, and the signing keys.
    let (standing, mut keys) = futures::try_join!(
        async {
            store
                .standing(StandingOf {
                    user_id: Some(&token.user_id),
                    client_key: &token.client_key,
                    grant_id: Some(&token.grant_id),
                    consent_of: token
                        .consent_id
                        .as_ref()
                        .map(|_| (token.user_id.as_str(), token.client_id.as_str())),
                    integrations: &[],
                })
                .await
                .map_err(OAuthError::from)
        },
        async { signing::all_keys(state).await.map_err(OAuthError::from) },
    )?;
    let grant = standing
        .grant
        .clone()
        .ok_or_else(|| OAuthError::invalid_grant("invalid refresh token"))?;
    if token.rotated_at.is_some() {
        revoke_for_reuse(ask, &grant).await?;
        return Err(OAuthError::invalid_grant("invalid refresh token"));
    }
    if grant.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("invalid refresh token"));
    }
    let scopes = match ask.field("scope") {
        Some(raw) => {
            let asked = split_scopes(raw);
            if let Some(bad) = asked.iter().find(|s| !token.scopes.contains(s)) {
                return Err(OAuthError::bad_request(
                    "invalid_scope",
                    format!("unable to issue scope {bad}"),
                ));
            }
            asked
        }
        None => token.scopes.clone(),
    };
    let secret = ask.credentials.client_secret.as_deref();
    let client = check_credentials(standing.client.clone(), client_id, secret, Some(&scopes))?;
    let user = live_user(&standing.user, at)?;
    if let Some(consent_id) = &grant.consent_id
        && standing
            .consent
            .as_ref()
            .is_none_or(|c| &c.id != consent_id || !scopes.iter().all(|s| c.scopes.contains(s)))
    {
        return Err(OAuthError::invalid_grant("consent was withdrawn"));
    }
    let mut narrowed = grant.clone();
    narrowed.scopes = scopes;
    let issued = Issue {
        new_grant: false,
        nonce: None,
        rotating: Some(&key),
    };
    issue(ask, &mut keys, &client, user, &narrowed, issued).await
}

async fn client_credentials(ask: &Ask<'_>) -> OAuthResult<Value> {
    let state = ask.state;
    let client_id =
        ask.credentials.client_id.as_deref().ok_or_else(|| {
            OAuthError::bad_request("invalid_request", "Missing required client_id")
        })?;
    let secret = ask.credentials.client_secret.as_deref().ok_or_else(|| {
        OAuthError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Missing a required client_secret",
        )
    })?;
    let client = authenticate(state, client_id, Some(secret), None).await?;
    if !client
        .grant_types()
        .iter()
        .any(|g| g == "client_credentials")
    {
        return Err(OAuthError::bad_request(
            "unauthorized_client",
            "this client may not use the client_credentials grant",
        ));
    }
    let scopes = match ask.field("scope") {
        Some(raw) => {
            let asked = split_scopes(raw);
            let invalid: Vec<&str> = asked
                .iter()
                .filter(|s| USER_SCOPES.contains(&s.as_str()))
                .map(String::as_str)
                .collect();
            if !invalid.is_empty() {
                return Err(OAuthError::bad_request(
                    "invalid_scope",
                    format!("The following scopes are invalid: {}", invalid.join(", ")),
                ));
            }
            check_client_scopes(&client, &asked)?;
            asked
        }
        None => super::allowed_scopes(&client)
            .into_iter()
            .filter(|s| !USER_SCOPES.contains(&s.as_str()))
            .collect(),
    };
    let at = now();
    let record = AccessToken {
        grant_id: None,
        client_id: client.client_id.clone(),
        client_key: client.id.clone(),
        user_id: None,
        session_id: None,
        scopes: scopes.clone(),
        consent_id: None,
        created_at: iso(at),
        expires_at: iso(at + time::Duration::seconds(ACCESS_LIFETIME)),
    };
    let audience = audience(ask, &scopes)?;
    let mut keys = match audience {
        Some(_) => signing::all_keys(state).await?,
        None => Vec::new(),
    };
    let (key, access) = access_token(ask, &mut keys, &client, &record, audience).await?;
    state
        .app
        .db
        .oauth()
        .issue(None, (&key, &record), None)
        .await?;
    Ok(json!({
        "access_token": access,
        "expires_in": ACCESS_LIFETIME,
        "expires_at": at.unix_timestamp() + ACCESS_LIFETIME,
        "token_type": "Bearer",
        "scope": scopes.join(" "),
    }))
}
