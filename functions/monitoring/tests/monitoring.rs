//! The monitoring function, in-process through its finished router: what a browser SDK,
//! an uptime checker and an operator see.

use portal_testkit::Sections;
use std::time::Duration;

use axum::Router;
use portal_domain::Config;
use portal_domain::config::parse_dsn;
use portal_testkit::{FakeUpstream, Reply, call, get, post_bytes, request, test_state};
use portal_web::{AppState, http};
use serde_json::{Value, json};

fn app(state: AppState) -> Router {
    let config = state.config.clone();
    http::finish(portal_monitoring::router(state), &config)
}

fn envelope(dsn: &str) -> String {
    format!(
        "{{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"{dsn}\"}}\n{{\"type\":\"event\"}}\n{{\"message\":\"boom\"}}\n"
    )
}

/// A tunnel configured for project 42 on the fake Sentry.
async fn tunnel_to(sentry: &FakeUpstream, adjust: impl FnOnce(&mut Config)) -> Router {
    let dsn = format!("http://public@127.0.0.1:{}/42", sentry.port());
    app(test_state(|c| {
        c.sentry_dsn = Some(parse_dsn(&dsn).unwrap());
        adjust(c);
    })
    .await)
}

fn error(message: &str) -> Value {
    json!({ "ok": false, "error": message })
}

#[tokio::test]
async fn status_says_the_tunnel_is_there() {
    let app = app(test_state(|_| {}).await);
    let res = get(&app, "/api/monitoring").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"status": "ok", "service": "sentry-tunnel"})
    );
    assert!(
        res.header("x-request-id").is_some(),
        "every response carries its request id"
    );
}

#[tokio::test]
async fn health_reports_a_reachable_table_and_nothing_else() {
    let app = app(test_state(|_| {}).await);
    let res = get(&app, "/api/health").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"ok": true, "status": "ok", "checks": {"table": "ok"}})
    );
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn health_is_503_when_the_table_is_gone() {
    let state = test_state(|_| {}).await;
    let missing = portal_testkit::shared_engine().db("no-such-table");
    let app = app(AppState::new((*state.config).clone(), missing));
    let res = get(&app, "/api/health").await;
    assert_eq!(res.status, 503);
    assert_eq!(res.json(), error("Table unreachable"));
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_json_envelopes() {
    let app = app(test_state(|_| {}).await);
    let res = get(&app, "/api/nothing-here").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), error("Not found"));
    assert_eq!(res.header("content-type"), Some("application/json"));

    for (method, uri) in [("DELETE", "/api/monitoring"), ("POST", "/api/health")] {
        let res = call(&app, request(method, uri, "")).await;
        assert_eq!(res.status, 405, "{method} {uri}");
        assert_eq!(res.json(), error("Method not allowed"));
    }
}

#[tokio::test]
async fn tunnel_without_sentry_configured_is_503() {
    let app = app(test_state(|_| {}).await);
    let res = post_bytes(
        &app,
        "/api/monitoring",
        envelope("https://k@o1.ingest.sentry.io/42"),
    )
    .await;
    assert_eq!(res.status, 503);
    assert_eq!(res.json(), error("Sentry is not configured"));
}

#[tokio::test]
async fn tunnel_forwards_the_exact_envelope_to_the_configured_project() {
    let sentry = FakeUpstream::start(Reply::json(
        200,
        r#"{"id":"9ec79c33ec9942ab8353589fcb2e04dc"}"#,
    ))
    .await;
    let app = tunnel_to(&sentry, |_| {}).await;
    // Another public key for the same project is fine: keys rotate, the project is what matters.
    let body = envelope(&format!(
        "http://another-key@127.0.0.1:{}/42",
        sentry.port()
    ));
    let res = post_bytes(&app, "/api/monitoring", body.clone()).await;

    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"id": "9ec79c33ec9942ab8353589fcb2e04dc"})
    );
    let seen = sentry.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/api/42/envelope/");
    assert_eq!(
        seen[0].headers["content-type"],
        "application/x-sentry-envelope"
    );
    assert_eq!(seen[0].body, body.as_bytes(), "forwarded byte for byte");
}

#[tokio::test]
async fn tunnel_relays_sentry_errors_as_they_came() {
    let sentry = FakeUpstream::start(
        Reply::json(429, r#"{"detail":"rate limited"}"#)
            .header("retry-after", "60")
            .header("x-sentry-rate-limits", "60:error;transaction:organization"),
    )
    .await;
    let app = tunnel_to(&sentry, |_| {}).await;
    let body = envelope(&format!("http://public@127.0.0.1:{}/42", sentry.port()));
    let res = post_bytes(&app, "/api/monitoring", body).await;
    assert_eq!(res.status, 429);
    assert_eq!(res.json(), json!({"detail": "rate limited"}));
    assert_eq!(res.header("retry-after"), Some("60"));
    assert_eq!(
        res.header("x-sentry-rate-limits"),
        Some("60:error;transaction:organization")
    );
}

#[tokio::test]
async fn malformed_envelope_headers_are_400() {
    let sentry = FakeUpstream::start(Reply::json(200, "{}")).await;
    let app = tunnel_to(&sentry, |_| {}).await;
    let cases = [
        (
            "not json at all\n{}",
            "Invalid envelope: the first line must be a JSON header with a dsn",
        ),
        (
            "{\"event_id\":\"1\"}\n{}",
            "Invalid envelope: the first line must be a JSON header with a dsn",
        ),
        (
            "",
            "Invalid envelope: the first line must be a JSON header with a dsn",
        ),
        (
            "{\"dsn\":\"not a dsn\"}\n{}",
            "Invalid envelope: the header dsn is not a valid Sentry DSN",
        ),
        (
            "{\"dsn\":\"https://k@host/abc\"}\n{}",
            "Invalid envelope: the header dsn is not a valid Sentry DSN",
        ),
    ];
    for (body, message) in cases {
        let res = post_bytes(&app, "/api/monitoring", body).await;
        assert_eq!(res.status, 400, "{body:?}");
        assert_eq!(res.json(), error(message), "{body:?}");
    }
    assert!(
        sentry.requests().is_empty(),
        "nothing malformed is forwarded"
    );
}

#[tokio::test]
async fn envelopes_for_another_host_or_project_are_403() {
    let sentry = FakeUpstream::start(Reply::json(200, "{}")).await;
    let app = tunnel_to(&sentry, |_| {}).await;
    let port = sentry.port();
    for dsn in [
        format!("http://public@127.0.0.1:{port}/43"),
        format!("http://public@localhost:{port}/42"),
        format!("http://public@127.0.0.1:{}/42", port.wrapping_add(1)),
        "https://public@o0.ingest.sentry.io/42".to_string(),
    ] {
        let res = post_bytes(&app, "/api/monitoring", envelope(&dsn)).await;
        assert_eq!(res.status, 403, "{dsn}");
        assert_eq!(
            res.json(),
            error("Envelope DSN does not match the configured Sentry project")
        );
    }
    assert!(sentry.requests().is_empty());
}

#[tokio::test]
async fn envelopes_over_the_cap_are_413() {
    let sentry = FakeUpstream::start(Reply::json(200, "{}")).await;
    let app = tunnel_to(&sentry, |c| c.tunnel_mut().max_bytes = 1024).await;
    let dsn = format!("http://public@127.0.0.1:{}/42", sentry.port());
    let mut body = envelope(&dsn);
    body.push_str(&"x".repeat(1024));
    let res = post_bytes(&app, "/api/monitoring", body).await;
    assert_eq!(res.status, 413);
    assert_eq!(res.json(), error("Request body too large"));
    assert!(sentry.requests().is_empty());

    // Just under the cap still goes through.
    let res = post_bytes(&app, "/api/monitoring", envelope(&dsn)).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn unreachable_sentry_is_502() {
    let port = portal_testkit::closed_port();
    let dsn = format!("http://public@127.0.0.1:{port}/42");
    let app = app(test_state(|c| c.sentry_dsn = Some(parse_dsn(&dsn).unwrap())).await);
    let res = post_bytes(&app, "/api/monitoring", envelope(&dsn)).await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), error("Sentry could not be reached"));
}

#[tokio::test]
async fn slow_sentry_times_out_with_502() {
    let sentry = FakeUpstream::start(Reply::json(200, "{}").after(Duration::from_secs(5))).await;
    let app = tunnel_to(&sentry, |c| {
        c.tunnel_mut().timeout = Duration::from_millis(200)
    })
    .await;
    let dsn = format!("http://public@127.0.0.1:{}/42", sentry.port());
    let res = post_bytes(&app, "/api/monitoring", envelope(&dsn)).await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), error("Sentry did not answer in time"));
}

#[tokio::test]
async fn the_public_tunnel_is_rate_limited_per_client_address() {
    let sentry = FakeUpstream::start(Reply::json(200, "{}")).await;
    let app = tunnel_to(&sentry, |c| {
        c.rate_limits.enabled = true;
        c.rate_limits.tunnel = portal_domain::config::Rule::new(2, 60);
    })
    .await;
    let body = envelope(&format!("http://public@127.0.0.1:{}/42", sentry.port()));
    let from = |ip: &str| {
        let mut req = request("POST", "/api/monitoring", body.clone());
        let addr = std::net::SocketAddr::new(ip.parse().unwrap(), 40000);
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        req
    };
    for remaining in ["1", "0"] {
        let res = call(&app, from("2001:db8::1")).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("x-ratelimit-remaining"), Some(remaining));
    }
    // Another address of the same /64 shares the bucket.
    let res = call(&app, from("2001:db8::2")).await;
    assert_eq!(res.status, 429);
    assert_eq!(res.json(), error("Too many requests"));
    assert!(res.header("retry-after").is_some());
    assert_eq!(
        sentry.requests().len(),
        2,
        "the refused envelope never left"
    );
    assert_eq!(call(&app, from("192.0.2.9")).await.status, 200);
}
