//! Response shapes that more than one function sends. Every answer of every route is a
//! type that derives both `Serialize` (what is sent) and `ToSchema` (what the document
//! says), so the two cannot disagree.

use portal_domain::keyring::Keyring;
use portal_domain::model::Session;
use portal_domain::store::listing::Cursor;
use serde::Serialize;
use utoipa::ToSchema;

/// `{ "ok": true }`: done, nothing more to say.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = Ok)]
pub struct Done {
    /// Always `true`.
    pub ok: bool,
}

/// The one value of [`Done`].
pub const DONE: Done = Done { ok: true };

/// The `nextCursor` of a page: where the next one starts, sealed (absent on the last).
pub fn next_cursor(keyring: &Keyring, next: Option<&Cursor>) -> Option<String> {
    crate::validation::seal_cursor(keyring, next)
}

/// A session as Portal's own API shows it (never its token).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub user_id: String,
    pub expires_at: String,
    /// The address the session was started from, when known.
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: String,
    /// `true` on the session making the request (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<bool>,
    /// On a session an admin opened in the user's place (impersonation): the admin's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<String>,
}

/// `{ sessions, nextCursor? }`: a page of sessions (user and admin listings).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
    /// Give it back as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A session as Portal's own API shows it; `current` flags the session making the request.
pub fn session_view(session: &Session, current: Option<&str>) -> SessionView {
    let or_null = |s: &str| (!s.is_empty()).then(|| s.to_string());
    SessionView {
        id: session.id.clone(),
        user_id: session.user_id.clone(),
        expires_at: session.expires_at.clone(),
        ip_address: or_null(&session.ip_address),
        user_agent: or_null(&session.user_agent),
        created_at: session.created_at.clone(),
        current: (current == Some(session.id.as_str())).then_some(true),
        impersonated_by: session.impersonated_by.clone(),
    }
}

/// A passkey as BetterAuth's passkey plugin shows it (the user's security card, and the
/// admin's view of a user).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyView {
    pub id: String,
    pub name: Option<String>,
    pub user_id: String,
    /// base64url.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The public key as the browser reported it at registration (base64).
    pub public_key: String,
    pub counter: i64,
    /// `singleDevice` or `multiDevice`.
    pub device_type: String,
    pub backed_up: bool,
    /// Comma list.
    pub transports: String,
    pub created_at: String,
    pub aaguid: Option<String>,
    /// When it last signed someone in (Portal's).
    pub last_used_at: Option<String>,
}

impl From<&portal_domain::store::passkeys::Passkey> for PasskeyView {
    fn from(p: &portal_domain::store::passkeys::Passkey) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            user_id: p.user_id.clone(),
            credential_id: p.credential_id.clone(),
            public_key: p.public_key.clone(),
            counter: p.counter,
            device_type: p.device_type.clone(),
            backed_up: p.backed_up,
            transports: p.transports.clone(),
            created_at: p.created_at.clone(),
            aaguid: p.aaguid.clone(),
            last_used_at: p.last_used_at.clone(),
        }
    }
}
