//! Password reset by mail and `/change-password`.

mod common;

use common::{Browser, PASSWORD, TestAuth, h, set_cookies, token_of};
use serde_json::{Value, json};

#[tokio::test]
async fn request_reset_answers_the_same_for_unknown_addresses() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("known@example.org").await;
    let before = t.mails().len();
    let expected = json!({"status": true, "message": "If this email exists in our system, check your email for the reset link"});
    let unknown = t
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "unknown@example.org"}),
        )
        .await;
    assert_eq!(unknown.json(), expected);
    assert_eq!(t.mails().len(), before, "no mail for an unknown address");
    let known = t
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "known@example.org", "redirectTo": "/reset"}),
        )
        .await;
    assert_eq!(known.json(), expected);
    let mail = t.mails().last().unwrap().clone();
    assert_eq!(mail["kind"], "reset-password");
    assert!(
        mail["url"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost:3000/api/auth/reset-password/")
    );
    assert!(
        mail["url"]
            .as_str()
            .unwrap()
            .ends_with("?callbackURL=%2Freset")
    );
    let res = t
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "known@example.org", "redirectTo": "https://evil.org"}),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"code": "INVALID_REDIRECT_URL", "message": "Invalid redirectURL"})
    );
}

#[tokio::test]
async fn the_mailed_link_redirects_to_the_front_end_with_the_token() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("link@example.org").await;
    t.post(
        "/api/auth/request-password-reset",
        json!({"email": "link@example.org", "redirectTo": "/reset"}),
    )
    .await;
    let url = t.mails().last().unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let token = token_of(&url);
    let path = url.trim_start_matches("http://localhost:3000");
    let res = t.send("GET", path, &[], None).await;
    assert_eq!(res.status, 302);
    assert_eq!(
        res.header("location").unwrap(),
        format!("http://localhost:3000/reset?token={token}")
    );
    let res = t
        .send(
            "GET",
            "/api/auth/reset-password/not-a-token?callbackURL=%2Freset",
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 302);
    assert_eq!(
        res.header("location"),
        Some("http://localhost:3000/reset?error=INVALID_TOKEN")
    );
    let res = t
        .send(
            "GET",
            &format!("/api/auth/reset-password/{token}"),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn reset_sets_the_password_once_and_ends_every_session() {
    let t = TestAuth::new(|_| {}).await;
    let old = t.sign_up("reset@example.org").await;
    t.post(
        "/api/auth/request-password-reset",
        json!({"email": "reset@example.org"}),
    )
    .await;
    let token = token_of(t.mails().last().unwrap()["url"].as_str().unwrap());

    let res = t
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "short", "token": token}),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["code"],
        "PASSWORD_TOO_SHORT",
        "length is checked before the token"
    );

    let res = t
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "a-brand-new-password", "token": token}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"status": true}));
    assert_eq!(
        t.send("GET", "/api/auth/get-session", &h(&old.headers()), None)
            .await
            .json(),
        Value::Null,
        "old sessions end"
    );
    assert_eq!(t.sign_in("reset@example.org", PASSWORD).await.status, 401);
    assert_eq!(
        t.sign_in("reset@example.org", "a-brand-new-password")
            .await
            .status,
        200
    );

    let again = t
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "another-password-1", "token": token}),
        )
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.json(),
        json!({"code": "INVALID_TOKEN", "message": "Invalid token"})
    );
    let bogus = t
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "another-password-1", "token": "nope"}),
        )
        .await;
    assert_eq!(bogus.json()["code"], "INVALID_TOKEN");
}

#[tokio::test]
async fn change_password_checks_length_then_the_current_password() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("chg@example.org").await;
    let owned = me.headers();
    let headers = h(&owned);
    let res = t
        .send(
            "POST",
            "/api/auth/change-password",
            &headers,
            Some(json!({"currentPassword": "wrong", "newPassword": "short"})),
        )
        .await;
    assert_eq!(res.json()["code"], "PASSWORD_TOO_SHORT");
    let res = t
        .send(
            "POST",
            "/api/auth/change-password",
            &headers,
            Some(json!({"currentPassword": "wrong-password", "newPassword": "new-password-123"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "INVALID_PASSWORD", "message": "Invalid password"})
    );
    let res = t
        .send(
            "POST",
            "/api/auth/change-password",
            &headers,
            Some(json!({"currentPassword": PASSWORD, "newPassword": "new-password-123"})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["token"], Value::Null);
    assert_eq!(res.json()["user"]["email"], "chg@example.org");
    assert!(
        t.send("GET", "/api/auth/get-session", &headers, None)
            .await
            .json()
            .is_object(),
        "still signed in"
    );
    assert_eq!(
        t.sign_in("chg@example.org", "new-password-123")
            .await
            .status,
        200
    );
    let res = t
        .post(
            "/api/auth/change-password",
            json!({"currentPassword": PASSWORD, "newPassword": "x-password-123"}),
        )
        .await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn change_password_can_revoke_every_other_session() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("rev-chg@example.org").await;
    let elsewhere = Browser::from_response(&t.sign_in("rev-chg@example.org", PASSWORD).await);
    let res = t
        .send("POST", "/api/auth/change-password", &h(&me.headers()), Some(json!({"currentPassword": PASSWORD, "newPassword": "new-password-123", "revokeOtherSessions": true})))
        .await;
    assert_eq!(res.status, 200);
    let fresh = Browser::from_response(&res);
    assert_ne!(fresh.token, me.token);
    assert_eq!(
        set_cookies(&res).len(),
        2,
        "the session and its multi-session cookie"
    );
    for old in [&me, &elsewhere] {
        assert_eq!(
            t.send("GET", "/api/auth/get-session", &h(&old.headers()), None)
                .await
                .json(),
            Value::Null
        );
    }
    assert!(
        t.send("GET", "/api/auth/get-session", &h(&fresh.headers()), None)
            .await
            .json()
            .is_object()
    );
}

#[tokio::test]
async fn an_account_without_a_password_cannot_change_it() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("nopass@example.org").await;
    let id = me.user["id"].as_str().unwrap();
    let (pk, sk) = portal_domain::store::keys::credential(id);
    t.state
        .db
        .client()
        .delete_item()
        .table_name(t.state.db.table())
        .key("PK", portal_domain::store::item::s(pk))
        .key("SK", portal_domain::store::item::s(sk))
        .send()
        .await
        .unwrap();
    let res = t
        .send(
            "POST",
            "/api/auth/change-password",
            &h(&me.headers()),
            Some(json!({"currentPassword": PASSWORD, "newPassword": "new-password-123"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "CREDENTIAL_ACCOUNT_NOT_FOUND", "message": "Credential account not found"})
    );
}
