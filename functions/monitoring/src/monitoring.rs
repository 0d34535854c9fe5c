//! The Sentry envelope tunnel: browsers post envelopes here (first-party, so ad blockers
//! let them through) and we forward them to the ONE Sentry project we are configured
//! with. The destination is built from configuration, never from the request, so the
//! tunnel cannot be used to make this function post anywhere else.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use portal_domain::Config;
use portal_domain::config::{Dsn, parse_dsn};
use portal_domain::store::keys;
use portal_services::outbound::Outbound;
use portal_web::http::{ClientAddress, VerbatimBody, rate_limit_subject};
use portal_web::openapi::ErrorEnvelope;
use portal_web::rate_limit::{self, Bucket, RateSlot};
use portal_web::validation::body_rejection;
use portal_web::{ApiError, ApiResult, AppState};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub const NOT_CONFIGURED: &str = "Sentry is not configured";
pub const INVALID_HEADER: &str =
    "Invalid envelope: the first line must be a JSON header with a dsn";
pub const INVALID_DSN: &str = "Invalid envelope: the header dsn is not a valid Sentry DSN";
pub const FOREIGN_DSN: &str = "Envelope DSN does not match the configured Sentry project";
pub const UPSTREAM_TIMEOUT: &str = "Sentry did not answer in time";
pub const UPSTREAM_UNREACHABLE: &str = "Sentry could not be reached";

const SENTRY_ENVELOPE: &str = "application/x-sentry-envelope";
/// Sentry's answer headers the browser SDK acts on.
const RELAYED_HEADERS: [&str; 2] = ["retry-after", "x-sentry-rate-limits"];

/// `None` when no `SENTRY_DSN` is configured: the tunnel then answers 503.
#[derive(Clone)]
pub struct SentryTunnel(Option<Arc<Upstream>>);

struct Upstream {
    dsn: Dsn,
    envelope_url: String,
    client: Outbound,
}

impl SentryTunnel {
    /// Builds the HTTP client only when there is somewhere to send to.
    pub fn from_config(config: &Config) -> Self {
        let (Some(dsn), Some(tunnel)) = (config.sentry_dsn.clone(), config.tunnel.as_ref()) else {
            return Self(None);
        };
        match Outbound::new(tunnel.timeout) {
            Some(client) => Self(Some(Arc::new(Upstream {
                envelope_url: dsn.envelope_api_url().to_string(),
                dsn,
                client,
            }))),
            None => Self(None),
        }
    }
}

/// `{ status: "ok", service: "sentry-tunnel" }`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TunnelStatus {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "sentry-tunnel")]
    pub service: &'static str,
}

/// The tunnel is up.
#[utoipa::path(
    get,
    path = "/api/monitoring",
    responses((status = 200, description = "Up", body = TunnelStatus))
)]
pub async fn status() -> Json<TunnelStatus> {
    Json(TunnelStatus {
        status: "ok",
        service: "sentry-tunnel",
    })
}

/// Whether two DSNs name the same Sentry project on the same host and port (the key may
/// differ).
fn same_project(ours: &Dsn, theirs: &Dsn) -> bool {
    ours.host().eq_ignore_ascii_case(theirs.host())
        && ours.port() == theirs.port()
        && ours.project_id() == theirs.project_id()
}

/// The DSN named by an envelope's header (its first line).
fn envelope_dsn(envelope: &[u8]) -> ApiResult<Dsn> {
    let header_line = envelope.split(|b| *b == b'\n').next().unwrap_or_default();
    let header: Value =
        serde_json::from_slice(header_line).map_err(|_| ApiError::bad_request(INVALID_HEADER))?;
    let dsn = header
        .get("dsn")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(INVALID_HEADER))?;
    parse_dsn(dsn).map_err(|_| ApiError::bad_request(INVALID_DSN))
}

/// What the tunnel routes hold: the tunnel, and the state its rate limit counts in.
#[derive(Clone)]
pub struct TunnelState {
    pub app: AppState,
    pub tunnel: SentryTunnel,
}

impl axum::extract::FromRef<TunnelState> for AppState {
    fn from_ref(state: &TunnelState) -> Self {
        state.app.clone()
    }
}

/// `POST /api/monitoring`: forwards the envelope unchanged and relays Sentry's answer.
/// Public, so counted per client address (an IPv6 client's /64) like the auth routes.
#[utoipa::path(
    post,
    path = "/api/monitoring",
    request_body(
        content(
            (String = "text/plain"),
            (String = "application/x-sentry-envelope"),
        ),
        description = "A Sentry envelope (as the browser SDK's tunnel option sends it) whose header names the configured project's DSN"
    ),
    responses(
        (status = 200, description = "Sentry's answer, relayed (with its `Retry-After` and `X-Sentry-Rate-Limits`)"),
        (status = 403, description = "The envelope names another Sentry project", body = ErrorEnvelope),
        (status = 502, description = "Sentry could not be reached or did not answer in time", body = ErrorEnvelope),
        (status = "4XX", description = "Sentry's own refusal, relayed"),
    )
)]
pub async fn forward(
    State(state): State<TunnelState>,
    ClientAddress(ip): ClientAddress,
    slot: Option<axum::Extension<RateSlot>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let upstream = state
        .tunnel
        .0
        .as_ref()
        .ok_or_else(|| ApiError::ServiceUnavailable(NOT_CONFIGURED.into()))?;
    let subject = ip.map_or_else(|| "unknown".to_string(), rate_limit_subject);
    let bucket = Bucket::new(
        keys::rate_bucket_address(&subject, "/api/monitoring"),
        state.app.config.rate_limits.tunnel,
    );
    if let Some(decision) = rate_limit::check(&state.app, &[bucket]).await? {
        if let Some(axum::Extension(slot)) = slot {
            slot.put(decision);
        }
        if !decision.allowed {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: decision.retry_after,
            });
        }
    }
    let envelope = body.map_err(body_rejection)?;
    let dsn = envelope_dsn(&envelope)?;
    if !same_project(&upstream.dsn, &dsn) {
        return Err(ApiError::forbidden(FOREIGN_DSN));
    }
    let answer = upstream
        .client
        .post(&upstream.envelope_url)
        .header(header::CONTENT_TYPE, SENTRY_ENVELOPE)
        .body(envelope)
        .send()
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, "Sentry forward failed");
            if err.is_timeout() {
                ApiError::BadGateway(UPSTREAM_TIMEOUT.into())
            } else {
                ApiError::BadGateway(UPSTREAM_UNREACHABLE.into())
            }
        })?;
    let status = StatusCode::from_u16(answer.status().as_u16())
        .map_err(|_| ApiError::BadGateway(UPSTREAM_UNREACHABLE.into()))?;
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    // Sentry's back-off instructions go back to the SDK in the browser as they came.
    let relayed: Vec<(header::HeaderName, HeaderValue)> = RELAYED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = answer.headers().get(*name)?.to_str().ok()?;
            Some((
                header::HeaderName::from_static(name),
                HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect();
    let body = answer.bytes().await.map_err(|err| {
        tracing::warn!(error = %err, "Sentry answer unreadable");
        ApiError::BadGateway(UPSTREAM_UNREACHABLE.into())
    })?;
    let mut response = (status, body).into_response();
    let content_type = content_type
        .and_then(|v| v.to_str().ok().and_then(|s| HeaderValue::from_str(s).ok()))
        .unwrap_or_else(|| HeaderValue::from_static("application/json"));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    for (name, value) in relayed {
        response.headers_mut().insert(name, value);
    }
    // Sentry's own answer (e.g. its 429 with a retry hint) goes back as it came.
    response.extensions_mut().insert(VerbatimBody);
    Ok(response)
}
