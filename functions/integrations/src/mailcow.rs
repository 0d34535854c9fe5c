//! What a mailbox owner manages beside the mailbox (upstream Portal does it in page
//! actions; here they are routes): app passwords (list, create: the secret shown once,
//! delete), aliases within the allowed domains (list, create, delete), and the quota used.
//! The mailbox's owner or an admin; changes need the account active.

use crate::bodies::{object, optional_string};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::store::audit::Provenance;
use portal_domain::store::integration_accounts::Account;
use portal_services::integrations::mailcow::{Alias, AppPassword, Mailcow, Usage, alias_address};
use portal_services::integrations::names;
use portal_web::caller::RequireAuth;
use portal_web::http::RequestProvenance;
use portal_web::http::json_with_status;
use portal_web::openapi::ErrorEnvelope;
use portal_web::validation::{Issue, JsonBody, PathId, validation_error};
use portal_web::views::{DONE, Done};
use portal_web::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::accounts::{SUSPENDED, accessible};

pub const APP_PASSWORD_NOT_FOUND: &str = "App password not found";
pub const ALIAS_NOT_FOUND: &str = "Alias not found";
pub const MAILBOX_NOT_FOUND: &str = "Mailbox not found on the mail server";

/// One item `{item}` of the account `{id}` (read beside the id's [`PathId`]).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MailboxItemPath {
    /// The app password's or alias's id.
    #[param(min_length = 1, max_length = 128)]
    pub item: String,
}

/// `{ ok, appPasswords }`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppPasswordList {
    pub ok: bool,
    pub app_passwords: Vec<AppPassword>,
}

/// `{name}`: what the app password is for (1 to 64 characters).
#[derive(ToSchema)]
pub struct NewAppPassword {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

/// `{ ok, name, password }`: the secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedAppPassword {
    pub ok: bool,
    pub name: String,
    pub password: String,
}

/// `{ ok, aliases, allowedDomains }`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AliasList {
    pub ok: bool,
    pub aliases: Vec<Alias>,
    pub allowed_domains: Vec<String>,
}

/// `{address}`: the alias, in one of the allowed domains.
#[derive(ToSchema)]
pub struct NewAlias {
    #[schema(format = Email, max_length = 254)]
    pub address: String,
}

/// `{ ok, usage }`.
#[derive(Serialize, ToSchema)]
pub struct UsageBody {
    pub ok: bool,
    pub usage: Usage,
}

/// The mail integration and the caller's (or, for an admin, anyone's) account on it.
async fn mailbox<'s>(
    state: &'s AppState,
    id: &PathId,
    caller: &portal_web::caller::Identity,
    changing: bool,
) -> ApiResult<(&'s Mailcow, Account)> {
    state.integrations.enabled("mailcow")?;
    let account = accessible(state, "mailcow", id.as_str(), caller).await?;
    if changing && account.status != "active" {
        return Err(ApiError::forbidden(SUSPENDED));
    }
    Ok((state.integrations.mailcow(), account))
}

/// Records something done to the mailbox (names only, never a secret).
async fn record(
    state: &AppState,
    account: &Account,
    origin: &Provenance,
    action: &str,
    details: Value,
) {
    let event = account.audit_event(origin, action, Some(details));
    if let Err(err) = state.db.audit().append(&event).await {
        tracing::error!(account = %account.id, error = %err, action, "could not record a mailbox change");
    }
}

/// What a mailbox holds that its owner may delete by id.
#[derive(Clone, Copy)]
enum Item {
    AppPassword,
    Alias,
}

/// Deletes an app password or alias of the mailbox (404 when the mailbox has none with
/// that id) and records it.
async fn remove_item(
    state: &AppState,
    id: &PathId,
    item: &str,
    caller: &portal_web::caller::Identity,
    origin: &Provenance,
    kind: Item,
) -> ApiResult<Json<Done>> {
    let item = PathId::parse(item)?;
    let (mail, account) = mailbox(state, id, caller, true).await?;
    let (found, missing, action, details) = match kind {
        Item::AppPassword => (
            mail.delete_app_password(&account, item.as_str()).await?,
            APP_PASSWORD_NOT_FOUND,
            "integration_account.app_password_deleted",
            json!({ "appPasswordId": item.as_str() }),
        ),
        Item::Alias => (
            mail.delete_alias(&account, item.as_str()).await?,
            ALIAS_NOT_FOUND,
            "integration_account.alias_deleted",
            json!({ "aliasId": item.as_str() }),
        ),
    };
    if !found {
        return Err(ApiError::not_found(missing));
    }
    record(
        state,
        &account,
        &origin.as_user(&caller.user.id),
        action,
        details,
    )
    .await;
    Ok(Json(DONE))
}

/// The mailbox's app passwords (never their secrets).
#[utoipa::path(
    get,
    path = "/api/integrations/mailcow/accounts/{id}/app-passwords",
    security(("signedIn" = [])),
    params(portal_web::openapi::Id),
    responses(
        (status = 200, description = "The app passwords", body = AppPasswordList),
        (status = 403, description = "Not the caller's, or mail is disabled", body = ErrorEnvelope),
        (status = 404, description = "`Integration account not found`", body = ErrorEnvelope),
        (status = 502, description = "The mail server failed", body = ErrorEnvelope),
    )
)]
pub async fn app_passwords(
    State(state): State<AppState>,
    id: PathId,
    RequireAuth(me): RequireAuth,
) -> ApiResult<Json<AppPasswordList>> {
    let (mail, account) = mailbox(&state, &id, &me, false).await?;
    let listed = mail.app_passwords(&account).await?;
    Ok(Json(AppPasswordList {
        ok: true,
        app_passwords: listed,
    }))
}

/// A new app password: its secret is in this answer only.
#[utoipa::path(
    post,
    path = "/api/integrations/mailcow/accounts/{id}/app-passwords",
    security(("signedIn" = [])),
    params(portal_web::openapi::Id),
    request_body = NewAppPassword,
    responses(
        (status = 201, description = "Created; `password` shown once", body = CreatedAppPassword),
        (status = 400, description = "A bad name", body = ErrorEnvelope),
        (status = 403, description = "Not the caller's, suspended, or mail is disabled", body = ErrorEnvelope),
        (status = 404, description = "`Integration account not found`", body = ErrorEnvelope),
        (status = 502, description = "The mail server failed; nothing was made", body = ErrorEnvelope),
    )
)]
pub async fn create_app_password(
    State(state): State<AppState>,
    id: PathId,
    RequireAuth(me): RequireAuth,
    RequestProvenance(origin): RequestProvenance,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Response> {
    let NewAppPassword { name } = new_app_password(&body?.value()?)?;
    let (mail, account) = mailbox(&state, &id, &me, true).await?;
    let password = mail.create_app_password(&account, &name).await?;
    let origin = origin.as_user(&me.user.id);
    record(
        &state,
        &account,
        &origin,
        "integration_account.app_password_created",
        json!({ "name": &name }),
    )
    .await;
    Ok(json_with_status(
        StatusCode::CREATED,
        CreatedAppPassword {
            ok: true,
            name,
            password,
        },
    ))
}

/// Deletes one app password.
#[utoipa::path(
    delete,
    path = "/api/integrations/mailcow/accounts/{id}/app-passwords/{item}",
    security(("signedIn" = [])),
    params(portal_web::openapi::Id, MailboxItemPath),
    responses(
        (status = 200, description = "Deleted", body = portal_web::views::Done),
        (status = 403, description = "Not the caller's, suspended, or mail is disabled", body = ErrorEnvelope),
        (status = 404, description = "`App password not found`, or the account", body = ErrorEnvelope),
        (status = 502, description = "The mail server failed", body = ErrorEnvelope),
    )
)]
pub async fn delete_app_password(
    State(state): State<AppState>,
    id: PathId,
    Path(path): Path<MailboxItemPath>,
    RequireAuth(me): RequireAuth,
    RequestProvenance(origin): RequestProvenance,
) -> ApiResult<Json<Done>> {
    remove_item(&state, &id, &path.item, &me, &origin, Item::AppPassword).await
}

/// The aliases delivering to the mailbox, and the domains new ones may use.
#[utoipa::path(
    get,
    path = "/api/integrations/mailcow/accounts/{id}/aliases",
    security(("signedIn" = [])),
    params(portal_web::openapi::Id),
    responses(
        (status = 200, description = "The aliases", body = AliasList),
        (status = 403, description = "Not the caller's, or mail is disabled", body = ErrorEnvelope),
        (status = 404, description = "`Integration account not found`", body = ErrorEnvelope),
        (status = 502, description = "The mail server failed", body = ErrorEnvelope),
    )
)]
pub async fn aliases(
    State(state): State<AppState>,
    id: PathId,
    RequireAuth(me): RequireAuth,
) -> ApiResult<Json<AliasList>> {
    let (mail, account) = mailbox(&state, &id, &me, false).await?;
    let listed = mail.aliases(&account).await?;
    Ok(Json(AliasList {
        ok: true,
        aliases: listed,
        allowed_domains: mail.alias_domains().to_vec(),
    }))
}

/// A new alias delivering to the mailbox.
#[utoipa::path(
    post,
    path = "/api/integrations/mailcow/accounts/{id}/aliases",
    security(("signedIn" = [])),
    params(portal_web::openapi::Id),
    request_body = NewAlias,
    responses(
        (status = 201, description = "Created", body = AliasList),
        (status = 400, description = "Not an address, or not in an allowed domain", body = ErrorEnvelope),
        (status = 403, description = "Not the caller's, suspended, or mail is disabled", body = ErrorEnvelope),
        (status = 404, description = "`Integration account not found`", body = ErrorEnvelope),
        (status = 409, description = "The address is taken", body = ErrorEnvelope),
        (status = 502, description = "The mail server failed", body = ErrorEnvelope),
    )
)]
pub async fn create_alias(
    State(state): State<AppState>,
    id: PathId,
    RequireAuth(me): RequireAuth,
    RequestProvenance(origin): RequestProvenance,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Response> {
    let NewAlias { address } = new_alias(&body?.value()?)?;
    let (mail, account) = mailbox(&state, &id, &me, true).await?;
    let address = alias_address(&address, mail.alias_domains())
        .map_err(|issue| validation_error(vec![issue]))?;
    let local = address.split('@').next().unwrap_or_default();
    names::check(&state.config, local)
        .map_err(|issue| validation_error(vec![issue.at("address")]))?;
    mail.create_alias(&account, &address).await?;
    let origin = origin.as_user(&me.user.id);
    record(
        &state,
        &account,
        &origin,
        "integration_account.alias_created",
        json!({ "address": address }),
    )
    .await;
    let listed = mail.aliases(&account).await?;
    Ok(json_with_status(
        StatusCode::CREATED,
        AliasList {
            ok: true,
            aliases: listed,
            allowed_domains: mail.alias_domains().to_vec(),
        },
    ))
}

/// Deletes one of the mailbox's aliases.
#[utoipa::path(
    delete,
    path = "/api/integrations/mailcow/accounts/{id}/aliases/{item}",
    security(("signedIn" = [])),
    params(portal_web::openapi::Id, MailboxItemPath),
    responses(
        (status = 200, description = "Deleted", body = portal_web::views::Done),
        (status = 403, description = "Not the caller's, suspended, or mail is disabled", body = ErrorEnvelope),
        (status = 404, description = "`Alias not found`, or the account", body = ErrorEnvelope),
        (status = 502, description = "The mail server failed", body = ErrorEnvelope),
    )
)]
pub async fn delete_alias(
    State(state): State<AppState>,
    id: PathId,
    Path(path): Path<MailboxItemPath>,
    RequireAuth(me): RequireAuth,
    RequestProvenance(origin): RequestProvenance,
) -> ApiResult<Json<Done>> {
    remove_item(&state, &id, &path.item, &me, &origin, Item::Alias).await
}

/// How much of the mailbox's quota is used (bytes).
#[utoipa::path(
    get,
    path = "/api/integrations/mailcow/accounts/{id}/usage",
    security(("signedIn" = [])),
    params(portal_web::openapi::Id),
    responses(
        (status = 200, description = "The quota", body = UsageBody),
        (status = 403, description = "Not the caller's, or mail is disabled", body = ErrorEnvelope),
        (status = 404, description = "No such account, or `Mailbox not found on the mail server`", body = ErrorEnvelope),
        (status = 502, description = "The mail server failed", body = ErrorEnvelope),
    )
)]
pub async fn usage(
    State(state): State<AppState>,
    id: PathId,
    RequireAuth(me): RequireAuth,
) -> ApiResult<Json<UsageBody>> {
    let (mail, account) = mailbox(&state, &id, &me, false).await?;
    let usage = mail
        .usage(&account)
        .await?
        .ok_or_else(|| ApiError::not_found(MAILBOX_NOT_FOUND))?;
    Ok(Json(UsageBody { ok: true, usage }))
}

/// An app password body, read field by field (the contract's issues).
fn new_app_password(body: &Value) -> ApiResult<NewAppPassword> {
    let map = object(body)?;
    let mut issues = Vec::new();
    let name = optional_string(map, "name", &mut issues).map(|n| n.trim().to_string());
    match &name {
        None if issues.is_empty() => {
            issues.push(Issue::invalid_type("string", "undefined").at("name"));
        }
        Some(n) if n.is_empty() => issues.push(Issue::too_small("string", 1, true).at("name")),
        Some(n) if n.chars().count() > 64 => {
            issues.push(Issue::too_big("string", 64, true).at("name"));
        }
        _ => {}
    }
    match (name, issues.is_empty()) {
        (Some(name), true) => Ok(NewAppPassword { name }),
        _ => Err(validation_error(issues)),
    }
}

/// An alias body: `{address}` present and a string (its domain is checked against the
/// mailbox's).
fn new_alias(body: &Value) -> ApiResult<NewAlias> {
    let map = object(body)?;
    let mut issues = Vec::new();
    let address = optional_string(map, "address", &mut issues);
    if address.is_none() && issues.is_empty() {
        issues.push(Issue::invalid_type("string", "undefined").at("address"));
    }
    match (address, issues.is_empty()) {
        (Some(address), true) => Ok(NewAlias { address }),
        _ => Err(validation_error(issues)),
    }
}
