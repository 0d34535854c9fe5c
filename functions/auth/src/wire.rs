//! The shapes of BetterAuth's wire protocol as this function speaks it, for the OpenAPI
//! document. The handlers read bodies field by field (BetterAuth's own error codes and
//! order of checks) and write them with `views`; these types describe the same JSON, and
//! the real `better-auth` client (e2e) and schemathesis' response checks hold the two
//! together.
#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;

/// A user as BetterAuth shows them (admin plugin fields included).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthUser {
    id: String,
    name: String,
    email: String,
    email_verified: bool,
    image: Option<String>,
    /// Lower-cased; `null` until chosen.
    username: Option<String>,
    /// The username as its owner spelled it.
    display_username: Option<String>,
    two_factor_enabled: bool,
    created_at: String,
    updated_at: String,
    role: String,
    banned: bool,
    ban_reason: Option<String>,
    ban_expires: Option<String>,
}

/// A session as BetterAuth shows it (its token included: the protocol hands it back).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthSession {
    id: String,
    token: String,
    user_id: String,
    expires_at: String,
    created_at: String,
    updated_at: String,
    ip_address: Option<String>,
    user_agent: Option<String>,
    impersonated_by: Option<String>,
}

/// `{ session, user }`.
#[derive(ToSchema)]
pub struct SessionAndUser {
    session: AuthSession,
    user: AuthUser,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUp {
    #[schema(min_length = 1)]
    name: String,
    #[schema(format = Email)]
    email: String,
    /// 8 to 128 UTF-16 code units, as JavaScript counts (so 4 to 128 characters).
    #[schema(min_length = 4, max_length = 128)]
    password: String,
    image: Option<String>,
    /// 3 to 30 characters: a letter, then letters, digits, `_` or `-`; stored lower-cased.
    /// Required when the deployment says so (`PORTAL_REQUIRE_USERNAME`).
    #[schema(min_length = 3, max_length = 30, pattern = "^[a-zA-Z][a-zA-Z0-9_-]*$")]
    username: Option<String>,
    /// The username's spelling (only its case may differ); alone, it is the username.
    display_username: Option<String>,
    /// Relative, or on a trusted origin.
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
    remember_me: Option<bool>,
}

/// `{ token, user }` (`token` null when e-mail verification is required first).
#[derive(ToSchema)]
pub struct Signed {
    token: Option<String>,
    user: AuthUser,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    #[schema(format = Email)]
    email: String,
    password: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
    /// Default true; false: a browser-session cookie that lives one day.
    remember_me: Option<bool>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInUsername {
    username: String,
    password: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
    /// Default true; false: a browser-session cookie.
    remember_me: Option<bool>,
}

#[derive(ToSchema)]
pub struct UsernameOnly {
    username: String,
}

#[derive(ToSchema)]
pub struct EnableTwoFactor {
    password: String,
    /// `totp` (default): an authenticator app, on after its first code; `otp`: e-mailed
    /// codes, on at once.
    #[schema(pattern = "^(otp|totp)$")]
    method: Option<String>,
    /// The issuer authenticator apps show (default `PORTAL_2FA_ISSUER`).
    issuer: Option<String>,
}

/// `{ method, totpURI?, backupCodes? }`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwoFactorEnabled {
    method: String,
    #[serde(rename = "totpURI")]
    totp_uri: Option<String>,
    backup_codes: Option<Vec<String>>,
}

#[derive(ToSchema)]
pub struct PasswordOnly {
    password: String,
}

#[derive(ToSchema)]
pub struct TotpUri {
    #[serde(rename = "totpURI")]
    totp_uri: String,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyCode {
    code: String,
    /// Skip the second factor on this device for 30 days (renewed on each sign-in).
    trust_device: Option<bool>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyBackupCode {
    code: String,
    trust_device: Option<bool>,
    /// Check the code without starting a session.
    disable_session: Option<bool>,
}

/// Optional.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendOtp {
    trust_device: Option<bool>,
}

/// `{ token, user }` (`token` null when `disableSession` asked for none).
#[derive(ToSchema)]
pub struct TwoFactorPassed {
    token: Option<String>,
    user: AuthUser,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCodes {
    status: bool,
    backup_codes: Vec<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionTokenBody {
    /// A session token from `/multi-session/list-device-sessions`.
    session_token: String,
}

/// `{ available }`.
#[derive(ToSchema)]
pub struct Available {
    available: bool,
}

/// `{ redirect, token, url?, user }` (`url` and a `Location` header with `callbackURL`).
#[derive(ToSchema)]
pub struct SignedIn {
    redirect: bool,
    token: String,
    url: Option<String>,
    user: AuthUser,
}

/// A body the endpoint accepts and does not read (BetterAuth's sign-out options): any JSON.
#[derive(ToSchema)]
pub struct Ignored(Value);

/// `{ success: true }`.
#[derive(ToSchema)]
pub struct Success {
    success: bool,
}

/// `{ status: true }`.
#[derive(ToSchema)]
pub struct Status {
    status: bool,
}

/// A token that is not one of the caller's live sessions changes nothing.
#[derive(ToSchema)]
pub struct RevokeSession {
    token: String,
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
    name: Option<String>,
    image: Option<String>,
    /// Once set, only the same username (any case) is accepted: `USERNAME_IS_IMMUTABLE`.
    username: Option<String>,
    display_username: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestReset {
    #[schema(format = Email)]
    email: String,
    redirect_to: Option<String>,
}

/// The same answer whether the address exists or not.
#[derive(ToSchema)]
pub struct ResetRequested {
    status: bool,
    message: String,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPassword {
    /// 8 to 128 UTF-16 code units, as JavaScript counts (so 4 to 128 characters).
    #[schema(min_length = 4, max_length = 128)]
    new_password: String,
    /// Or `?token=`.
    token: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePassword {
    current_password: String,
    /// 8 to 128 UTF-16 code units, as JavaScript counts (so 4 to 128 characters).
    #[schema(min_length = 4, max_length = 128)]
    new_password: String,
    /// Ends every session and starts a new one (its token in the answer).
    revoke_other_sessions: Option<bool>,
}

#[derive(ToSchema)]
pub struct PasswordChanged {
    token: Option<String>,
    user: AuthUser,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendVerification {
    #[schema(format = Email)]
    email: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// Without `callbackURL`: `{ status: true, user: null }`.
#[derive(ToSchema)]
pub struct Verified {
    status: bool,
    #[schema(value_type = Option<Object>)]
    user: Option<Value>,
}

/// An API key row as the api-key plugin shows it; `key` (the secret) only on creation.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthApiKey {
    id: String,
    config_id: String,
    name: Option<String>,
    /// The first characters of the key, to recognise it.
    start: Option<String>,
    prefix: Option<String>,
    reference_id: String,
    user_id: String,
    enabled: bool,
    rate_limit_enabled: bool,
    rate_limit_time_window: Option<i64>,
    rate_limit_max: Option<i64>,
    request_count: i64,
    remaining: Option<i64>,
    refill_amount: Option<i64>,
    refill_interval: Option<i64>,
    last_refill_at: Option<String>,
    last_request: Option<String>,
    expires_at: Option<String>,
    created_at: String,
    updated_at: String,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    permissions: Option<Value>,
    /// The key itself: only in the answer to its creation.
    key: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateKey {
    #[schema(max_length = 32)]
    name: Option<String>,
    /// Seconds until the key expires (one day to one year); `null`: never.
    expires_in: Option<f64>,
    #[schema(max_length = 32)]
    prefix: Option<String>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

#[derive(ToSchema)]
#[schema(as = AuthKeyList)]
#[serde(rename_all = "camelCase")]
pub struct KeyList {
    api_keys: Vec<AuthApiKey>,
    total: u64,
    limit: Option<u64>,
    offset: Option<u64>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateKey {
    key_id: String,
    #[schema(max_length = 32)]
    name: Option<String>,
    enabled: Option<bool>,
    expires_in: Option<f64>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteKey {
    key_id: String,
}

/// `{ ok: true }`.
#[derive(ToSchema)]
pub struct AuthOk {
    ok: bool,
}
