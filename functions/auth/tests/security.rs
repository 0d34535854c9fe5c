//! Regression tests of the account-takeover paths: hostile redirect and callback URLs on
//! every endpoint that takes one, revocations that must hold on the very next request
//! (even for a credential written in the same instant), and what a password reset proves.

mod common;

use common::{Browser, PASSWORD, TestAuth, h};
use portal_domain::model::User;
use portal_testkit::Sections;
use serde_json::{Value, json};

const BASE: &str = "https://portal.example.org";

/// Base URL `https://portal.example.org`, a trusted front end and a wildcard.
async fn app() -> TestAuth {
    TestAuth::new(|c| {
        c.auth_mut().base_url = url::Url::parse(BASE).unwrap();
        c.auth_mut().trusted_origins = vec![
            "https://app.trusted.example.net".into(),
            "https://*.apps.example.net".into(),
        ];
    })
    .await
}

/// Inputs that must never send a browser (or a reset token) anywhere.
const HOSTILE: &[&str] = &[
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " /dashboard",
    "/dash board",
    "/\u{a0}/evil.example",
    "/\u{0}/evil.example",
    "//evil.example",
    "///evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https:evil.example",
    "https:/evil.example",
    "http:evil.example",
    "https:\\\\evil.example",
    "https://evil.example/",
    "http://portal.example.org.evil.test/",
    "https://portal.example.org.evil.test/",
    "https://portal.example.org@evil.test/",
    "http://evil@portal.example.org/",
    "https://user:pass@portal.example.org/",
    "https://evil.test#@portal.example.org",
    "https://evil.test?@portal.example.org",
    "https://p\u{43e}rtal.example.org/",
    "https://xn--prtal-5ve.example.org/",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "/%2F%2Fevil.example",
    "/%5C%5Cevil.example",
    "/%2f/evil.example",
    "https://portal.example.org./",
    "http://portal.example.org/",
    "https://portal.example.org:444/",
    "ftp://portal.example.org/",
    "https://apps.example.net/",
    "http://x.apps.example.net/",
    "https://x.apps.example.net:8443/",
    "https://x.apps.example.net.evil.test/",
    "https://evilapps.example.net/",
];

/// Inputs that are fine, and where they lead.
const ALLOWED: &[(&str, &str)] = &[
    ("/dashboard", "https://portal.example.org/dashboard"),
    ("reset", "https://portal.example.org/reset"),
    ("/reset?step=2", "https://portal.example.org/reset?step=2"),
    (
        "https://app.trusted.example.net/done",
        "https://app.trusted.example.net/done",
    ),
    (
        "https://x.apps.example.net/welcome",
        "https://x.apps.example.net/welcome",
    ),
];

fn refusal(code: &str) -> Value {
    let message = match code {
        "INVALID_REDIRECT_URL" => "Invalid redirectURL",
        _ => "Invalid callbackURL",
    };
    json!({"code": code, "message": message})
}

fn query(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A live reset token for `email` (requested with a harmless redirect).
async fn reset_token(t: &TestAuth, email: &str) -> String {
    let res = t
        .post(
            "/api/auth/request-password-reset",
            json!({"email": email, "redirectTo": "/reset"}),
        )
        .await;
    assert_eq!(res.status, 200);
    common::token_of(t.mails().last().unwrap()["url"].as_str().unwrap())
}

#[tokio::test]
async fn the_reported_tab_trick_no_longer_hands_a_reset_token_to_another_site() {
    let t = app().await;
    t.sign_up("victim@example.org").await;
    let res = t
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "victim@example.org", "redirectTo": "/\t/evil.example"}),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), refusal("INVALID_REDIRECT_URL"));
    let token = reset_token(&t, "victim@example.org").await;
    let res = t
        .send(
            "GET",
            &format!(
                "/api/auth/reset-password/{token}?callbackURL={}",
                query("/\t/evil.example")
            ),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), refusal("INVALID_CALLBACK_URL"));
    assert!(res.header("location").is_none());
}

#[tokio::test]
async fn every_endpoint_refuses_every_hostile_url() {
    let t = app().await;
    t.sign_up("user@example.org").await;
    let token = reset_token(&t, "user@example.org").await;
    let mut checked = 0;
    for raw in HOSTILE {
        let bodies = [
            (
                "/api/auth/sign-up/email",
                json!({"name": "N", "email": "new@example.org", "password": PASSWORD, "callbackURL": raw}),
                "INVALID_CALLBACK_URL",
            ),
            (
                "/api/auth/sign-in/email",
                json!({"email": "user@example.org", "password": PASSWORD, "callbackURL": raw}),
                "INVALID_CALLBACK_URL",
            ),
            (
                "/api/auth/sign-in/email",
                json!({"email": "user@example.org", "password": PASSWORD, "errorCallbackURL": raw}),
                "INVALID_CALLBACK_URL",
            ),
            (
                "/api/auth/sign-in/email",
                json!({"email": "user@example.org", "password": PASSWORD, "newUserCallbackURL": raw}),
                "INVALID_CALLBACK_URL",
            ),
            (
                "/api/auth/request-password-reset",
                json!({"email": "user@example.org", "redirectTo": raw}),
                "INVALID_REDIRECT_URL",
            ),
            (
                "/api/auth/send-verification-email",
                json!({"email": "user@example.org", "callbackURL": raw}),
                "INVALID_CALLBACK_URL",
            ),
        ];
        for (path, body, code) in bodies {
            let res = t.post(path, body).await;
            assert_eq!(res.status, 403, "{path} {raw:?}");
            assert_eq!(res.json(), refusal(code), "{path} {raw:?}");
            checked += 1;
        }
        for path in [
            format!(
                "/api/auth/reset-password/{token}?callbackURL={}",
                query(raw)
            ),
            format!(
                "/api/auth/verify-email?token=x.y.z&callbackURL={}",
                query(raw)
            ),
        ] {
            let res = t.send("GET", &path, &[], None).await;
            assert_eq!(res.status, 403, "{path}");
            assert_eq!(res.json(), refusal("INVALID_CALLBACK_URL"), "{path}");
            assert!(res.header("location").is_none(), "{path}");
            checked += 1;
        }
    }
    assert_eq!(checked, HOSTILE.len() * 8);
    assert!(HOSTILE.len() >= 30);
    // No account was made and no session started by any of them.
    assert_eq!(t.count_items("EMAIL#new@").await, 0);
    assert_eq!(t.count_items("SESSION#").await, 1, "the sign-up's own");
    // The link still works for a URL of ours, landing where a browser would.
    for (raw, lands) in ALLOWED {
        let res = t
            .send(
                "GET",
                &format!(
                    "/api/auth/reset-password/{token}?callbackURL={}",
                    query(raw)
                ),
                &[],
                None,
            )
            .await;
        assert_eq!(res.status, 302, "{raw}");
        assert_eq!(
            res.header("location").map(str::to_string),
            Some(format!("{lands}{}token={token}", sep(lands))),
        );
    }
}

fn sep(url: &str) -> &'static str {
    if url.contains('?') { "&" } else { "?" }
}

#[tokio::test]
async fn sign_in_with_a_callback_answers_the_resolved_url() {
    let t = app().await;
    t.sign_up("cb@example.org").await;
    let res = t
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "cb@example.org", "password": PASSWORD, "callbackURL": "next"}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["url"], "https://portal.example.org/next");
    assert_eq!(
        res.header("location"),
        Some("https://portal.example.org/next")
    );
}

/// The user as stored now.
async fn stored(t: &TestAuth, id: &str) -> User {
    t.state.db.users().get(id).await.unwrap().unwrap()
}

/// Whether a session token still authenticates.
async fn works(t: &TestAuth, token: &str) -> bool {
    let bearer = format!("Bearer {token}");
    t.send(
        "GET",
        "/api/test/whoami",
        &[("authorization", bearer.as_str())],
        None,
    )
    .await
    .status
        == 200
}

#[tokio::test]
async fn a_session_written_in_the_instant_of_a_revocation_is_refused_too() {
    let t = app().await;
    let me = t.sign_up("race@example.org").await;
    let id = me.user["id"].as_str().unwrap().to_string();
    // What a sign-in racing the revocation read before it: the user as it was.
    let before = stored(&t, &id).await;
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-sessions",
            &h(&origin(&me)),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.json(), json!({"status": true}));
    // ... and wrote after it (or an index has not shown it to the cleanup yet).
    let (late, _) = portal_testkit::session_for(&t.state, &before).await;
    assert!(
        !works(&t, &late).await,
        "a session older than the revocation"
    );
    assert!(!works(&t, &me.token).await);
    let res = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("authorization", &format!("Bearer {late}"))],
            None,
        )
        .await;
    assert_eq!(res.json(), Value::Null);
    // A sign-in after the revocation works.
    let res = t.sign_in("race@example.org", PASSWORD).await;
    assert!(works(&t, res.json()["token"].as_str().unwrap()).await);
}

#[tokio::test]
async fn revoke_other_sessions_keeps_the_callers_and_ends_a_late_one() {
    let t = app().await;
    let me = t.sign_up("others@example.org").await;
    let id = me.user["id"].as_str().unwrap().to_string();
    let before = stored(&t, &id).await;
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-other-sessions",
            &h(&origin(&me)),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.json(), json!({"status": true}));
    let (late, _) = portal_testkit::session_for(&t.state, &before).await;
    assert!(works(&t, &me.token).await, "the caller's session stays");
    assert!(!works(&t, &late).await);
    let listed = t
        .send("GET", "/api/auth/list-sessions", &h(&origin(&me)), None)
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn a_password_change_with_revoke_ends_late_sessions_and_a_ban_ends_them_all() {
    let t = app().await;
    let me = t.sign_up("change@example.org").await;
    let id = me.user["id"].as_str().unwrap().to_string();
    let before = stored(&t, &id).await;
    let res = t
        .send(
            "POST",
            "/api/auth/change-password",
            &h(&origin(&me)),
            Some(json!({"currentPassword": PASSWORD, "newPassword": "another-password-1", "revokeOtherSessions": true})),
        )
        .await;
    assert_eq!(res.status, 200);
    let fresh = res.json()["token"].as_str().unwrap().to_string();
    let (late, _) = portal_testkit::session_for(&t.state, &before).await;
    assert!(!works(&t, &late).await);
    assert!(works(&t, &fresh).await, "the session the change made");

    // A ban through the shared rule: a session written from the user as read before it
    // is refused too, and stays refused after an unban.
    let before = stored(&t, &id).await;
    let ban = |banned: bool| portal_services::moderation::UserChange {
        banned: Some(banned),
        ..Default::default()
    };
    let now = portal_domain::time::now();
    let db = &t.state.db;
    use portal_services::moderation::{Actor, change_user};
    change_user(
        db,
        &t.state.integrations,
        Actor::Operator,
        &portal_domain::store::audit::Provenance::operator(365),
        &id,
        &ban(true),
        now,
    )
    .await
    .unwrap()
    .unwrap();
    let (late, _) = portal_testkit::session_for(&t.state, &before).await;
    change_user(
        db,
        &t.state.integrations,
        Actor::Operator,
        &portal_domain::store::audit::Provenance::operator(365),
        &id,
        &ban(false),
        now,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!works(&t, &late).await);
    assert!(!works(&t, &fresh).await);
}

/// The browser's cookie, sent from the base URL's origin.
fn origin(b: &Browser) -> Vec<(&'static str, String)> {
    vec![("cookie", b.cookie.clone()), ("origin", BASE.into())]
}

async fn reset(t: &TestAuth, token: &str, password: &str) -> portal_testkit::TestResponse {
    t.post(
        "/api/auth/reset-password",
        json!({"token": token, "newPassword": password}),
    )
    .await
}

#[tokio::test]
async fn a_reset_of_an_unverified_account_leaves_no_credential_of_the_earlier_holder() {
    let t = app().await;
    // Someone signs up with an address that is not theirs and makes an API key.
    let squatter = t.sign_up("owner@example.org").await;
    let id = squatter.user["id"].as_str().unwrap().to_string();
    let key = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&origin(&squatter)),
            Some(json!({"name": "mine"})),
        )
        .await
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let before = stored(&t, &id).await;
    assert!(!before.email_verified);
    // The owner of the mailbox resets the password.
    let token = reset_token(&t, "owner@example.org").await;
    let res = reset(&t, &token, "owners-password-1").await;
    assert_eq!(res.json(), json!({"status": true}));
    let after = stored(&t, &id).await;
    assert!(after.email_verified, "a reset proves the mailbox");
    for credential in [squatter.token.as_str(), key.as_str()] {
        let res = t
            .send(
                "GET",
                "/api/auth/get-session",
                &[("x-api-key", credential)],
                None,
            )
            .await;
        assert_ne!(res.status, 200, "{credential}");
        assert!(!works(&t, credential).await);
    }
    // Even a key written from the user as it was before (an index that lagged).
    let (late_key, _) = portal_testkit::api_key_for(&t.state, &before, "late").await;
    let bearer = format!("Bearer {late_key}");
    let res = t
        .send(
            "GET",
            "/api/test/whoami",
            &[("authorization", bearer.as_str())],
            None,
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        t.count_items("APIKEY#").await,
        1,
        "only the late one, refused"
    );
    assert_eq!(t.count_items("SESSION#").await, 0);
}

#[tokio::test]
async fn a_reset_of_a_verified_account_keeps_its_api_keys() {
    let t = app().await;
    let me = t.sign_up("verified@example.org").await;
    let id = me.user["id"].as_str().unwrap().to_string();
    t.state
        .db
        .users()
        .update(&id, "2026-01-01T00:00:00.000Z", |u| u.email_verified = true)
        .await
        .unwrap();
    let key = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&origin(&me)),
            Some(json!({"name": "ci"})),
        )
        .await
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let token = reset_token(&t, "verified@example.org").await;
    assert_eq!(
        reset(&t, &token, "new-password-123").await.json(),
        json!({"status": true})
    );
    let bearer = format!("Bearer {key}");
    let res = t
        .send(
            "GET",
            "/api/test/whoami",
            &[("authorization", bearer.as_str())],
            None,
        )
        .await;
    assert_eq!(res.status, 200, "the key a proven owner made stays");
    assert!(!works(&t, &me.token).await, "sessions always end");
}

#[tokio::test]
async fn other_reset_links_stop_working_after_a_reset_or_a_password_change() {
    let t = app().await;
    let me = t.sign_up("links@example.org").await;
    let first = reset_token(&t, "links@example.org").await;
    let second = reset_token(&t, "links@example.org").await;
    assert_eq!(
        reset(&t, &first, "first-new-password").await.json(),
        json!({"status": true})
    );
    // The mailed link of a superseded token says so, instead of sending it on.
    let res = t
        .send(
            "GET",
            &format!("/api/auth/reset-password/{second}?callbackURL=%2Freset"),
            &[],
            None,
        )
        .await;
    assert_eq!(
        res.header("location"),
        Some("https://portal.example.org/reset?error=INVALID_TOKEN")
    );
    let res = reset(&t, &second, "second-new-password").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "INVALID_TOKEN", "message": "Invalid token"})
    );

    let signed_in =
        Browser::from_response(&t.sign_in("links@example.org", "first-new-password").await);
    let third = reset_token(&t, "links@example.org").await;
    let res = t
        .send(
            "POST",
            "/api/auth/change-password",
            &h(&origin(&signed_in)),
            Some(json!({"currentPassword": "first-new-password", "newPassword": "changed-password-1"})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(reset(&t, &third, "third-new-password").await.status, 400);
    let _ = me;
}

#[tokio::test]
async fn ipv6_clients_are_limited_per_64() {
    let t = TestAuth::new(|c| c.rate_limits.enabled = true).await;
    let path = "/api/auth/sign-in/email";
    // Three requests from one /64, each from another address of it.
    for ip in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
        assert_eq!(t.send_from(ip, "POST", path, json!({})).await.status, 400);
    }
    let res = t
        .send_from("2001:db8:1:2::4", "POST", path, json!({}))
        .await;
    assert_eq!(res.status, 429, "the fourth from the same /64");
    // Another /64, and an IPv4 client, have their own buckets.
    assert_eq!(
        t.send_from("2001:db8:1:3::1", "POST", path, json!({}))
            .await
            .status,
        400
    );
    assert_eq!(
        t.send_from("192.0.2.7", "POST", path, json!({}))
            .await
            .status,
        400
    );
    // An IPv4 address written as IPv6 is that IPv4 client.
    for _ in 0..2 {
        t.send_from("192.0.2.7", "POST", path, json!({})).await;
    }
    let res = t
        .send_from("::ffff:192.0.2.7", "POST", path, json!({}))
        .await;
    assert_eq!(res.status, 429);
}

#[tokio::test]
async fn sign_up_takes_the_profile_rule_and_api_keys_are_bounded() {
    let t = app().await;
    for (name, image) in [
        ("   ", None),
        (&*"x".repeat(101), None),
        ("Ada", Some("javascript:alert(1)")),
        ("Ada", Some("data:image/png;base64,AAAA")),
    ] {
        let mut body = json!({"name": name, "email": "bounds@example.org", "password": PASSWORD});
        if let Some(image) = image {
            body["image"] = json!(image);
        }
        let res = t.post("/api/auth/sign-up/email", body).await;
        assert_eq!(res.status, 400, "{name:?} {image:?}");
        assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    }
    assert_eq!(t.count_items("USER#").await, 0);
    let me = t.sign_up("bounds@example.org").await;
    let headers = origin(&me);
    let too_much = json!({"name": "k", "metadata": {"blob": "x".repeat(4097)}});
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&headers),
            Some(too_much),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "METADATA_TOO_LARGE", "message": "metadata must be at most 4096 bytes of JSON"})
    );
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&headers),
            Some(json!({"name": "n".repeat(33)})),
        )
        .await;
    assert_eq!(res.json()["code"], "INVALID_NAME_LENGTH");
    assert_eq!(t.count_items("APIKEY#").await, 0);
}

#[tokio::test]
async fn wrong_passwords_are_counted_per_account_wherever_they_are_typed() {
    use portal_domain::config::Rule;
    let t = TestAuth::new(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.credentials = Rule::new(1000, 10);
        c.rate_limits.auth_default = Rule::new(1000, 10);
        c.rate_limits.password_failures = Rule::new(4, 900);
    })
    .await;
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "N", "email": "count@example.org", "password": PASSWORD, "username": "counted"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let b = Browser::from_response(&res);
    let wrong = |path: &'static str, body: Value| (path, body);
    // Four wrong passwords, each through another door.
    for (path, body) in [
        wrong(
            "/api/auth/sign-in/email",
            json!({"email": "count@example.org", "password": "wrong-1-password"}),
        ),
        wrong(
            "/api/auth/sign-in/username",
            json!({"username": "counted", "password": "wrong-2-password"}),
        ),
        wrong(
            "/api/auth/change-password",
            json!({"currentPassword": "wrong-3-password", "newPassword": "new-password-123"}),
        ),
        wrong(
            "/api/auth/two-factor/enable",
            json!({"password": "wrong-4-password"}),
        ),
    ] {
        let res = t.send("POST", path, &h(&b.headers()), Some(body)).await;
        assert!(
            matches!(res.status.as_u16(), 400 | 401),
            "{path}: {} {}",
            res.status,
            res.text()
        );
    }
    // Now every door refuses, even the right password, until the window has passed.
    for (path, body) in [
        (
            "/api/auth/sign-in/email",
            json!({"email": "count@example.org", "password": PASSWORD}),
        ),
        (
            "/api/auth/sign-in/username",
            json!({"username": "counted", "password": PASSWORD}),
        ),
        (
            "/api/auth/change-password",
            json!({"currentPassword": PASSWORD, "newPassword": "new-password-123"}),
        ),
    ] {
        let res = t.send("POST", path, &h(&b.headers()), Some(body)).await;
        assert_eq!(res.status, 429, "{path}: {}", res.text());
        assert_eq!(
            res.json(),
            json!({"code": "TOO_MANY_PASSWORD_ATTEMPTS", "message": "Too many wrong passwords for this account. Please try again later."})
        );
        let wait: u64 = res.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
    }
    // Another account is not affected.
    t.sign_up("other@example.org").await;
    let res = t.sign_in("other@example.org", PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.text());
}
