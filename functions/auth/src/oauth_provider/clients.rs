//! The plugin's client routes (RFC 7591 shapes): `/oauth2/register` (dynamic
//! registration), `/oauth2/create-client`, `/oauth2/get-client`, `/oauth2/get-clients`,
//! `/oauth2/public-client`, `/oauth2/update-client`, `/oauth2/client/rotate-secret`,
//! `/oauth2/delete-client`.
//!
//! Registration is CLOSED unless the operator opens it (`PORTAL_OAUTH_CLIENT_REGISTRATION`:
//! `closed`, the default: only roles granted `Power::ManageOAuthClients`; `signed-in`;
//! `open`: anyone may register a public client, counted per address). A client registered
//! here belongs to the user who registered it: only they see and change it here (the
//! plugin's rule); operators manage every client through `/api/admin/oauth-clients`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portal_domain::config::ClientRegistration;
use portal_domain::crypto::{new_id, random_letters, sha256_hex};
use portal_domain::model::Power;
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::oauth_clients::{GRANT_TYPES, OAuthClient, redirect_uri_allowed};
use portal_domain::time::{iso, now, parse_iso};
use portal_web::http::RequestClient;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

use super::{OAuthError, OAuthResult, SCOPES, no_store, split_scopes};
use crate::admin::SignedIn;
use crate::error::AuthError;
use crate::extract::{Caller, SessionUser};
use crate::input::{Body, Fields};
use crate::state::AuthState;
use portal_domain::model::User;
use portal_services::moderation::Identity;

const MAX_URIS: usize = 20;

/// A client as the plugin shows it (`schemaToOAuth`); the secret only when just made.
pub fn wire(client: &OAuthClient, secret: Option<&str>) -> Value {
    let mut out = Map::new();
    if let Some(Value::Object(extra)) = &client.about.metadata {
        out.extend(extra.clone());
    }
    let mut put = |name: &str, value: Value| {
        if !value.is_null() {
            out.insert(name.into(), value);
        }
    };
    put("client_id", json!(client.client_id));
    if let Some(secret) = secret {
        put("client_secret", json!(secret));
    }
    if !client.is_public() {
        put(
            "client_secret_expires_at",
            json!(client.client_secret_expires_at.unwrap_or(0)),
        );
    }
    put("scope", json!(client.scopes.as_ref().map(|s| s.join(" "))));
    put("user_id", json!(client.owner_user_id));
    put(
        "client_id_issued_at",
        json!(parse_iso(&client.created_at).map(|t| t.unix_timestamp())),
    );
    put("client_name", json!(client.name));
    put("client_uri", json!(client.about.uri));
    put("logo_uri", json!(client.about.icon));
    if !client.about.contacts.is_empty() {
        put("contacts", json!(client.about.contacts));
    }
    put("tos_uri", json!(client.about.tos));
    put("policy_uri", json!(client.about.policy));
    put("software_id", json!(client.about.software_id));
    put("software_version", json!(client.about.software_version));
    put("software_statement", json!(client.about.software_statement));
    put("redirect_uris", json!(client.redirect_uris));
    if !client.post_logout_redirect_uris.is_empty() {
        put(
            "post_logout_redirect_uris",
            json!(client.post_logout_redirect_uris),
        );
    }
    put("token_endpoint_auth_method", json!(client.auth_method()));
    put("grant_types", json!(client.grant_types()));
    put("response_types", json!(["code"]));
    put("public", json!(client.is_public()));
    put("type", json!(client.client_type));
    put("disabled", json!(client.disabled));
    put("skip_consent", json!(client.skip_consent));
    put("enable_end_session", json!(client.enable_end_session));
    put("require_pkce", json!(client.require_pkce));
    put(
        "id_token_signed_response_alg",
        json!(
            client
                .id_token_signed_response_alg
                .as_deref()
                .unwrap_or("EdDSA")
        ),
    );
    Value::Object(out)
}

/// A string field of the client metadata (at most 2,048 characters).
fn text(f: &mut Fields, name: &str) -> Option<String> {
    let value = f.optional_string(name)?;
    if value.chars().count() > 2048 {
        f.issue(name, "Too big: expected string to have <=2048 characters");
        return None;
    }
    Some(value)
}

/// Redirect URIs under the one rule every entry point uses.
fn uris(f: &mut Fields, name: &str) -> Option<Vec<String>> {
    let found = f.optional_strings(name, MAX_URIS)?;
    if found.iter().any(|u| !redirect_uri_allowed(u)) {
        f.issue(
            name,
            "Redirect URI must use HTTPS (HTTP allowed only for localhost), have no fragment, and not use javascript:, data: or vbscript:",
        );
        return None;
    }
    Some(found)
}

/// An array whose every item is one of `options` (zod's array of an enum).
fn all_of(f: &mut Fields, name: &str, options: &[&str]) -> Option<Vec<String>> {
    let found = f.optional_strings(name, MAX_URIS)?;
    if found.iter().all(|v| options.contains(&v.as_str())) {
        Some(found)
    } else {
        f.issue(
            name,
            &format!("Invalid option: expected each of {}", options.join("|")),
        );
        None
    }
}

const AUTH_METHODS: [&str; 3] = ["none", "client_secret_basic", "client_secret_post"];
const TYPES: [&str; 3] = ["web", "native", "user-agent-based"];

/// Reads a client's metadata from `body` onto `client` (only the fields present: an update
/// changes what it names). `creating`: the auth method, grant types and public flag are
/// set too (they never change afterwards).
fn read_metadata(body: &Value, client: &mut OAuthClient, creating: bool) -> Result<(), AuthError> {
    let mut f = Fields::of("body", body, false);
    let redirect_uris = uris(&mut f, "redirect_uris");
    let post_logout = uris(&mut f, "post_logout_redirect_uris");
    let scope = text(&mut f, "scope");
    let name = text(&mut f, "client_name");
    let about = [
        ("client_uri", text(&mut f, "client_uri")),
        ("logo_uri", text(&mut f, "logo_uri")),
        ("tos_uri", text(&mut f, "tos_uri")),
        ("policy_uri", text(&mut f, "policy_uri")),
        ("software_id", text(&mut f, "software_id")),
        ("software_version", text(&mut f, "software_version")),
        ("software_statement", text(&mut f, "software_statement")),
    ];
    let contacts = f.optional_strings("contacts", MAX_URIS);
    let grant_types = all_of(&mut f, "grant_types", &GRANT_TYPES);
    let _ = all_of(&mut f, "response_types", &["code"]);
    let client_type = f.one_of("type", &TYPES);
    let auth_method = if creating {
        f.one_of("token_endpoint_auth_method", &AUTH_METHODS)
    } else {
        None
    };
    let alg = f.one_of("id_token_signed_response_alg", &["EdDSA", "RS256"]);
    let require_pkce = f.optional_bool("require_pkce");
    f.finish()?;
    if let Some(uris) = redirect_uris {
        client.redirect_uris = uris;
    }
    if let Some(uris) = post_logout {
        client.post_logout_redirect_uris = uris;
    }
    if let Some(scope) = scope {
        client.scopes = Some(split_scopes(&scope));
    }
    if let Some(name) = name {
        client.name = name.trim().chars().take(200).collect();
    }
    for (field, value) in about {
        let Some(value) = value else { continue };
        let slot = match field {
            "client_uri" => &mut client.about.uri,
            "logo_uri" => &mut client.about.icon,
            "tos_uri" => &mut client.about.tos,
            "policy_uri" => &mut client.about.policy,
            "software_id" => &mut client.about.software_id,
            "software_version" => &mut client.about.software_version,
            _ => &mut client.about.software_statement,
        };
        *slot = Some(value);
    }
    if let Some(contacts) = contacts {
        client.about.contacts = contacts;
    }
    if let Some(grants) = grant_types {
        client.grant_types = grants;
    }
    if client_type.is_some() {
        client.client_type = client_type;
    }
    if let Some(method) = auth_method {
        client.public = method == "none";
        client.token_endpoint_auth_method = Some(method);
    }
    if alg.is_some() {
        client.id_token_signed_response_alg = alg;
    }
    if require_pkce.is_some() {
        client.require_pkce = require_pkce;
    }
    Ok(())
}

/// The plugin's `checkOAuthClient`: the type fits the auth method, a code flow has redirect
/// URIs, the scopes are offered ones.
fn check_client(client: &OAuthClient, registering: bool) -> OAuthResult<()> {
    let public = client.auth_method() == "none";
    match client.client_type.as_deref() {
        Some("web") if public => {
            return Err(OAuthError::bad_request(
                "invalid_client_metadata",
                "Type must be 'native' or 'user-agent-based' for public applications",
            ));
        }
        Some("native" | "user-agent-based") if !public => {
            return Err(OAuthError::bad_request(
                "invalid_client_metadata",
                "Type must be 'web' for confidential applications",
            ));
        }
        _ => {}
    }
    if client
        .grant_types()
        .iter()
        .any(|g| g == "authorization_code")
        && client.redirect_uris.is_empty()
    {
        return Err(OAuthError::bad_request(
            "invalid_redirect_uri",
            "Redirect URIs are required for authorization_code and implicit grant types",
        ));
    }
    if let Some(bad) = client
        .scopes
        .iter()
        .flatten()
        .find(|s| !SCOPES.contains(&s.as_str()))
    {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            format!("cannot request scope {bad}"),
        ));
    }
    if registering && client.require_pkce == Some(false) {
        return Err(OAuthError::bad_request(
            "invalid_client_metadata",
            "pkce is required for registered clients.",
        ));
    }
    Ok(())
}

fn registration_closed() -> OAuthError {
    OAuthError::new(
        StatusCode::FORBIDDEN,
        "access_denied",
        "Client registration is disabled",
    )
}

/// Makes a client from a registration body, owned by `owner`; answers 201 with its secret.
async fn create(
    state: &AuthState,
    body: &Value,
    owner: Option<&User>,
    origin: Provenance,
    registering: bool,
) -> OAuthResult<Response> {
    let at = iso(now());
    let mut client = OAuthClient {
        id: new_id(),
        client_id: random_letters(32),
        created_at: at.clone(),
        updated_at: at,
        owner_user_id: owner.map(|o| o.id.clone()),
        ..OAuthClient::default()
    };
    read_metadata(body, &mut client, true)?;
    if registering && client.scopes.is_none() {
        client.scopes = Some(SCOPES.iter().map(|s| s.to_string()).collect());
    }
    if client.name.is_empty() {
        client.name = client.client_id.clone();
    }
    check_client(&client, registering)?;
    let secret = (!client.public).then(|| random_letters(32));
    if let Some(secret) = &secret {
        client.client_secret_hash = sha256_hex(secret.as_bytes());
    }
    let origin = match owner {
        Some(owner) => origin.as_user(&owner.id),
        None => origin,
    };
    let details = json!({ "oauthClientId": client.id, "clientId": client.client_id, "name": client.name, "redirectUris": client.redirect_uris, "registered": true });
    let event = Event::now(&origin, "oauth_client.created", None, Some(details));
    let client = state
        .app
        .db
        .oauth_clients()
        .create(client, Some(&event))
        .await?;
    let answer = (StatusCode::CREATED, Json(wire(&client, secret.as_deref()))).into_response();
    Ok(no_store(answer))
}

/// Whether the caller may register clients under the configured policy: while it is
/// closed, only a role granted `ManageOAuthClients` (through the one moderation rule, the
/// second-factor requirement included).
fn may_register(state: &AuthState, caller: &Identity) -> bool {
    match state.auth.oauth.registration {
        ClientRegistration::Closed => caller
            .require_power(&state.app.config, Power::ManageOAuthClients)
            .is_ok(),
        ClientRegistration::SignedIn | ClientRegistration::Open => true,
    }
}

/// `POST /oauth2/register` (RFC 7591): closed unless the operator opened it.
#[utoipa::path(
    post, path = "/oauth2/register",
    request_body(content = Object, description = "RFC 7591 client metadata: `redirect_uris`, `token_endpoint_auth_method` (`none` for a public client), `grant_types`, `scope`, `client_name`, ..."),
    responses(
        (status = 201, description = "The client, with `client_secret` once (confidential)", body = Object),
        (status = 401, description = "`{error: invalid_token}`: registration needs a session here", body = portal_web::openapi::OAuthErrorBody),
        (status = 403, description = "`{error: access_denied}`: registration is closed", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn register(
    State(state): State<AuthState>,
    RequestClient(from): RequestClient,
    caller: Caller,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.json_only()?.value;
    let user = caller.outcome.ok();
    let policy = state.auth.oauth.registration;
    let origin = Provenance::request(&state.app.config, &from);
    match (&user, policy) {
        (_, ClientRegistration::Closed) => {
            if !user.as_ref().is_some_and(|u| may_register(&state, u)) {
                return Err(registration_closed());
            }
        }
        (None, ClientRegistration::SignedIn) => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Authentication required for client registration",
            ));
        }
        (None, ClientRegistration::Open) => {
            if body
                .get("token_endpoint_auth_method")
                .and_then(Value::as_str)
                != Some("none")
            {
                return Err(OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request",
                    "Authentication required for confidential client registration",
                ));
            }
        }
        (Some(_), _) => {}
    }
    create(&state, &body, user.as_ref().map(|u| &u.user), origin, true).await
}

/// `POST /oauth2/create-client`: a signed-in user registers a client of their own (admins
/// only while registration is closed).
#[utoipa::path(
    post, path = "/oauth2/create-client", security(("signedIn" = [])),
    request_body(content = Object, description = "As `/oauth2/register`"),
    responses(
        (status = 201, description = "The client, with `client_secret` once", body = Object),
        (status = 400, description = "`VALIDATION_ERROR`, or `{error: invalid_redirect_uri | invalid_scope | invalid_client_metadata}`", body = portal_web::openapi::OAuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`{error: access_denied}`: registration is closed", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn create_client(
    State(state): State<AuthState>,
    RequestClient(from): RequestClient,
    SignedIn(caller): SignedIn,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.json_only()?.value;
    if !may_register(&state, &caller) {
        return Err(registration_closed());
    }
    let origin = Provenance::request(&state.app.config, &from);
    create(&state, &body, Some(&caller.user), origin, false).await
}

/// The caller's own client `client_id`: 404 when there is none, 401 when it is not theirs.
async fn own_client(
    state: &AuthState,
    user: &SessionUser,
    client_id: &str,
) -> OAuthResult<OAuthClient> {
    let client = state
        .app
        .db
        .oauth_clients()
        .by_client_id(client_id)
        .await?
        .ok_or_else(|| OAuthError::not_found("client not found"))?;
    if client.owner_user_id.as_deref() != Some(user.user.id.as_str()) {
        return Err(AuthError::unauthorized().into());
    }
    Ok(client)
}

/// A client an administrator disabled stays as they left it: its owner changes, rotates or
/// deletes it only with the power to manage clients (the one moderation rule, its second
/// factor included), so deleting and registering again does not undo the decision quietly.
fn unless_disabled(state: &AuthState, caller: &Identity, client: &OAuthClient) -> OAuthResult<()> {
    if client.disabled
        && caller
            .require_power(&state.app.config, Power::ManageOAuthClients)
            .is_err()
    {
        return Err(AuthError::with_message(
            StatusCode::FORBIDDEN,
            "CLIENT_DISABLED",
            "An administrator disabled this client",
        )
        .into());
    }
    Ok(())
}

/// The required `client_id` of a query or a body (400 `VALIDATION_ERROR` without one).
fn client_id_of(source: &'static str, value: &Value) -> Result<String, AuthError> {
    let mut f = Fields::of(source, value, false);
    let client_id = f.string("client_id");
    f.finish()?;
    client_id.ok_or_else(|| AuthError::validation(format!("[{source}] Invalid input")))
}

fn query_client_id(query: &HashMap<String, String>) -> Result<String, AuthError> {
    client_id_of("query", &crate::input::query_object(query))
}

fn body_client_id(body: &Value) -> Result<String, AuthError> {
    client_id_of("body", body)
}

/// `GET /oauth2/get-client?client_id=`: one of the caller's clients (no secret).
#[utoipa::path(
    get, path = "/oauth2/get-client", security(("signedIn" = [])),
    params(("client_id" = String, Query)),
    responses(
        (status = 200, description = "The client", body = Object),
        (status = 401, description = "`UNAUTHORIZED` (not theirs)", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`{error: not_found}`", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn get_client(
    State(state): State<AuthState>,
    user: SessionUser,
    Query(query): Query<HashMap<String, String>>,
) -> OAuthResult<Response> {
    let client = own_client(&state, &user, &query_client_id(&query)?).await?;
    Ok(Json(wire(&client, None)).into_response())
}

/// `GET /oauth2/get-clients`: the caller's clients.
#[utoipa::path(
    get, path = "/oauth2/get-clients", security(("signedIn" = [])),
    responses((status = 200, description = "The caller's clients", body = Vec<Object>))
)]
pub async fn get_clients(
    State(state): State<AuthState>,
    user: SessionUser,
) -> OAuthResult<Response> {
    let clients = state.app.db.oauth_clients().owned_by(&user.user.id).await?;
    let shown: Vec<Value> = clients.iter().map(|c| wire(c, None)).collect();
    Ok(Json(shown).into_response())
}

/// `GET /oauth2/public-client?client_id=`: what a consent page shows of a client (name,
/// links, logo) to any signed-in user; 404 for a disabled one.
#[utoipa::path(
    get, path = "/oauth2/public-client", security(("signedIn" = [])),
    params(("client_id" = String, Query)),
    responses(
        (status = 200, description = "`{client_id, client_name, client_uri?, logo_uri?, contacts?, tos_uri?, policy_uri?}`", body = Object),
        (status = 404, description = "`{error: not_found}`", body = portal_web::openapi::OAuthErrorBody),
    )
)]
pub async fn public_client(
    State(state): State<AuthState>,
    _user: SessionUser,
    Query(query): Query<HashMap<String, String>>,
) -> OAuthResult<Response> {
    let client_id = query_client_id(&query)?;
    let client = state
        .app
        .db
        .oauth_clients()
        .by_client_id(&client_id)
        .await?
        .filter(|c| !c.disabled)
        .ok_or_else(|| OAuthError::not_found("client not found"))?;
    let mut shown = json!({ "client_id": client.client_id, "client_name": client.name });
    for (name, value) in [
        ("client_uri", &client.about.uri),
        ("logo_uri", &client.about.icon),
        ("tos_uri", &client.about.tos),
        ("policy_uri", &client.about.policy),
    ] {
        if let Some(value) = value {
            shown[name] = json!(value);
        }
    }
    if !client.about.contacts.is_empty() {
        shown["contacts"] = json!(client.about.contacts);
    }
    Ok(Json(shown).into_response())
}

/// Saves a change to one of the caller's clients (retrying a concurrent change), audited.
async fn save_change(
    state: &AuthState,
    user: &SessionUser,
    caller: &Identity,
    from: &portal_domain::model::Client,
    client_id: &str,
    action: &str,
    change: impl Fn(&mut OAuthClient) -> OAuthResult<()>,
) -> OAuthResult<OAuthClient> {
    let origin = Provenance::request(&state.app.config, from).as_user(&user.user.id);
    for _ in 0..4 {
        let old = own_client(state, user, client_id).await?;
        unless_disabled(state, caller, &old)?;
        let mut new = old.clone();
        change(&mut new)?;
        if new == old {
            return Ok(old);
        }
        new.updated_at = iso(now());
        if new.updated_at == old.updated_at {
            new.updated_at = iso(now() + time::Duration::milliseconds(1));
        }
        let details = json!({ "oauthClientId": new.id, "clientId": new.client_id });
        let event = Event::now(&origin, action, None, Some(details));
        if state
            .app
            .db
            .oauth_clients()
            .save(&old, &new, Some(&event))
            .await?
        {
            return Ok(new);
        }
    }
    Err(AuthError::with_message(
        StatusCode::CONFLICT,
        "CONFLICT",
        "The client changed concurrently; retry",
    )
    .into())
}

/// `POST /oauth2/update-client {client_id, update}`: changes one of the caller's clients.
#[utoipa::path(
    post, path = "/oauth2/update-client", security(("signedIn" = [])),
    request_body(content = Object, description = "`{client_id, update: {redirect_uris?, scope?, client_name?, ...}}`"),
    responses(
        (status = 200, description = "The client as changed", body = Object),
        (status = 401, description = "`UNAUTHORIZED` (not theirs)", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`{error: not_found}`", body = portal_web::openapi::OAuthErrorBody),
        (status = 403, description = "`CLIENT_DISABLED`: an administrator disabled it (its owner may not change or delete it)", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn update_client(
    State(state): State<AuthState>,
    RequestClient(from): RequestClient,
    user: SessionUser,
    SignedIn(caller): SignedIn,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.json_only()?.value;
    let client_id = body_client_id(&body)?;
    let update = match body.get("update") {
        Some(update @ Value::Object(_)) => update.clone(),
        _ => {
            return Err(AuthError::validation(
                "[body.update] Invalid input: expected object".into(),
            )
            .into());
        }
    };
    let client = save_change(
        &state,
        &user,
        &caller,
        &from,
        &client_id,
        "oauth_client.changed",
        |c| {
            read_metadata(&update, c, false)?;
            check_client(c, false)
        },
    )
    .await?;
    Ok(Json(wire(&client, None)).into_response())
}

/// `POST /oauth2/client/rotate-secret {client_id}`: a new secret (shown once); the old one
/// stops working at once.
#[utoipa::path(
    post, path = "/oauth2/client/rotate-secret", security(("signedIn" = [])),
    request_body(content = Object, description = "`{client_id}`"),
    responses(
        (status = 200, description = "The client with its new `client_secret`", body = Object),
        (status = 400, description = "`{error: invalid_client}`: a public client has no secret", body = portal_web::openapi::OAuthErrorBody),
        (status = 403, description = "`CLIENT_DISABLED`: an administrator disabled it (its owner may not change or delete it)", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn rotate_secret(
    State(state): State<AuthState>,
    RequestClient(from): RequestClient,
    user: SessionUser,
    SignedIn(caller): SignedIn,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.json_only()?.value;
    let client_id = body_client_id(&body)?;
    let secret = random_letters(32);
    let hash = sha256_hex(secret.as_bytes());
    let client = save_change(
        &state,
        &user,
        &caller,
        &from,
        &client_id,
        "oauth_client.secret_rotated",
        |c| {
            if c.is_public() {
                return Err(OAuthError::bad_request(
                    "invalid_client",
                    "public clients cannot be updated",
                ));
            }
            c.client_secret_hash = hash.clone();
            c.client_secret_expires_at = None;
            Ok(())
        },
    )
    .await?;
    Ok(no_store(Json(wire(&client, Some(&secret))).into_response()))
}

/// `POST /oauth2/delete-client {client_id}`: deletes one of the caller's clients; its
/// tokens stop working on the next request.
#[utoipa::path(
    post, path = "/oauth2/delete-client", security(("signedIn" = [])),
    request_body(content = Object, description = "`{client_id}`"),
    responses(
        (status = 200, description = "Deleted", body = Object),
        (status = 401, description = "`UNAUTHORIZED` (not theirs)", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`{error: not_found}`", body = portal_web::openapi::OAuthErrorBody),
        (status = 403, description = "`CLIENT_DISABLED`: an administrator disabled it (its owner may not change or delete it)", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn delete_client(
    State(state): State<AuthState>,
    RequestClient(from): RequestClient,
    user: SessionUser,
    SignedIn(caller): SignedIn,
    body: Body,
) -> OAuthResult<Response> {
    let body = body.json_only()?.value;
    let client_id = body_client_id(&body)?;
    let origin = Provenance::request(&state.app.config, &from).as_user(&user.user.id);
    for _ in 0..4 {
        let client = own_client(&state, &user, &client_id).await?;
        unless_disabled(&state, &caller, &client)?;
        let details = json!({ "oauthClientId": client.id, "clientId": client.client_id, "name": client.name });
        let event = Event::now(&origin, "oauth_client.deleted", None, Some(details));
        if state
            .app
            .db
            .oauth_clients()
            .delete(&client, Some(&event))
            .await?
        {
            return Ok(Json(Value::Null).into_response());
        }
    }
    Err(AuthError::with_message(
        StatusCode::CONFLICT,
        "CONFLICT",
        "The client changed concurrently; retry",
    )
    .into())
}
