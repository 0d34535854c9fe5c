//! The one error type of the API and its one mapping to status + envelope
//! `{ "ok": false, "error": "<message>", "details"?: {...} }`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portal_domain::issue::Issue;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

pub const UNAUTHORIZED: &str = "Unauthorized";
pub const FORBIDDEN_ADMIN: &str = "Forbidden - Admin access required";
pub const FORBIDDEN_ADMIN_OR_STAFF: &str = "Forbidden - Admin or Staff access required";
pub const TWO_FACTOR_REQUIRED: &str = "Two-factor authentication required";
pub const USER_NOT_FOUND: &str = "User not found";
pub const IMPERSONATING_ADMIN: &str = "Forbidden - admins cannot be impersonated";
pub const INVALID_REQUEST_BODY: &str = "Invalid request body";
pub const INVALID_JSON_BODY: &str = "Invalid JSON body";
pub const INVALID_ID_FORMAT: &str = "Invalid id format";
pub const INTERNAL_SERVER_ERROR: &str = "Internal server error";
pub const NOT_FOUND: &str = "Not found";
pub const METHOD_NOT_ALLOWED: &str = "Method not allowed";
pub const PAYLOAD_TOO_LARGE: &str = "Request body too large";
pub const TOO_MANY_REQUESTS: &str = "Too many requests";
pub const UNSUPPORTED_MEDIA_TYPE: &str = "Unsupported media type";
pub const SERVICE_UNAVAILABLE: &str = "Service temporarily unavailable, try again shortly";
/// What a 503 asks the client to wait, in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with zod-shaped `details` (see `validation`).
    #[error("{message}")]
    Validation { message: String, details: Value },
    #[error("{0}")]
    BadRequest(String),
    #[error("{UNAUTHORIZED}")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{METHOD_NOT_ALLOWED}")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{PAYLOAD_TOO_LARGE}")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{TOO_MANY_REQUESTS}")]
    TooManyRequests { retry_after_secs: u64 },
    /// An upstream service answered badly or not at all.
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Anything we did not expect. The cause is logged, never sent.
    #[error("{INTERNAL_SERVER_ERROR}")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn internal(err: impl Into<BoxError>) -> Self {
        Self::Internal(err.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The error envelope for `status`; every error response of the API is built here.
pub fn envelope(status: StatusCode, message: &str, details: Option<&Value>) -> Response {
    let body = crate::openapi::ErrorEnvelope {
        ok: false,
        error: message.to_string(),
        details: details.cloned(),
    };
    (status, Json(body)).into_response()
}

/// The message used when something other than a handler (the router, a body limit, a
/// panic) produced an error status.
pub fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => INVALID_REQUEST_BODY,
        StatusCode::UNAUTHORIZED => UNAUTHORIZED,
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => NOT_FOUND,
        StatusCode::METHOD_NOT_ALLOWED => METHOD_NOT_ALLOWED,
        StatusCode::PAYLOAD_TOO_LARGE => PAYLOAD_TOO_LARGE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
        StatusCode::TOO_MANY_REQUESTS => TOO_MANY_REQUESTS,
        StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
        StatusCode::BAD_GATEWAY => "Bad gateway",
        StatusCode::GATEWAY_TIMEOUT => "Gateway timeout",
        s if s.is_client_error() => "Request error",
        _ => INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(source) => {
                tracing::error!(error = %source, debug = ?source, "internal error");
            }
            Self::BadGateway(_) | Self::ServiceUnavailable(_) => {
                tracing::warn!(status = status.as_u16(), error = %self, "upstream error");
            }
            _ => {}
        }
        let details = match &self {
            Self::Validation { details, .. } => Some(details),
            _ => None,
        };
        let mut response = envelope(status, &self.to_string(), details);
        match self {
            Self::TooManyRequests { retry_after_secs } => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                );
            }
            Self::ServiceUnavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            _ => {}
        }
        response
    }
}

/// A store failure, as the API answers it: a cursor another listing made is the client's
/// mistake (400 `Invalid cursor`); anything else is ours (500, logged).
impl From<portal_domain::store::StoreError> for ApiError {
    fn from(err: portal_domain::store::StoreError) -> Self {
        match err {
            portal_domain::store::StoreError::BadCursor => invalid_cursor(),
            portal_domain::store::StoreError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "table unavailable");
                ApiError::ServiceUnavailable(SERVICE_UNAVAILABLE.into())
            }
            other => ApiError::internal(other),
        }
    }
}

/// The `details` of a validation envelope: zod's `issues` and their `flattened` form.
#[derive(Serialize)]
struct ValidationDetails {
    issues: Vec<Value>,
    flattened: Flattened,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Flattened {
    form_errors: Vec<String>,
    field_errors: BTreeMap<String, Vec<String>>,
}

/// The 400 envelope for a non-empty list of issues.
pub fn validation_error(issues: Vec<Issue>) -> ApiError {
    let summary: Vec<String> = issues.iter().map(Issue::summary).collect();
    let mut flattened = Flattened::default();
    for issue in &issues {
        match issue.path.first() {
            None => flattened.form_errors.push(issue.message.clone()),
            Some(first) => {
                let key = match first {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                flattened
                    .field_errors
                    .entry(key)
                    .or_default()
                    .push(issue.message.clone());
            }
        }
    }
    let details = ValidationDetails {
        issues: issues.iter().map(Issue::to_json).collect(),
        flattened,
    };
    ApiError::Validation {
        message: format!("Validation error: {}", summary.join("; ")),
        details: serde_json::to_value(details).unwrap_or_default(),
    }
}

/// 400 `Invalid cursor` at `cursor`.
pub fn invalid_cursor() -> ApiError {
    validation_error(vec![Issue::custom("Invalid cursor").at("cursor")])
}

impl From<portal_services::moderation::Refused> for ApiError {
    fn from(refused: portal_services::moderation::Refused) -> Self {
        use portal_services::moderation::{EMAIL_TAKEN, LAST_ADMIN, Refused, USERNAME_TAKEN};
        match refused {
            Refused::NotFound => ApiError::not_found(USER_NOT_FOUND),
            Refused::NeedsAdmin => ApiError::forbidden(FORBIDDEN_ADMIN),
            Refused::LastAdmin => ApiError::forbidden(LAST_ADMIN),
            Refused::UsernameTaken => ApiError::Conflict(USERNAME_TAKEN.into()),
            Refused::EmailTaken => ApiError::Conflict(EMAIL_TAKEN.into()),
            Refused::NeedsModerator => ApiError::forbidden(FORBIDDEN_ADMIN_OR_STAFF),
            Refused::SecondFactorRequired => ApiError::forbidden(TWO_FACTOR_REQUIRED),
            Refused::ImpersonatingAdmin => ApiError::forbidden(IMPERSONATING_ADMIN),
        }
    }
}

impl From<portal_services::integrations::UpstreamError> for ApiError {
    fn from(err: portal_services::integrations::UpstreamError) -> Self {
        use portal_services::integrations::{USERNAME_TAKEN, UpstreamError};
        match err {
            UpstreamError::Taken => ApiError::Conflict(USERNAME_TAKEN.into()),
            UpstreamError::Failed(message) => ApiError::BadGateway(message),
            UpstreamError::Unavailable(message) => ApiError::ServiceUnavailable(message),
        }
    }
}

impl From<portal_services::integrations::ServiceError> for ApiError {
    fn from(err: portal_services::integrations::ServiceError) -> Self {
        use portal_services::integrations::{
            INTEGRATION_DISABLED, ServiceError, UNKNOWN_INTEGRATION,
        };
        match err {
            ServiceError::Store(err) => err.into(),
            ServiceError::Upstream(err) => err.into(),
            ServiceError::ChangedMeanwhile => ApiError::Conflict(err.to_string()),
            ServiceError::UnknownIntegration => ApiError::not_found(UNKNOWN_INTEGRATION),
            ServiceError::Disabled => ApiError::forbidden(INTEGRATION_DISABLED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use serde_json::json;

    async fn parts(err: ApiError) -> (StatusCode, Value) {
        let res = err.into_response();
        let status = res.status();
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/json",
            "every error is JSON"
        );
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn internal_errors_never_leak_their_cause() {
        let (status, body) = parts(ApiError::internal("connection string pg://secret")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({"ok": false, "error": "Internal server error"}));
    }

    #[tokio::test]
    async fn fixed_messages_and_statuses() {
        let cases = [
            (ApiError::Unauthorized, 401, "Unauthorized"),
            (ApiError::forbidden(FORBIDDEN_ADMIN), 403, FORBIDDEN_ADMIN),
            (ApiError::not_found(USER_NOT_FOUND), 404, "User not found"),
            (
                ApiError::bad_request(INVALID_ID_FORMAT),
                400,
                "Invalid id format",
            ),
            (ApiError::PayloadTooLarge, 413, "Request body too large"),
            (
                ApiError::BadGateway("Sentry unreachable".into()),
                502,
                "Sentry unreachable",
            ),
        ];
        for (err, status, message) in cases {
            let (s, body) = parts(err).await;
            assert_eq!(s.as_u16(), status);
            assert_eq!(body, json!({"ok": false, "error": message}));
        }
    }

    #[tokio::test]
    async fn too_many_requests_says_when_to_retry() {
        let res = ApiError::TooManyRequests {
            retry_after_secs: 7,
        }
        .into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "7");
    }
}
