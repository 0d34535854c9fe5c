//! `/api/admin/oauth-clients`: list and read (admin or staff); create and update (admin).
//! The client secret is returned once, on creation, and stored as a SHA-256 hash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::crypto::{new_id, random_alphanumeric, sha256_hex};
use portal_domain::store::audit::Event;
use portal_domain::store::oauth_clients::OAuthClient;
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
        client_secret: None,
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

/// Absolute https URLs, or http on a loopback host (local development).
fn redirect_uri_ok(raw: &str) -> bool {
    let Ok(url) = url::Url::parse(raw) else {
        return false;
    };
    if url.fragment().is_some() || raw.len() > 2048 {
        return false;
    }
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
        _ => false,
    }
}

fn check_uris(uris: &[String], rules: &mut Rules) {
    rules.count("redirectUris", uris, 1, MAX_URIS as u64);
    if uris.iter().any(|u| !redirect_uri_ok(u)) {
        rules.broken(
            "redirectUris",
            "redirect_uri",
            Some("Redirect URIs must be absolute https URLs (http only on localhost)"),
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
}

impl Validate for NewClient {
    fn validate(&self) -> Result<(), Vec<Issue>> {
        let mut rules = Rules::default();
        rules.length("name", self.name.trim(), 1, 100);
        check_uris(&self.redirect_uris, &mut rules);
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
    let secret = random_alphanumeric(48);
    let at = iso(now());
    let client = OAuthClient {
        id: new_id(),
        name: body.name.trim().to_string(),
        client_id: random_alphanumeric(32),
        client_secret_hash: sha256_hex(secret.as_bytes()),
        redirect_uris: body.redirect_uris,
        disabled: false,
        created_at: at.clone(),
        updated_at: at,
        ..OAuthClient::default()
    };
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
    view.client_secret = Some(secret);
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
}

impl Validate for ClientUpdate {
    fn validate(&self) -> Result<(), Vec<Issue>> {
        let mut rules = Rules::default();
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
