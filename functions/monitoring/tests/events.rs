//! The Lambda path: each fixture in `events/` (API Gateway HTTP API v2 and REST v1) is
//! deserialised by lambda_http into the request Lambda would hand us, then served.

use axum::Router;
use portal_domain::Config;
use portal_domain::config::parse_dsn;
use portal_testkit::{FakeUpstream, Reply, call, event_request, fixture, test_state};
use portal_web::{AppState, http};
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
    let app = plain_app(|c| c.sentry_dsn = Some(parse_dsn(&dsn).unwrap())).await;
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
    let app = plain_app(|c| c.sentry_dsn = Some(parse_dsn(&dsn).unwrap())).await;
    let res = call(&app, event_request(&fixture("monitoring-tunnel.v2.json"))).await;
    assert_eq!(res.status, 403);
    assert!(sentry.requests().is_empty());
}

/// Malformed API Gateway events: lambda_http refuses them (an invocation error the runtime
/// reports), or the router answers them cleanly; never a panic, never a 5xx from us.
#[tokio::test]
async fn malformed_events_are_refused_or_answered_cleanly() {
    let app = plain_app(|_| {}).await;
    let base: serde_json::Value =
        serde_json::from_str(&fixture("monitoring-status.v2.json")).unwrap();
    let mut cases: Vec<(String, String)> = vec![
        ("empty object".into(), "{}".into()),
        ("not JSON".into(), "{\"version\":".into()),
        (
            "unknown version".into(),
            json!({"version": "9.9", "rawPath": "/api/health"}).to_string(),
        ),
        ("a number".into(), "42".into()),
    ];
    let mut with = |name: &str, change: &dyn Fn(&mut serde_json::Value)| {
        let mut event = base.clone();
        change(&mut event);
        cases.push((name.to_string(), event.to_string()));
    };
    with("no request context", &|e| {
        e.as_object_mut().unwrap().remove("requestContext");
    });
    with("headers of the wrong type", &|e| {
        e["headers"] = json!(["x"])
    });
    with("a 1 MB header", &|e| {
        e["headers"]["x-big"] = json!("a".repeat(1024 * 1024))
    });
    with("a path that is not a string", &|e| e["rawPath"] = json!(12));
    with("a method nobody uses", &|e| {
        e["requestContext"]["http"]["method"] = json!("BREW")
    });
    for (name, event) in cases {
        let parsed = std::panic::catch_unwind(|| lambda_http::request::from_str(&event));
        let Ok(parsed) = parsed else {
            panic!("{name}: lambda_http panicked on the event");
        };
        if let Ok(request) = parsed {
            let res = tokio::time::timeout(std::time::Duration::from_secs(5), call(&app, request))
                .await
                .unwrap_or_else(|_| panic!("{name}: no answer"));
            assert!(res.status.as_u16() < 500, "{name}: {}", res.status);
        }
    }
}

/// Known upstream defect, kept visible: `aws_lambda_events` (under lambda_http 1.3.2) panics
/// while decoding an event whose `isBase64Encoded` body is not base64, and lambda_runtime
/// deserialises events outside its panic guard, so such an event (which API Gateway never
/// sends; only a direct, IAM-authorised invoke can) ends the instance, which Lambda then
/// replaces. When this test starts failing, the dependency is fixed: drop the test and the
/// note in docs/DECISIONS.md.
#[test]
fn a_body_flagged_base64_that_is_not_still_panics_in_lambda_http() {
    let mut event: serde_json::Value =
        serde_json::from_str(&fixture("monitoring-status.v2.json")).unwrap();
    event["isBase64Encoded"] = json!(true);
    event["body"] = json!("%%% not base64 %%%");
    let text = event.to_string();
    let outcome = std::panic::catch_unwind(|| lambda_http::request::from_str(&text).is_ok());
    assert!(
        outcome.is_err(),
        "lambda_http no longer panics: remove this note"
    );
}
