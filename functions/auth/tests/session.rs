//! `/get-session`, listing and revoking sessions, `/update-user`.

mod common;

use common::{TestAuth, h, set_cookies};
use portal_web::cookies::percent_encode;
use serde_json::{Value, json};

#[tokio::test]
async fn get_session_without_anything_is_null_and_never_cached() {
    let t = TestAuth::new(|_| {}).await;
    let res = t.send("GET", "/api/auth/get-session", &[], None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), Value::Null);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("pragma"), Some("no-cache"));
}

#[tokio::test]
async fn get_session_returns_session_and_user_by_cookie_and_by_bearer() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("me@example.org").await;
    let by_cookie = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await
        .json();
    assert_eq!(by_cookie["user"]["email"], "me@example.org");
    let session = &by_cookie["session"];
    assert_eq!(session["token"], b.token.as_str());
    assert_eq!(session["userId"], b.user["id"]);
    for key in [
        "id",
        "expiresAt",
        "createdAt",
        "updatedAt",
        "ipAddress",
        "userAgent",
    ] {
        assert!(session.get(key).is_some(), "{key}");
    }
    let signed = t.state.cookies.signed(&b.token);
    for bearer in [
        format!("Bearer {signed}"),
        format!("bearer {}", percent_encode(&signed)),
        format!("Bearer {}", b.token),
    ] {
        let res = t
            .send(
                "GET",
                "/api/auth/get-session",
                &[("authorization", &bearer)],
                None,
            )
            .await;
        assert_eq!(res.json()["session"]["id"], session["id"], "{bearer}");
    }
    let res = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("authorization", "Bearer garbage")],
            None,
        )
        .await;
    assert_eq!(res.json(), Value::Null);
}

#[tokio::test]
async fn a_forged_cookie_is_no_session_and_cookies_stay() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("forge@example.org").await;
    let forged = b.cookie.replace(&b.token[40..44], "AAAA");
    let res = t
        .send("GET", "/api/auth/get-session", &[("cookie", &forged)], None)
        .await;
    assert_eq!(res.json(), Value::Null);
    assert!(set_cookies(&res).is_empty());
}

#[tokio::test]
async fn an_expired_session_is_null_clears_cookies_and_is_deleted() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("exp@example.org").await;
    let Some(session) = t
        .state
        .db
        .sessions()
        .get(&portal_web::caller::token::session_id(&b.token))
        .await
        .unwrap()
    else {
        panic!("no session")
    };
    t.state
        .db
        .sessions()
        .extend(
            &session,
            "2020-01-01T00:00:00.000Z",
            "2020-01-01T00:00:00.000Z",
        )
        .await
        .unwrap();
    let res = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(res.json(), Value::Null);
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 3);
    assert!(cookies.iter().all(|c| c.contains("Max-Age=0")));
    assert!(
        t.state
            .db
            .sessions()
            .get(&session.id)
            .await
            .unwrap()
            .is_none(),
        "row deleted"
    );
}

#[tokio::test]
async fn sessions_slide_after_a_day() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("slide@example.org").await;
    let fresh = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert!(set_cookies(&fresh).is_empty(), "nothing to refresh yet");
    let Some(session) = t
        .state
        .db
        .sessions()
        .get(&portal_web::caller::token::session_id(&b.token))
        .await
        .unwrap()
    else {
        panic!("no session")
    };
    let in_five_days =
        portal_domain::time::iso(portal_domain::time::now() + time::Duration::days(5));
    t.state
        .db
        .sessions()
        .extend(&session, &in_five_days, &session.updated_at)
        .await
        .unwrap();
    let res = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].contains("Max-Age=604800"));
    let moved = res.json()["session"]["expiresAt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(moved > in_five_days, "expiry moved to now + 7 days");
    let stored = t
        .state
        .db
        .sessions()
        .get(&session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.expires_at, moved);
}

#[tokio::test]
async fn post_get_session_is_405_as_betterauth_says() {
    let t = TestAuth::new(|_| {}).await;
    let res = t.post("/api/auth/get-session", json!({})).await;
    assert_eq!(res.status, 405);
    assert_eq!(
        res.json()["code"],
        "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED"
    );
}

#[tokio::test]
async fn list_sessions_shows_live_sessions_with_their_tokens() {
    let t = TestAuth::new(|_| {}).await;
    let first = t.sign_up("many@example.org").await;
    let second =
        common::Browser::from_response(&t.sign_in("many@example.org", common::PASSWORD).await);
    let res = t
        .send("GET", "/api/auth/list-sessions", &h(&first.headers()), None)
        .await;
    assert_eq!(res.status, 200);
    let list = res.json();
    let mut tokens: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["token"].as_str().unwrap())
        .collect();
    tokens.sort();
    let mut expected = vec![first.token.as_str(), second.token.as_str()];
    expected.sort();
    assert_eq!(tokens, expected);
    let anonymous = t.send("GET", "/api/auth/list-sessions", &[], None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.json(),
        json!({"code": "UNAUTHORIZED", "message": "Unauthorized"})
    );
}

#[tokio::test]
async fn revoking_a_session_stops_it_on_the_very_next_request() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("rev@example.org").await;
    let other =
        common::Browser::from_response(&t.sign_in("rev@example.org", common::PASSWORD).await);
    let stranger = t.sign_up("stranger@example.org").await;

    // Someone else's token: a no-op.
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-session",
            &h(&me.headers()),
            Some(json!({"token": stranger.token})),
        )
        .await;
    assert_eq!(res.json(), json!({"status": true}));
    assert!(
        t.send(
            "GET",
            "/api/auth/get-session",
            &h(&stranger.headers()),
            None
        )
        .await
        .json()
        .is_object()
    );

    let res = t
        .send(
            "POST",
            "/api/auth/revoke-session",
            &h(&me.headers()),
            Some(json!({"token": other.token})),
        )
        .await;
    assert_eq!(res.json(), json!({"status": true}));
    assert_eq!(
        t.send("GET", "/api/auth/get-session", &h(&other.headers()), None)
            .await
            .json(),
        Value::Null
    );
    assert!(
        t.send("GET", "/api/auth/get-session", &h(&me.headers()), None)
            .await
            .json()
            .is_object()
    );
}

#[tokio::test]
async fn revoke_other_sessions_keeps_mine_and_revoke_sessions_ends_all() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("all@example.org").await;
    let other =
        common::Browser::from_response(&t.sign_in("all@example.org", common::PASSWORD).await);
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-other-sessions",
            &h(&me.headers()),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.json(), json!({"status": true}));
    assert_eq!(
        t.send("GET", "/api/auth/get-session", &h(&other.headers()), None)
            .await
            .json(),
        Value::Null
    );
    assert!(
        t.send("GET", "/api/auth/get-session", &h(&me.headers()), None)
            .await
            .json()
            .is_object()
    );
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-sessions",
            &h(&me.headers()),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.json(), json!({"status": true}));
    assert_eq!(
        t.send("GET", "/api/auth/get-session", &h(&me.headers()), None)
            .await
            .json(),
        Value::Null
    );
}

#[tokio::test]
async fn update_user_changes_name_and_image_only() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("upd@example.org").await;
    let owned = me.headers();
    let headers = h(&owned);
    let res = t
        .send(
            "POST",
            "/api/auth/update-user",
            &headers,
            Some(json!({"name": "New Name", "image": "https://img.example.org/a.png"})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"status": true}));
    assert_eq!(
        set_cookies(&res).len(),
        1,
        "the session cookie is set again"
    );
    let user = t
        .send("GET", "/api/auth/get-session", &headers, None)
        .await
        .json()["user"]
        .clone();
    assert_eq!(user["name"], "New Name");
    assert_eq!(user["image"], "https://img.example.org/a.png");

    let cases = [
        (
            json!({"email": "x@example.org"}),
            json!({"code": "EMAIL_CAN_NOT_BE_UPDATED", "message": "Email can not be updated"}),
        ),
        (
            json!({"role": "admin"}),
            json!({"code": "FIELD_NOT_ALLOWED", "message": "Field not allowed to be set"}),
        ),
        (json!({}), json!({"message": "No fields to update"})),
    ];
    for (body, expected) in cases {
        let res = t
            .send(
                "POST",
                "/api/auth/update-user",
                &headers,
                Some(body.clone()),
            )
            .await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(res.json(), expected, "{body}");
    }
    let res = t.post("/api/auth/update-user", json!({"name": "x"})).await;
    assert_eq!(res.status, 401);
    let after = t
        .send("GET", "/api/auth/get-session", &headers, None)
        .await
        .json()["user"]
        .clone();
    assert_eq!(after["role"], "user");
    assert_eq!(after["email"], "upd@example.org");
}

#[tokio::test]
async fn a_correctly_signed_but_unknown_token_clears_the_cookies() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("gone@example.org").await;
    t.send(
        "POST",
        "/api/auth/revoke-sessions",
        &h(&me.headers()),
        Some(json!({})),
    )
    .await;
    let res = t
        .send("GET", "/api/auth/get-session", &h(&me.headers()), None)
        .await;
    assert_eq!(res.json(), Value::Null);
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 3);
    assert!(cookies.iter().all(|c| c.contains("Max-Age=0")));
}

#[tokio::test]
async fn session_endpoints_need_a_session() {
    let t = TestAuth::new(|_| {}).await;
    for path in [
        "/api/auth/revoke-session",
        "/api/auth/revoke-sessions",
        "/api/auth/revoke-other-sessions",
        "/api/auth/change-password",
    ] {
        let res = t
            .post(
                path,
                json!({"token": "x", "currentPassword": "a-password", "newPassword": "b-password"}),
            )
            .await;
        assert_eq!(res.status, 401, "{path}");
        assert_eq!(
            res.json(),
            json!({"code": "UNAUTHORIZED", "message": "Unauthorized"}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_short_api_key_is_403_invalid_api_key() {
    let t = TestAuth::new(|_| {}).await;
    let res = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("x-api-key", "too-short")],
            None,
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"code": "INVALID_API_KEY", "message": "Invalid API key."})
    );
}
