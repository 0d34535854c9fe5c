//! One browser signed in to several accounts, as BetterAuth's multiSession plugin does it.

mod common;

use portal_testkit::Sections;
use std::collections::BTreeMap;

use common::{PASSWORD, TestAuth, set_cookies};
use portal_testkit::TestResponse;
use serde_json::{Value, json};

/// A browser's cookie jar: keeps what Set-Cookie sets, drops what it expires.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, res: &TestResponse) {
        for cookie in set_cookies(res) {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if cookie.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn multi(&self) -> usize {
        self.0.keys().filter(|k| k.contains("_multi-")).count()
    }
}

async fn send(
    t: &TestAuth,
    jar: &mut Jar,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> TestResponse {
    let cookie = jar.header();
    let res = t
        .send(
            method,
            path,
            &[
                ("cookie", cookie.as_str()),
                ("origin", "http://localhost:3000"),
            ],
            body,
        )
        .await;
    jar.take(&res);
    res
}

async fn sign_in(t: &TestAuth, jar: &mut Jar, email: &str) -> String {
    let res = send(
        t,
        jar,
        "POST",
        "/api/auth/sign-in/email",
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["token"].as_str().unwrap().to_string()
}

async fn who(t: &TestAuth, jar: &mut Jar) -> Value {
    send(t, jar, "GET", "/api/auth/get-session", None)
        .await
        .json()["user"]["email"]
        .clone()
}

#[tokio::test]
async fn one_browser_holds_several_accounts_and_switches_between_them() {
    let t = TestAuth::new(|_| {}).await;
    for email in ["a@example.org", "b@example.org"] {
        t.sign_up(email).await;
    }
    let mut jar = Jar::default();
    let a = sign_in(&t, &mut jar, "a@example.org").await;
    let b = sign_in(&t, &mut jar, "b@example.org").await;
    assert_eq!(jar.multi(), 2);
    assert_eq!(
        who(&t, &mut jar).await,
        "b@example.org",
        "the last sign-in is active"
    );

    let res = send(
        &t,
        &mut jar,
        "GET",
        "/api/auth/multi-session/list-device-sessions",
        None,
    )
    .await;
    assert_eq!(res.status, 200);
    let mut listed: Vec<String> = res
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user"]["email"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, ["a@example.org", "b@example.org"]);
    assert!(res.json()[0]["session"]["token"].is_string());

    let res = send(
        &t,
        &mut jar,
        "POST",
        "/api/auth/multi-session/set-active",
        Some(json!({"sessionToken": a})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["user"]["email"], "a@example.org");
    assert_eq!(res.json()["session"]["token"], a.as_str());
    assert_eq!(who(&t, &mut jar).await, "a@example.org");

    // Ending another account's session leaves the active one.
    let res = send(
        &t,
        &mut jar,
        "POST",
        "/api/auth/multi-session/revoke",
        Some(json!({"sessionToken": b})),
    )
    .await;
    assert_eq!(res.json(), json!({"status": true}));
    assert_eq!(jar.multi(), 1);
    assert_eq!(who(&t, &mut jar).await, "a@example.org");
    let gone = t
        .state
        .db
        .sessions()
        .get(&portal_web::caller::token::session_id(&b))
        .await
        .unwrap();
    assert!(gone.is_none(), "the session is deleted, not only forgotten");
}

#[tokio::test]
async fn revoking_the_active_session_activates_the_next_and_sign_out_ends_them_all() {
    let t = TestAuth::new(|_| {}).await;
    for email in ["c@example.org", "d@example.org"] {
        t.sign_up(email).await;
    }
    let mut jar = Jar::default();
    let c = sign_in(&t, &mut jar, "c@example.org").await;
    let d = sign_in(&t, &mut jar, "d@example.org").await;
    let res = send(
        &t,
        &mut jar,
        "POST",
        "/api/auth/multi-session/revoke",
        Some(json!({"sessionToken": d})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        who(&t, &mut jar).await,
        "c@example.org",
        "the next account took over"
    );

    let e = {
        t.sign_up("e@example.org").await;
        sign_in(&t, &mut jar, "e@example.org").await
    };
    let res = send(&t, &mut jar, "POST", "/api/auth/sign-out", Some(json!({}))).await;
    assert_eq!(res.status, 200);
    assert_eq!(jar.multi(), 0);
    for token in [c, e] {
        assert!(
            t.state
                .db
                .sessions()
                .get(&portal_web::caller::token::session_id(&token))
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn signing_in_again_replaces_the_accounts_old_session_and_the_maximum_holds() {
    let t = TestAuth::new(|c| c.auth_mut().multi_session_max = 2).await;
    for email in ["f@example.org", "g@example.org", "h@example.org"] {
        t.sign_up(email).await;
    }
    let mut jar = Jar::default();
    let old = sign_in(&t, &mut jar, "f@example.org").await;
    let new = sign_in(&t, &mut jar, "f@example.org").await;
    assert_eq!(jar.multi(), 1, "one cookie per account");
    assert!(
        t.state
            .db
            .sessions()
            .get(&portal_web::caller::token::session_id(&old))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        t.state
            .db
            .sessions()
            .get(&portal_web::caller::token::session_id(&new))
            .await
            .unwrap()
            .is_some()
    );
    sign_in(&t, &mut jar, "g@example.org").await;
    assert_eq!(jar.multi(), 2);
    sign_in(&t, &mut jar, "h@example.org").await;
    assert_eq!(
        jar.multi(),
        2,
        "the third account is not remembered past the maximum"
    );
    assert_eq!(
        who(&t, &mut jar).await,
        "h@example.org",
        "but it is signed in"
    );
}

#[tokio::test]
async fn tokens_the_browser_does_not_hold_are_refused() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("i@example.org").await;
    t.sign_up("j@example.org").await;
    let mut other = Jar::default();
    let foreign = sign_in(&t, &mut other, "j@example.org").await;
    let mut jar = Jar::default();
    sign_in(&t, &mut jar, "i@example.org").await;
    for path in [
        "/api/auth/multi-session/set-active",
        "/api/auth/multi-session/revoke",
    ] {
        let res = send(
            &t,
            &mut jar,
            "POST",
            path,
            Some(json!({"sessionToken": foreign})),
        )
        .await;
        assert_eq!(res.status, 401, "{path}");
        assert_eq!(
            res.json(),
            json!({"code": "INVALID_SESSION_TOKEN", "message": "Invalid session token"})
        );
    }
    assert!(
        t.state
            .db
            .sessions()
            .get(&portal_web::caller::token::session_id(&foreign))
            .await
            .unwrap()
            .is_some()
    );
    let res = send(
        &t,
        &mut jar,
        "POST",
        "/api/auth/multi-session/set-active",
        Some(json!({})),
    )
    .await;
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    let mut nobody = Jar::default();
    let res = send(
        &t,
        &mut nobody,
        "POST",
        "/api/auth/multi-session/revoke",
        Some(json!({"sessionToken": foreign})),
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["code"], "UNAUTHORIZED");
    let res = send(
        &t,
        &mut nobody,
        "GET",
        "/api/auth/multi-session/list-device-sessions",
        None,
    )
    .await;
    assert_eq!(res.json(), json!([]));
}

#[tokio::test]
async fn clear_stale_session_signs_out_every_account_of_the_browser() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("k@example.org").await;
    t.sign_up("l@example.org").await;
    let mut jar = Jar::default();
    let k = sign_in(&t, &mut jar, "k@example.org").await;
    let l = sign_in(&t, &mut jar, "l@example.org").await;
    let res = send(&t, &mut jar, "GET", "/api/auth/clear-stale-session", None).await;
    assert_eq!(res.status, 302);
    assert_eq!(jar.multi(), 0, "the browser forgets every account");
    // Only the "last used" hint stays: the sign-in page shows it after a sign-out.
    assert_eq!(
        jar.0.keys().collect::<Vec<_>>(),
        ["better-auth.last_used_login_method"],
        "{:?}",
        jar.0
    );
    for token in [k, l] {
        assert!(
            t.state
                .db
                .sessions()
                .get(&portal_web::caller::token::session_id(&token))
                .await
                .unwrap()
                .is_none()
        );
    }
}
