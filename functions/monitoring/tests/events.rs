//! The Lambda path: each fixture in `events/` (API Gateway HTTP API v2 and REST v1) is
//! deserialised by lambda_http into the request Lambda would hand us, then served.

use axum::Router;
use portal_shared::config::SentryDsn;
use portal_shared::{AppState, Config, http};
use portal_testkit::{FakeUpstream, Reply, call, event_request, fixture, test_state};
use serde_json::json;

fn app(state: AppState) -> Router {
    let config = state.config.clone();
    http::finish(portal_monitoring::router(state), &config)
}

async fn plain_app(adjust: impl FnOnce(&mut Config)) -> Router {
    app(test_state(adjust).await)
}

#[tokio::test]
async fn status_fixtures() {
    let app = plain_app(|_| {}).await;
    for name in ["monitoring-status.v2.json", "monitoring-status.v1.json"] {
        let res = call(&app, event_request(&fixture(name))).await;
        assert_eq!(res.status, 200, "{name}");
        assert_eq!(
            res.json(),
            json!({"status": "ok", "service": "sentry-tunnel"})
        );
    }
}

#[tokio::test]
async fn request_id_comes_from_api_gateway() {
    let app = plain_app(|_| {}).await;
    let res = call(&app, event_request(&fixture("monitoring-status.v2.json"))).await;
    assert_eq!(res.header("x-request-id"), Some("Fixture-v2-request-id="));
    let res = call(&app, event_request(&fixture("monitoring-status.v1.json"))).await;
    assert_eq!(res.header("x-request-id"), Some("Fixture-v1-request-id"));
}

#[tokio::test]
async fn health_fixtures() {
    let app = plain_app(|_| {}).await;
    for name in ["health.v2.json", "health.v1.json"] {
        let res = call(&app, event_request(&fixture(name))).await;
        assert_eq!(res.status, 200, "{name}");
        assert_eq!(res.json()["status"], "ok");
    }
}

#[tokio::test]
async fn tunnel_fixtures_without_sentry_are_503() {
    let app = plain_app(|_| {}).await;
    for name in ["monitoring-tunnel.v2.json", "monitoring-tunnel.v1.json"] {
        let res = call(&app, event_request(&fixture(name))).await;
        assert_eq!(res.status, 503, "{name}");
        assert_eq!(
            res.json(),
            json!({"ok": false, "error": "Sentry is not configured"})
        );
    }
}

#[tokio::test]
async fn tunnel_fixtures_reach_sentry_through_the_lambda_path() {
    let sentry = FakeUpstream::start(Reply::json(200, r#"{"id":"ok"}"#)).await;
    let dsn = format!("http://public@127.0.0.1:{}/42", sentry.port());
    let app = plain_app(|c| c.sentry.dsn = Some(SentryDsn::parse(&dsn).unwrap())).await;
    for name in ["monitoring-tunnel.v2.json", "monitoring-tunnel.v1.json"] {
        // The fixture names Sentry's real ingest host; point it at the fake one.
        let event = fixture(name).replace("https://public@o0.ingest.sentry.io/42", &dsn);
        let res = call(&app, event_request(&event)).await;
        assert_eq!(res.status, 200, "{name}");
        assert_eq!(res.json(), json!({"id": "ok"}));
    }
    let seen = sentry.requests();
    assert_eq!(seen.len(), 2);
    for request in seen {
        assert_eq!(request.path, "/api/42/envelope/");
        let body = String::from_utf8(request.body.to_vec()).unwrap();
        assert!(body.starts_with(&format!(
            "{{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"{dsn}\""
        )));
        assert!(body.ends_with("{\"message\":\"hello from the browser\",\"level\":\"error\"}\n"));
    }
}

#[tokio::test]
async fn tunnel_fixture_for_another_project_is_403() {
    let sentry = FakeUpstream::start(Reply::json(200, "{}")).await;
    let dsn = format!("http://public@127.0.0.1:{}/42", sentry.port());
    let app = plain_app(|c| c.sentry.dsn = Some(SentryDsn::parse(&dsn).unwrap())).await;
    let res = call(&app, event_request(&fixture("monitoring-tunnel.v2.json"))).await;
    assert_eq!(res.status, 403);
    assert!(sentry.requests().is_empty());
}
