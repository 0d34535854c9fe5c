//! `/api/admin/{xmpp,irc,mailcow,mediawiki}-accounts`: moderation of service accounts
//! (admin and staff; staff only on regular users' accounts). List (newest first, by status
//! or owner, index-backed), read, change (`status`: suspension enforced on the service;
//! `metadata`: moderators' notes), delete (on the service first, then kept here as
//! `deleted`). Every change goes through `integrations::lifecycle`, as the owner's own
//! routes and bans do.

use axum::Json;
use axum::extract::State;
use portal_domain::model::{Role, User};
use portal_domain::store::audit::Provenance;
use portal_domain::store::integration_accounts::Account;
use portal_services::integrations::lifecycle;
use portal_services::integrations::view::AccountView;
use portal_services::integrations::{AccountChange, Integration};
use portal_web::caller::RequireAdminOrStaff;
use portal_web::http::RequestProvenance;
use portal_web::validation::{
    FromQuery, Issue, JsonBody, Paging, PathId, QueryReader, ValidQuery, type_name,
    validation_error,
};
use portal_web::views::{DONE, Done, next_cursor};
use portal_web::{ApiError, ApiResult, AppState};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub const ACCOUNT_NOT_FOUND: &str = "Integration account not found";
pub const ACCOUNT_DELETED: &str = "The account is deleted";
const STATUSES: [&str; 4] = ["pending", "active", "suspended", "deleted"];
/// The largest `metadata` accepted, as JSON text.
const MAX_METADATA_BYTES: usize = 4096;

/// The owner of a service account, as moderators see it.
#[derive(Serialize, ToSchema)]
pub struct Owner {
    id: String,
    email: String,
    name: String,
}

/// A service account with its owner (`null` when the owner is gone).
#[derive(Serialize, ToSchema)]
pub struct ModeratedAccount {
    #[serde(flatten)]
    account: AccountView,
    user: Option<Owner>,
}

fn row(account: &Account, owner: Option<&User>) -> ModeratedAccount {
    ModeratedAccount {
        account: AccountView::from(account),
        user: owner.map(|u| Owner {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
        }),
    }
}

/// Where the page sits, and how many accounts match (`total`: from counters kept with the
/// accounts, or the owner's few accounts; never a scan).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PagePosition {
    pub total: u64,
    pub limit: u32,
    pub offset: u32,
    pub has_more: bool,
}

/// A page of one service's accounts (each family names the list after its service).
pub struct AccountsPage {
    pub accounts: Vec<ModeratedAccount>,
    pub pagination: PagePosition,
    pub next_cursor: Option<String>,
}

/// `{status?: active|suspended, metadata?: object}` (the request body, read by
/// [`parse_moderation`] for its own checks).
#[derive(ToSchema)]
pub struct Moderation {
    #[schema(pattern = "^(active|suspended)$")]
    pub status: Option<String>,
    /// Moderators' notes, at most 4 KiB as JSON.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

pub struct AccountQuery {
    status: Option<String>,
    user_id: Option<String>,
    paging: Paging,
}

impl FromQuery for AccountQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        Self {
            status: q.one_of("status", &STATUSES),
            user_id: q.string("userId", portal_web::validation::MAX_ID_LEN),
            paging: Paging::read(q, 50),
        }
    }
}

/// The integration of a family, configured or not (listing and reading need only the
/// table).
fn integration(state: &AppState, id: &str) -> ApiResult<std::sync::Arc<dyn Integration>> {
    state
        .integrations
        .get(id)
        .ok_or_else(|| ApiError::not_found(portal_services::integrations::UNKNOWN_INTEGRATION))
}

async fn list(state: &AppState, id: &str, query: AccountQuery) -> ApiResult<AccountsPage> {
    integration(state, id)?;
    let request = query.paging.request(&state.keyring)?;
    let accounts = state.db.integration_accounts();
    let status = query.status.as_deref();
    // The page and how many match do not depend on each other: read together.
    let total = async {
        Ok::<_, ApiError>(match query.user_id.as_deref() {
            Some(user) => accounts
                .all_of_user(user)
                .await?
                .iter()
                .filter(|a| a.integration_id == id && a.status != "provisioning")
                .filter(|a| status.is_none_or(|s| a.status == s))
                .count() as i64,
            None => {
                let counts = state.db.stats().accounts(id).await?;
                match status {
                    Some(s) => counts.get(s).copied().unwrap_or_default(),
                    None => counts.values().sum(),
                }
            }
        })
    };
    let (page, total) = futures::try_join!(
        async {
            accounts
                .list_page(id, status, query.user_id.as_deref(), &request)
                .await
                .map_err(ApiError::from)
        },
        total
    )?;
    let owners = state
        .db
        .users()
        .get_many(
            &page
                .items
                .iter()
                .map(|a| a.user_id.clone())
                .collect::<Vec<_>>(),
        )
        .await?;
    Ok(AccountsPage {
        accounts: page
            .items
            .iter()
            .map(|a| row(a, owners.iter().find(|u| u.id == a.user_id)))
            .collect(),
        pagination: PagePosition {
            total: u64::try_from(total).unwrap_or_default(),
            limit: query.paging.limit,
            offset: query.paging.offset,
            has_more: page.has_more,
        },
        next_cursor: next_cursor(&state.keyring, page.next.as_ref()),
    })
}

/// The account and its owner; 404 unless it is an account of this integration.
async fn find(state: &AppState, id: &str, account_id: &str) -> ApiResult<(Account, Option<User>)> {
    let account = state
        .db
        .integration_accounts()
        .get(account_id)
        .await?
        .filter(|a| a.integration_id == id && a.status != "provisioning")
        .ok_or_else(|| ApiError::not_found(ACCOUNT_NOT_FOUND))?;
    let owner = state.db.users().get(&account.user_id).await?;
    Ok((account, owner))
}

async fn show(state: &AppState, id: &str, account_id: &str) -> ApiResult<ModeratedAccount> {
    integration(state, id)?;
    let (account, owner) = find(state, id, account_id).await?;
    Ok(row(&account, owner.as_ref()))
}

/// The account, when `actor` may act on it (staff: regular users' accounts only) and the
/// service is configured.
async fn actionable(
    state: &AppState,
    id: &str,
    account_id: &str,
    actor: &portal_web::caller::Identity,
) -> ApiResult<(std::sync::Arc<dyn Integration>, Account, Option<User>)> {
    let integration = integration(state, id)?;
    let (account, owner) = find(state, id, account_id).await?;
    actor.may_manage(&state.config, owner.as_ref().map_or(Role::User, |u| u.role))?;
    if account.status == "deleted" {
        return Err(ApiError::Conflict(ACCOUNT_DELETED.into()));
    }
    if !integration.enabled() {
        return Err(ApiError::ServiceUnavailable(format!(
            "{} is not configured",
            integration.catalogue().name
        )));
    }
    Ok((integration, account, owner))
}

/// A moderation body, read field by field (the contract's issues, in its order).
fn parse_moderation(body: &Value) -> ApiResult<Moderation> {
    let map = portal_web::validation::object(body)?;
    let mut issues = Vec::new();
    let status = portal_web::validation::optional_string(map, "status", &mut issues);
    if let Some(s) = &status
        && s != "active"
        && s != "suspended"
    {
        issues.push(Issue::invalid_enum(&["active", "suspended"], s).at("status"));
    }
    let metadata = match map.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m @ Value::Object(_)) if m.to_string().len() <= MAX_METADATA_BYTES => Some(m.clone()),
        Some(Value::Object(_)) => {
            issues.push(Issue::too_big("string", MAX_METADATA_BYTES as u64, true).at("metadata"));
            None
        }
        Some(other) => {
            issues.push(Issue::invalid_type("object", type_name(Some(other))).at("metadata"));
            None
        }
    };
    if !issues.is_empty() {
        return Err(validation_error(issues));
    }
    Ok(Moderation { status, metadata })
}

impl From<Moderation> for AccountChange {
    fn from(moderation: Moderation) -> Self {
        AccountChange {
            password: None,
            status: moderation.status,
            metadata: moderation.metadata,
        }
    }
}

async fn update(
    state: &AppState,
    id: &str,
    account_id: &str,
    actor: &portal_web::caller::Identity,
    origin: &Provenance,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<ModeratedAccount> {
    let mut change = AccountChange::from(parse_moderation(&body?.value()?)?);
    let (integration, account, owner) = actionable(state, id, account_id, actor).await?;
    if change.status.as_deref() == Some(account.status.as_str()) {
        // Already so: nothing to ask of the service.
        change.status = None;
    }
    let changed = if change.status.is_some() || change.metadata.is_some() {
        lifecycle::change(
            &state.db,
            integration.as_ref(),
            &account,
            &change,
            origin,
            false,
        )
        .await?
    } else {
        account
    };
    Ok(row(&changed, owner.as_ref()))
}

async fn remove(
    state: &AppState,
    id: &str,
    account_id: &str,
    actor: &portal_web::caller::Identity,
    origin: &Provenance,
) -> ApiResult<Done> {
    let (integration, account, _) = actionable(state, id, account_id, actor).await?;
    lifecycle::retire(
        &state.db,
        integration.as_ref(),
        &account,
        origin,
        state.integrations.cools_until(),
    )
    .await?;
    Ok(DONE)
}

/// The four routes of one integration's family, documented with its own paths and keys.
macro_rules! family {
    (
        $module:ident, $id:literal, $list_path:literal, $one_path:literal,
        $page:ident($many:ident), $one:ident($single:ident)
    ) => {
        #[doc = concat!("`{ ", stringify!($many), " (camelCase), pagination, nextCursor? }`.")]
        #[derive(Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $page {
            pub $many: Vec<ModeratedAccount>,
            pub pagination: PagePosition,
            /// Give it back as `cursor` for the next page; absent on the last page.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub next_cursor: Option<String>,
        }

        impl From<AccountsPage> for $page {
            fn from(page: AccountsPage) -> Self {
                Self {
                    $many: page.accounts,
                    pagination: page.pagination,
                    next_cursor: page.next_cursor,
                }
            }
        }

        #[doc = concat!("`{ ", stringify!($single), " (camelCase) }`.")]
        #[derive(Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $one {
            pub $single: ModeratedAccount,
        }

        pub mod $module {
            use super::*;

            /// The integration's accounts, newest first; by `status` or owner (`userId`).
            #[utoipa::path(
                get,
                path = $list_path,
                security(("signedIn" = [])),
                params(
                    ("status" = Option<String>, Query, pattern = "^(pending|active|suspended|deleted)$"),
                    ("userId" = Option<String>, Query, max_length = 128),
                    portal_web::openapi::Paging,
                ),
                responses(
                    (status = 200, description = concat!("A page: `", $id, "Accounts`"), body = $page),
                )
            )]
            pub async fn list(
                State(state): State<AppState>,
                ValidQuery(query): ValidQuery<AccountQuery>,
                RequireAdminOrStaff(_): RequireAdminOrStaff,
            ) -> ApiResult<Json<$page>> {
                Ok(Json(super::list(&state, $id, query).await?.into()))
            }

            /// One account with its owner.
            #[utoipa::path(
                get,
                path = $one_path,
                security(("signedIn" = [])),
                params(portal_web::openapi::Id),
                responses(
                    (status = 200, description = concat!("`{", $id, "Account}`"), body = $one),
                    (status = 404, description = "`Integration account not found`", body = portal_web::openapi::ErrorEnvelope),
                )
            )]
            pub async fn show(
                State(state): State<AppState>,
                id: PathId,
                RequireAdminOrStaff(_): RequireAdminOrStaff,
            ) -> ApiResult<Json<$one>> {
                let account = super::show(&state, $id, id.as_str()).await?;
                Ok(Json($one { $single: account }))
            }

            /// Suspends or reactivates the account on the service, or sets moderators' notes.
            #[utoipa::path(
                patch,
                path = $one_path,
                security(("signedIn" = [])),
                params(portal_web::openapi::Id),
                request_body = Moderation,
                responses(
                    (status = 200, description = concat!("`{", $id, "Account}`"), body = $one),
                    (status = 403, description = "Staff acting on an admin's or staff member's account", body = portal_web::openapi::ErrorEnvelope),
                    (status = 404, description = "`Integration account not found`", body = portal_web::openapi::ErrorEnvelope),
                    (status = 409, description = "`The account is deleted`, or it changed meanwhile", body = portal_web::openapi::ErrorEnvelope),
                    (status = 502, description = "The service failed; nothing changed", body = portal_web::openapi::ErrorEnvelope),
                    (status = 503, description = "The service is not configured", body = portal_web::openapi::ErrorEnvelope),
                )
            )]
            pub async fn update(
                State(state): State<AppState>,
                id: PathId,
                RequireAdminOrStaff(actor): RequireAdminOrStaff,
                RequestProvenance(origin): RequestProvenance,
                body: Result<JsonBody, ApiError>,
            ) -> ApiResult<Json<$one>> {
                let origin = origin.as_user(&actor.user.id);
                let account = super::update(&state, $id, id.as_str(), &actor, &origin, body).await?;
                Ok(Json($one { $single: account }))
            }

            /// Deletes the account on the service, then marks it deleted (kept for the record).
            #[utoipa::path(
                delete,
                path = $one_path,
                security(("signedIn" = [])),
                params(portal_web::openapi::Id),
                responses(
                    (status = 200, description = "Deleted", body = portal_web::views::Done),
                    (status = 403, description = "Staff acting on an admin's or staff member's account", body = portal_web::openapi::ErrorEnvelope),
                    (status = 404, description = "`Integration account not found`", body = portal_web::openapi::ErrorEnvelope),
                    (status = 409, description = "`The account is deleted`", body = portal_web::openapi::ErrorEnvelope),
                    (status = 502, description = "The service failed; the account is kept", body = portal_web::openapi::ErrorEnvelope),
                    (status = 503, description = "The service is not configured", body = portal_web::openapi::ErrorEnvelope),
                )
            )]
            pub async fn remove(
                State(state): State<AppState>,
                id: PathId,
                RequireAdminOrStaff(actor): RequireAdminOrStaff,
                RequestProvenance(origin): RequestProvenance,
            ) -> ApiResult<Json<Done>> {
                let origin = origin.as_user(&actor.user.id);
                Ok(Json(super::remove(&state, $id, id.as_str(), &actor, &origin).await?))
            }
        }
    };
}

family!(
    xmpp,
    "xmpp",
    "/api/admin/xmpp-accounts",
    "/api/admin/xmpp-accounts/{id}",
    XmppAccountPage(xmpp_accounts),
    XmppAccountBody(xmpp_account)
);
family!(
    irc,
    "irc",
    "/api/admin/irc-accounts",
    "/api/admin/irc-accounts/{id}",
    IrcAccountPage(irc_accounts),
    IrcAccountBody(irc_account)
);
family!(
    mailcow,
    "mailcow",
    "/api/admin/mailcow-accounts",
    "/api/admin/mailcow-accounts/{id}",
    MailcowAccountPage(mailcow_accounts),
    MailcowAccountBody(mailcow_account)
);
family!(
    mediawiki,
    "mediawiki",
    "/api/admin/mediawiki-accounts",
    "/api/admin/mediawiki-accounts/{id}",
    MediawikiAccountPage(mediawiki_accounts),
    MediawikiAccountBody(mediawiki_account)
);
