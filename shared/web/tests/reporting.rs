//! The functions' own errors reach Sentry: a stand-in Sentry (real HTTP, Sentry's envelope
//! endpoint) receives one event for each 5xx answer, a panic included, before the answer
//! leaves; nothing for other answers.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use portal_domain::config::parse_dsn;
use portal_testkit::{FakeUpstream, Reply, TestApp, test_state};
use portal_web::ApiError;
use serde_json::Value;

async fn boom() -> StatusCode {
    panic!("the ledger is upside down")
}

async fn down() -> Result<StatusCode, ApiError> {
    Err(ApiError::ServiceUnavailable("Service unavailable".into()))
}

async fn fine() -> StatusCode {
    StatusCode::NO_CONTENT
}

fn routes() -> Router {
    Router::new()
        .route("/api/boom/{id}", get(boom))
        .route("/api/down", get(down))
        .route("/api/fine", get(fine))
}

async fn app(sentry: Option<&FakeUpstream>) -> TestApp {
    let state = test_state(|c| {
        c.sentry_dsn = sentry
            .map(|s| parse_dsn(&format!("http://public-key@127.0.0.1:{}/42", s.port())).unwrap());
    })
    .await;
    TestApp::new(state, routes())
}

/// The events of every envelope the stand-in received.
fn events(sentry: &FakeUpstream) -> Vec<Value> {
    sentry
        .requests()
        .iter()
        .inspect(|r| assert_eq!(r.path, "/api/42/envelope/"))
        .flat_map(|r| {
            String::from_utf8_lossy(&r.body)
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                // The event itself (the envelope's and the item's headers carry no tags).
                .filter(|doc| doc.get("event_id").is_some() && doc.get("tags").is_some())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn a_panic_and_a_503_each_reach_sentry_before_the_answer_leaves() {
    let sentry = FakeUpstream::start(Reply::json(200, "{}")).await;
    let t = app(Some(&sentry)).await;

    let res = t
        .request(
            "GET",
            "/api/boom/secret-token-123",
            &[("cookie", "a=b")],
            None,
        )
        .await;
    assert_eq!(res.status, 500);
    assert_eq!(
        res.json(),
        serde_json::json!({"ok": false, "error": "Internal server error"})
    );
    // Already delivered when the answer came back.
    let sent = events(&sentry);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let event = &sent[0];
    assert_eq!(event["level"], "fatal");
    assert!(
        event.to_string().contains("the ledger is upside down"),
        "{event}"
    );
    assert_eq!(
        event["tags"]["request_id"].as_str(),
        res.header("x-request-id")
    );
    assert_eq!(event["tags"]["status"], "500");
    // Never the raw path (it can carry a token) nor a header.
    let text = event.to_string();
    assert!(!text.contains("secret-token-123"), "{text}");
    assert!(!text.contains("a=b"), "{text}");

    let res = t.request("GET", "/api/down", &[], None).await;
    assert_eq!(res.status, 503);
    let sent = events(&sentry);
    assert_eq!(sent.len(), 2);
    // `error` is Sentry's default level, left out of the payload.
    assert!(matches!(
        sent[1].get("level"),
        None | Some(Value::String(_))
    ));
    assert_ne!(sent[1]["level"], "fatal");
    assert_eq!(sent[1]["tags"]["route"], "/api/down");
    assert!(sent[1].to_string().contains("503 on GET /api/down"));

    // Answers below 500 report nothing.
    assert_eq!(t.request("GET", "/api/fine", &[], None).await.status, 204);
    assert_eq!(t.request("GET", "/api/nope", &[], None).await.status, 404);
    assert_eq!(events(&sentry).len(), 2);
}

#[tokio::test]
async fn an_unreachable_sentry_delays_the_answer_at_most_the_flush_timeout() {
    let port = portal_testkit::closed_port();
    let state = test_state(|c| {
        c.sentry_dsn = Some(parse_dsn(&format!("http://public-key@127.0.0.1:{port}/42")).unwrap());
    })
    .await;
    let t = TestApp::new(state, routes());
    let res = t.request("GET", "/api/down", &[], None).await;
    assert_eq!(res.status, 503);
    assert_eq!(
        res.json(),
        serde_json::json!({"ok": false, "error": "Service unavailable"})
    );
}
