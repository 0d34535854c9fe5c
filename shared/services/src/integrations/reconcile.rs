//! `portal-admin reconcile`: compares Portal's accounts on one integration with what the
//! service holds, and reports (or, with `fix`, repairs) the drift:
//!
//! | drift | meaning | repair |
//! |---|---|---|
//! | `missing_upstream` | Portal has the account, the service does not | marked `deleted` in Portal |
//! | `unknown_to_portal` | the service has a name no Portal account holds | none: it may predate Portal; reported only |
//! | `banned_but_active` | the owner is banned, the account is not suspended | suspended (by the ban) |
//! | `stale_reservation` | a create died between reserving and confirming | reservation released |
//!
//! Services that cannot list their accounts are asked about each of Portal's accounts
//! instead, and `unknown_to_portal` is not reported for them.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::lifecycle;
use super::service::{AccountChange, Integration, ServiceError, UpstreamError};
use portal_domain::store::Db;
use portal_domain::store::audit::Provenance;
use portal_domain::store::integration_accounts::Account;
use portal_domain::time::{now, parse_iso};

/// How long a reservation may stay `provisioning` (far past any function's timeout).
pub const RESERVATION_LEASE: time::Duration = time::Duration::minutes(2);

/// Whether a reservation's create died (its lease ran out).
pub fn is_stale(account: &Account) -> bool {
    account.status == "provisioning"
        && parse_iso(&account.updated_at).is_none_or(|at| at + RESERVATION_LEASE < now())
}

/// One disagreement between Portal and the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    pub kind: &'static str,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Repaired by this run.
    pub fixed: bool,
    /// Why a repair failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Drift {
    fn of(kind: &'static str, account: &Account) -> Self {
        Self {
            kind,
            username: account.username.clone(),
            account_id: Some(account.id.clone()),
            user_id: Some(account.user_id.clone()),
            fixed: false,
            error: None,
        }
    }

    fn repaired(mut self, outcome: Result<(), ServiceError>) -> Self {
        match outcome {
            Ok(()) => self.fixed = true,
            Err(err) => self.error = Some(err.to_string()),
        }
        self
    }
}

/// Compares and (with `fix`) repairs; the drift found, in Portal's order then the
/// service's. An account gone from the service is retired, its name cooling until
/// `cools_until`.
pub async fn reconcile(
    db: &Db,
    integration: &dyn Integration,
    origin: &Provenance,
    fix: bool,
    cools_until: Option<i64>,
) -> Result<Vec<Drift>, ServiceError> {
    let id = integration.id();
    if !integration.enabled() {
        return Err(ServiceError::Upstream(UpstreamError::Unavailable(format!(
            "{id} is not configured"
        ))));
    }
    let accounts = db.integration_accounts().all_of_integration(id).await?;
    let listed: Option<HashSet<String>> = integration
        .upstream_names()
        .await?
        .map(|names| names.into_iter().collect());
    let owners: HashMap<String, bool> = db
        .users()
        .get_many(
            &accounts
                .iter()
                .map(|a| a.user_id.clone())
                .collect::<Vec<_>>(),
        )
        .await?
        .into_iter()
        .map(|u| (u.id, u.banned))
        .collect();
    let mut drift = Vec::new();
    let mut held = HashSet::new();
    for account in &accounts {
        // Deleted accounts may stay on a service that cannot delete (the wiki blocks them):
        // their names are Portal's, not unknown.
        held.insert(account.username.clone());
        if account.status == "deleted" {
            continue;
        }
        if account.status == "provisioning" {
            if is_stale(account) {
                let found = Drift::of("stale_reservation", account);
                drift.push(if fix {
                    let released = db.integration_accounts().release(account, None, None).await;
                    found.repaired(released.map_err(ServiceError::from))
                } else {
                    found
                });
            }
            continue;
        }
        let upstream_has = match &listed {
            Some(names) => names.contains(&account.username),
            None => integration.exists(&account.username).await?,
        };
        if !upstream_has {
            let found = Drift::of("missing_upstream", account);
            drift.push(if fix {
                let event = account.audit_event(
                    origin,
                    "integration_account.deleted",
                    Some(serde_json::json!({ "reconciled": true })),
                );
                let retired = db
                    .integration_accounts()
                    .retire(
                        account,
                        &portal_domain::time::iso(now()),
                        cools_until,
                        Some(&event),
                    )
                    .await
                    .map_err(ServiceError::from)
                    .and_then(|done| done.map(|_| ()).ok_or(ServiceError::ChangedMeanwhile));
                found.repaired(retired)
            } else {
                found
            });
            continue;
        }
        let banned = owners.get(&account.user_id).copied().unwrap_or(false);
        if banned && matches!(account.status.as_str(), "active" | "pending") {
            let found = Drift::of("banned_but_active", account);
            drift.push(if fix {
                let suspended = lifecycle::change(
                    db,
                    integration,
                    account,
                    &AccountChange::status("suspended"),
                    origin,
                    true,
                )
                .await;
                found.repaired(suspended.map(|_| ()))
            } else {
                found
            });
        }
    }
    if let Some(names) = listed {
        let mut unknown: Vec<_> = names.difference(&held).cloned().collect();
        unknown.sort();
        drift.extend(unknown.into_iter().map(|username| Drift {
            kind: "unknown_to_portal",
            username,
            account_id: None,
            user_id: None,
            fixed: false,
            error: None,
        }));
    }
    Ok(drift)
}
