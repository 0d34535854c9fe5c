//! The shapes of BetterAuth's wire protocol as this function speaks it. Every answer is
//! one of these types (each derives `Serialize` and `ToSchema`: what is sent is what the
//! document says). Request bodies are read field by field by `input` (BetterAuth's own
//! error codes and order of checks); their types here are the document's description of
//! what that reader accepts.

use portal_domain::model::{ApiKey, Session, User};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A user as BetterAuth shows them (admin plugin fields included).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    /// Lower-cased; `null` until chosen.
    pub username: Option<String>,
    /// The username as its owner spelled it.
    pub display_username: Option<String>,
    pub two_factor_enabled: bool,
    pub created_at: String,
    pub updated_at: String,
    pub role: String,
    pub banned: bool,
    pub ban_reason: Option<String>,
    pub ban_expires: Option<String>,
}

/// A session as BetterAuth shows it (its token included: the protocol hands it back).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthSession {
    pub id: String,
    pub token: String,
    pub user_id: String,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
    /// Empty when unknown.
    pub ip_address: String,
    pub user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<String>,
}

/// `{token}`: a one-time token (the answer to `/one-time-token/generate`, the body of
/// `/one-time-token/verify`).
#[derive(Serialize, ToSchema)]
pub struct OneTimeTokenBody {
    pub token: String,
}

/// `POST /change-email` (answered `CHANGE_EMAIL_DISABLED`: Portal keeps it off).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEmail {
    #[schema(format = Email)]
    pub new_email: String,
    #[serde(rename = "callbackURL")]
    pub callback_url: Option<String>,
}

/// One of the ways a user signs in, as BetterAuth's `/list-accounts` shows it (never a
/// token or a password hash).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkedAccount {
    pub id: String,
    /// `credential` for the password.
    pub provider_id: String,
    /// The user's id at the provider (the Portal user id for `credential`).
    pub account_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `{ session, user }`.
#[derive(Serialize, ToSchema)]
pub struct SessionAndUser {
    pub session: AuthSession,
    pub user: AuthUser,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUp {
    #[schema(min_length = 1)]
    pub name: String,
    #[schema(format = Email)]
    pub email: String,
    /// 8 to 128 UTF-16 code units, as JavaScript counts (so 4 to 128 characters).
    #[schema(min_length = 4, max_length = 128)]
    pub password: String,
    pub image: Option<String>,
    /// 3 to 30 characters: a letter, then letters, digits, `_` or `-`; stored lower-cased.
    /// Required when the deployment says so (`PORTAL_REQUIRE_USERNAME`).
    #[schema(min_length = 3, max_length = 30, pattern = "^[a-zA-Z][a-zA-Z0-9_-]*$")]
    pub username: Option<String>,
    /// The username's spelling (only its case may differ); alone, it is the username.
    pub display_username: Option<String>,
    /// Relative, or on a trusted origin.
    #[serde(rename = "callbackURL")]
    pub callback_url: Option<String>,
    pub remember_me: Option<bool>,
}

/// `{ token, user }`: signed up (`token` null when e-mail verification comes first), past
/// the second factor (`token` null when `disableSession` asked for none), a changed
/// password (`token` set when the other sessions were revoked).
#[derive(Serialize, ToSchema)]
pub struct Signed {
    pub token: Option<String>,
    pub user: AuthUser,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    #[schema(format = Email)]
    pub email: String,
    pub password: String,
    #[serde(rename = "callbackURL")]
    pub callback_url: Option<String>,
    /// Default true; false: a browser-session cookie that lives one day.
    pub remember_me: Option<bool>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInUsername {
    pub username: String,
    pub password: String,
    #[serde(rename = "callbackURL")]
    pub callback_url: Option<String>,
    /// Default true; false: a browser-session cookie.
    pub remember_me: Option<bool>,
}

#[derive(ToSchema)]
pub struct UsernameOnly {
    pub username: String,
}

#[derive(ToSchema)]
pub struct EnableTwoFactor {
    pub password: String,
    /// `totp` (default): an authenticator app, on after its first code; `otp`: e-mailed
    /// codes, on at once.
    #[schema(pattern = "^(otp|totp)$")]
    pub method: Option<String>,
    /// The issuer authenticator apps show (default `PORTAL_2FA_ISSUER`).
    pub issuer: Option<String>,
}

/// `{ method, totpURI?, backupCodes? }`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwoFactorEnabled {
    pub method: String,
    #[serde(rename = "totpURI")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_codes: Option<Vec<String>>,
}

#[derive(ToSchema)]
pub struct PasswordOnly {
    pub password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpUri {
    #[serde(rename = "totpURI")]
    pub totp_uri: String,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyCode {
    pub code: String,
    /// Skip the second factor on this device for 30 days (renewed on each sign-in).
    pub trust_device: Option<bool>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyBackupCode {
    pub code: String,
    pub trust_device: Option<bool>,
    /// Check the code without starting a session.
    pub disable_session: Option<bool>,
}

/// Optional.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendOtp {
    pub trust_device: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCodes {
    pub status: bool,
    pub backup_codes: Vec<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionTokenBody {
    /// A session token from `/multi-session/list-device-sessions`.
    pub session_token: String,
}

/// `{ available }`.
#[derive(Serialize, ToSchema)]
pub struct Available {
    pub available: bool,
}

/// `{ redirect, token, url?, user }` (`url` and a `Location` header with `callbackURL`).
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub redirect: bool,
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub user: AuthUser,
}

/// `{ twoFactorRedirect: true, twoFactorMethods }`: the password was right; the second
/// factor comes next (the pending sign-in is in its own cookie).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwoFactorRedirect {
    pub two_factor_redirect: bool,
    /// `totp` when an authenticator app is set up, and always `otp` (a mailed code).
    pub two_factor_methods: Vec<&'static str>,
}

/// What a right password answers: signed in, or the second factor next.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum SignInAnswer {
    SignedIn(Box<SignedIn>),
    TwoFactor(TwoFactorRedirect),
}

/// `{ url, redirect }`: where the browser goes next (a provider's authorization page, the
/// OpenID Connect consent or client); `redirect` tells the client's redirect plugin to go.
#[derive(Serialize, ToSchema)]
pub struct RedirectTo {
    pub url: String,
    pub redirect: bool,
}

/// `/get-access-token`: the caller's token at a provider (refreshed when about to expire).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderAccessToken {
    pub access_token: Option<String>,
    pub access_token_expires_at: Option<String>,
    pub scopes: Vec<String>,
    pub id_token: Option<String>,
}

/// `/refresh-token`: the tokens the provider just gave.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub access_token_expires_at: Option<String>,
    pub refresh_token_expires_at: Option<String>,
    /// Comma-separated, as BetterAuth answers.
    pub scope: String,
    pub id_token: Option<String>,
    pub provider_id: String,
    pub account_id: String,
}

/// `/account-info`: the person as the provider describes them now, and its raw answer.
#[derive(Serialize, ToSchema)]
pub struct AccountInfo {
    pub user: ProviderUser,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderUser {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub image: Option<String>,
    pub email_verified: bool,
}

/// A body the endpoint accepts and does not read (BetterAuth's sign-out options): any JSON.
#[derive(ToSchema)]
pub struct Ignored(pub Value);

/// `{ success: true }`.
#[derive(Serialize, ToSchema)]
pub struct Success {
    pub success: bool,
}

/// `{ status: true }`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: bool,
}

/// A token that is not one of the caller's live sessions changes nothing.
#[derive(ToSchema)]
pub struct RevokeSession {
    pub token: String,
}

/// No fields.
#[derive(ToSchema)]
pub struct Empty {}

/// `name`, `image` and, while none is set, `username` may change here; server fields
/// (`role`, `banned`, ...) are refused, `email` has its own flow.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUser {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    pub image: Option<String>,
    /// Once set, only the same username (any case) is accepted: `USERNAME_IS_IMMUTABLE`.
    pub username: Option<String>,
    pub display_username: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestReset {
    #[schema(format = Email)]
    pub email: String,
    pub redirect_to: Option<String>,
}

/// The same answer whether the address exists or not.
#[derive(Serialize, ToSchema)]
pub struct ResetRequested {
    pub status: bool,
    pub message: String,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPassword {
    /// 8 to 128 UTF-16 code units, as JavaScript counts (so 4 to 128 characters).
    #[schema(min_length = 4, max_length = 128)]
    pub new_password: String,
    /// Or `?token=`.
    pub token: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePassword {
    pub current_password: String,
    /// 8 to 128 UTF-16 code units, as JavaScript counts (so 4 to 128 characters).
    #[schema(min_length = 4, max_length = 128)]
    pub new_password: String,
    /// Ends every session and starts a new one (its token in the answer).
    pub revoke_other_sessions: Option<bool>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendVerification {
    #[schema(format = Email)]
    pub email: String,
    #[serde(rename = "callbackURL")]
    pub callback_url: Option<String>,
}

/// Without `callbackURL`: `{ status: true, user: null }`.
#[derive(Serialize, ToSchema)]
pub struct Verified {
    pub status: bool,
    #[schema(value_type = Option<Object>)]
    pub user: Option<Value>,
}

/// An API key row as the api-key plugin shows it; `key` (the secret) only on creation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthApiKey {
    pub id: String,
    pub config_id: String,
    pub name: Option<String>,
    /// The first characters of the key, to recognise it.
    pub start: Option<String>,
    pub prefix: Option<String>,
    pub reference_id: String,
    pub user_id: String,
    pub enabled: bool,
    pub rate_limit_enabled: bool,
    pub rate_limit_time_window: i64,
    pub rate_limit_max: i64,
    pub request_count: i64,
    pub remaining: Option<i64>,
    pub refill_amount: Option<i64>,
    pub refill_interval: Option<i64>,
    pub last_refill_at: Option<String>,
    pub last_request: Option<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub permissions: Option<Value>,
    /// The key itself: only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateKey {
    #[schema(max_length = 32)]
    pub name: Option<String>,
    /// Seconds until the key expires (one day to one year); `null`: never.
    pub expires_in: Option<f64>,
    #[schema(max_length = 32)]
    pub prefix: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = AuthKeyList)]
#[serde(rename_all = "camelCase")]
pub struct KeyList {
    pub api_keys: Vec<AuthApiKey>,
    pub total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateKey {
    pub key_id: String,
    #[schema(max_length = 32)]
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub expires_in: Option<f64>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteKey {
    pub key_id: String,
}

/// `POST /delete-user`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteUser {
    /// Proves the caller again; without it the session must have started within the day.
    pub password: Option<String>,
    /// A deletion token (Portal mails none).
    pub token: Option<String>,
    /// A relative path or a trusted origin.
    #[serde(rename = "callbackURL")]
    pub callback_url: Option<String>,
}

/// `{success: true, message: "User deleted"}`.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub success: bool,
    pub message: &'static str,
}

/// `{ ok: true }`.
#[derive(Serialize, ToSchema)]
pub struct AuthOk {
    pub ok: bool,
}

impl From<&User> for AuthUser {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            image: user.image.clone(),
            username: user.username.clone(),
            display_username: user.display_username.clone(),
            two_factor_enabled: user.two_factor_enabled,
            created_at: user.created_at.clone(),
            updated_at: user.updated_at.clone(),
            role: user.role.as_str().to_string(),
            banned: user.banned,
            ban_reason: user.ban_reason.clone(),
            ban_expires: user.ban_expires.clone(),
        }
    }
}

impl AuthSession {
    /// `session` as BetterAuth shows it, with the token it was presented as.
    pub fn of(session: &Session, token: &str) -> Self {
        Self {
            id: session.id.clone(),
            token: token.to_string(),
            user_id: session.user_id.clone(),
            expires_at: session.expires_at.clone(),
            created_at: session.created_at.clone(),
            updated_at: session.updated_at.clone(),
            ip_address: session.ip_address.clone(),
            user_agent: session.user_agent.clone(),
            impersonated_by: session.impersonated_by.clone(),
        }
    }
}

impl SessionAndUser {
    pub fn of(session: &Session, token: &str, user: &User) -> Self {
        Self {
            session: AuthSession::of(session, token),
            user: AuthUser::from(user),
        }
    }
}

impl Signed {
    pub fn new(token: Option<String>, user: &User) -> Self {
        Self {
            token,
            user: AuthUser::from(user),
        }
    }
}

impl Status {
    pub const TRUE: Status = Status { status: true };
}

impl AuthApiKey {
    /// An API key row as the api-key plugin returns it (never the hash; `key`, the secret,
    /// only on creation).
    pub fn of(key: &ApiKey, plaintext: Option<&str>) -> Self {
        Self {
            id: key.id.clone(),
            config_id: key.config_id.clone(),
            name: key.name.clone(),
            start: key.start.clone(),
            prefix: key.prefix.clone(),
            reference_id: key.user_id.clone(),
            user_id: key.user_id.clone(),
            enabled: key.enabled,
            rate_limit_enabled: key.rate_limit_enabled,
            rate_limit_time_window: key.rate_limit_time_window,
            rate_limit_max: key.rate_limit_max,
            request_count: key.request_count,
            remaining: key.remaining,
            refill_amount: None,
            refill_interval: None,
            last_refill_at: None,
            last_request: key.last_request.clone(),
            expires_at: key.expires_at.clone(),
            created_at: key.created_at.clone(),
            updated_at: key.updated_at.clone(),
            metadata: key
                .metadata
                .as_deref()
                .and_then(|m| serde_json::from_str::<Value>(m).ok()),
            permissions: None,
            key: plaintext.map(str::to_string),
        }
    }
}
