//! `/api/admin/oauth-clients`: list and read (admin or staff); create and update (admin).
//! The client secret is returned once, on creation, and stored as a SHA-256 hash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portal_shared::auth::{RequireAdmin, RequireAdminOrStaff};
use portal_shared::crypto::{new_id, random_alphanumeric, sha256_hex};
use portal_shared::http::json_with_status;
use portal_shared::store::oauth_clients::OAuthClient;
use portal_shared::time::{iso, now};
use portal_shared::validation::{
    FromQuery, Issue, Paging, PathId, QueryReader, Rules, ValidJson, ValidQuery, Validate,
};
use portal_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use serde_json::{Value, json};

use portal_shared::http::listed;

pub const CLIENT_NOT_FOUND: &str = "OAuth client not found";
const MAX_URIS: usize = 10;

fn client_view(client: &OAuthClient) -> Value {
    json!({
        "id": client.id,
        "name": client.name,
        "clientId": client.client_id,
        "redirectUris": client.redirect_uris,
        "disabled": client.disabled,
        "createdAt": client.created_at,
    })
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

pub async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<ClientQuery>,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let request = query.paging.request(&state.sealer)?;
    let page = state.db.oauth_clients().list_page(&request).await?;
    Ok(Json(listed(
        &state.sealer,
        "oauthClients",
        page.items.iter().map(client_view).collect::<Vec<_>>(),
        page.next.as_ref(),
    )))
}

pub async fn show(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(_): RequireAdminOrStaff,
) -> ApiResult<Json<Value>> {
    let client = state
        .db
        .oauth_clients()
        .get(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(CLIENT_NOT_FOUND))?;
    Ok(Json(json!({ "oauthClient": client_view(&client) })))
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewClient {
    name: String,
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

pub async fn create(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
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
    };
    let client = state.db.oauth_clients().create(client).await?;
    let mut view = client_view(&client);
    view["clientSecret"] = json!(secret);
    Ok(json_with_status(
        StatusCode::CREATED,
        json!({ "oauthClient": view }),
    ))
}

#[derive(Debug, Deserialize)]
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

pub async fn update(
    State(state): State<AppState>,
    id: PathId,
    RequireAdmin(_): RequireAdmin,
    ValidJson(body): ValidJson<ClientUpdate>,
) -> ApiResult<Json<Value>> {
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
            return Ok(Json(json!({ "oauthClient": client_view(&old) })));
        }
        new.updated_at = iso(now());
        if new.updated_at == old.updated_at {
            new.updated_at = iso(now() + time::Duration::milliseconds(1));
        }
        if state.db.oauth_clients().save(&old, &new).await? {
            return Ok(Json(json!({ "oauthClient": client_view(&new) })));
        }
    }
    Err(ApiError::Conflict(
        "OAuth client changed concurrently; retry".into(),
    ))
}
