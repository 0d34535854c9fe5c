//! Calling a router in-process, as plain HTTP or as an API Gateway event.

use std::sync::Once;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The route template that answered (`None`: no route matched, or not through
    /// `http::finish`).
    pub route: Option<String>,
    /// The DynamoDB calls the request made, in order (empty when not through
    /// `http::finish`).
    pub dynamo_calls: Vec<portal_domain::observe::DynamoCall>,
    /// The integrations whose upstream failed while answering it.
    pub upstream_failures: Vec<&'static str>,
}

impl TestResponse {
    /// The body as JSON; panics with the body text when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text (for assertion messages).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` through `router` (a clone) and reads the whole response.
pub async fn call<B>(router: &Router, request: Request<B>) -> TestResponse
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let response = router
        .clone()
        .oneshot(request.map(Body::new))
        .await
        .expect("routers are infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body is readable").to_bytes();
    let route = parts
        .extensions
        .get::<portal_web::http::MatchedRoute>()
        .map(|r| r.0.as_str().to_string());
    let observed = parts
        .extensions
        .get::<portal_domain::observe::Observed>()
        .map(|o| o.0.clone());
    let dynamo_calls = observed
        .as_ref()
        .map(|o| o.dynamo_calls())
        .unwrap_or_default();
    crate::iam::record(&dynamo_calls);
    TestResponse {
        status: parts.status,
        headers: parts.headers,
        body,
        route,
        dynamo_calls,
        upstream_failures: observed.map(|o| o.upstream_failures()).unwrap_or_default(),
    }
}

/// A request builder with a body.
pub fn request(method: &str, uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(body.into())
        .expect("valid request")
}

pub async fn get(router: &Router, uri: &str) -> TestResponse {
    call(router, request("GET", uri, Body::empty())).await
}

/// A POST of `body` sent as `application/json`.
pub async fn post_bytes(router: &Router, uri: &str, body: impl Into<Body>) -> TestResponse {
    post_as(router, uri, "application/json", body).await
}

/// A POST of `body` with the given `Content-Type`.
pub async fn post_as(
    router: &Router,
    uri: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> TestResponse {
    let mut req = request("POST", uri, body);
    if let Ok(value) = axum::http::HeaderValue::from_str(content_type) {
        req.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, value);
    }
    call(router, req).await
}

/// Deserialises an API Gateway event (HTTP API v2 or REST v1 JSON) into the request
/// `lambda_http` would hand the router on Lambda. REST events carry the stage in the path;
/// like the deployed functions, tests strip it (`AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`).
pub fn event_request(event_json: &str) -> lambda_http::Request {
    static IGNORE_STAGE: Once = Once::new();
    IGNORE_STAGE.call_once(|| {
        // SAFETY: set once, before any event is parsed, and never changed or removed;
        // nothing else in the test binaries writes the environment.
        unsafe { std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true") };
    });
    lambda_http::request::from_str(event_json).expect("the fixture is a valid API Gateway event")
}

/// Reads `events/<name>` from the repository root.
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}
