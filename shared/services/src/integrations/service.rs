//! What a community service is to Portal: the [`Integration`] trait (its catalogue entry,
//! its rules for names and passwords, the calls Portal makes to it) and the values those
//! calls take and return, with the errors they answer in.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use portal_domain::issue::Issue;
use portal_domain::model::User;
use portal_domain::store::StoreError;
use portal_domain::store::integration_accounts::Account;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub const USERNAME_TAKEN: &str = "Username already taken";
pub const RESET_NOT_SUPPORTED: &str = "Password reset is not supported";
pub const UNKNOWN_INTEGRATION: &str = "Unknown integration";
pub const CHANGED_MEANWHILE: &str = "The account changed meanwhile; try again";
pub const INTEGRATION_DISABLED: &str = "Integration is disabled";

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
        portal_domain::observe::upstream_failed(integration);
        Self::Failed(message.into())
    }
}

/// What an operation on service accounts could not do, in the services' terms (the web
/// edge gives each its status).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The account changed between its read and its write (409).
    #[error("{CHANGED_MEANWHILE}")]
    ChangedMeanwhile,
    /// No integration has that id (404).
    #[error("{UNKNOWN_INTEGRATION}")]
    UnknownIntegration,
    /// The integration exists but is not configured here (403).
    #[error("{INTEGRATION_DISABLED}")]
    Disabled,
}

/// A validated request to create an account.
#[derive(Clone)]
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
            None => (portal_domain::crypto::random_alphanumeric(24), true),
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

/// What Portal shows of a service and asks of a create body: a constant per service.
#[derive(Debug)]
pub struct Catalogue {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub icon: Option<&'static str>,
    /// The create body's field that names the account.
    pub name_field: &'static str,
    /// Other fields that name it, as Portal's own forms send them (read when `name_field`
    /// is absent).
    pub name_aliases: &'static [&'static str],
    /// Whether a create body must name the account (else the owner's username is taken).
    pub name_required: bool,
    /// Whether an account's password can be changed through Portal.
    pub changes_passwords: bool,
}

/// Why a service will not make an account under the name asked for.
#[derive(Debug)]
pub enum NameRefused {
    /// No name given, and none to take from the owner (400 with this message).
    Missing(&'static str),
    /// The name breaks the service's rule (the issue, at the create body's name field).
    Invalid(Issue),
    /// The service is not usable.
    Upstream(UpstreamError),
}

impl From<UpstreamError> for NameRefused {
    fn from(err: UpstreamError) -> Self {
        Self::Upstream(err)
    }
}

/// One community service: its rules for names and passwords, and the calls Portal makes
/// to it.
pub trait Integration: Send + Sync {
    fn catalogue(&self) -> &'static Catalogue;
    fn id(&self) -> &'static str {
        self.catalogue().id
    }
    /// Configured completely, so usable.
    fn enabled(&self) -> bool;
    /// The account to make for `owner` under `name` (when given) with `password` (when
    /// given; else one is generated).
    fn new_account(
        &self,
        owner: &User,
        name: Option<String>,
        password: Option<String>,
    ) -> Result<NewAccount, NameRefused>;
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
    /// spaces, since services split command lines on them), at `password`.
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

/// The name of a new account on a service that names accounts like Portal does (IRC nicks,
/// wiki users): `given`, else the owner's username; Portal's username rule (a letter, then
/// letters, digits, `_` or `-`; 3 to 30). `missing` when there is neither.
pub fn portal_style_name(
    owner: &User,
    given: Option<String>,
    missing: &'static str,
    broken: &str,
) -> Result<String, NameRefused> {
    let Some(name) = given.or_else(|| owner.display_username.clone().or(owner.username.clone()))
    else {
        return Err(NameRefused::Missing(missing));
    };
    let issue = match portal_domain::model::username_rule(&name) {
        Ok(()) => return Ok(name),
        Err(portal_domain::model::UsernameProblem::TooShort) => Issue::too_small("string", 3, true),
        Err(portal_domain::model::UsernameProblem::TooLong) => Issue::too_big("string", 30, true),
        Err(_) => Issue::invalid_string("regex", broken),
    };
    Err(NameRefused::Invalid(issue))
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
