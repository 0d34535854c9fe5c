//! What is done to an existing service account, the same from every entry point (its
//! owner, a moderator, a ban and its lifting, the operator's CLI): the service first, then
//! Portal's record in one conditional write with its audit event. When the record cannot
//! be written after the service changed, the service is put back (a status), or the
//! drift is left for `portal-admin reconcile` (a deletion: the service's side is already
//! gone, and deleting again is harmless).

use serde::Serialize;
use serde_json::json;

use super::registry::Registry;
use super::service::{AccountChange, Integration, ServiceError};
use portal_domain::store::Db;
use portal_domain::store::audit::Provenance;
use portal_domain::store::integration_accounts::Account;
use portal_domain::time::{iso, millisecond, now};

/// A moment after `old` was last written (its `updatedAt` is the write's condition).
fn next_update(old: &Account) -> String {
    let at = iso(now());
    if at == old.updated_at {
        iso(now() + millisecond())
    } else {
        at
    }
}

/// Applies `change` on the service, then records it. `by_ban` marks a suspension made by
/// a ban (so lifting the ban reactivates it, and only it).
pub async fn change(
    db: &Db,
    integration: &dyn Integration,
    old: &Account,
    change: &AccountChange,
    origin: &Provenance,
    by_ban: bool,
) -> Result<Account, ServiceError> {
    if change.touches_service() {
        integration.apply(old, change).await?;
    }
    let mut new = old.clone();
    if let Some(status) = &change.status {
        new.status = status.clone();
        new.suspended_by_ban = by_ban && status == "suspended";
    }
    if let Some(metadata) = &change.metadata {
        new.metadata = Some(metadata.clone());
    }
    new.updated_at = next_update(old);
    let details = json!({
        "status": { "before": old.status, "after": new.status },
        "passwordChanged": change.password.is_some(),
        "metadataChanged": change.metadata.is_some(),
        "byBan": by_ban,
    });
    let event = new.audit_event(origin, "integration_account.changed", Some(details));
    let saved = db
        .integration_accounts()
        .save(old, &new, Some(&event))
        .await;
    if matches!(saved, Ok(true)) {
        return Ok(new);
    }
    // The service changed but Portal's record did not: put the service's status back.
    if new.status != old.status {
        let back = AccountChange::status(&old.status);
        if let Err(err) = integration.apply(&new, &back).await {
            tracing::error!(account = %old.id, error = %err, "putting the service back failed: reconcile will report the drift");
        }
    }
    match saved {
        Err(err) => Err(err.into()),
        _ => Err(ServiceError::ChangedMeanwhile),
    }
}

/// Deletes the account on the service, then marks it `deleted` in Portal (kept for the
/// record; its claims freed, the name kept for its former owner until `cools_until`).
pub async fn retire(
    db: &Db,
    integration: &dyn Integration,
    account: &Account,
    origin: &Provenance,
    cools_until: Option<i64>,
) -> Result<Account, ServiceError> {
    if integration.enabled() && account.status != "provisioning" {
        integration.deprovision(account).await?;
    }
    let event = account.audit_event(origin, "integration_account.deleted", None);
    db.integration_accounts()
        .retire(account, &next_update(account), cools_until, Some(&event))
        .await?
        .ok_or(ServiceError::ChangedMeanwhile)
}

/// Resets the password on the service (the one given, or one the service picks, returned
/// once) and records that it happened (never the password).
pub async fn reset_password(
    db: &Db,
    integration: &dyn Integration,
    account: &Account,
    password: Option<&str>,
    origin: &Provenance,
) -> Result<Option<String>, ServiceError> {
    let temporary = integration.reset_password(account, password).await?;
    let details = json!({ "generated": temporary.is_some() });
    let event = account.audit_event(origin, "integration_account.password_reset", Some(details));
    if let Err(err) = db.audit().append(&event).await {
        // The password is already changed on the service; the owner must learn it.
        tracing::error!(account = %account.id, error = %err, "the reset could not be recorded");
    }
    Ok(temporary)
}

/// What a ban or its lifting did to one service account.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub integration: String,
    pub account_id: String,
    /// The account's status now.
    pub status: String,
    /// Why the service could not follow (the account kept its status on both sides;
    /// `portal-admin reconcile` reports it until fixed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Suspends every active (or pending) account of a user just banned; restores, when the
/// ban is lifted, those the ban suspended. A service that fails does not undo the ban.
pub async fn follow_ban(
    registry: &Registry,
    db: &Db,
    user_id: &str,
    banned: bool,
    origin: &Provenance,
) -> Result<Vec<Outcome>, portal_domain::store::StoreError> {
    let accounts = db.integration_accounts().all_of_user(user_id).await?;
    let wanted = AccountChange::status(if banned { "suspended" } else { "active" });
    let affected = accounts.into_iter().filter_map(|account| {
        let follows = if banned {
            matches!(account.status.as_str(), "active" | "pending")
        } else {
            account.status == "suspended" && account.suspended_by_ban
        };
        let integration = registry
            .get(&account.integration_id)
            .filter(|i| follows && i.enabled())?;
        Some((integration, account))
    });
    // Each account is on its own service: they follow the ban together, so a slow service
    // delays the answer once, not once per service.
    let outcomes = futures::future::join_all(affected.map(|(integration, account)| {
        let wanted = &wanted;
        async move {
            match change(db, integration.as_ref(), &account, wanted, origin, banned).await {
                Ok(now) => Outcome {
                    integration: now.integration_id,
                    account_id: now.id,
                    status: now.status,
                    error: None,
                },
                Err(err) => {
                    tracing::warn!(account = %account.id, error = %err, banned, "a service account did not follow the ban");
                    Outcome {
                        integration: account.integration_id,
                        account_id: account.id,
                        status: account.status,
                        error: Some(err.to_string()),
                    }
                }
            }
        }
    }))
    .await;
    Ok(outcomes)
}
