//! What a request costs in DynamoDB calls (counted by an SDK interceptor). The guard's
//! target: authenticating a request is ONE round trip.

mod common;

use common::{PASSWORD, TestAuth, h};
use serde_json::json;

#[tokio::test]
async fn authenticating_with_a_session_is_one_batch_read() {
    let (t, calls) = TestAuth::counted(|_| {}).await;
    let me = t.sign_up("rt@example.org").await;
    calls.take();
    let owned = me.headers();
    let res = t.send("GET", "/api/test/whoami", &h(&owned), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(calls.take(), vec!["BatchGetItem"]);
    let signed = t.state.cookies.signed(&me.token);
    t.send(
        "GET",
        "/api/test/whoami",
        &[("authorization", &format!("Bearer {signed}"))],
        None,
    )
    .await;
    assert_eq!(calls.take(), vec!["BatchGetItem"]);
    let res = t
        .send("GET", "/api/auth/get-session", &h(&owned), None)
        .await;
    assert!(res.json().is_object());
    assert_eq!(
        calls.take(),
        vec!["BatchGetItem"],
        "get-session without a refresh due"
    );
}

#[tokio::test]
async fn authenticating_with_an_api_key_is_one_batch_read_plus_a_usage_write_a_minute() {
    let (t, calls) = TestAuth::counted(|_| {}).await;
    let me = t.sign_up("rt-key@example.org").await;
    let key = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&me.headers()),
            Some(json!({})),
        )
        .await
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    calls.take();
    t.send("GET", "/api/test/whoami", &[("x-api-key", &key)], None)
        .await;
    assert_eq!(
        calls.take(),
        vec!["BatchGetItem", "UpdateItem"],
        "first use records lastRequest"
    );
    t.send("GET", "/api/test/whoami", &[("x-api-key", &key)], None)
        .await;
    assert_eq!(
        calls.take(),
        vec!["BatchGetItem"],
        "within the minute: the read only"
    );
}

#[tokio::test]
async fn sign_in_costs() {
    let (t, calls) = TestAuth::counted(|_| {}).await;
    t.sign_up("rt-in@example.org").await;
    calls.take();
    assert_eq!(t.sign_in("rt-in@example.org", PASSWORD).await.status, 200);
    // e-mail claim, the user's partition (user + password), the new session together with
    // the count of its expiry hour (for /api/admin/stats).
    assert_eq!(calls.take(), vec!["GetItem", "Query", "TransactWriteItems"]);
}
