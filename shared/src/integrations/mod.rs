//! The integration registry: community services where a Portal user can hold an account
//! (XMPP first). Adding one means a module implementing [`Integration`] and one line in
//! [`Registry::from_config`]. Each integration validates its own bodies and shapes its own
//! account `data`; this module keeps accounts in the table, unique per user and per
//! username, and never half-written (see `store::integration_accounts`).

pub mod xmpp;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::config::Config;
use crate::error::ApiError;
use crate::store::integration_accounts::Account;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub const USERNAME_TAKEN: &str = "Username already taken";

/// Why a call to the service behind an integration failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The service already has that name (409).
    #[error("{USERNAME_TAKEN}")]
    Taken,
    /// Unreachable, too slow, refused our credentials, or failed (502).
    #[error("{0}")]
    Failed(String),
}

impl UpstreamError {
    /// The service behind `integration` failed: the error, and the failure counted for the
    /// request's `UpstreamFailures` metric.
    pub fn failed(integration: &'static str, message: impl Into<String>) -> Self {
        crate::observe::upstream_failed(integration);
        Self::Failed(message.into())
    }
}

impl From<UpstreamError> for ApiError {
    fn from(err: UpstreamError) -> Self {
        match err {
            UpstreamError::Taken => ApiError::Conflict(USERNAME_TAKEN.into()),
            UpstreamError::Failed(message) => ApiError::BadGateway(message),
        }
    }
}

/// A validated request to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The name that must be unique within the integration (e.g. the XMPP localpart).
    pub username: String,
    /// The password to set upstream (never stored).
    pub password: String,
    /// True when Portal generated the password (it is returned once).
    pub generated_password: bool,
    /// The account `data` to store and show.
    pub data: Value,
}

/// A validated change to an account. `status` (suspend or reactivate) is for admins and
/// staff only; a suspended account takes a new password only together with `status:
/// "active"` (suspension locks the account upstream, reactivation with a password opens it).
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub password: Option<String>,
    pub status: Option<String>,
}

/// One community service.
pub trait Integration: Send + Sync {
    fn id(&self) -> &'static str;
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn icon(&self) -> Option<&'static str>;
    /// Configured completely, so usable.
    fn enabled(&self) -> bool;
    /// Checks a create body (400 validation envelope when bad).
    fn parse_create(&self, body: &Value) -> Result<NewAccount, ApiError>;
    /// Checks an update body.
    fn parse_update(&self, body: &Value) -> Result<AccountChange, ApiError>;
    /// Whether `username` already exists upstream.
    fn exists(&self, username: &str) -> BoxFuture<'_, Result<bool, UpstreamError>>;
    /// Creates the account upstream.
    fn provision<'a>(&'a self, account: &'a NewAccount)
    -> BoxFuture<'a, Result<(), UpstreamError>>;
    /// Applies a change upstream (what the service supports of it).
    fn apply<'a>(
        &'a self,
        account: &'a Account,
        change: &'a AccountChange,
    ) -> BoxFuture<'a, Result<(), UpstreamError>>;
    /// Removes the account upstream; an account already gone there is not an error.
    fn deprovision<'a>(&'a self, account: &'a Account) -> BoxFuture<'a, Result<(), UpstreamError>>;
}

/// Every integration Portal knows, enabled or not.
#[derive(Clone)]
pub struct Registry {
    integrations: Arc<Vec<Arc<dyn Integration>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<_> = self.integrations.iter().map(|i| i.id()).collect();
        f.debug_struct("Registry")
            .field("integrations", &ids)
            .finish()
    }
}

pub const UNKNOWN_INTEGRATION: &str = "Unknown integration";
pub const INTEGRATION_DISABLED: &str = "Integration is disabled";

impl Registry {
    /// The one place integrations are registered.
    pub fn from_config(config: &Config) -> Self {
        Self::new(vec![Arc::new(xmpp::Xmpp::from_config(config))])
    }

    pub fn new(integrations: Vec<Arc<dyn Integration>>) -> Self {
        Self {
            integrations: Arc::new(integrations),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Integration>> {
        self.integrations.iter()
    }

    /// An enabled integration by id: 404 `Unknown integration`, 403 `Integration is disabled`.
    pub fn enabled(&self, id: &str) -> Result<Arc<dyn Integration>, ApiError> {
        let found = self
            .integrations
            .iter()
            .find(|i| i.id() == id)
            .ok_or_else(|| ApiError::not_found(UNKNOWN_INTEGRATION))?;
        if found.enabled() {
            Ok(found.clone())
        } else {
            Err(ApiError::forbidden(INTEGRATION_DISABLED))
        }
    }

    /// Any integration by id, enabled or not (deprovisioning on user deletion).
    pub fn get(&self, id: &str) -> Option<Arc<dyn Integration>> {
        self.integrations.iter().find(|i| i.id() == id).cloned()
    }
}

/// Removes every integration account of a user, upstream first: a failure upstream stops
/// here with a 502 and leaves the rest in place (nothing half-removed).
pub async fn remove_accounts_of_user(
    registry: &Registry,
    db: &crate::store::Db,
    user_id: &str,
) -> Result<usize, ApiError> {
    let accounts = db.integration_accounts().all_of_user(user_id).await?;
    for account in &accounts {
        if let Some(integration) = registry.get(&account.integration_id)
            && integration.enabled()
            && account.status != "provisioning"
        {
            integration.deprovision(account).await?;
        }
        // Recorded with the user's deletion, which follows.
        db.integration_accounts().release(account, None).await?;
    }
    Ok(accounts.len())
}
