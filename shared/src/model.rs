//! The domain: users, sessions, API keys. Values are stored as they are shown (ISO 8601
//! timestamps with milliseconds), so an item reads back without conversion.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
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
}

impl User {
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
}

impl ApiKey {
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at
            .as_deref()
            .and_then(parse_iso)
            .is_some_and(|at| at <= now)
    }
}

/// A session as Portal's own API shows it (never its token); `current` flags the session
/// making the request.
pub fn session_view(session: &Session, current: Option<&str>) -> Value {
    let or_null = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
    let mut view = json!({
        "id": session.id,
        "userId": session.user_id,
        "expiresAt": session.expires_at,
        "ipAddress": or_null(&session.ip_address),
        "userAgent": or_null(&session.user_agent),
        "createdAt": session.created_at,
    });
    if current == Some(session.id.as_str()) {
        view["current"] = json!(true);
    }
    view
}
