//! BetterAuth's error bodies: `{ "message", "code" }` with the status BetterAuth uses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portal_domain::store::StoreError;

/// BetterAuth's message for each code we answer with.
pub fn message_of(code: &str) -> &'static str {
    match code {
        "USER_NOT_FOUND" => "User not found",
        "FAILED_TO_CREATE_USER" => "Failed to create user",
        "INVALID_PASSWORD" => "Invalid password",
        "INVALID_EMAIL" => "Invalid email",
        "INVALID_EMAIL_OR_PASSWORD" => "Invalid email or password",
        "INVALID_TOKEN" => "Invalid token",
        "TOKEN_EXPIRED" => "Token expired",
        "EMAIL_NOT_VERIFIED" => "Email not verified",
        "PASSWORD_TOO_SHORT" => "Password too short",
        "PASSWORD_TOO_LONG" => "Password too long",
        "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL" => "User already exists. Use another email.",
        "EMAIL_CAN_NOT_BE_UPDATED" => "Email can not be updated",
        "CREDENTIAL_ACCOUNT_NOT_FOUND" => "Credential account not found",
        "ACCOUNT_NOT_FOUND" => "Account not found",
        "CHANGE_EMAIL_DISABLED" => "Change email is disabled",
        "SESSION_EXPIRED" => "Session expired. Re-authenticate to perform this action.",
        "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED" => {
            "Cross-site navigation login blocked. This request appears to be a CSRF attack."
        }
        "EMAIL_ALREADY_VERIFIED" => "Email is already verified",
        "EMAIL_MISMATCH" => "Email mismatch",
        "INVALID_ORIGIN" => "Invalid origin",
        "INVALID_CALLBACK_URL" => "Invalid callbackURL",
        "INVALID_REDIRECT_URL" => "Invalid redirectURL",
        "MISSING_OR_NULL_ORIGIN" => "Missing or null Origin",
        "FIELD_NOT_ALLOWED" => "Field not allowed to be set",
        "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED" => {
            "POST method requires deferSessionRefresh to be enabled in session config"
        }
        "UNAUTHORIZED" => "Unauthorized",
        // admin plugin
        "USER_ALREADY_EXISTS" => "User already exists.",
        "YOU_CANNOT_BAN_YOURSELF" => "You cannot ban yourself",
        "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE" => "You are not allowed to change users role",
        "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS" => "You are not allowed to create users",
        "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS" => "You are not allowed to list users",
        "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS" => {
            "You are not allowed to list users sessions"
        }
        "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS" => "You are not allowed to ban users",
        "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS" => "You are not allowed to impersonate users",
        "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS" => {
            "You are not allowed to revoke users sessions"
        }
        "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS" => "You are not allowed to delete users",
        "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD" => "You are not allowed to set users password",
        "YOU_ARE_NOT_ALLOWED_TO_GET_USER" => "You are not allowed to get user",
        "NO_DATA_TO_UPDATE" => "No data to update",
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS" => "You are not allowed to update users",
        "YOU_CANNOT_REMOVE_YOURSELF" => "You cannot remove yourself",
        "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE" => {
            "You are not allowed to set a non-existent role value"
        }
        "YOU_CANNOT_IMPERSONATE_ADMINS" => "You cannot impersonate admins",
        "INVALID_ROLE_TYPE" => "Invalid role type",
        "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_EMAIL" => "You are not allowed to update users email",
        "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER" => {
            "Password cannot be updated through update-user. Use the set-user-password endpoint instead"
        }
        // passkey plugin
        "CHALLENGE_NOT_FOUND" => "Challenge not found",
        "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY" => {
            "You are not allowed to register this passkey"
        }
        "FAILED_TO_VERIFY_REGISTRATION" => "Failed to verify registration",
        "PASSKEY_NOT_FOUND" => "Passkey not found",
        "AUTHENTICATION_FAILED" => "Authentication failed",
        "PREVIOUSLY_REGISTERED" => "Previously registered",
        "SESSION_NOT_FRESH" => "Session is not fresh",
        // Portal's own rules over the plugin's
        "LAST_ADMIN" => "The last admin who can act cannot be demoted, banned or removed",
        "TWO_FACTOR_REQUIRED" => "Two-factor authentication required",
        // username plugin
        "INVALID_USERNAME_OR_PASSWORD" => "Invalid username or password",
        // multi-session plugin
        "INVALID_SESSION_TOKEN" => "Invalid session token",
        // two-factor plugin
        "OTP_HAS_EXPIRED" => "OTP has expired",
        "TOTP_NOT_ENABLED" => "TOTP not enabled",
        "TOTP_ALREADY_ENABLED" => "TOTP is already enabled",
        "TWO_FACTOR_NOT_ENABLED" => "Two factor isn't enabled",
        "BACKUP_CODES_NOT_ENABLED" => "Backup codes aren't enabled",
        "INVALID_BACKUP_CODE" => "Invalid backup code",
        "INVALID_CODE" => "Invalid code",
        "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE" => "Too many attempts. Please request a new code.",
        "ACCOUNT_TEMPORARILY_LOCKED" => {
            "Too many failed verification attempts. Your account is temporarily locked. Please try again later."
        }
        "INVALID_TWO_FACTOR_COOKIE" => "Invalid two factor cookie",
        "USERNAME_IS_ALREADY_TAKEN" => "Username is already taken. Please try another.",
        "USERNAME_TOO_SHORT" => "Username is too short",
        "USERNAME_TOO_LONG" => "Username is too long",
        "INVALID_USERNAME" => "Username is invalid",
        "INVALID_DISPLAY_USERNAME" => "Display username is invalid",
        "USERNAME_IS_IMMUTABLE" => "Username cannot be updated",
        // api-key plugin
        "UNAUTHORIZED_SESSION" => "Unauthorized or invalid session",
        "KEY_NOT_FOUND" => "API Key not found",
        "KEY_DISABLED" => "API Key is disabled",
        "KEY_EXPIRED" => "API Key has expired",
        "INVALID_API_KEY" => "Invalid API key.",
        "SERVER_ONLY_PROPERTY" => {
            "The property you're trying to set can only be set from the server auth instance only."
        }
        "NO_VALUES_TO_UPDATE" => "No values to update.",
        "INVALID_NAME_LENGTH" => "The name length is either too large or too small.",
        "INVALID_PREFIX_LENGTH" => "The prefix length is either too large or too small.",
        "EXPIRES_IN_IS_TOO_SMALL" => "The expiresIn is smaller than the predefined minimum value.",
        "EXPIRES_IN_IS_TOO_LARGE" => "The expiresIn is larger than the predefined maximum value.",
        "INVALID_METADATA_TYPE" => "metadata must be an object or undefined",
        "METADATA_TOO_LARGE" => "metadata must be at most 4096 bytes of JSON",
        _ => "Internal Server Error",
    }
}

#[derive(Debug)]
pub struct AuthError {
    pub status: StatusCode,
    pub code: Option<&'static str>,
    pub message: String,
    /// Seconds to wait, sent as `Retry-After` (and BetterAuth's `X-Retry-After`).
    pub retry_after: Option<u64>,
}

pub type AuthResult<T> = Result<T, AuthError>;

impl AuthError {
    /// A documented code with its BetterAuth message.
    pub fn code(status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code: Some(code),
            message: message_of(code).to_string(),
            retry_after: None,
        }
    }

    pub fn with_message(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: Some(code),
            message: message.into(),
            retry_after: None,
        }
    }

    /// A body with only `message` (e.g. update-user's "No fields to update").
    pub fn message_only(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            code: None,
            message: message.to_string(),
            retry_after: None,
        }
    }

    pub fn validation(message: String) -> Self {
        Self::with_message(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// 429: the account's wrong passwords are spent for a while (`retry_after` seconds).
    pub fn password_tries_spent(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::with_message(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_PASSWORD_ATTEMPTS",
                "Too many wrong passwords for this account. Please try again later.",
            )
        }
    }

    /// 403 `BANNED_USER` with the configured message (the admin plugin's
    /// `bannedUserMessage`).
    pub fn banned(auth: &portal_domain::config::AuthConfig) -> Self {
        Self::with_message(
            StatusCode::FORBIDDEN,
            "BANNED_USER",
            auth.banned_user_message.clone(),
        )
    }

    pub fn unauthorized() -> Self {
        Self::code(StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    }

    /// Something that cannot happen with a consistent table: logged, 500.
    pub fn internal(what: &str) -> Self {
        tracing::error!(error = what, "internal failure in auth");
        Self::with_message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "Internal Server Error",
        )
    }
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        if let StoreError::Unavailable(detail) = &err {
            tracing::warn!(error = %detail, "table unavailable");
            return Self::with_message(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                portal_web::error::SERVICE_UNAVAILABLE,
            );
        }
        tracing::error!(error = %err, "store failure in auth");
        Self::with_message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "Internal Server Error",
        )
    }
}

impl From<portal_services::integrations::ServiceError> for AuthError {
    /// A service Portal keeps accounts on failed while a user was removed: 502 (503 with
    /// `Retry-After` when it is not configured here), nothing of the user's deleted.
    fn from(err: portal_services::integrations::ServiceError) -> Self {
        use portal_services::integrations::{ServiceError, UpstreamError};
        match err {
            ServiceError::Store(err) => err.into(),
            ServiceError::Upstream(UpstreamError::Unavailable(message)) => Self::with_message(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                message,
            ),
            ServiceError::Upstream(err) => {
                Self::with_message(StatusCode::BAD_GATEWAY, "BAD_GATEWAY", err.to_string())
            }
            other => Self::with_message(StatusCode::CONFLICT, "CONFLICT", other.to_string()),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let body = portal_web::openapi::AuthErrorBody {
            code: self.code.map(str::to_string),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            let headers = response.headers_mut();
            headers.insert(axum::http::header::RETRY_AFTER, wait.into());
            headers.insert("x-retry-after", wait.into());
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(portal_web::error::RETRY_AFTER_SECS),
            );
        }
        response
    }
}
