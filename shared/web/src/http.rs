//! HTTP glue every router shares: unknown routes and wrong methods as envelopes, the body
//! cap, panics as 500 envelopes, a request id on every log line and response, and the
//! caller's address as API Gateway (or the local socket) reports it.

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::error::{ApiError, default_message, envelope};
use portal_domain::config::Config;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

pub use crate::request::{MatchedRoute, RequestId, VerbatimBody, identified};

/// Finishes a router for serving: JSON 404/405 envelopes, the default body cap, error
/// normalisation, panic capture and request ids. Apply once, to the whole router (a
/// function's on Lambda, the merged one in the local gateway).
pub fn finish(router: Router, config: &Config) -> Router {
    finish_with(
        router,
        config,
        crate::metrics::Sink::for_runtime(&config.runtime),
    )
}

/// [`finish`], with the metrics written to `metrics` (a test's buffer).
///
/// The route layer names each route's template; every other layer wraps the whole router
/// ONCE (`Router::layer` would wrap each route, and a cold start would box routes × layers
/// services).
pub fn finish_with(router: Router, config: &Config, metrics: crate::metrics::Sink) -> Router {
    let router = if router.has_routes() {
        router.route_layer(middleware::from_fn(record_route))
    } else {
        router
    };
    let routed = router
        .fallback(|| async { ApiError::not_found(crate::error::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    let reporter = crate::reporting::Reporter::from_config(config);
    let service = tower::ServiceBuilder::new()
        .layer(middleware::from_fn(request_context))
        .layer(middleware::from_fn(security_headers))
        .layer(cors(config))
        .layer(middleware::from_fn(move |req, next| {
            crate::metrics::count(metrics.clone(), req, next)
        }))
        .layer(middleware::from_fn(move |req, next| {
            crate::reporting::report(reporter.clone(), req, next)
        }))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::map_response(errors_as_envelopes))
        .layer(middleware::from_fn(crate::rate_limit::rate_headers))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .service(routed);
    Router::new().fallback_service(service)
}

/// CORS for browser front ends on another origin: the base URL's origin and the trusted
/// origins (wildcards included), with credentials. A preflight is answered here, before any
/// limit, origin check or guard runs; an origin we do not trust gets no CORS headers, so
/// the browser keeps the answer from it.
pub fn cors(config: &Config) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let config = config.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin
                .to_str()
                .is_ok_and(|o| crate::origins::is_trusted_origin(&config, o))
        }))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(crate::caller::API_KEY_HEADER),
            HeaderName::from_static("sentry-trace"),
            HeaderName::from_static("baggage"),
        ])
        .expose_headers([
            HeaderName::from_static("set-auth-token"),
            HeaderName::from_static(REQUEST_ID_HEADER),
            header::RETRY_AFTER,
            HeaderName::from_static("x-retry-after"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// Every response: `X-Content-Type-Options: nosniff`. A response to a request that carries
/// a credential (cookie, `Authorization`, `x-api-key`), and every `/api/auth/*` response, is
/// private to its caller: `Cache-Control: no-store` unless the handler chose otherwise.
async fn security_headers(req: Request, next: Next) -> Response {
    let private = req.uri().path().starts_with("/api/auth/")
        || [header::COOKIE, header::AUTHORIZATION]
            .iter()
            .any(|h| req.headers().contains_key(h))
        || req.headers().contains_key(crate::caller::API_KEY_HEADER);
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if private && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Any error response that is not already JSON (from the router, a body limit, a layer)
/// becomes the contract's envelope with a message fitting its status.
async fn errors_as_envelopes(response: Response) -> Response {
    let status = response.status();
    if status.as_u16() < 400 || response.extensions().get::<VerbatimBody>().is_some() {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let mut replacement = envelope(status, default_message(status), None);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let headers = replacement.headers_mut();
    for (name, value) in parts.headers.iter() {
        headers.insert(name.clone(), value.clone());
    }
    replacement
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    tracing::error!(panic = what, "handler panicked");
    let mut response = envelope(
        StatusCode::INTERNAL_SERVER_ERROR,
        crate::error::INTERNAL_SERVER_ERROR,
        None,
    );
    response
        .extensions_mut()
        .insert(crate::request::Panicked(what.to_string()));
    response
}

fn gateway_request_id(req: &Request) -> Option<String> {
    let from_context = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    from_context.or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
}

/// Names the matched route TEMPLATE on the request's span (`/api/auth/reset-password/{token}`),
/// never the raw path: paths can carry secrets (reset tokens).
async fn record_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    if let Some(route) = &route {
        tracing::Span::current().record("route", route.as_str());
    }
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(MatchedRoute(route));
    }
    response
}

/// Gives the request an id (API Gateway's, else a fresh one: a client's own
/// `x-request-id` is not trusted), opens the span every log line of the request is
/// written in, logs the outcome, and returns the id in `x-request-id`.
///
/// On Lambda the span also carries the invocation's own request id (`aws_request_id`) and
/// its X-Ray trace id; `user_id` is recorded once the caller is known ([`identified`]).
async fn request_context(mut req: Request, next: Next) -> Response {
    let id = gateway_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let lambda = req.lambda_context_ref();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        aws_request_id = lambda.map(|c| c.request_id.as_str()),
        xray_trace_id = lambda.and_then(|c| c.xray_trace_id.as_deref()),
        method = %req.method(),
        route = tracing::field::Empty,
        user_id = tracing::field::Empty,
    );
    req.extensions_mut().insert(RequestId(id.clone()));
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The caller's address: API Gateway's source IP on Lambda, the socket peer locally.
/// Client-supplied `X-Forwarded-For` is never trusted.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    let from_gateway = match parts.extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        _ => None,
    };
    from_gateway.and_then(|ip| ip.parse().ok()).or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    })
}

/// When this invocation must have answered: the Lambda context's deadline less a margin to
/// answer and clean up in; `None` outside Lambda (the local gateway, plain HTTP tests).
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Option<std::time::Instant>);

/// Time kept back from the Lambda deadline to release what a late call reserved and answer.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_millis(1500);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Deadline {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(context) = parts.extensions.get::<lambda_http::Context>() else {
            return Ok(Self(None));
        };
        let now_ms = (portal_domain::time::now().unix_timestamp_nanos() / 1_000_000) as i64;
        let left =
            std::time::Duration::from_millis((context.deadline as i64 - now_ms).max(0) as u64);
        Ok(Self(Some(
            Instant::now() + left.saturating_sub(DEADLINE_MARGIN),
        )))
    }
}

impl Deadline {
    /// Runs `work` until the deadline: `None` when it did not finish in time.
    pub async fn within<F: std::future::Future>(&self, work: F) -> Option<F::Output> {
        match self.0 {
            Some(at) => tokio::time::timeout_at(at.into(), work).await.ok(),
            None => Some(work.await),
        }
    }
}

/// The caller's address as an extractor (see [`client_ip`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(parts)))
    }
}

/// The part of an address a rate limit counts: the whole IPv4 address, an IPv6 client's
/// /64 (one subscriber usually holds a whole /64, so per-address limits would not hold).
pub fn rate_limit_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A JSON success body with an explicit status (e.g. 201).
pub fn json_with_status<T: serde::Serialize>(status: StatusCode, body: T) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Where the request came from: its client's address (API Gateway's source IP, not a
/// header) and user agent.
#[derive(Debug, Clone)]
pub struct RequestClient(pub portal_domain::model::Client);

/// The request's [`Client`](portal_domain::model::Client).
pub fn client_of(parts: &Parts) -> portal_domain::model::Client {
    portal_domain::model::Client {
        ip: client_ip(parts)
            .map(|ip| ip.to_string())
            .unwrap_or_default(),
        user_agent: user_agent(&parts.headers),
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestClient {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_of(parts)))
    }
}

/// The audit provenance of a request: its client, nobody signed in yet (a handler names the
/// actor with `Provenance::as_user`).
#[derive(Debug, Clone)]
pub struct RequestProvenance(pub portal_domain::store::audit::Provenance);

impl<S> axum::extract::FromRequestParts<S> for RequestProvenance
where
    crate::AppState: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = <crate::AppState as axum::extract::FromRef<S>>::from_ref(state);
        Ok(Self(portal_domain::store::audit::Provenance::request(
            &state.config,
            &client_of(parts),
        )))
    }
}

/// The request's `User-Agent`, at most 512 characters (as stored on sessions and audit
/// events).
pub fn user_agent(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(512)
        .collect()
}
