//! Integration accounts: list the caller's, create (reserve, check and provision upstream,
//! activate; undone on any failure), read, change, delete (upstream first).

use portal_web::views::{DONE, Done};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::bodies;
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use portal_domain::crypto::new_id;
use portal_domain::model::Role;
use portal_domain::store::integration_accounts::{Account, ReserveError, Taker};
use portal_domain::store::keys;
use portal_domain::time::{iso, now};
use portal_services::integrations::view::AccountView;
use portal_services::integrations::{
    AccountChange, Integration, Provisioned, RESET_NOT_SUPPORTED, Resets, USERNAME_TAKEN,
    lifecycle, names, reconcile,
};
use portal_services::moderation::{Actor, may_manage};
use portal_web::caller::{Identity, RequireAuth};
use portal_web::error::FORBIDDEN_ADMIN;
use portal_web::http::RequestProvenance;
use portal_web::http::{Deadline, json_with_status};
use portal_web::openapi::ErrorEnvelope;
use portal_web::rate_limit::{self, Bucket};
use portal_web::validation::{JsonBody, OptionalJsonBody, PathId, validation_error};
use portal_web::{ApiError, ApiResult, AppState};
use utoipa::{IntoParams, ToSchema};

pub const ACCOUNT_NOT_FOUND: &str = "Integration account not found";
pub const ACCESS_DENIED: &str = "Forbidden - Access denied";
pub const ALREADY_HAS_ONE: &str = "You already have an account on this integration";
pub const SUSPENDED: &str =
    "Forbidden - the account is suspended; an admin or staff member can reactivate it";
pub const SUSPENDED_NOT_DELETABLE: &str = "Forbidden - a suspended account cannot be deleted by its owner; an admin or staff member can lift the suspension";
pub const SUSPENDED_HERE: &str = "Forbidden - your account on this integration is suspended; an admin or staff member can lift the suspension";

/// The `{integration}` of a path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IntegrationPath {
    /// An integration id from `GET /api/integrations` (e.g. `xmpp`).
    pub integration: String,
}

/// `{ ok: true, accounts, account }`: the list the API documents, and the one account
/// (a user has at most one per service; `null` when none) where Portal's web app reads it.
#[derive(Serialize, ToSchema)]
pub struct AccountList {
    pub ok: bool,
    pub accounts: Vec<AccountView>,
    pub account: Option<AccountView>,
}

/// `{ ok: true, account }`.
#[derive(Serialize, ToSchema)]
pub struct AccountBody {
    pub ok: bool,
    pub account: AccountView,
}

/// `{ ok: true, account, temporaryPassword? }` (the password also on the account).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAccount {
    pub ok: bool,
    pub account: AccountView,
    /// A generated password, returned once, when none was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

/// The `{integration}` path segment, resolved in the registry before anything else:
/// 404 `Unknown integration`, 403 `Integration is disabled`.
pub struct Chosen(Arc<dyn Integration>);

impl FromRequestParts<AppState> for Chosen {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(path) = Path::<IntegrationPath>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found(portal_services::integrations::UNKNOWN_INTEGRATION))?;
        Ok(Chosen(state.integrations.enabled(&path.integration)?))
    }
}

/// The account, if it exists on this integration (404 otherwise).
pub(crate) async fn find(state: &AppState, integration: &str, id: &str) -> ApiResult<Account> {
    state
        .db
        .integration_accounts()
        .get(id)
        .await?
        .filter(|a| a.integration_id == integration && a.is_live())
        .ok_or_else(|| ApiError::not_found(ACCOUNT_NOT_FOUND))
}

/// The account, if it exists on this integration and the caller owns it or is an admin
/// (whose role counts under the second-factor rule).
pub(crate) async fn accessible(
    state: &AppState,
    integration: &str,
    id: &str,
    caller: &Identity,
) -> ApiResult<Account> {
    let account = find(state, integration, id).await?;
    if account.user_id != caller.user.id && !acts_as_admin(state, caller)? {
        return Err(ApiError::forbidden(ACCESS_DENIED));
    }
    Ok(account)
}

/// Whether the caller's role makes them an admin for this request (403 when their role
/// needs a second factor this credential has not passed).
fn acts_as_admin(state: &AppState, caller: &Identity) -> ApiResult<bool> {
    Ok(caller
        .moderator(&state.config)?
        .is_some_and(|m| m.is_admin()))
}

/// The account, for an admin or staff member changing its status (staff only for regular
/// users' accounts; a password in the same change still needs the owner or an admin).
async fn moderated(
    state: &AppState,
    integration: &str,
    id: &str,
    caller: &Identity,
    change: &AccountChange,
) -> ApiResult<Account> {
    let moderator = caller.require_moderator(&state.config)?;
    if change.password.is_some() {
        return accessible(state, integration, id, caller).await;
    }
    let account = find(state, integration, id).await?;
    let owner_role = state
        .db
        .users()
        .get(&account.user_id)
        .await?
        .map_or(Role::User, |u| u.role);
    if !may_manage(Actor::Member(moderator), owner_role) {
        return Err(ApiError::forbidden(FORBIDDEN_ADMIN));
    }
    Ok(account)
}

/// The caller's own accounts on an integration.
#[utoipa::path(
    get,
    path = "/api/integrations/{integration}/accounts",
    security(("signedIn" = [])),
    params(IntegrationPath),
    responses(
        (status = 200, description = "The caller's accounts", body = AccountList),
        (status = 403, description = "`Integration is disabled`", body = ErrorEnvelope),
        (status = 404, description = "`Unknown integration`", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Chosen(integration): Chosen,
    RequireAuth(me): RequireAuth,
) -> ApiResult<Json<AccountList>> {
    let accounts = state
        .db
        .integration_accounts()
        .list_for_user(&me.user.id, integration.id())
        .await?;
    let accounts: Vec<AccountView> = accounts.iter().map(AccountView::for_owner).collect();
    Ok(Json(AccountList {
        ok: true,
        account: accounts.first().cloned(),
        accounts,
    }))
}

/// Creates the caller's account on the service (one per integration), undone on any failure.
#[utoipa::path(
    post,
    path = "/api/integrations/{integration}/accounts",
    security(("signedIn" = [])),
    params(IntegrationPath),
    request_body = bodies::NewAccountBody,
    responses(
        (status = 201, description = "Created (with `temporaryPassword` once if none was given)", body = CreatedAccount),
        (status = 403, description = "`Integration is disabled`", body = ErrorEnvelope),
        (status = 404, description = "`Unknown integration`", body = ErrorEnvelope),
        (status = 409, description = "The caller already has one, or the username is taken", body = ErrorEnvelope),
        (status = 502, description = "The service failed; nothing was kept", body = ErrorEnvelope),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Chosen(integration): Chosen,
    RequireAuth(me): RequireAuth,
    RequestProvenance(origin): RequestProvenance,
    deadline: Deadline,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Response> {
    let (request, name_field) =
        bodies::new_account(integration.as_ref(), &me.user, &body?.value()?)?;
    let name = request.username.split('@').next().unwrap_or_default();
    names::check(&state.config, name)
        .map_err(|issue| validation_error(vec![issue.at(name_field)]))?;
    // Staff and admins may take a name still cooling after its owner deleted it.
    let taker = Taker {
        moderator: me.moderator(&state.config).ok().flatten().is_some(),
        ..Taker::user()
    };
    let at = iso(now());
    let reserved = Account {
        id: new_id(),
        user_id: me.user.id.clone(),
        integration_id: integration.id().to_string(),
        username: request.username.clone(),
        data: request.data.clone(),
        status: "provisioning".into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    let accounts = state.db.integration_accounts();
    // A reservation whose create died mid-way (its lease ran out) does not block anyone: it
    // is released and the reservation tried once more. Upstream is left alone: the name may
    // belong to an account Portal did not make, so the usual check decides.
    let mut cleared_stale = false;
    loop {
        let conflict = match accounts.reserve(&reserved, taker).await {
            Ok(()) => break,
            Err(ReserveError::AlreadyHasOne) => ALREADY_HAS_ONE,
            Err(ReserveError::UsernameTaken) => USERNAME_TAKEN,
            Err(ReserveError::Store(e)) => return Err(e.into()),
        };
        let holder = if conflict == ALREADY_HAS_ONE {
            accounts
                .holder_of_user_claim(&me.user.id, integration.id())
                .await?
        } else {
            accounts
                .holder_of_username(integration.id(), &request.username)
                .await?
        };
        match holder {
            // The caller's own account there is suspended: a new one would undo it.
            Some(mine) if mine.user_id == me.user.id && mine.status == "suspended" => {
                return Err(ApiError::forbidden(SUSPENDED_HERE));
            }
            Some(stale) if !cleared_stale && reconcile::is_stale(&stale) => {
                tracing::warn!(account = %stale.id, "releasing a reservation whose lease ran out");
                accounts.release(&stale, None, None).await?;
                cleared_stale = true;
            }
            _ => return Err(ApiError::Conflict(conflict.into())),
        }
    }
    // From here on, any failure releases the reservation (and what upstream got). The
    // upstream calls end before the invocation's deadline, so the release always runs.
    let upstream = async {
        if integration.exists(&request.username).await? {
            return Err(portal_services::integrations::UpstreamError::Taken);
        }
        integration.provision(&request).await
    };
    let outcome = deadline.within(upstream).await.unwrap_or_else(|| {
        Err(portal_services::integrations::UpstreamError::failed(
            integration.id(),
            format!(
                "{} did not answer before the request's deadline",
                integration.catalogue().name
            ),
        ))
    });
    let status = match outcome {
        Ok(Provisioned::Active) => "active",
        Ok(Provisioned::Pending) => "pending",
        Err(err) => {
            accounts.release(&reserved, None, None).await?;
            return Err(err.into());
        }
    };
    let origin = origin.as_user(&me.user.id);
    let created = reserved.audit_event(&origin, "integration_account.created", None);
    let active = match accounts
        .activate(&reserved, status, &iso(now()), Some(&created))
        .await
    {
        Ok(Some(active)) => active,
        outcome => {
            tracing::error!(account = %reserved.id, ?outcome, "account provisioned upstream but not recorded; rolling back");
            if let Err(err) = integration.deprovision(&reserved).await {
                tracing::error!(account = %reserved.id, error = %err, "rollback upstream failed: an orphan account remains upstream");
            }
            if let Err(err) = accounts.release(&reserved, None, None).await {
                tracing::error!(account = %reserved.id, error = %err, "releasing the reservation failed");
            }
            return Err(ApiError::internal(
                "integration account could not be recorded",
            ));
        }
    };
    let temporary_password = request.generated_password.then_some(request.password);
    let body = CreatedAccount {
        ok: true,
        account: AccountView {
            temporary_password: temporary_password.clone(),
            ..AccountView::for_owner(&active)
        },
        temporary_password,
    };
    Ok(json_with_status(StatusCode::CREATED, body))
}

/// One account (its owner, staff or an admin).
#[utoipa::path(
    get,
    path = "/api/integrations/{integration}/accounts/{id}",
    security(("signedIn" = [])),
    params(IntegrationPath, portal_web::openapi::Id),
    responses(
        (status = 200, description = "The account", body = AccountBody),
        (status = 403, description = "Not the caller's, or the integration is disabled", body = ErrorEnvelope),
        (status = 404, description = "`Integration account not found`", body = ErrorEnvelope),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    id: PathId,
    Chosen(integration): Chosen,
    RequireAuth(me): RequireAuth,
) -> ApiResult<Json<AccountBody>> {
    let account = accessible(&state, integration.id(), id.as_str(), &me).await?;
    Ok(Json(AccountBody {
        ok: true,
        account: AccountView::for_owner(&account),
    }))
}

/// Changes an account's password, or (staff and admins) suspends or reactivates it.
#[utoipa::path(
    patch,
    path = "/api/integrations/{integration}/accounts/{id}",
    security(("signedIn" = [])),
    params(IntegrationPath, portal_web::openapi::Id),
    request_body = bodies::AccountUpdate,
    responses(
        (status = 200, description = "The changed account", body = AccountBody),
        (status = 403, description = "Not allowed", body = ErrorEnvelope),
        (status = 404, description = "`Integration account not found`", body = ErrorEnvelope),
        (status = 502, description = "The service failed; nothing changed", body = ErrorEnvelope),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    id: PathId,
    Chosen(integration): Chosen,
    RequireAuth(me): RequireAuth,
    RequestProvenance(origin): RequestProvenance,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Json<AccountBody>> {
    let change = bodies::account_change(integration.as_ref(), &body?.value()?)?;
    let old = match &change.status {
        // Suspending or reactivating is moderation: admin or staff, under the staff rule.
        Some(_) => moderated(&state, integration.id(), id.as_str(), &me, &change).await?,
        None => accessible(&state, integration.id(), id.as_str(), &me).await?,
    };
    let reactivating = change.status.as_deref() == Some("active");
    if old.status == "suspended" && change.password.is_some() && !reactivating {
        return Err(ApiError::forbidden(SUSPENDED));
    }
    let origin = origin.as_user(&me.user.id);
    let new = lifecycle::change(
        &state.db,
        integration.as_ref(),
        &old,
        &change,
        &origin,
        false,
    )
    .await?;
    Ok(Json(AccountBody {
        ok: true,
        account: AccountView::for_owner(&new),
    }))
}

/// Deletes an account, on the service first.
#[utoipa::path(
    delete,
    path = "/api/integrations/{integration}/accounts/{id}",
    security(("signedIn" = [])),
    params(IntegrationPath, portal_web::openapi::Id),
    responses(
        (status = 200, description = "Deleted", body = portal_web::views::Done),
        (status = 403, description = "Not allowed", body = ErrorEnvelope),
        (status = 404, description = "`Integration account not found`", body = ErrorEnvelope),
        (status = 502, description = "The service failed; the account is kept", body = ErrorEnvelope),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    id: PathId,
    Chosen(integration): Chosen,
    RequireAuth(me): RequireAuth,
    RequestProvenance(origin): RequestProvenance,
) -> ApiResult<Json<Done>> {
    let account = accessible(&state, integration.id(), id.as_str(), &me).await?;
    // A suspension is moderation: deleting the account (and freeing its claim for a new
    // one) would undo it, so only those who may lift it may delete it.
    if account.status == "suspended" && !acts_as_admin(&state, &me)? {
        return Err(ApiError::forbidden(SUSPENDED_NOT_DELETABLE));
    }
    lifecycle::retire(
        &state.db,
        integration.as_ref(),
        &account,
        &origin.as_user(&me.user.id),
        state.integrations.cools_until(),
    )
    .await?;
    Ok(Json(DONE))
}

/// `{ ok: true, message, temporaryPassword? }`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetDone {
    pub ok: bool,
    /// `<service> password reset successfully` (what Portal's web app shows).
    pub message: String,
    /// The password the service picked, shown once (when none was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

/// Resets the account's password on the service (its owner or an admin): XMPP and mail set
/// the one given; IRC sets the one given, or has Atheme pick one and returns it once.
#[utoipa::path(
    post,
    path = "/api/integrations/{integration}/accounts/{id}/reset-password",
    security(("signedIn" = [])),
    params(IntegrationPath, portal_web::openapi::Id),
    request_body(content = Option<bodies::PasswordReset>, content_type = "application/json"),
    responses(
        (status = 200, description = "Reset", body = ResetDone),
        (status = 400, description = "`Password reset is not supported`, or a bad password", body = ErrorEnvelope),
        (status = 403, description = "Not the caller's, suspended, or the integration is disabled", body = ErrorEnvelope),
        (status = 404, description = "`Integration account not found`", body = ErrorEnvelope),
        (status = 429, description = "Too many resets", body = ErrorEnvelope),
        (status = 502, description = "The service failed; the password is unchanged", body = ErrorEnvelope),
        (status = 503, description = "The service's operator access is not configured", body = ErrorEnvelope),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    id: PathId,
    Chosen(integration): Chosen,
    RequireAuth(me): RequireAuth,
    RequestProvenance(origin): RequestProvenance,
    body: Result<OptionalJsonBody, ApiError>,
) -> ApiResult<Json<ResetDone>> {
    let resets = integration.resets_passwords();
    if resets == Resets::No {
        return Err(ApiError::bad_request(RESET_NOT_SUPPORTED));
    }
    let reset = bodies::password_reset(integration.as_ref(), body?.value()?.as_ref())?;
    let bucket = Bucket::new(
        keys::rate_bucket_service_reset(&me.user.id),
        state.config.rate_limits.service_resets,
    );
    // Counting the reset and reading the account do not depend on each other.
    let (_, account) = futures::try_join!(
        rate_limit::enforce(&state, bucket),
        accessible(&state, integration.id(), id.as_str(), &me)
    )?;
    if account.status == "suspended" {
        return Err(ApiError::forbidden(SUSPENDED));
    }
    let temporary = lifecycle::reset_password(
        &state.db,
        integration.as_ref(),
        &account,
        reset.password.as_deref(),
        &origin.as_user(&me.user.id),
    )
    .await?;
    Ok(Json(ResetDone {
        ok: true,
        message: format!(
            "{} password reset successfully",
            integration.catalogue().name
        ),
        temporary_password: temporary,
    }))
}
