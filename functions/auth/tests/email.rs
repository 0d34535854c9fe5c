//! E-mail verification.

mod common;

use common::{TestAuth, h};
use portal_testkit::Sections;
use serde_json::{Value, json};

fn verify_path(mail: &Value) -> String {
    mail["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://localhost:3000")
        .to_string()
}

#[tokio::test]
async fn the_sign_up_link_verifies_the_address() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("verify@example.org").await;
    let path = verify_path(&t.mails()[0]);
    let without_callback = path.split("&callbackURL").next().unwrap().to_string();
    let res = t.send("GET", &without_callback, &[], None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"status": true, "user": null}));
    let session = t
        .send("GET", "/api/auth/get-session", &h(&me.headers()), None)
        .await
        .json();
    assert_eq!(session["user"]["emailVerified"], true);
    // With the callback the browser is sent on.
    let res = t.send("GET", &path, &[], None).await;
    assert_eq!(res.status, 302);
    assert_eq!(res.header("location"), Some("http://localhost:3000/"));
}

#[tokio::test]
async fn bad_tokens_are_refused_or_redirected_with_an_error() {
    let t = TestAuth::new(|_| {}).await;
    let res = t
        .send("GET", "/api/auth/verify-email?token=abc.def.ghi", &[], None)
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json(),
        json!({"code": "INVALID_TOKEN", "message": "Invalid token"})
    );
    let res = t
        .send(
            "GET",
            "/api/auth/verify-email?token=abc&callbackURL=%2Fdone",
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 302);
    assert_eq!(
        res.header("location"),
        Some("http://localhost:3000/done?error=INVALID_TOKEN")
    );
    let res = t.send("GET", "/api/auth/verify-email", &[], None).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn sending_again_checks_the_signed_in_address() {
    let t = TestAuth::new(|c| c.auth_mut().send_verification_on_sign_up = false).await;
    let me = t.sign_up("again@example.org").await;
    assert!(t.mails().is_empty());
    let owned = me.headers();
    let headers = h(&owned);
    let res = t
        .send(
            "POST",
            "/api/auth/send-verification-email",
            &headers,
            Some(json!({"email": "other@example.org"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "EMAIL_MISMATCH", "message": "Email mismatch"})
    );
    let res = t
        .send(
            "POST",
            "/api/auth/send-verification-email",
            &headers,
            Some(json!({"email": "again@example.org"})),
        )
        .await;
    assert_eq!(res.json(), json!({"status": true}));
    assert_eq!(t.mails().len(), 1);
    let path = verify_path(&t.mails()[0]);
    t.send("GET", &path, &[], None).await;
    let res = t
        .send(
            "POST",
            "/api/auth/send-verification-email",
            &headers,
            Some(json!({"email": "again@example.org"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "EMAIL_ALREADY_VERIFIED", "message": "Email is already verified"})
    );
}

#[tokio::test]
async fn anonymous_requests_always_answer_true() {
    let t = TestAuth::new(|c| c.auth_mut().send_verification_on_sign_up = false).await;
    t.sign_up("anon@example.org").await;
    for email in ["anon@example.org", "nobody@example.org"] {
        let res = t
            .post("/api/auth/send-verification-email", json!({"email": email}))
            .await;
        assert_eq!(res.json(), json!({"status": true}), "{email}");
    }
    assert_eq!(t.mails().len(), 1, "only the real account got a mail");
}
