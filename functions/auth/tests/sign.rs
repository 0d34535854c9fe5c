//! Signing up, in and out, as BetterAuth's client does it.

mod common;

use common::{Browser, PASSWORD, TestAuth, h, set_cookies};
use portal_domain::crypto::Verified;
use portal_domain::model::{Role, User};
use portal_testkit::Sections;
use serde_json::json;

#[tokio::test]
async fn sign_up_creates_the_user_signs_them_in_and_mails_a_verification_link() {
    let t = TestAuth::new(|_| {}).await;
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "Ada Lovelace", "email": "Ada@Example.ORG", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200);
    let body = res.json();
    let user = &body["user"];
    assert_eq!(user["email"], "ada@example.org", "stored lower-cased");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["role"], "user");
    assert_eq!(user["banned"], false);
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["id"].as_str().unwrap().len(), 32);
    assert!(user.get("password").is_none() && user.get("passwordHash").is_none());
    let token = body["token"].as_str().unwrap();
    let cookies = set_cookies(&res);
    assert_eq!(
        cookies.len(),
        3,
        "the session, its multi-session cookie, the last used login method"
    );
    assert_eq!(
        cookies[2],
        "better-auth.last_used_login_method=email; Max-Age=2592000; Path=/; SameSite=Lax"
    );
    assert!(cookies[0].starts_with(&format!("better-auth.session_token={token}.")));
    assert!(cookies[0].ends_with("; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"));
    assert!(cookies[1].starts_with(&format!(
        "better-auth.session_token_multi-{}={token}.",
        token.to_lowercase()
    )));
    assert!(cookies[1].ends_with("; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"));
    assert!(
        res.header("set-auth-token")
            .unwrap()
            .starts_with(&format!("{token}."))
    );
    assert!(
        res.header("access-control-expose-headers")
            .is_some_and(|h| h.split(',').any(|h| h == "set-auth-token")),
        "the bearer token is readable cross-origin"
    );

    let mails = t.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["kind"], "verify-email");
    assert_eq!(mails[0]["to"], "ada@example.org");
    assert!(
        mails[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost:3000/api/auth/verify-email?token=")
    );
    assert!(
        mails[0]["text"]
            .as_str()
            .unwrap()
            .contains(mails[0]["url"].as_str().unwrap())
    );
}

#[tokio::test]
async fn sign_up_accepts_form_bodies() {
    let t = TestAuth::new(|_| {}).await;
    let res = t
        .send_raw(
            "POST",
            "/api/auth/sign-up/email",
            &[],
            Some((
                "application/x-www-form-urlencoded",
                format!("name=Bob&email=bob%40example.org&password={PASSWORD}"),
            )),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["user"]["email"], "bob@example.org");
}

#[tokio::test]
async fn sign_up_refuses_bad_input_with_betterauth_codes() {
    let t = TestAuth::new(|_| {}).await;
    let cases = [
        (
            json!({"name": "A", "email": "not-an-email", "password": PASSWORD}),
            400,
            json!({"code": "VALIDATION_ERROR", "message": "[body.email] Invalid email address"}),
        ),
        (
            json!({"email": "a@example.org", "password": PASSWORD}),
            400,
            json!({"code": "VALIDATION_ERROR", "message": "[body.name] Invalid input: expected string, received undefined"}),
        ),
        (
            json!({"name": "A", "email": "a@example.org", "password": "short"}),
            400,
            json!({"code": "PASSWORD_TOO_SHORT", "message": "Password too short"}),
        ),
        (
            json!({"name": "A", "email": "a@example.org", "password": "x".repeat(129)}),
            400,
            json!({"code": "PASSWORD_TOO_LONG", "message": "Password too long"}),
        ),
        (
            json!({"name": "A", "email": "a@example.org", "password": PASSWORD, "role": "admin"}),
            400,
            json!({"code": "FIELD_NOT_ALLOWED", "message": "Field not allowed to be set"}),
        ),
        (
            json!({"name": "A", "email": "a@example.org", "password": PASSWORD, "callbackURL": "https://evil.example.com/"}),
            403,
            json!({"code": "INVALID_CALLBACK_URL", "message": "Invalid callbackURL"}),
        ),
    ];
    for (body, status, expected) in cases {
        let res = t.post("/api/auth/sign-up/email", body.clone()).await;
        assert_eq!(res.status, status, "{body}");
        assert_eq!(res.json(), expected, "{body}");
    }
    let res = t
        .send_raw(
            "POST",
            "/api/auth/sign-up/email",
            &[],
            Some(("application/json", "{nope".into())),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "BAD_REQUEST", "message": "Invalid JSON in request body"})
    );
    let res = t
        .send_raw(
            "POST",
            "/api/auth/sign-up/email",
            &[],
            Some(("text/plain", "hello".into())),
        )
        .await;
    assert_eq!(res.status, 415);
    assert_eq!(res.json()["code"], "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(t.count_items("USER#").await, 0, "nothing was written");
}

#[tokio::test]
async fn an_email_is_taken_whatever_its_case() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("grace@example.org").await;
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "G", "email": "GRACE@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(
        res.json(),
        json!({"code": "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "message": "User already exists. Use another email."})
    );
}

#[tokio::test]
async fn twenty_racing_sign_ups_make_exactly_one_user() {
    let t = TestAuth::new(|_| {}).await;
    let attempts = (0..20).map(|i| {
        let email = if i % 2 == 0 {
            "race@example.org"
        } else {
            "RACE@Example.org"
        };
        t.post(
            "/api/auth/sign-up/email",
            json!({"name": format!("Racer {i}"), "email": email, "password": PASSWORD}),
        )
    });
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.status == 200).count();
    let lost: Vec<_> = results.iter().filter(|r| r.status == 422).collect();
    assert_eq!(won, 1, "exactly one sign-up wins");
    assert_eq!(lost.len(), 19);
    for res in lost {
        assert_eq!(res.json()["code"], "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
    }
    assert_eq!(t.count_items("EMAIL#").await, 1, "one e-mail claim");
    assert_eq!(
        t.count_items("SESSION#").await,
        1,
        "one session, written with the user"
    );
    let dump = t.table_dump().await;
    assert_eq!(
        dump.matches("S(\"CREDENTIAL\")").count(),
        1,
        "one password, no orphans"
    );
    assert_eq!(
        dump.matches("S(\"USER\")").count(),
        1,
        "one user, no orphans"
    );
}

#[tokio::test]
async fn sign_in_with_the_right_password_starts_a_session() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("lin@example.org").await;
    let res = t.sign_in("LIN@example.org", PASSWORD).await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["redirect"], false);
    assert_eq!(body["user"]["email"], "lin@example.org");
    let browser = Browser::from_response(&res);
    let me = t
        .send("GET", "/api/auth/get-session", &h(&browser.headers()), None)
        .await;
    assert_eq!(me.json()["user"]["email"], "lin@example.org");
}

#[tokio::test]
async fn sign_in_failures_say_nothing_about_which_part_was_wrong() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("kim@example.org").await;
    let expected =
        json!({"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"});
    for (email, password) in [
        ("kim@example.org", "wrong-password"),
        ("nobody@example.org", PASSWORD),
        ("kim@example.org", &*"x".repeat(500)),
    ] {
        let res = t.sign_in(email, password).await;
        assert_eq!(res.status, 401, "{email}");
        assert_eq!(res.json(), expected);
        assert!(set_cookies(&res).is_empty());
    }
    let res = t.sign_in("not-an-email", PASSWORD).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "INVALID_EMAIL", "message": "Invalid email"})
    );
    let res = t
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "kim@example.org"}),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["message"],
        "[body.password] Invalid input: expected string, received undefined"
    );
}

#[tokio::test]
async fn sign_in_with_a_callback_url_answers_200_with_redirect_and_location() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("cb@example.org").await;
    let res = t
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "cb@example.org", "password": PASSWORD, "callbackURL": "/dashboard"}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["redirect"], true);
    assert_eq!(res.json()["url"], "http://localhost:3000/dashboard");
    assert_eq!(
        res.header("location"),
        Some("http://localhost:3000/dashboard")
    );
    let res = t
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "cb@example.org", "password": PASSWORD, "callbackURL": "//evil.org"}),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["code"], "INVALID_CALLBACK_URL");
}

#[tokio::test]
async fn remember_me_false_is_a_browser_session_of_one_day() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("short@example.org").await;
    let res = t
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "short@example.org", "password": PASSWORD, "rememberMe": false}),
        )
        .await;
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 4);
    assert!(cookies[3].starts_with("better-auth.last_used_login_method=email;"));
    assert!(!cookies[0].contains("Max-Age"), "{}", cookies[0]);
    assert!(cookies[1].starts_with("better-auth.dont_remember=true."));
    assert!(cookies[2].starts_with("better-auth.session_token_multi-"));
    assert!(
        !cookies[2].contains("Max-Age"),
        "as the session cookie: {}",
        cookies[2]
    );
    let token = res.json()["token"].as_str().unwrap().to_string();
    let Some(session) = t
        .state
        .db
        .sessions()
        .get(&portal_web::caller::token::session_id(&token))
        .await
        .unwrap()
    else {
        panic!("no session")
    };
    let lifetime = portal_domain::time::parse_iso(&session.expires_at).unwrap()
        - portal_domain::time::parse_iso(&session.created_at).unwrap();
    assert_eq!(lifetime.whole_hours(), 24);
    assert!(!session.remember);
}

#[tokio::test]
async fn banned_users_are_refused_after_the_password_check() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("banned@example.org").await;
    let id = b.user["id"].as_str().unwrap();
    t.state
        .db
        .users()
        .update(id, "2026-01-01T00:00:00.000Z", |u| u.banned = true)
        .await
        .unwrap();
    let res = t.sign_in("banned@example.org", PASSWORD).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"code": "BANNED_USER", "message": "You have been banned from this application. Please contact support if you believe this is an error."})
    );
    let res = t.sign_in("banned@example.org", "wrong-password").await;
    assert_eq!(
        res.status, 401,
        "a wrong password says nothing about the ban"
    );

    // An expired ban is no ban.
    t.state
        .db
        .users()
        .update(id, "2026-01-01T00:00:00.000Z", |u| {
            u.ban_expires = Some("2020-01-01T00:00:00.000Z".into())
        })
        .await
        .unwrap();
    assert_eq!(t.sign_in("banned@example.org", PASSWORD).await.status, 200);
}

/// `salt:key` as BetterAuth's Node server stored it, computed independently with Python:
/// hashlib.scrypt(NFKC("legacy-Pässwörd"), salt=b"0123456789abcdef0123456789abcdef",
/// n=16384, r=16, p=1, dklen=64).
const LEGACY_HASH: &str = "0123456789abcdef0123456789abcdef:f07d9222c4b9914fbdd47b55fe145f7577d4b7a1185380f09b42902660ff1b8c9ce53c2f46fd473b12da28cd855e3d8fcee40ba6260d0a10fad7add9c1d807e8";

#[tokio::test]
async fn migrated_users_sign_in_with_their_old_password_and_get_an_argon2id_hash() {
    let t = TestAuth::new(|_| {}).await;
    let at = "2025-06-01T00:00:00.000Z".to_string();
    let user = User::new(
        "LegacyUser0000000000000000000001".into(),
        "Migrated".into(),
        "old@example.org".into(),
        true,
        Role::User,
        &at,
    );
    t.state
        .db
        .users()
        .create(user, Some(LEGACY_HASH.into()))
        .await
        .unwrap();
    assert_eq!(
        t.sign_in("old@example.org", "wrong-Pässwörd").await.status,
        401
    );
    let res = t.sign_in("old@example.org", "legacy-Pässwörd").await;
    assert_eq!(res.status, 200);
    let (_, credential) = t
        .state
        .db
        .users()
        .with_credential("LegacyUser0000000000000000000001")
        .await
        .unwrap()
        .unwrap();
    let stored = credential.unwrap().password_hash;
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "rehashed: {stored}"
    );
    assert_eq!(
        portal_domain::crypto::verify_password_blocking("legacy-Pässwörd", &stored),
        Verified::Yes
    );
    assert_eq!(
        t.sign_in("old@example.org", "legacy-Pässwörd").await.status,
        200,
        "and again"
    );
}

#[tokio::test]
async fn sign_out_ends_the_session_and_expires_the_cookies() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("out@example.org").await;
    let res = t
        .send(
            "POST",
            "/api/auth/sign-out",
            &h(&b.headers()),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"success": true}));
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 3);
    assert!(cookies.iter().all(|c| c.contains("Max-Age=0")));
    let after = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(after.json(), serde_json::Value::Null);
    // Signing out when not signed in is fine too.
    let res = t.post("/api/auth/sign-out", json!({})).await;
    assert_eq!(res.json(), json!({"success": true}));
}

#[tokio::test]
async fn the_cookie_prefix_names_every_cookie_and_clear_stale_session_signs_out_to_the_sign_in_page()
 {
    let t = TestAuth::new(|c| c.auth_mut().cookie_prefix = "portal".into()).await;
    let b = t.sign_up("stale@example.org").await;
    assert!(
        b.cookie.starts_with("portal.session_token="),
        "{}",
        b.cookie
    );
    let me = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(me.json()["user"]["email"], "stale@example.org");
    // A cookie under BetterAuth's default name is not this deployment's.
    let foreign = [("cookie", b.cookie.replacen("portal.", "better-auth.", 1))];
    let res = t
        .send("GET", "/api/auth/get-session", &h(&foreign), None)
        .await;
    assert_eq!(res.json(), serde_json::Value::Null);

    let res = t
        .send(
            "GET",
            "/api/auth/clear-stale-session",
            &h(&b.headers()),
            None,
        )
        .await;
    assert_eq!(res.status, 302);
    assert_eq!(
        res.header("location"),
        Some("http://localhost:3000/auth/sign-in")
    );
    let cookies = set_cookies(&res);
    let names: Vec<&str> = cookies
        .iter()
        .map(|c| c.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "portal.session_token",
            "portal.session_data",
            "portal.dont_remember"
        ]
    );
    assert!(cookies.iter().all(|c| c.contains("Max-Age=0")));
    let after = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(after.json(), serde_json::Value::Null, "the session is gone");
    // Without any cookie (or with one whose session is long gone) it still redirects.
    let res = t
        .send(
            "GET",
            "/api/auth/clear-stale-session",
            &h(&b.headers()),
            None,
        )
        .await;
    assert_eq!(res.status, 302);
    assert_eq!(set_cookies(&res).len(), 3);
}

#[tokio::test]
async fn clear_stale_session_goes_to_the_configured_sign_in_page() {
    let t = TestAuth::new(|c| {
        c.auth_mut().sign_in_url = c.auth().base_url.join("/login?from=stale").unwrap();
    })
    .await;
    let res = t
        .send("GET", "/api/auth/clear-stale-session", &[], None)
        .await;
    assert_eq!(res.status, 302);
    assert_eq!(
        res.header("location"),
        Some("http://localhost:3000/login?from=stale")
    );
    let res = t
        .send("POST", "/api/auth/clear-stale-session", &[], None)
        .await;
    assert_eq!(res.status, 404, "GET only, as Portal's route");
}

#[tokio::test]
async fn unverified_addresses_cannot_sign_in_when_verification_is_required() {
    let t = TestAuth::new(|c| c.auth_mut().require_email_verification = true).await;
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "V", "email": "v@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json()["token"],
        serde_json::Value::Null,
        "no session before verification"
    );
    assert!(set_cookies(&res).is_empty());
    let res = t.sign_in("v@example.org", PASSWORD).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"code": "EMAIL_NOT_VERIFIED", "message": "Email not verified"})
    );
    let link = t.mails()[0]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://localhost:3000")
        .to_string();
    t.send("GET", &link, &[], None).await;
    assert_eq!(t.sign_in("v@example.org", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn over_https_cookies_are_secure_and_prefixed() {
    let t = TestAuth::new(|c| {
        c.auth_mut().base_url = url::Url::parse("https://portal.example.org").unwrap()
    })
    .await;
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "S", "email": "s@example.org", "password": PASSWORD}),
        )
        .await;
    let cookie = &set_cookies(&res)[0];
    assert!(
        cookie.starts_with("__Secure-better-auth.session_token="),
        "{cookie}"
    );
    assert!(cookie.ends_with("; Secure"));
    let pair = cookie.split(';').next().unwrap();
    let me = t
        .send("GET", "/api/auth/get-session", &[("cookie", pair)], None)
        .await;
    assert_eq!(me.json()["user"]["email"], "s@example.org");
    let plain = pair.replacen("__Secure-", "", 1);
    let other = t
        .send("GET", "/api/auth/get-session", &[("cookie", &plain)], None)
        .await;
    assert_eq!(
        other.json(),
        serde_json::Value::Null,
        "the unprefixed name is not read over https"
    );
}
