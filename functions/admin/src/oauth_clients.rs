//! `/api/admin/oauth-clients`: list and read (admin or staff); create and update (admin).
//! The client secret is returned once, on creation, and stored as a SHA-256 hash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::crypto::{new_id, random_alphanumeric, sha256_hex};
use portal_domain::model::Power;
use portal_domain::store::audit::Event;
use portal_domain::store::oauth_clients::{GRANT_TYPES, OAuthClient, SCOPES, redirect_uri_allowed};
use portal_domain::time::{iso, now};
use portal_web::caller::{RequireAdmin, RequireAdminOrStaff};
use portal_web::http::RequestProvenance;
use portal_web::http::json_with_status;
use portal_web::openapi::{ErrorEnvelope, Id};
use portal_web::validation::{
    FromQuery, Issue, Paging, PathId, QueryReader, Rules, ValidJson, ValidQuery, Validate,
};
use portal_web::views::next_cursor;
use portal_web::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

pub const CLIENT_NOT_FOUND: &str = "OAuth client not found";
const MAX_URIS: usize = 10;

/// An OAuth client (its secret only once, on creation).
#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    id: String,
    name: String,
    client_id: String,
    redirect_uris: Vec<String>,
    disabled: bool,
    created_at: String,
    /// The scopes it may ask for (`null`: every scope Portal offers).
    scopes: Option<Vec<String>>,
    /// A first-party client: no consent screen.
    skip_consent: bool,
    /// It may end the user's session (`/api/auth/oauth2/end-session`).
    enable_end_session: bool,
    /// No secret: PKCE is its proof.
    public: bool,
    grant_types: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    /// `EdDSA` or `RS256`.
    id_token_signed_response_alg: String,
    /// The user who registered it through `/api/auth/oauth2/create-client`, if one did.
    owner_user_id: Option<String>,
    /// Only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

fn client_view(client: &OAuthClient) -> ClientView {
    ClientView {
        id: client.id.clone(),
        name: client.name.clone(),
        client_id: client.client_id.clone(),
        redirect_uris: client.redirect_uris.clone(),
        disabled: client.disabled,
        created_at: client.created_at.clone(),
        scopes: client.scopes.clone(),
        skip_consent: client.skip_consent,
        enable_end_session: client.enable_end_session,
        public: client.is_public(),
        grant_types: client.grant_types(),
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
        id_token_signed_response_alg: client
            .id_token_signed_response_alg
            .clone()
            .unwrap_or_else(|| "EdDSA".into()),
        owner_user_id: client.owner_user_id.clone(),
        client_secret: None,
    }
}

/// The OpenID Connect settings a create or an update may carry.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientSettings {
    /// Scopes it may ask for, among `openid profile email offline_access xmpp irc`.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    skip_consent: Option<bool>,
    #[serde(default)]
    enable_end_session: Option<bool>,
    /// Among `authorization_code`, `refresh_token`, `client_credentials`.
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    post_logout_redirect_uris: Option<Vec<String>>,
    /// `EdDSA` (the default) or `RS256`.
    #[serde(default)]
    id_token_signed_response_alg: Option<String>,
    /// PKCE even with a secret (default true, as the plugin).
    #[serde(default)]
    require_pkce: Option<bool>,
}

impl ClientSettings {
    fn check(&self, rules: &mut Rules) {
        if let Some(scopes) = &self.scopes
            && scopes.iter().any(|s| !SCOPES.contains(&s.as_str()))
        {
            rules.broken(
                "scopes",
                "enum",
                Some("Scopes are among openid profile email offline_access xmpp irc"),
            );
        }
        if let Some(grants) = &self.grant_types
            && (grants.is_empty() || grants.iter().any(|g| !GRANT_TYPES.contains(&g.as_str())))
        {
            rules.broken(
                "grantTypes",
                "enum",
                Some("Grant types are among authorization_code refresh_token client_credentials"),
            );
        }
        if let Some(uris) = &self.post_logout_redirect_uris {
            rules.count("postLogoutRedirectUris", uris, 0, MAX_URIS as u64);
            if uris.iter().any(|u| !redirect_uri_allowed(u)) {
                rules.broken(
                    "postLogoutRedirectUris",
                    "redirect_uri",
                    Some("Post-logout URIs follow the redirect URI rule"),
                );
            }
        }
        if let Some(alg) = &self.id_token_signed_response_alg
            && !matches!(alg.as_str(), "EdDSA" | "RS256")
        {
            rules.broken("idTokenSignedResponseAlg", "enum", Some("EdDSA or RS256"));
        }
    }

    fn apply(&self, client: &mut OAuthClient) {
        if let Some(scopes) = &self.scopes {
            client.scopes = Some(scopes.clone());
        }
        if let Some(skip) = self.skip_consent {
            client.skip_consent = skip;
        }
        if let Some(end) = self.enable_end_session {
            client.enable_end_session = end;
        }
        if let Some(grants) = &self.grant_types {
            client.grant_types = grants.clone();
        }
        if let Some(uris) = &self.post_logout_redirect_uris {
            client.post_logout_redirect_uris = uris.clone();
        }
        if let Some(alg) = &self.id_token_signed_response_alg {
            client.id_token_signed_response_alg = Some(alg.clone());
        }
        if self.require_pkce.is_some() {
            client.require_pkce = self.require_pkce;
        }
    }
}

/// `{ oauthClients, clients, nextCursor? }`: the page under the documented key and under
/// the one Portal's web app reads.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientList {
    pub oauth_clients: Vec<ClientView>,
    pub clients: Vec<ClientView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `{ oauthClient, client }`: the documented key and the one Portal's web app reads.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientBody {
    pub oauth_client: ClientView,
    pub client: ClientView,
}

impl ClientBody {
    fn of(view: ClientView) -> Self {
        Self {
            client: view.clone(),
            oauth_client: view,
        }
    }
}

pub struct ClientQuery {
    paging: Paging,
}

impl FromQuery for ClientQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        Self {
            paging: Paging::read(q, 100),
        }
    }
}

/// OAuth clients, newest first.
#[utoipa::path(
    get,
    path = "/api/admin/oauth-clients",
    security(("signedIn" = [])),
    params(portal_web::openapi::Paging),
    responses((status = 200, description = "A page of clients", body = ClientList))
)]
pub async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<ClientQuery>,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<ClientList>> {
    let request = query.paging.request(&state.keyring)?;
    let page = state.db.oauth_clients().list_page(&request).await?;
    let clients: Vec<ClientView> = page.items.iter().map(client_view).collect();
    Ok(Json(ClientList {
        oauth_clients: clients.clone(),
        clients,
        next_cursor: next_cursor(&state.keyring, page.next.as_ref()),
    }))
}

/// One OAuth client.
#[utoipa::path(
    get,
    path = "/api/admin/oauth-clients/{id}",
    security(("signedIn" = [])),
    params(Id),
    responses(
        (status = 200, description = "The client", body = ClientBody),
        (status = 404, description = "`OAuth client not found`", body = ErrorEnvelope),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<ClientBody>> {
    let client = state
        .db
        .oauth_clients()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(CLIENT_NOT_FOUND))?;
    Ok(Json(ClientBody::of(client_view(&client))))
}

fn check_uris(uris: &[String], rules: &mut Rules) {
    rules.count("redirectUris", uris, 1, MAX_URIS as u64);
    if uris.iter().any(|u| !redirect_uri_allowed(u)) {
        rules.broken(
            "redirectUris",
            "redirect_uri",
            Some("Redirect URIs must be https URLs (http only on localhost) or an app's own scheme, without a fragment"),
        );
    }
}

/// A new client: a name and 1 to 10 redirect URIs (https, or http on localhost).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewClient {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(min_items = 1, max_items = 10)]
    redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE), e.g. a native or single-page app.
    #[serde(default)]
    public: bool,
    #[serde(flatten)]
    settings: ClientSettings,
}

impl Validate for NewClient {
    fn validate(&self) -> Result<(), Vec<Issue>> {
        let mut rules = Rules::default();
        rules.length("name", self.name.trim(), 1, 100);
        check_uris(&self.redirect_uris, &mut rules);
        self.settings.check(&mut rules);
        rules.finish()
    }
}

/// Registers an OAuth client (admin only); the answer holds its secret, once.
#[utoipa::path(
    post,
    path = "/api/admin/oauth-clients",
    security(("signedIn" = [])),
    request_body = NewClient,
    responses((status = 201, description = "Created, with `clientSecret`", body = ClientBody))
)]
pub async fn create(
    State(state): State<AppState>,
    RequireAdmin(actor): RequireAdmin,
    RequestProvenance(origin): RequestProvenance,
    ValidJson(body): ValidJson<NewClient>,
) -> ApiResult<Response> {
    actor.require_power(&state.config, Power::ManageOAuthClients)?;
    let secret = (!body.public).then(|| random_alphanumeric(48));
    let at = iso(now());
    let mut client = OAuthClient {
        id: new_id(),
        name: body.name.trim().to_string(),
        client_id: random_alphanumeric(32),
        client_secret_hash: secret
            .as_deref()
            .map(|s| sha256_hex(s.as_bytes()))
            .unwrap_or_default(),
        redirect_uris: body.redirect_uris,
        disabled: false,
        created_at: at.clone(),
        updated_at: at,
        public: body.public,
        token_endpoint_auth_method: body.public.then(|| "none".to_string()),
        ..OAuthClient::default()
    };
    body.settings.apply(&mut client);
    let details = json!({ "oauthClientId": client.id, "clientId": client.client_id, "name": client.name, "redirectUris": client.redirect_uris });
    let event = Event::now(
        &origin.as_user(&actor.user.id),
        "oauth_client.created",
        None,
        Some(details),
    );
    let client = state
        .db
        .oauth_clients()
        .create(client, Some(&event))
        .await?;
    let mut view = client_view(&client);
    view.client_secret = secret;
    Ok(json_with_status(StatusCode::CREATED, ClientBody::of(view)))
}

/// A change to a client; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientUpdate {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(flatten)]
    settings: ClientSettings,
}

impl Validate for ClientUpdate {
    fn validate(&self) -> Result<(), Vec<Issue>> {
        let mut rules = Rules::default();
        self.settings.check(&mut rules);
        if let Some(name) = &self.name {
            rules.length("name", name.trim(), 1, 100);
        }
        if let Some(uris) = &self.redirect_uris {
            check_uris(uris, &mut rules);
        }
        rules.finish()
    }
}

/// What an update changed, for the audit log (never the secret: it does not change here).
fn client_changes(old: &OAuthClient, new: &OAuthClient) -> Value {
    let mut changes = json!({ "oauthClientId": new.id });
    let mut field = |name: &str, before: Value, after: Value| {
        if before != after {
            changes[name] = json!({ "before": before, "after": after });
        }
    };
    field("name", json!(old.name), json!(new.name));
    field(
        "redirectUris",
        json!(old.redirect_uris),
        json!(new.redirect_uris),
    );
    field("disabled", json!(old.disabled), json!(new.disabled));
    field("scopes", json!(old.scopes), json!(new.scopes));
    field(
        "skipConsent",
        json!(old.skip_consent),
        json!(new.skip_consent),
    );
    field(
        "enableEndSession",
        json!(old.enable_end_session),
        json!(new.enable_end_session),
    );
    field("grantTypes", json!(old.grant_types), json!(new.grant_types));
    field(
        "postLogoutRedirectUris",
        json!(old.post_logout_redirect_uris),
        json!(new.post_logout_redirect_uris),
    );
    field(
        "idTokenSignedResponseAlg",
        json!(old.id_token_signed_response_alg),
        json!(new.id_token_signed_response_alg),
    );
    field(
        "requirePkce",
        json!(old.require_pkce),
        json!(new.require_pkce),
    );
    changes
}

/// Renames, re-points or disables an OAuth client (admin only).
#[utoipa::path(
    patch,
    path = "/api/admin/oauth-clients/{id}",
    security(("signedIn" = [])),
    params(Id),
    request_body = ClientUpdate,
    responses(
        (status = 200, description = "The changed client", body = ClientBody),
        (status = 404, description = "`OAuth client not found`", body = ErrorEnvelope),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    id: PathId,
    RequireAdmin(actor): RequireAdmin,
    RequestProvenance(origin): RequestProvenance,
    ValidJson(body): ValidJson<ClientUpdate>,
) -> ApiResult<Json<ClientBody>> {
    actor.require_power(&state.config, Power::ManageOAuthClients)?;
    let origin = origin.as_user(&actor.user.id);
    for _ in 0..4 {
        let old = state
            .db
            .oauth_clients()
            .get(id.as_str())
            .await?
            .ok_or_else(|| ApiError::not_found(CLIENT_NOT_FOUND))?;
        let mut new = old.clone();
        if let Some(name) = &body.name {
            new.name = name.trim().to_string();
        }
        if let Some(uris) = &body.redirect_uris {
            new.redirect_uris = uris.clone();
        }
        if let Some(disabled) = body.disabled {
            new.disabled = disabled;
        }
        body.settings.apply(&mut new);
        if new == old {
            return Ok(Json(ClientBody::of(client_view(&old))));
        }
        new.updated_at = iso(now());
        if new.updated_at == old.updated_at {
            new.updated_at = iso(now() + time::Duration::milliseconds(1));
        }
        let event = Event::now(
            &origin,
            "oauth_client.changed",
            None,
            Some(client_changes(&old, &new)),
        );
        if state
            .db
            .oauth_clients()
            .save(&old, &new, Some(&event))
            .await?
        {
            return Ok(Json(ClientBody::of(client_view(&new))));
        }
    }
    Err(ApiError::Conflict(
        "OAuth client changed concurrently; retry".into(),
    ))
}

/// Deletes an OAuth client (admin only): its id and secret stop working at once.
#[utoipa::path(
    delete,
    path = "/api/admin/oauth-clients/{id}",
    security(("signedIn" = [])),
    params(Id),
    responses(
        (status = 200, description = "Deleted", body = portal_web::views::Done),
        (status = 404, description = "`OAuth client not found`", body = ErrorEnvelope),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    id: PathId,
    RequireAdmin(actor): RequireAdmin,
    RequestProvenance(origin): RequestProvenance,
) -> ApiResult<Json<portal_web::views::Done>> {
    actor.require_power(&state.config, Power::ManageOAuthClients)?;
    let origin = origin.as_user(&actor.user.id);
    let clients = state.db.oauth_clients();
    for _ in 0..4 {
        let client = clients
            .get(id.as_str())
            .await?
            .ok_or_else(|| ApiError::not_found(CLIENT_NOT_FOUND))?;
        let details = json!({ "oauthClientId": client.id, "clientId": client.client_id, "name": client.name });
        let event = Event::now(&origin, "oauth_client.deleted", None, Some(details));
        if clients.delete(&client, Some(&event)).await? {
            return Ok(Json(portal_web::views::DONE));
        }
    }
    Err(ApiError::Conflict(
        "OAuth client changed concurrently; retry".into(),
    ))
}
