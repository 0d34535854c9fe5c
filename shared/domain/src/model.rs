//! The domain: users, sessions, API keys. Values are stored as they are shown (ISO 8601
//! timestamps with milliseconds), so an item reads back without conversion.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::time::parse_iso;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    Staff,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Role::User),
            "staff" => Some(Role::Staff),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether this role grants `power`: THE table of what each role may do to others,
    /// read by every entry point (the admin API, BetterAuth's admin plugin and its
    /// `has-permission`, the moderation rules). Portal's configuration of the plugin, with
    /// the staff powers its REST API gives beside it (reading and editing regular users):
    /// - user: nothing;
    /// - staff: list, read and edit users, ban them, list and revoke sessions (over regular
    ///   users only: see `moderation::may_manage`);
    /// - admin: everything but impersonating another admin, which nobody may.
    pub fn grants(self, power: Power) -> bool {
        match self {
            Role::User => false,
            Role::Staff => matches!(
                power,
                Power::ListUsers
                    | Power::GetUser
                    | Power::UpdateUser
                    | Power::BanUser
                    | Power::ListSessions
                    | Power::RevokeSessions
            ),
            Role::Admin => power != Power::ImpersonateAdmins,
        }
    }
}

/// A power over other people's accounts, named as BetterAuth's admin access statements
/// name them (`user:["list", ...]`, `session:["revoke", ...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    CreateUser,
    ListUsers,
    SetRole,
    BanUser,
    Impersonate,
    ImpersonateAdmins,
    DeleteUser,
    SetPassword,
    SetEmail,
    GetUser,
    UpdateUser,
    ListSessions,
    RevokeSessions,
    DeleteSessions,
    /// Register, change and remove OAuth clients (the relying parties Portal signs people
    /// in to), and register them while registration is closed.
    ManageOAuthClients,
}

impl Power {
    /// Every power with its resource and action.
    pub const ALL: [(Power, &'static str, &'static str); 15] = [
        (Power::CreateUser, "user", "create"),
        (Power::ListUsers, "user", "list"),
        (Power::SetRole, "user", "set-role"),
        (Power::BanUser, "user", "ban"),
        (Power::Impersonate, "user", "impersonate"),
        (Power::ImpersonateAdmins, "user", "impersonate-admins"),
        (Power::DeleteUser, "user", "delete"),
        (Power::SetPassword, "user", "set-password"),
        (Power::SetEmail, "user", "set-email"),
        (Power::GetUser, "user", "get"),
        (Power::UpdateUser, "user", "update"),
        (Power::ListSessions, "session", "list"),
        (Power::RevokeSessions, "session", "revoke"),
        (Power::DeleteSessions, "session", "delete"),
        (Power::ManageOAuthClients, "oauth-client", "manage"),
    ];

    /// The power `action` on `resource` names; `None` for one no role can be granted.
    pub fn named(resource: &str, action: &str) -> Option<Power> {
        Self::ALL
            .iter()
            .find(|(_, r, a)| *r == resource && *a == action)
            .map(|(power, _, _)| *power)
    }
}

/// A user as stored and as BetterAuth shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    #[serde(default)]
    pub image: Option<String>,
    /// BetterAuth's username plugin: the unique handle, lower-cased (see [`username_rule`]);
    /// `None` until chosen.
    #[serde(default)]
    pub username: Option<String>,
    /// The username as its owner spelled it (only its case may differ from `username`).
    #[serde(default)]
    pub display_username: Option<String>,
    /// BetterAuth's `twoFactorEnabled`: sign-in asks for a second factor.
    #[serde(default)]
    pub two_factor_enabled: bool,
    #[serde(default)]
    pub role: Role,
    #[serde(default)]
    pub banned: bool,
    #[serde(default)]
    pub ban_reason: Option<String>,
    #[serde(default)]
    pub ban_expires: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Which credentials still count (see [`Generations`]); never shown by the API.
    #[serde(default)]
    pub generations: Generations,
}

/// Counters on the user that end every credential issued under an older value: raising
/// one revokes them all on the very next request, whether or not an index has shown the
/// credential yet (the index-driven deletes that follow are cleanup, not the guarantee).
/// A session, API key or reset token records the counter it was issued under.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Generations {
    /// Raised by revoke-all, bans, password resets, password changes that revoke the other
    /// sessions, and an operator taking the account over.
    #[serde(default)]
    pub sessions: i64,
    /// Raised when a reset proves the mailbox of an unverified account, and on takeover.
    #[serde(default)]
    pub api_keys: i64,
    /// Raised by every password reset and change: outstanding reset links stop working.
    #[serde(default)]
    pub reset_tokens: i64,
}

impl User {
    /// A new account (not banned, nothing revoked yet), created at `at`.
    pub fn new(
        id: String,
        name: String,
        email: String,
        email_verified: bool,
        role: Role,
        at: &str,
    ) -> Self {
        Self {
            id,
            name,
            email,
            email_verified,
            image: None,
            username: None,
            display_username: None,
            two_factor_enabled: false,
            role,
            banned: false,
            ban_reason: None,
            ban_expires: None,
            created_at: at.to_string(),
            updated_at: at.to_string(),
            generations: Generations::default(),
        }
    }

    /// Admin and not banned: an admin who can act (the last-admin rule counts these).
    pub fn is_acting_admin(&self) -> bool {
        self.role == Role::Admin && !self.banned
    }

    /// Banned, and the ban has not expired (an expired ban is no ban).
    pub fn is_banned_at(&self, now: OffsetDateTime) -> bool {
        if !self.banned {
            return false;
        }
        match self.ban_expires.as_deref().and_then(parse_iso) {
            Some(until) => until > now,
            None => true,
        }
    }
}

/// Usernames, as Portal configures BetterAuth's username plugin (its canonical rule, shared
/// with the IRC and XMPP account names): 3 to 30 characters, a letter first, then letters,
/// digits, `_` or `-`; stored lower-cased.
pub const MIN_USERNAME_CHARS: usize = 3;
pub const MAX_USERNAME_CHARS: usize = 30;

/// What is wrong with a username, in the plugin's order of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameProblem {
    TooShort,
    TooLong,
    Invalid,
}

impl UsernameProblem {
    /// The plugin's error code.
    pub fn code(self) -> &'static str {
        match self {
            UsernameProblem::TooShort => "USERNAME_TOO_SHORT",
            UsernameProblem::TooLong => "USERNAME_TOO_LONG",
            UsernameProblem::Invalid => "INVALID_USERNAME",
        }
    }
}

/// Checks a username as given (before lower-casing), as the plugin does: length in
/// UTF-16 units, then the pattern.
pub fn username_rule(raw: &str) -> Result<(), UsernameProblem> {
    let length = raw.encode_utf16().count();
    if length < MIN_USERNAME_CHARS {
        return Err(UsernameProblem::TooShort);
    }
    if length > MAX_USERNAME_CHARS {
        return Err(UsernameProblem::TooLong);
    }
    let mut chars = raw.chars();
    let first_is_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if first_is_letter && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        Ok(())
    } else {
        Err(UsernameProblem::Invalid)
    }
}

/// The stored form of a valid username.
pub fn normalize_username(raw: &str) -> String {
    raw.to_ascii_lowercase()
}

/// The profile rules, one for every entry point (sign-up, `/update-user`, `PATCH
/// /api/user/me`): a name is trimmed and 1 to 100 characters; an image is an absolute
/// http(s) URL with a host, at most 2048 characters.
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_IMAGE_CHARS: usize = 2048;

/// Whether `raw`, trimmed, is an acceptable display name.
pub fn is_valid_name(raw: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&raw.trim().chars().count())
}

/// Whether `raw` is an acceptable profile image URL.
pub fn is_valid_image(raw: &str) -> bool {
    raw.chars().count() <= MAX_IMAGE_CHARS && is_http_url(raw)
}

/// An absolute http(s) URL with a host.
pub fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Where a request came from: the client's address and user agent (as stored on the
/// sessions it starts and the audit events it causes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

/// A session as stored. The token itself is never stored: `id` is derived from its hash,
/// and `sealed_token` is an AEAD-sealed copy for the endpoints that must show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub ip_address: String,
    #[serde(default)]
    pub user_agent: String,
    /// `rememberMe: false` sessions last one day and are never refreshed.
    #[serde(default = "yes")]
    pub remember: bool,
    #[serde(default)]
    pub sealed_token: String,
    #[serde(default)]
    pub impersonated_by: Option<String>,
    /// The user's session generation when it was made; older than the user's: revoked.
    #[serde(default)]
    pub generation: i64,
    /// The session was made (or confirmed) by passing the second factor.
    #[serde(default)]
    pub two_factor_verified: bool,
}

fn yes() -> bool {
    true
}

impl Session {
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        parse_iso(&self.expires_at).is_none_or(|at| at <= now)
    }
}

/// An API key as stored (BetterAuth's api-key row). The key is stored only as its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub config_id: String,
    pub name: Option<String>,
    pub start: Option<String>,
    pub prefix: Option<String>,
    /// base64url SHA-256 of the whole key.
    pub key_hash: String,
    pub user_id: String,
    pub enabled: bool,
    pub rate_limit_enabled: bool,
    /// Milliseconds.
    pub rate_limit_time_window: i64,
    pub rate_limit_max: i64,
    #[serde(default)]
    pub request_count: i64,
    #[serde(default)]
    pub remaining: Option<i64>,
    #[serde(default)]
    pub last_request: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// JSON object, as given at creation.
    #[serde(default)]
    pub metadata: Option<String>,
    /// The user's API-key generation when it was made; older than the user's: revoked.
    #[serde(default)]
    pub generation: i64,
}

impl ApiKey {
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at
            .as_deref()
            .and_then(parse_iso)
            .is_some_and(|at| at <= now)
    }
}

/// The e-mail shape zod's `z.email()` accepts (its default pattern, in plain code).
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@example.org", "x_y@sub.domain.io"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.co",
            "a@.co",
            "a..b@c.co",
            "a@b.c",
            "a b@c.co",
            "a@-b.co",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn usernames_follow_portals_canonical_rule() {
        for good in ["ada", "Ada_Lovelace-1", "a23456789012345678901234567890"] {
            assert_eq!(username_rule(good), Ok(()), "{good}");
        }
        assert_eq!(username_rule("ab"), Err(UsernameProblem::TooShort));
        assert_eq!(username_rule(""), Err(UsernameProblem::TooShort));
        assert_eq!(
            username_rule("a234567890123456789012345678901"),
            Err(UsernameProblem::TooLong)
        );
        for bad in ["1ada", "_ada", "ada.l", "ada l", " ada", "adä", "ada@x"] {
            assert_eq!(username_rule(bad), Err(UsernameProblem::Invalid), "{bad}");
        }
        assert_eq!(normalize_username("Ada_X"), "ada_x");
    }
}
