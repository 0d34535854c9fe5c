//! Two-factor authentication as BetterAuth's twoFactor plugin speaks it, with our stronger
//! rules: sealed secret, hashed single-use backup codes, codes accepted once, attempts and
//! failures counted, other sessions ended when it is turned on or off.

mod common;

use common::{Browser, PASSWORD, TestAuth, h, set_cookies};
use portal_auth::two_factor::totp;
use portal_testkit::Sections;
use portal_testkit::TestResponse;
use serde_json::{Value, json};

const ORIGIN: (&str, &str) = ("origin", "http://localhost:3000");

fn assert_code(res: &TestResponse, status: u16, code: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    assert_eq!(res.json()["code"], code, "{}", res.text());
}

/// The key inside a `totpURI`.
fn key_of(uri: &str) -> Vec<u8> {
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap()
}

/// The code of the step `offset` steps from now.
fn code_at(key: &[u8], offset: i64) -> String {
    // A code made in the last seconds of a step may be checked in the next one, one step
    // further than asked (seen on a loaded CI machine with `offset` -1): wait for the new
    // step first.
    let mut now = time::OffsetDateTime::now_utc().unix_timestamp();
    while totp::step_at(now + 3) != totp::step_at(now) {
        std::thread::sleep(std::time::Duration::from_millis(500));
        now = time::OffsetDateTime::now_utc().unix_timestamp();
    }
    totp::hotp(key, u64::try_from(totp::step_at(now) + offset).unwrap())
}

async fn post_as(t: &TestAuth, b: &Browser, path: &str, body: Value) -> TestResponse {
    t.send("POST", path, &h(&b.headers()), Some(body)).await
}

/// A cookie header from a response's Set-Cookies (name=value pairs still alive).
fn cookie_header(res: &TestResponse) -> String {
    set_cookies(res)
        .iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

async fn with_cookie(t: &TestAuth, cookie: &str, path: &str, body: Value) -> TestResponse {
    t.send("POST", path, &[("cookie", cookie), ORIGIN], Some(body))
        .await
}

/// The code of the last two-factor mail, which went to `to`.
/// `verify-otp` with `code`, for the pending sign-in (or session) `cookie`.
async fn verify_otp(t: &TestAuth, cookie: &str, code: &str) -> TestResponse {
    with_cookie(
        t,
        cookie,
        "/api/auth/two-factor/verify-otp",
        json!({ "code": code }),
    )
    .await
}

/// A six-digit code that is not `code`.
fn wrong_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

fn last_mailed_code(t: &TestAuth, to: &str) -> String {
    let mail = t
        .mails()
        .into_iter()
        .rfind(|m| m["kind"] == "two-factor-code")
        .expect("a code mail");
    assert_eq!(mail["to"], to);
    let text = mail["text"].as_str().unwrap();
    text.split_whitespace()
        .map(|w| w.trim_end_matches('.'))
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_string()
}

/// Signs up and turns TOTP on (proved with the code of the previous step, so the current
/// and next steps stay usable); returns the browser and the key and backup codes.
async fn enabled(t: &TestAuth, email: &str) -> (Browser, Vec<u8>, Vec<String>) {
    let b = t.sign_up(email).await;
    turn_on_totp(t, &b, -1).await
}

/// Turns TOTP on from `b`'s session, proved with the code `offset` steps from now: the
/// browser on the session that replaced its own, the key and the backup codes.
async fn turn_on_totp(t: &TestAuth, b: &Browser, offset: i64) -> (Browser, Vec<u8>, Vec<String>) {
    let res = post_as(
        t,
        b,
        "/api/auth/two-factor/enable",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    let key = key_of(body["totpURI"].as_str().unwrap());
    let codes: Vec<String> = body["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let res = post_as(
        t,
        b,
        "/api/auth/two-factor/verify-totp",
        json!({"code": code_at(&key, offset)}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    (b.renewed(&res), key, codes)
}

#[tokio::test]
async fn enabling_totp_returns_the_uri_and_codes_and_the_first_code_turns_it_on_ending_other_sessions()
 {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("tf@example.org").await;
    let other = Browser::from_response(&t.sign_in("tf@example.org", PASSWORD).await);
    assert_code(
        &post_as(
            &t,
            &b,
            "/api/auth/two-factor/enable",
            json!({"password": "wrong-password"}),
        )
        .await,
        400,
        "INVALID_PASSWORD",
    );
    assert_code(
        &post_as(&t, &b, "/api/auth/two-factor/enable", json!({})).await,
        400,
        "VALIDATION_ERROR",
    );
    let res = post_as(
        &t,
        &b,
        "/api/auth/two-factor/enable",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["method"], "totp");
    let uri = body["totpURI"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Portal:tf%40example.org?secret="),
        "{uri}"
    );
    assert!(uri.ends_with("&issuer=Portal&digits=6&period=30"));
    let codes = body["backupCodes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| {
        let c = c.as_str().unwrap();
        c.len() == 11 && c.as_bytes()[5] == b'-'
    }));
    let key = key_of(uri);
    assert_eq!(key.len(), 32);
    // Not on until a code proves the app holds the secret.
    let me = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(me.json()["user"]["twoFactorEnabled"], false);
    assert_code(
        &post_as(
            &t,
            &b,
            "/api/auth/two-factor/verify-totp",
            json!({"code": "000000"}),
        )
        .await,
        401,
        "INVALID_CODE",
    );
    let right = code_at(&key, 0);
    let res = post_as(
        &t,
        &b,
        "/api/auth/two-factor/verify-totp",
        json!({"code": right}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    // The caller's session is replaced (a new token and cookie, as BetterAuth re-issues
    // it): the old token is refused from the next request on.
    let renewed = b.renewed(&res);
    assert_ne!(renewed.token, b.token);
    assert_eq!(res.json()["token"], renewed.token.as_str());
    assert_eq!(res.json()["user"]["twoFactorEnabled"], true);
    let old = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(old.json(), Value::Null, "the old token is refused");
    let b = renewed;
    let me = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(me.json()["user"]["twoFactorEnabled"], true);
    let gone = t
        .send("GET", "/api/auth/get-session", &h(&other.headers()), None)
        .await;
    assert_eq!(
        gone.json(),
        Value::Null,
        "the other session ended on its next request"
    );
    // A code works once: the same one again is refused.
    assert_code(
        &post_as(
            &t,
            &b,
            "/api/auth/two-factor/verify-totp",
            json!({"code": right}),
        )
        .await,
        401,
        "INVALID_CODE",
    );
    // Enabling again while on is refused.
    assert_code(
        &post_as(
            &t,
            &b,
            "/api/auth/two-factor/enable",
            json!({"password": PASSWORD}),
        )
        .await,
        400,
        "TOTP_ALREADY_ENABLED",
    );
    // The URI again, with the password.
    let res = post_as(
        &t,
        &b,
        "/api/auth/two-factor/get-totp-uri",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(res.json()["totpURI"], uri);
    // Neither the secret nor a backup code is stored as it is.
    let dump = t.table_dump().await;
    let secret = String::from_utf8(key).unwrap();
    assert!(!dump.contains(&secret), "the secret is sealed");
    for c in codes {
        assert!(
            !dump.contains(c.as_str().unwrap()),
            "backup codes are hashed"
        );
    }
}

#[tokio::test]
async fn sign_in_with_two_factor_waits_for_a_code_then_starts_the_session() {
    let t = TestAuth::new(|_| {}).await;
    let (_, key, _) = enabled(&t, "si@example.org").await;
    let res = t.sign_in("si@example.org", PASSWORD).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"twoFactorRedirect": true, "twoFactorMethods": ["totp", "otp"]})
    );
    let cookies = set_cookies(&res);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("better-auth.two_factor=") && c.contains("Max-Age=600")),
        "{cookies:?}"
    );
    assert!(
        !cookies
            .iter()
            .any(|c| c.starts_with("better-auth.session_token=") && !c.contains("Max-Age=0")),
        "no session yet"
    );
    let pending = cookie_header(&res);
    let me = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("cookie", pending.as_str())],
            None,
        )
        .await;
    assert_eq!(me.json(), Value::Null);

    assert_code(
        &with_cookie(
            &t,
            "",
            "/api/auth/two-factor/verify-totp",
            json!({"code": "123456"}),
        )
        .await,
        401,
        "INVALID_TWO_FACTOR_COOKIE",
    );
    assert_code(
        &with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/verify-totp",
            json!({"code": "000000"}),
        )
        .await,
        401,
        "INVALID_CODE",
    );
    let res = with_cookie(
        &t,
        &pending,
        "/api/auth/two-factor/verify-totp",
        json!({"code": code_at(&key, 0)}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["user"]["email"], "si@example.org");
    let signed_in = Browser::from_response(&res);
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("better-auth.two_factor=;") && c.contains("Max-Age=0"))
    );
    let me = t
        .send(
            "GET",
            "/api/auth/get-session",
            &h(&signed_in.headers()),
            None,
        )
        .await;
    assert_eq!(me.json()["user"]["email"], "si@example.org");
    // The challenge is spent.
    assert_code(
        &with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/verify-totp",
            json!({"code": code_at(&key, 1)}),
        )
        .await,
        401,
        "INVALID_TWO_FACTOR_COOKIE",
    );
}

#[tokio::test]
async fn a_trusted_device_skips_the_second_factor_and_is_renewed() {
    let t = TestAuth::new(|_| {}).await;
    let (_, key, _) = enabled(&t, "trust@example.org").await;
    let pending = cookie_header(&t.sign_in("trust@example.org", PASSWORD).await);
    let res = with_cookie(
        &t,
        &pending,
        "/api/auth/two-factor/verify-totp",
        json!({"code": code_at(&key, 0), "trustDevice": true}),
    )
    .await;
    assert_eq!(res.status, 200);
    let trust = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("better-auth.trust_device="))
        .expect("a trust cookie");
    assert!(trust.contains("Max-Age=2592000"));
    let trust = trust.split(';').next().unwrap().to_string();
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/email",
            &[("cookie", trust.as_str()), ORIGIN],
            Some(json!({"email": "trust@example.org", "password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(
        res.json()["token"].is_string(),
        "signed in at once: {}",
        res.text()
    );
    let renewed = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("better-auth.trust_device="))
        .unwrap();
    assert_ne!(
        renewed.split(';').next().unwrap(),
        trust,
        "a new identifier each use"
    );
    // The old trust cookie was used up.
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/email",
            &[("cookie", trust.as_str()), ORIGIN],
            Some(json!({"email": "trust@example.org", "password": PASSWORD})),
        )
        .await;
    assert_eq!(res.json()["twoFactorRedirect"], true);
}

#[tokio::test]
async fn an_e_mailed_code_signs_in_once() {
    let t = TestAuth::new(|_| {}).await;
    enabled(&t, "otp@example.org").await;
    let pending = cookie_header(&t.sign_in("otp@example.org", PASSWORD).await);
    assert_code(
        &with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/verify-otp",
            json!({"code": "123456"}),
        )
        .await,
        400,
        "OTP_HAS_EXPIRED",
    );
    let res = with_cookie(&t, &pending, "/api/auth/two-factor/send-otp", json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"status": true}));
    let code = last_mailed_code(&t, "otp@example.org");
    let wrong = wrong_code(&code);
    assert_code(&verify_otp(&t, &pending, wrong).await, 401, "INVALID_CODE");
    let res = verify_otp(&t, &pending, &code).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.json()["token"].is_string());
    assert!(
        !t.table_dump().await.contains(&format!("\"{code}\"")),
        "the code is hashed"
    );
}

#[tokio::test]
async fn backup_codes_work_once_and_regenerating_voids_the_old_ones() {
    let t = TestAuth::new(|_| {}).await;
    let (b, _, codes) = enabled(&t, "bk@example.org").await;
    let pending = cookie_header(&t.sign_in("bk@example.org", PASSWORD).await);
    let res = with_cookie(
        &t,
        &pending,
        "/api/auth/two-factor/verify-backup-code",
        json!({"code": codes[0]}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.json()["token"].is_string());
    let pending = cookie_header(&t.sign_in("bk@example.org", PASSWORD).await);
    assert_code(
        &with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": codes[0]}),
        )
        .await,
        401,
        "INVALID_BACKUP_CODE",
    );
    let res = post_as(
        &t,
        &b,
        "/api/auth/two-factor/generate-backup-codes",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], true);
    let fresh = res.json()["backupCodes"][0].as_str().unwrap().to_string();
    assert_code(
        &with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": codes[1]}),
        )
        .await,
        401,
        "INVALID_BACKUP_CODE",
    );
    let res = with_cookie(
        &t,
        &pending,
        "/api/auth/two-factor/verify-backup-code",
        json!({"code": fresh}),
    )
    .await;
    assert_eq!(res.status, 200);
    // Without two-factor, there is nothing to regenerate.
    let plain = t.sign_up("plain@example.org").await;
    assert_code(
        &post_as(
            &t,
            &plain,
            "/api/auth/two-factor/generate-backup-codes",
            json!({"password": PASSWORD}),
        )
        .await,
        400,
        "TWO_FACTOR_NOT_ENABLED",
    );
    assert_code(
        &post_as(
            &t,
            &plain,
            "/api/auth/two-factor/get-totp-uri",
            json!({"password": PASSWORD}),
        )
        .await,
        400,
        "TOTP_NOT_ENABLED",
    );
    assert_code(
        &post_as(
            &t,
            &plain,
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": "x"}),
        )
        .await,
        400,
        "BACKUP_CODES_NOT_ENABLED",
    );
}

#[tokio::test]
async fn guesses_are_counted_per_challenge_and_per_user() {
    let t = TestAuth::new(|_| {}).await;
    let (_, key, _) = enabled(&t, "guess@example.org").await;
    let wrong = if code_at(&key, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let pending = cookie_header(&t.sign_in("guess@example.org", PASSWORD).await);
    for _ in 0..5 {
        assert_code(
            &with_cookie(
                &t,
                &pending,
                "/api/auth/two-factor/verify-totp",
                json!({"code": wrong}),
            )
            .await,
            401,
            "INVALID_CODE",
        );
    }
    assert_code(
        &with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/verify-totp",
            json!({"code": code_at(&key, 0)}),
        )
        .await,
        400,
        "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
    );
    // The challenge is gone; a new sign-in gets a new one, and the tenth failure in a row
    // locks the second factor, even for the right code.
    let pending = cookie_header(&t.sign_in("guess@example.org", PASSWORD).await);
    for _ in 0..5 {
        with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/verify-totp",
            json!({"code": wrong}),
        )
        .await;
    }
    let pending = cookie_header(&t.sign_in("guess@example.org", PASSWORD).await);
    assert_code(
        &with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/verify-totp",
            json!({"code": code_at(&key, 0)}),
        )
        .await,
        429,
        "ACCOUNT_TEMPORARILY_LOCKED",
    );
}

#[tokio::test]
async fn disabling_needs_the_password_and_ends_other_sessions() {
    let t = TestAuth::new(|_| {}).await;
    let (b, key, _) = enabled(&t, "off@example.org").await;
    let pending = cookie_header(&t.sign_in("off@example.org", PASSWORD).await);
    let res = with_cookie(
        &t,
        &pending,
        "/api/auth/two-factor/verify-totp",
        json!({"code": code_at(&key, 0)}),
    )
    .await;
    let other = Browser::from_response(&res);
    assert_code(
        &post_as(
            &t,
            &b,
            "/api/auth/two-factor/disable",
            json!({"password": "wrong-password"}),
        )
        .await,
        400,
        "INVALID_PASSWORD",
    );
    let res = post_as(
        &t,
        &b,
        "/api/auth/two-factor/disable",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"status": true}));
    // Turning it off replaces the caller's session too.
    let old = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(old.json(), Value::Null, "the old token is refused");
    let b = b.renewed(&res);
    let me = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(me.json()["user"]["twoFactorEnabled"], false);
    let gone = t
        .send("GET", "/api/auth/get-session", &h(&other.headers()), None)
        .await;
    assert_eq!(gone.json(), Value::Null);
    let res = t.sign_in("off@example.org", PASSWORD).await;
    assert!(res.json()["token"].is_string(), "no second factor any more");
    assert!(
        !t.table_dump().await.contains("S(\"TWOFACTOR\")"),
        "the secret and codes are deleted"
    );
}

#[tokio::test]
async fn e_mailed_codes_turn_two_factor_on_only_when_a_mailed_code_comes_back() {
    let t = TestAuth::new(|c| c.auth_mut().require_2fa_for_staff = true).await;
    let b = t.sign_up("mailonly@example.org").await;
    let id = b.user["id"].as_str().unwrap().to_string();
    t.state
        .db
        .users()
        .update(&id, "2026-01-01T00:00:00.000Z", |u| {
            u.role = portal_domain::model::Role::Staff;
        })
        .await
        .unwrap();
    let res = post_as(
        &t,
        &b,
        "/api/auth/two-factor/enable",
        json!({"password": PASSWORD, "method": "otp"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"method": "otp"}));
    // The password alone turned nothing on and passed no second factor.
    let res = t.sign_in("mailonly@example.org", PASSWORD).await;
    assert!(res.json()["token"].is_string(), "{}", res.text());
    let res = t
        .send("GET", "/api/test/staff", &h(&b.headers()), None)
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Two-factor authentication required"})
    );
    // The code mailed to the account's address turns it on, from a new session.
    let code = last_mailed_code(&t, "mailonly@example.org");
    let res = post_as(
        &t,
        &b,
        "/api/auth/two-factor/verify-otp",
        json!({"code": code}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["user"]["twoFactorEnabled"], true);
    let renewed = b.renewed(&res);
    assert_ne!(renewed.token, b.token);
    let old = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(old.json(), Value::Null, "the old token is refused");
    let res = t
        .send("GET", "/api/test/staff", &h(&renewed.headers()), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = t.sign_in("mailonly@example.org", PASSWORD).await;
    assert_eq!(
        res.json(),
        json!({"twoFactorRedirect": true, "twoFactorMethods": ["otp"]})
    );
    assert_code(
        &post_as(
            &t,
            &renewed,
            "/api/auth/two-factor/enable",
            json!({"password": PASSWORD, "method": "sms"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
}

/// Turns e-mailed codes on for a new account (the mailed code verified).
async fn otp_enabled(t: &TestAuth, email: &str) {
    let b = t.sign_up(email).await;
    post_as(
        t,
        &b,
        "/api/auth/two-factor/enable",
        json!({"password": PASSWORD, "method": "otp"}),
    )
    .await;
    let code = last_mailed_code(t, email);
    let res = post_as(
        t,
        &b,
        "/api/auth/two-factor/verify-otp",
        json!({"code": code}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
}

#[tokio::test]
async fn e_mailed_codes_count_tries_per_sign_in_across_resends_and_lock_like_totp() {
    let t = TestAuth::new(|_| {}).await;
    otp_enabled(&t, "guess-otp@example.org").await;
    // Five tries per sign-in, however many codes are sent for it.
    let pending = cookie_header(&t.sign_in("guess-otp@example.org", PASSWORD).await);
    for round in 0..2 {
        let res = with_cookie(&t, &pending, "/api/auth/two-factor/send-otp", json!({})).await;
        assert_eq!(res.status, 200, "{round}: {}", res.text());
        let code = last_mailed_code(&t, "guess-otp@example.org");
        let wrong = wrong_code(&code);
        for _ in 0..2 {
            let res = verify_otp(&t, &pending, wrong).await;
            assert_code(&res, 401, "INVALID_CODE");
        }
    }
    with_cookie(&t, &pending, "/api/auth/two-factor/send-otp", json!({})).await;
    let code = last_mailed_code(&t, "guess-otp@example.org");
    let wrong = wrong_code(&code);
    assert_code(&verify_otp(&t, &pending, wrong).await, 401, "INVALID_CODE");
    assert_code(
        &verify_otp(&t, &pending, &code).await,
        400,
        "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
    );
    // Ten failures in a row lock the second factor, even for the right code.
    for _ in 0..5 {
        let pending = cookie_header(&t.sign_in("guess-otp@example.org", PASSWORD).await);
        with_cookie(&t, &pending, "/api/auth/two-factor/send-otp", json!({})).await;
        with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/verify-otp",
            json!({"code": "not-a-code"}),
        )
        .await;
    }
    let pending = cookie_header(&t.sign_in("guess-otp@example.org", PASSWORD).await);
    with_cookie(&t, &pending, "/api/auth/two-factor/send-otp", json!({})).await;
    let code = last_mailed_code(&t, "guess-otp@example.org");
    assert_code(
        &verify_otp(&t, &pending, &code).await,
        429,
        "ACCOUNT_TEMPORARILY_LOCKED",
    );
}

#[tokio::test]
async fn staff_routes_can_require_a_session_that_passed_two_factor() {
    let t = TestAuth::new(|c| c.auth_mut().require_2fa_for_staff = true).await;
    let b = t.sign_up("boss@example.org").await;
    let id = b.user["id"].as_str().unwrap().to_string();
    t.state
        .db
        .users()
        .update(&id, "2026-01-01T00:00:00.000Z", |u| {
            u.role = portal_domain::model::Role::Staff;
        })
        .await
        .unwrap();
    let res = t
        .send("GET", "/api/test/staff", &h(&b.headers()), None)
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Two-factor authentication required"})
    );
    // Turning two-factor on from this session counts for the session that replaces it.
    let (b, key, _) = turn_on_totp(&t, &b, 0).await;
    let res = t
        .send("GET", "/api/test/staff", &h(&b.headers()), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    // A session that came through the second factor passes; a regular user is unaffected.
    let pending = cookie_header(&t.sign_in("boss@example.org", PASSWORD).await);
    let res = with_cookie(
        &t,
        &pending,
        "/api/auth/two-factor/verify-totp",
        json!({"code": code_at(&key, 1)}),
    )
    .await;
    let second = Browser::from_response(&res);
    let res = t
        .send("GET", "/api/test/staff", &h(&second.headers()), None)
        .await;
    assert_eq!(res.status, 200);
    let user = t.sign_up("someone@example.org").await;
    let res = t
        .send("GET", "/api/test/whoami", &h(&user.headers()), None)
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn send_otp_takes_no_body_as_the_plugin_does() {
    let t = TestAuth::new(|_| {}).await;
    enabled(&t, "nobody@example.org").await;
    let pending = cookie_header(&t.sign_in("nobody@example.org", PASSWORD).await);
    let res = t
        .send(
            "POST",
            "/api/auth/two-factor/send-otp",
            &[("cookie", pending.as_str()), ORIGIN],
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_code(
        &with_cookie(
            &t,
            &pending,
            "/api/auth/two-factor/send-otp",
            json!({"trustDevice": "yes"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
}

/// A trusted-device cookie for `email`'s account (signed in through the TOTP step).
async fn trusted(t: &TestAuth, email: &str, key: &[u8], offset: i64) -> (String, Browser) {
    let pending = cookie_header(&t.sign_in(email, PASSWORD).await);
    let res = with_cookie(
        t,
        &pending,
        "/api/auth/two-factor/verify-totp",
        json!({"code": code_at(key, offset), "trustDevice": true}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let trust = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("better-auth.trust_device="))
        .expect("a trust cookie");
    (
        trust.split(';').next().unwrap().to_string(),
        Browser::from_response(&res),
    )
}

async fn sign_in_with(t: &TestAuth, email: &str, cookie: &str) -> TestResponse {
    t.send(
        "POST",
        "/api/auth/sign-in/email",
        &[("cookie", cookie), ORIGIN],
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await
}

#[tokio::test]
async fn trusted_devices_end_with_every_session_not_only_in_this_browser() {
    let t = TestAuth::new(|_| {}).await;
    let email = "devices@example.org";
    let (b, key, _) = enabled(&t, email).await;
    // Revoking every session forgets every trusted device.
    let (trust, _) = trusted(&t, email, &key, 0).await;
    let res = post_as(&t, &b, "/api/auth/revoke-sessions", json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = sign_in_with(&t, email, &trust).await;
    assert_eq!(res.json()["twoFactorRedirect"], true, "{}", res.text());
    // So does a password reset.
    let (trust, _) = trusted(&t, email, &key, 1).await;
    t.post("/api/auth/request-password-reset", json!({"email": email}))
        .await;
    let token = common::token_of(t.mails().last().unwrap()["url"].as_str().unwrap());
    let res = t
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": PASSWORD, "token": token}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = sign_in_with(&t, email, &trust).await;
    assert_eq!(res.json()["twoFactorRedirect"], true, "{}", res.text());
}

#[tokio::test]
async fn turning_two_factor_off_ends_trusted_devices_elsewhere() {
    let t = TestAuth::new(|_| {}).await;
    let email = "off-devices@example.org";
    let (_, key, _) = enabled(&t, email).await;
    let (trust, _) = trusted(&t, email, &key, 0).await;
    let (_, laptop) = trusted(&t, email, &key, 1).await;
    let res = post_as(
        &t,
        &laptop,
        "/api/auth/two-factor/disable",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let laptop = laptop.renewed(&res);
    // On again (new secret): the other browser's old trust no longer skips the code.
    turn_on_totp(&t, &laptop, 0).await;
    let res = sign_in_with(&t, email, &trust).await;
    assert_eq!(res.json()["twoFactorRedirect"], true, "{}", res.text());
}

#[tokio::test]
async fn codes_at_rest_are_keyed_with_the_auth_secret() {
    let t = TestAuth::new(|_| {}).await;
    let (b, _, codes) = enabled(&t, "dump@example.org").await;
    let id = b.user["id"].as_str().unwrap();
    let dump = t.table_dump().await;
    for code in &codes {
        assert!(!dump.contains(code.as_str()));
        // A plain hash of what is public (the user id) and the code could be guessed
        // offline from a dump; a keyed one cannot.
        let plain = portal_domain::crypto::sha256_hex(format!("{id}:{code}").as_bytes());
        assert!(!dump.contains(&plain), "backup code stored as a plain hash");
    }
    // They still work, once.
    let pending = cookie_header(&t.sign_in("dump@example.org", PASSWORD).await);
    let res = with_cookie(
        &t,
        &pending,
        "/api/auth/two-factor/verify-backup-code",
        json!({"code": codes[3]}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
}
