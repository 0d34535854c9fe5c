//! The integration registry: community services where a Portal user can hold an account
//! (XMPP on Prosody, IRC on Atheme, mail on Mailcow, the wiki on MediaWiki). Adding one
//! means a module implementing [`Integration`] and one line in [`Registry::from_config`].
//! Each integration validates its own bodies and shapes its own account `data`; this
//! module keeps accounts in the table, unique per user and per username, and never
//! half-written (see `store::integration_accounts`).

pub mod irc;
pub mod lifecycle;
pub mod mailcow;
pub mod mediawiki;
pub mod names;
pub mod reconcile;
pub mod view;
pub mod xmpp;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::crypto::{PasswordLength, check_password_length};
use crate::error::ApiError;
use crate::model::User;
use crate::store::integration_accounts::Account;
use crate::validation::{Issue, type_name, validation_error};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub const USERNAME_TAKEN: &str = "Username already taken";
pub const RESET_NOT_SUPPORTED: &str = "Password reset is not supported";

/// Why a call to the service behind an integration failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The service already has that name (409).
    #[error("{USERNAME_TAKEN}")]
    Taken,
    /// Unreachable, too slow, refused our credentials, or failed (502).
    #[error("{0}")]
    Failed(String),
    /// Portal lacks the configuration this operation needs (503).
    #[error("{0}")]
    Unavailable(String),
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
            UpstreamError::Unavailable(message) => ApiError::ServiceUnavailable(message),
        }
    }
}

/// A validated request to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The name that must be unique within the integration (e.g. the XMPP localpart),
    /// as the service compares names (lower-cased).
    pub username: String,
    /// The password to set upstream (never stored).
    pub password: String,
    /// True when Portal generated the password (it is returned once).
    pub generated_password: bool,
    /// The owner's e-mail address (IRC registers the nick to it).
    pub email: String,
    /// The owner's display name (Mailcow shows it).
    pub owner_name: String,
    /// The account `data` to store and show.
    pub data: Value,
}

impl NewAccount {
    /// A request for `owner` with `password` given, or one generated (returned once).
    pub fn new(owner: &User, username: String, password: Option<String>, data: Value) -> Self {
        let (password, generated_password) = match password {
            Some(p) => (p, false),
            None => (crate::crypto::random_alphanumeric(24), true),
        };
        Self {
            username,
            password,
            generated_password,
            email: owner.email.clone(),
            owner_name: owner.name.clone(),
            data,
        }
    }
}

/// What the service made of a new account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioned {
    /// Usable now.
    Active,
    /// Registered, waiting for its owner to confirm (Atheme's e-mail verification).
    Pending,
}

/// Whether and how a service resets an account's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resets {
    /// It cannot (400 `Password reset is not supported`).
    No,
    /// It sets the password it is given (one is required).
    GivenPassword,
    /// It sets the one given, or picks one itself.
    AnyPassword,
}

/// A validated change to an account. `status` (suspend or reactivate) is for admins and
/// staff only; a suspended account takes a new password only together with `status:
/// "active"` (suspension locks the account upstream, reactivation with a password opens it).
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub password: Option<String>,
    pub status: Option<String>,
    /// Moderators' notes: Portal's alone, the service never sees them.
    pub metadata: Option<Value>,
}

impl AccountChange {
    /// A status change alone (moderation, a ban and its lifting).
    pub fn status(status: &str) -> Self {
        Self {
            status: Some(status.to_string()),
            ..Self::default()
        }
    }

    /// Whether the service has anything to do.
    pub fn touches_service(&self) -> bool {
        self.password.is_some() || self.status.is_some()
    }
}

/// One community service.
pub trait Integration: Send + Sync {
    fn id(&self) -> &'static str;
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn icon(&self) -> Option<&'static str>;
    /// Configured completely, so usable.
    fn enabled(&self) -> bool;
    /// The implementation itself, for routes only one service has (Mailcow's aliases).
    fn as_any(&self) -> &dyn std::any::Any;
    /// Checks a create body for `owner` (400 validation envelope when bad).
    fn parse_create(&self, owner: &User, body: &Value) -> Result<NewAccount, ApiError>;
    /// The create body's field that names the account (for a refusal of the name).
    fn name_field(&self) -> &'static str {
        "username"
    }
    /// Checks an update body: `{password?, status?: active|suspended}`.
    fn parse_update(&self, body: &Value) -> Result<AccountChange, ApiError> {
        password_and_status(body)
    }
    /// Whether `username` already exists upstream.
    fn exists(&self, username: &str) -> BoxFuture<'_, Result<bool, UpstreamError>>;
    /// Creates the account upstream.
    fn provision<'a>(
        &'a self,
        account: &'a NewAccount,
    ) -> BoxFuture<'a, Result<Provisioned, UpstreamError>>;
    /// Applies a change upstream (a password, a suspension or its lifting).
    fn apply<'a>(
        &'a self,
        account: &'a Account,
        change: &'a AccountChange,
    ) -> BoxFuture<'a, Result<(), UpstreamError>>;
    /// Removes the account upstream; an account already gone there is not an error.
    fn deprovision<'a>(&'a self, account: &'a Account) -> BoxFuture<'a, Result<(), UpstreamError>>;
    /// A password this service cannot take, beyond the common length rule (IRC: no
    /// spaces, since services split command lines on them).
    fn password_issue(&self, _password: &str) -> Option<Issue> {
        None
    }
    /// What [`Integration::reset_password`] takes.
    fn resets_passwords(&self) -> Resets {
        Resets::No
    }
    /// Sets `password` upstream, or (when `None` and the service can) has the service pick
    /// one: `Some(temporary password)` to show its owner once.
    fn reset_password<'a>(
        &'a self,
        _account: &'a Account,
        _password: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<String>, UpstreamError>> {
        Box::pin(async { Err(UpstreamError::Unavailable(RESET_NOT_SUPPORTED.into())) })
    }
    /// Every account name the service holds, when it can list them (reconciliation);
    /// `None` when it cannot.
    fn upstream_names(&self) -> BoxFuture<'_, Result<Option<Vec<String>>, UpstreamError>> {
        Box::pin(async { Ok(None) })
    }
}

/// The JSON object of a body (400 otherwise).
pub fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| validation_error(vec![Issue::invalid_type("object", type_name(Some(body)))]))
}

/// An optional string field (an issue when it has another type).
pub fn optional_string(
    map: &Map<String, Value>,
    field: &str,
    issues: &mut Vec<Issue>,
) -> Option<String> {
    match map.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            issues.push(Issue::invalid_type("string", type_name(Some(other))).at(field));
            None
        }
    }
}

/// An optional `password` field, 8 to 128 UTF-16 code units.
pub fn optional_password(map: &Map<String, Value>, issues: &mut Vec<Issue>) -> Option<String> {
    let password = optional_string(map, "password", issues)?;
    match check_password_length(&password) {
        PasswordLength::Ok => Some(password),
        PasswordLength::TooShort => {
            issues.push(Issue::too_small("string", 8, false).at("password"));
            None
        }
        PasswordLength::TooLong => {
            issues.push(Issue::too_big("string", 128, false).at("password"));
            None
        }
    }
}

/// The name of a new account on a service that names accounts like Portal does (IRC nicks,
/// wiki users): `given` (at `field`), else the owner's username; Portal's username rule
/// (a letter, then letters, digits, `_` or `-`; 3 to 30). `missing` when there is neither.
pub fn portal_style_name(
    owner: &User,
    given: Option<String>,
    field: &str,
    missing: &str,
    broken: &str,
) -> Result<String, ApiError> {
    let Some(name) = given.or_else(|| owner.display_username.clone().or(owner.username.clone()))
    else {
        return Err(ApiError::bad_request(missing));
    };
    let issue = match crate::model::username_rule(&name) {
        Ok(()) => return Ok(name),
        Err(crate::model::UsernameProblem::TooShort) => Issue::too_small("string", 3, true),
        Err(crate::model::UsernameProblem::TooLong) => Issue::too_big("string", 30, true),
        Err(_) => Issue::invalid_string("regex", broken),
    };
    Err(validation_error(vec![issue.at(field)]))
}

/// `{password?, status?: active|suspended}`: the change every integration takes.
pub fn password_and_status(body: &Value) -> Result<AccountChange, ApiError> {
    let map = object(body)?;
    let mut issues = Vec::new();
    let password = optional_password(map, &mut issues);
    let status = optional_string(map, "status", &mut issues);
    if let Some(s) = &status
        && s != "active"
        && s != "suspended"
    {
        issues.push(Issue::invalid_enum(&["active", "suspended"], s).at("status"));
    }
    if !issues.is_empty() {
        return Err(validation_error(issues));
    }
    Ok(AccountChange {
        password,
        status,
        metadata: None,
    })
}

/// A transport failure (no answer, or too late) as the error the API shows.
pub fn transport_error(
    integration: &'static str,
    what: &str,
    err: &reqwest::Error,
) -> UpstreamError {
    tracing::warn!(error = %err, integration, "call to the service failed");
    if err.is_timeout() {
        UpstreamError::failed(integration, format!("{what} did not answer in time"))
    } else {
        UpstreamError::failed(integration, format!("{what} could not be reached"))
    }
}
/// Every integration Portal knows, enabled or not.
#[derive(Clone)]
pub struct Registry {
    integrations: Arc<Vec<Arc<dyn Integration>>>,
    /// Days a freed name stays with its former owner (`PORTAL_NAME_COOLING_DAYS`).
    cooling_days: i64,
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
        Self {
            integrations: Arc::new(vec![
                Arc::new(xmpp::Xmpp::from_config(config)),
                Arc::new(irc::Irc::from_config(config)),
                Arc::new(mailcow::Mailcow::from_config(config)),
                Arc::new(mediawiki::MediaWiki::from_config(config)),
            ]),
            cooling_days: config.name_cooling_days,
        }
    }

    /// Until when (unix seconds) a name freed now stays with its former owner; `None`
    /// when names are handed on at once.
    pub fn cools_until(&self) -> Option<i64> {
        (self.cooling_days > 0)
            .then(|| crate::time::now().unix_timestamp() + self.cooling_days * 86_400)
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
            && !matches!(account.status.as_str(), "provisioning" | "deleted")
        {
            integration.deprovision(account).await?;
        }
        // Recorded with the user's deletion, which follows.
        db.integration_accounts()
            .release(account, registry.cools_until(), None)
            .await?;
    }
    Ok(accounts.len())
}
