//! DynamoDB misbehaving under the API: throttling, server errors, answers that never come,
//! an endpoint that is not there. Every one answers 503 with `Retry-After` and a clear
//! body, never a 500, and leaves nothing half-written (checked by reading the table).

mod common;

use std::time::{Duration, Instant};

use common::{PASSWORD, TestAuth};
use portal_testkit::{Fault, FaultyDynamo, TestApp, faulty_state};
use serde_json::json;

async fn app() -> (TestAuth, FaultyDynamo) {
    let (state, proxy) = faulty_state(|c| c.rate_limits.enabled = false).await;
    (TestAuth::on(state), proxy)
}

fn unavailable() -> serde_json::Value {
    json!({
        "code": "SERVICE_UNAVAILABLE",
        "message": "Service temporarily unavailable, try again shortly",
    })
}

#[tokio::test]
async fn throttling_and_server_errors_are_503_with_retry_after_and_write_nothing() {
    for fault in [Fault::Throttle, Fault::ServerError] {
        let (t, proxy) = app().await;
        proxy.set(fault);
        let res = t
            .post(
                "/api/auth/sign-up/email",
                json!({"name": "Ada", "email": "ada@example.org", "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status, 503, "{fault:?}");
        assert_eq!(res.json(), unavailable());
        assert_eq!(res.header("retry-after"), Some("1"));
        // The SDK retried: 3 attempts of the first call, then gave up.
        assert_eq!(proxy.operations().len(), 3, "{:?}", proxy.operations());
        proxy.set(Fault::Pass);
        assert_eq!(t.count_items("USER#").await, 0);
        assert_eq!(t.count_items("EMAIL#").await, 0);
        assert_eq!(
            t.sign_up("ada@example.org").await.user["email"],
            "ada@example.org"
        );
    }
}

#[tokio::test]
async fn a_sign_in_broken_before_its_last_write_leaves_no_session() {
    let (t, proxy) = app().await;
    t.sign_up("ada@example.org").await;
    let sessions = t.count_items("SESSION#").await;
    // The e-mail claim and the user are read; the session's transaction is throttled.
    proxy.after(2, Fault::Throttle);
    let res = t.sign_in("ada@example.org", PASSWORD).await;
    assert_eq!(res.status, 503);
    assert_eq!(res.json(), unavailable());
    let operations = proxy.operations();
    assert_eq!(
        operations.last().map(String::as_str),
        Some("TransactWriteItems")
    );
    proxy.set(Fault::Pass);
    assert_eq!(t.count_items("SESSION#").await, sessions, "no half sign-in");
}

#[tokio::test]
async fn a_table_that_does_not_answer_in_time_is_503_within_the_time_budget() {
    let (t, proxy) = app().await;
    proxy.set(Fault::Hang(Duration::from_secs(30)));
    let started = Instant::now();
    let res = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[(
                "authorization",
                "Bearer FixtureUser000000000000000000001FixtureSession00000000000000001X",
            )],
            None,
        )
        .await;
    let took = started.elapsed();
    assert_eq!(res.status, 503);
    assert_eq!(res.header("retry-after"), Some("1"));
    assert!(took < Duration::from_secs(10), "gave up after {took:?}");
}

#[tokio::test]
async fn an_unreachable_table_is_503_on_the_portal_routes_too() {
    let state = portal_testkit::test_state(|_| {}).await;
    // Nothing listens on port 9 of loopback.
    let unreachable = portal_domain::store::Db::local_with(
        "http://127.0.0.1:9",
        state.db.table(),
        portal_domain::store::timeouts(),
    );
    let state = portal_web::AppState::new((*state.config).clone(), unreachable);
    let app = TestApp::new(state.clone(), portal_user_routes(state));
    let res = app
        .request(
            "GET",
            "/api/test/whoami",
            &[(
                "authorization",
                "Bearer FixtureUser000000000000000000001FixtureSession00000000000000001X",
            )],
            None,
        )
        .await;
    assert_eq!(res.status, 503);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Service temporarily unavailable, try again shortly"})
    );
    assert_eq!(res.header("retry-after"), Some("1"));
}

/// A Portal route behind `RequireAuth` (what every user, admin and integrations route uses).
fn portal_user_routes(state: portal_web::AppState) -> axum::Router {
    use portal_web::caller::RequireAuth;
    axum::Router::new()
        .route(
            "/api/test/whoami",
            axum::routing::get(|RequireAuth(id): RequireAuth| async move {
                axum::Json(json!({ "id": id.user.id }))
            }),
        )
        .with_state(state)
}

#[tokio::test]
async fn a_reset_that_fails_on_the_table_leaves_the_link_usable_once() {
    let (t, proxy) = app().await;
    t.sign_up("ada@example.org").await;
    t.post(
        "/api/auth/request-password-reset",
        json!({"email": "ada@example.org", "redirectTo": "/reset"}),
    )
    .await;
    let token = common::token_of(t.mails().last().unwrap()["url"].as_str().unwrap());
    let reset = || {
        t.post(
            "/api/auth/reset-password",
            json!({"token": token, "newPassword": "a-new-password-1"}),
        )
    };
    // The link is read, the user is read, then the write is throttled.
    proxy.after(2, Fault::Throttle);
    let res = reset().await;
    assert_eq!(res.status, 503);
    assert_eq!(
        proxy.operations().last().map(String::as_str),
        Some("TransactWriteItems")
    );
    proxy.set(Fault::Pass);
    assert_eq!(
        reset().await.json(),
        json!({"status": true}),
        "the link still works"
    );
    assert_eq!(reset().await.status, 400, "and only once");
    assert_eq!(
        t.sign_in("ada@example.org", "a-new-password-1")
            .await
            .status,
        200
    );
}
