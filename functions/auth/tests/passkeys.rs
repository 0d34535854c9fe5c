//! Passkeys as Portal's web app uses them (the better-auth passkey plugin's wire), driven by
//! a software authenticator that signs for real: registration, sign-in, and every way a
//! sign-in must fail (a replay, another origin, another relying party, a cloned
//! authenticator, someone else's credential, a deleted passkey, a banned user).

mod common;

use common::{Browser, TestAuth, h, set_cookies};
use portal_domain::model::Role;
use portal_testkit::TestResponse;
use portal_testkit::authenticator::SoftAuthenticator;
use portal_testkit::people::person;
use serde_json::{Value, json};

const ORIGIN: &str = "http://localhost:3000";

/// The challenge cookie a response set (`name=value`).
fn challenge_cookie(res: &TestResponse) -> String {
    set_cookies(res)
        .into_iter()
        .find(|c| c.contains("better-auth-passkey="))
        .expect("the challenge cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn with(cookie: &str, extra: &str) -> String {
    if cookie.is_empty() {
        extra.to_string()
    } else {
        format!("{cookie}; {extra}")
    }
}

/// Registers `authenticator` for the browser `b`: the verify answer.
async fn register(
    t: &TestAuth,
    b: &Browser,
    authenticator: &mut SoftAuthenticator,
) -> TestResponse {
    let res = t
        .send(
            "GET",
            "/api/auth/passkey/generate-register-options",
            &h(&b.headers()),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let options = res.json();
    let cookie = with(&b.cookie, &challenge_cookie(&res));
    let response = authenticator.register(&options, ORIGIN);
    t.send(
        "POST",
        "/api/auth/passkey/verify-registration",
        &[("cookie", cookie.as_str()), ("origin", ORIGIN)],
        Some(json!({"response": response, "name": "Laptop"})),
    )
    .await
}

/// Asks for sign-in options (as `cookie`'s browser), lets `answer` make the assertion, and
/// posts it: the verify answer, and what was posted (for replays).
async fn sign_in_with(
    t: &TestAuth,
    cookie: &str,
    answer: impl FnOnce(&Value) -> Value,
) -> (TestResponse, Value, String) {
    let headers: Vec<(&str, &str)> = if cookie.is_empty() {
        vec![("origin", ORIGIN)]
    } else {
        vec![("cookie", cookie), ("origin", ORIGIN)]
    };
    let res = t
        .send(
            "GET",
            "/api/auth/passkey/generate-authenticate-options",
            &headers,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let challenge = with(cookie, &challenge_cookie(&res));
    let response = answer(&res.json());
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/verify-authentication",
            &[("cookie", challenge.as_str()), ("origin", ORIGIN)],
            Some(json!({"response": response})),
        )
        .await;
    (res, response, challenge)
}

async fn sign_in(t: &TestAuth, authenticator: &mut SoftAuthenticator) -> TestResponse {
    sign_in_with(t, "", |options| authenticator.authenticate(options, ORIGIN))
        .await
        .0
}

/// The browser a passkey sign-in left signed in (`{session, user}` and the cookie).
fn signed_in(res: &TestResponse) -> Browser {
    let body = res.json();
    let cookie = set_cookies(res)
        .into_iter()
        .find(|c| c.contains(".session_token=") && !c.contains("Max-Age=0"))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    Browser {
        token: body["session"]["token"].as_str().unwrap().to_string(),
        cookie,
        user: body["user"].clone(),
    }
}

fn failed() -> Value {
    json!({"code": "AUTHENTICATION_FAILED", "message": "Authentication failed"})
}

#[tokio::test]
async fn register_sign_in_list_rename_and_delete() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("keyholder@example.org").await;
    let mut key = SoftAuthenticator::new("localhost");
    let res = register(&t, &b, &mut key).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let passkey = res.json();
    assert_eq!(passkey["name"], "Laptop");
    assert_eq!(passkey["userId"], b.user["id"]);
    assert_eq!(passkey["credentialID"], key.id());
    assert_eq!(passkey["deviceType"], "multiDevice");
    assert_eq!(passkey["backedUp"], true);
    assert_eq!(passkey["transports"], "internal,hybrid");
    assert_eq!(passkey["aaguid"], "00000000-0000-0000-0000-000000000000");
    let id = passkey["id"].as_str().unwrap().to_string();

    // The options asked discoverable credentials and user verification.
    let res = t
        .send(
            "GET",
            "/api/auth/passkey/generate-register-options",
            &h(&b.headers()),
            None,
        )
        .await;
    let options = res.json();
    assert_eq!(options["rp"], json!({"name": "Portal", "id": "localhost"}));
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["attestation"], "none");
    assert_eq!(
        options["excludeCredentials"][0]["id"],
        key.id(),
        "no second registration"
    );

    // Signed out, in another browser: the authenticator picks the passkey.
    let res = sign_in(&t, &mut key).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["user"]["email"], "keyholder@example.org");
    let cookies = set_cookies(&res);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("better-auth.session_token=") && c.contains("Max-Age=604800")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.contains("session_token_multi-")),
        "multi-session: {cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("better-auth.last_used_login_method=passkey")),
        "{cookies:?}"
    );
    let signed_in = signed_in(&res);
    let session = t
        .send(
            "GET",
            "/api/auth/get-session",
            &h(&signed_in.headers()),
            None,
        )
        .await
        .json();
    assert_eq!(session["user"]["id"], b.user["id"]);
    let dump = t.table_dump().await;
    assert!(
        dump.contains("passkey.registered") && dump.contains("sign_in.succeeded"),
        "recorded"
    );

    // The security card: list, rename, delete.
    let res = t
        .send(
            "GET",
            "/api/auth/passkey/list-user-passkeys",
            &h(&b.headers()),
            None,
        )
        .await;
    let listed = res.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(
        listed[0]["lastUsedAt"].is_string(),
        "the sign-in is remembered"
    );
    assert!(listed[0]["counter"].as_i64().unwrap() >= 2);
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/update-passkey",
            &h(&b.headers()),
            Some(json!({"id": id, "name": "  Phone  "})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["passkey"]["name"], "Phone");
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/update-passkey",
            &h(&b.headers()),
            Some(json!({"id": id, "name": "   "})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/delete-passkey",
            &h(&b.headers()),
            Some(json!({"id": id})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"status": true}));
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/delete-passkey",
            &h(&b.headers()),
            Some(json!({"id": id})),
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.json(),
        json!({"code": "PASSKEY_NOT_FOUND", "message": "Passkey not found"})
    );

    // A deleted passkey signs nobody in.
    let res = sign_in(&t, &mut key).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json(),
        json!({"code": "PASSKEY_NOT_FOUND", "message": "Passkey not found"})
    );
}

#[tokio::test]
async fn a_replayed_or_misdirected_assertion_is_refused() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("careful@example.org").await;
    let mut key = SoftAuthenticator::new("localhost");
    assert_eq!(register(&t, &b, &mut key).await.status, 200);

    // The same assertion twice: the ceremony is spent after the first.
    let (res, response, challenge) =
        sign_in_with(&t, "", |options| key.authenticate(options, ORIGIN)).await;
    assert_eq!(res.status, 200);
    let again = t
        .send(
            "POST",
            "/api/auth/passkey/verify-authentication",
            &[("cookie", challenge.as_str()), ("origin", ORIGIN)],
            Some(json!({"response": response.clone()})),
        )
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.json(),
        json!({"code": "CHALLENGE_NOT_FOUND", "message": "Challenge not found"})
    );
    // ... and under a new challenge: it signed the old one.
    let (res, _, _) = sign_in_with(&t, "", |_| response.clone()).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json(), failed());

    // Another origin (a phishing page), another relying party.
    let (res, _, _) = sign_in_with(&t, "", |o| key.authenticate(o, "https://evil.example")).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json(), failed());
    let mut elsewhere = key.clone();
    elsewhere.rp_id = "evil.example".into();
    let (res, _, _) = sign_in_with(&t, "", |o| elsewhere.authenticate(o, ORIGIN)).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json(), failed());
    // An authenticator that did not verify its user.
    let mut careless = key.clone();
    careless.verifies_user = false;
    careless.counter += 100;
    let (res, _, _) = sign_in_with(&t, "", |o| careless.authenticate(o, ORIGIN)).await;
    assert_eq!(res.status, 401);

    // Registration checks the same.
    let mut phished = SoftAuthenticator::new("localhost");
    let res = t
        .send(
            "GET",
            "/api/auth/passkey/generate-register-options",
            &h(&b.headers()),
            None,
        )
        .await;
    let cookie = with(&b.cookie, &challenge_cookie(&res));
    let response = phished.register(&res.json(), "https://evil.example");
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/verify-registration",
            &[("cookie", cookie.as_str()), ("origin", ORIGIN)],
            Some(json!({"response": response})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "FAILED_TO_VERIFY_REGISTRATION", "message": "Failed to verify registration"})
    );
    // Without the challenge cookie, or without an Origin header.
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/verify-registration",
            &h(&b.headers()),
            Some(json!({"response": {}})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "CHALLENGE_NOT_FOUND");
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/verify-authentication",
            &[],
            Some(json!({"response": {"id": "x"}})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), json!({"message": "origin missing"}));
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/verify-authentication",
            &[("origin", ORIGIN)],
            Some(json!({"response": "nope"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_cloned_authenticator_is_caught_by_its_counter() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("twin@example.org").await;
    let mut key = SoftAuthenticator::new("localhost");
    assert_eq!(register(&t, &b, &mut key).await.status, 200);
    let mut clone = key.clone();
    assert_eq!(sign_in(&t, &mut key).await.status, 200);
    assert_eq!(sign_in(&t, &mut key).await.status, 200);
    // The copy's counter is behind the original's.
    let res = sign_in(&t, &mut clone).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json(), failed());
    assert!(t.table_dump().await.contains("possible_clone"), "recorded");
}

#[tokio::test]
async fn a_credential_belongs_to_one_user() {
    let t = TestAuth::new(|_| {}).await;
    let ann = t.sign_up("ann@example.org").await;
    let bob = t.sign_up("bob@example.org").await;
    let mut anns = SoftAuthenticator::new("localhost");
    let mut bobs = SoftAuthenticator::new("localhost");
    assert_eq!(register(&t, &ann, &mut anns).await.status, 200);
    assert_eq!(register(&t, &bob, &mut bobs).await.status, 200);
    // Ann's credential offered for Bob's account.
    let mut copy = anns.clone();
    let res = register(&t, &bob, &mut copy).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "PREVIOUSLY_REGISTERED", "message": "Previously registered"})
    );
    // Signed in as Bob, only Bob's passkeys are offered; Ann's does not sign in there.
    let (res, _, _) = sign_in_with(&t, &bob.cookie, |options| {
        assert_eq!(options["allowCredentials"].as_array().unwrap().len(), 1);
        anns.authenticate(options, ORIGIN)
    })
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json(), failed());
    // Bob cannot rename or delete Ann's.
    let id = t
        .send(
            "GET",
            "/api/auth/passkey/list-user-passkeys",
            &h(&ann.headers()),
            None,
        )
        .await
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/update-passkey",
            &h(&bob.headers()),
            Some(json!({"id": id, "name": "mine"})),
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json()["code"],
        "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY"
    );
    let res = t
        .send(
            "POST",
            "/api/auth/passkey/delete-passkey",
            &h(&bob.headers()),
            Some(json!({"id": id})),
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        t.send(
            "GET",
            "/api/auth/passkey/list-user-passkeys",
            &h(&ann.headers()),
            None
        )
        .await
        .json()
        .as_array()
        .unwrap()
        .len(),
        1
    );
}

#[tokio::test]
async fn a_banned_user_is_refused_and_a_deleted_one_leaves_no_passkey() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("rowdy@example.org").await;
    let mut key = SoftAuthenticator::new("localhost");
    assert_eq!(register(&t, &b, &mut key).await.status, 200);
    let id = b.user["id"].as_str().unwrap();
    t.state
        .db
        .users()
        .update(id, "2026-01-01T00:00:00.000Z", |u| u.banned = true)
        .await
        .unwrap();
    let res = sign_in(&t, &mut key).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["code"], "BANNED_USER");
    t.state
        .db
        .users()
        .update(id, "2026-01-01T00:00:00.000Z", |u| u.banned = false)
        .await
        .unwrap();
    let fresh = signed_in(&sign_in(&t, &mut key).await);
    let res = t
        .send(
            "POST",
            "/api/auth/delete-user",
            &h(&fresh.headers()),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        t.count_items("PASSKEY#").await,
        0,
        "the passkey went with the account"
    );
}

#[tokio::test]
async fn adding_a_passkey_needs_a_fresh_session() {
    let t = TestAuth::new(|_| {}).await;
    let me = person(&t.state, "old@example.org", Role::User).await;
    let from = portal_domain::model::Client::default();
    let (session, token) = portal_web::caller::token::new_session(
        &t.state.keyring,
        &me.user,
        true,
        &from,
        portal_domain::time::now() - time::Duration::days(2),
    );
    t.state.db.sessions().create(session).await.unwrap();
    let cookie = t.state.cookies.session_cookies(&token, true)[0]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let res = t
        .send(
            "GET",
            "/api/auth/passkey/generate-register-options",
            &[("cookie", cookie.as_str()), ("origin", ORIGIN)],
            None,
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"code": "SESSION_NOT_FRESH", "message": "Session is not fresh"})
    );
    let res = t
        .send(
            "GET",
            "/api/auth/passkey/generate-register-options",
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn a_base_url_on_an_ip_address_says_passkeys_need_a_host_name() {
    let t = TestAuth::new(|c| {
        let auth = c.auth.as_mut().unwrap();
        auth.base_url = url::Url::parse("http://127.0.0.1:8787").unwrap();
        auth.passkeys = portal_domain::config::PasskeyConfig::new(&auth.base_url, None, None);
    })
    .await;
    let res = t
        .send(
            "GET",
            "/api/auth/passkey/generate-authenticate-options",
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({
            "code": "PASSKEYS_UNAVAILABLE",
            "message": "passkeys need a host name, and the base URL (http://127.0.0.1:8787) is an IP address: use http://localhost:8787 instead"
        })
    );
}

#[tokio::test]
async fn a_passkey_that_verified_its_user_satisfies_the_second_factor_rule_for_staff() {
    let t = TestAuth::new(|c| {
        c.auth.as_mut().unwrap().require_2fa_for_staff = true;
    })
    .await;
    let staff = person(&t.state, "staff@example.org", Role::Staff).await;
    let by_password = Browser {
        token: staff.token.clone(),
        cookie: staff.cookie.clone(),
        user: json!({"id": staff.id()}),
    };
    let res = t
        .send(
            "GET",
            "/api/auth/admin/list-users",
            &h(&by_password.headers()),
            None,
        )
        .await;
    assert_eq!(
        res.status, 403,
        "a password session is not past the second factor"
    );
    let mut key = SoftAuthenticator::new("localhost");
    assert_eq!(register(&t, &by_password, &mut key).await.status, 200);
    let by_passkey = signed_in(&sign_in(&t, &mut key).await);
    let res = t
        .send(
            "GET",
            "/api/auth/admin/list-users",
            &h(&by_passkey.headers()),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
}

#[tokio::test]
async fn a_password_reset_leaves_the_passkeys_as_betterauth_does() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("forgetful@example.org").await;
    let mut key = SoftAuthenticator::new("localhost");
    assert_eq!(register(&t, &b, &mut key).await.status, 200);
    t.post(
        "/api/auth/request-password-reset",
        json!({"email": "forgetful@example.org"}),
    )
    .await;
    let token = common::token_of(t.mails().last().unwrap()["url"].as_str().unwrap());
    let res = t
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "a-brand-new-password", "token": token}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        sign_in(&t, &mut key).await.status,
        200,
        "the passkey still signs in"
    );
}
