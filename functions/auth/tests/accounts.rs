//! `/list-accounts` and `/account-info`, as Portal's security cards call them.

mod common;

use common::{TestAuth, h};
use portal_testkit::Sections;
use serde_json::{Value, json};

#[tokio::test]
async fn the_security_card_finds_the_credential_account() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("me@example.org").await;
    let res = t
        .send("GET", "/api/auth/list-accounts", &h(&b.headers()), None)
        .await;
    assert_eq!(res.status, 200);
    let accounts = res.json();
    let list = accounts
        .as_array()
        .expect("an array, as BetterAuth answers");
    assert_eq!(list.len(), 1);
    let credential = &list[0];
    assert_eq!(credential["providerId"], "credential");
    assert_eq!(credential["accountId"], b.user["id"]);
    assert_eq!(credential["userId"], b.user["id"]);
    assert_eq!(credential["scopes"], json!([]));
    for key in ["id", "createdAt", "updatedAt"] {
        assert!(credential[key].is_string(), "{key}");
    }
    let text = res.text();
    assert!(
        !text.contains("password") && !text.contains("Hash"),
        "{text}"
    );
    // Signed out: BetterAuth's 401.
    let res = t.send("GET", "/api/auth/list-accounts", &[], None).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn account_info_has_no_provider_to_ask_for_a_password() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("me@example.org").await;
    let id = t
        .send("GET", "/api/auth/list-accounts", &h(&b.headers()), None)
        .await
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ask = |query: String| {
        let headers = b.headers();
        let t = &t;
        async move {
            t.send(
                "GET",
                &format!("/api/auth/account-info{query}"),
                &h(&headers),
                None,
            )
            .await
        }
    };
    let res = ask(format!("?accountId={id}")).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "PROVIDER_NOT_CONFIGURED", "message": "Account is not associated with a configured social provider."})
    );
    let res = ask("?accountId=someone-elses".into()).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "ACCOUNT_NOT_FOUND", "message": "Account not found"})
    );
    let res = ask(String::new()).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    let res = t
        .send(
            "GET",
            &format!("/api/auth/account-info?accountId={id}"),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn change_email_answers_as_betterauth_does_when_it_is_off() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("me@example.org").await;
    let body = json!({"newEmail": "new@example.org", "callbackURL": "/settings"});
    let res = t
        .send(
            "POST",
            "/api/auth/change-email",
            &h(&b.headers()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "CHANGE_EMAIL_DISABLED", "message": "Change email is disabled"})
    );
    // A callback URL is checked as everywhere: resolved, then compared with the origins.
    let res = t
        .send(
            "POST",
            "/api/auth/change-email",
            &h(&b.headers()),
            Some(
                json!({"newEmail": "new@example.org", "callbackURL": "https:\\evil.example.com/x"}),
            ),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["code"], "INVALID_CALLBACK_URL");
    // The body is checked first, then the session.
    let res = t
        .send(
            "POST",
            "/api/auth/change-email",
            &h(&b.headers()),
            Some(json!({"newEmail": "nope"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    let res = t
        .send("POST", "/api/auth/change-email", &[], Some(body))
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["code"], "UNAUTHORIZED");
    let me = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await
        .json();
    assert_eq!(me["user"]["email"], "me@example.org");
}

fn last_login_cookie(res: &portal_testkit::TestResponse) -> Option<String> {
    common::set_cookies(res)
        .into_iter()
        .find(|c| c.starts_with("better-auth.last_used_login_method="))
}

#[tokio::test]
async fn the_sign_in_page_reads_the_last_used_login_method() {
    let t = TestAuth::new(|_| {}).await;
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "Me", "email": "me@example.org", "password": common::PASSWORD, "username": "mee"}),
        )
        .await;
    assert_eq!(res.status, 200);
    let cookie = last_login_cookie(&res).expect("set on sign-up");
    assert!(
        cookie.starts_with("better-auth.last_used_login_method=email;"),
        "{cookie}"
    );
    assert!(
        cookie.contains("Max-Age=2592000") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("HttpOnly"),
        "the page's scripts read it: {cookie}"
    );
    let res = t.sign_in("me@example.org", common::PASSWORD).await;
    assert_eq!(last_login_cookie(&res).as_deref(), Some(cookie.as_str()));
    // No session started, or a way the plugin does not name: no cookie.
    let res = t.sign_in("me@example.org", "wrong-password").await;
    assert_eq!(res.status, 401);
    assert_eq!(last_login_cookie(&res), None);
    let res = t
        .post(
            "/api/auth/sign-in/username",
            json!({"username": "mee", "password": common::PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(last_login_cookie(&res), None);
}

#[tokio::test]
async fn over_https_the_last_used_login_method_is_secure() {
    let t = TestAuth::new(|c| {
        c.auth_mut().base_url = url::Url::parse("https://portal.example.org").unwrap();
    })
    .await;
    let res = t
        .send_raw(
            "POST",
            "/api/auth/sign-up/email",
            &[("origin", "https://portal.example.org")],
            Some((
                "application/json",
                json!({"name": "Me", "email": "me@example.org", "password": common::PASSWORD})
                    .to_string(),
            )),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let cookie = last_login_cookie(&res).expect("set");
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_one_time_token_carries_the_session_elsewhere_once() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("me@example.org").await;
    let res = t
        .send(
            "GET",
            "/api/auth/one-time-token/generate",
            &h(&b.headers()),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    let token = res.json()["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32);
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
    // Never stored as given.
    assert!(!t.table_dump().await.contains(&token), "stored hashed");
    // Another place (no cookies of its own) trades it for the same session.
    let res = t
        .post("/api/auth/one-time-token/verify", json!({"token": token}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["session"]["token"], b.token.as_str());
    assert_eq!(body["user"]["email"], "me@example.org");
    let cookies = common::set_cookies(&res);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(&format!("better-auth.session_token={}.", b.token))),
        "{cookies:?}"
    );
    // Once only.
    let res = t
        .post("/api/auth/one-time-token/verify", json!({"token": token}))
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), json!({"message": "Invalid token"}));
    for body in [json!({"token": "x".repeat(32)}), json!({"token": ""})] {
        let res = t
            .post("/api/auth/one-time-token/verify", body.clone())
            .await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(res.json(), json!({"message": "Invalid token"}), "{body}");
    }
    let res = t.post("/api/auth/one-time-token/verify", json!({})).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    let res = t
        .send("GET", "/api/auth/one-time-token/generate", &[], None)
        .await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn a_one_time_token_never_revives_a_revoked_session() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("me@example.org").await;
    let token = t
        .send(
            "GET",
            "/api/auth/one-time-token/generate",
            &h(&b.headers()),
            None,
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Signed out everywhere meanwhile: the token names a revoked session.
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-sessions",
            &h(&b.headers()),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 200);
    let res = t
        .post("/api/auth/one-time-token/verify", json!({"token": token}))
        .await;
    assert_eq!(res.status, 400);
    assert!(
        common::set_cookies(&res)
            .iter()
            .all(|c| !c.contains("session_token="))
    );
    // Revoking every session deletes them: the token's session is gone.
    assert_eq!(res.json(), json!({"message": "Session not found"}));
}

#[tokio::test]
async fn update_session_has_no_field_portal_lets_be_set() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("me@example.org").await;
    let send = |body: Value, signed_in: bool| {
        let headers = if signed_in { b.headers() } else { Vec::new() };
        let t = &t;
        async move {
            t.send("POST", "/api/auth/update-session", &h(&headers), Some(body))
                .await
        }
    };
    let res = send(json!({"theme": "dark"}), true).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), json!({"message": "No fields to update"}));
    let res = send(json!({"impersonatedBy": "someone"}), true).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "FIELD_NOT_ALLOWED", "message": "impersonatedBy is not allowed to be set"})
    );
    let res = send(json!([1]), true).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    let res = send(json!({"theme": "dark"}), false).await;
    assert_eq!(res.status, 401);
}

/// The smallest PNG: 1×1, one grey pixel (what Portal's avatar card sends, only smaller).
const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==";

#[tokio::test]
async fn the_avatar_card_uploads_a_picture_that_is_served_by_url() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("painter@example.org").await;
    let headers = b.headers();
    let update = |image: Value| {
        let t = &t;
        let headers = h(&headers);
        async move {
            t.send(
                "POST",
                "/api/auth/update-user",
                &headers,
                Some(json!({"image": image})),
            )
            .await
        }
    };
    let res = update(json!(format!("data:image/png;base64,{PNG_1X1}"))).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let session = t
        .send("GET", "/api/auth/get-session", &h(&headers), None)
        .await
        .json();
    let image = session["user"]["image"].as_str().unwrap().to_string();
    let id = b.user["id"].as_str().unwrap();
    let path = image
        .strip_prefix("http://localhost:3000")
        .expect("an absolute URL on the base URL");
    assert!(
        path.starts_with(&format!("/api/auth/avatar/{id}?v=")),
        "{image}"
    );
    assert!(
        !session.to_string().contains("base64"),
        "the session stays small"
    );

    // Anyone's browser loads it as the image it is.
    let res = t.send("GET", path, &[], None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("image/png"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    let png = data_encoding::BASE64.decode(PNG_1X1.as_bytes()).unwrap();
    assert_eq!(res.body.as_ref(), png.as_slice());

    // What is not a whole PNG, JPEG or WebP is refused, and nothing changes.
    for (image, message) in [
        (
            format!("data:image/gif;base64,{PNG_1X1}"),
            "Only PNG, JPEG or WebP pictures as data:image/...;base64 URLs",
        ),
        (
            format!("data:image/jpeg;base64,{PNG_1X1}"),
            "The picture could not be read",
        ),
        (
            "data:image/png;base64,not base64!".to_string(),
            "The picture could not be read",
        ),
        (
            format!("data:image/png;base64,{}", "A".repeat(400_000)),
            "The picture is larger than 256 KB",
        ),
    ] {
        let res = update(json!(image)).await;
        assert_eq!(res.status, 400);
        assert_eq!(
            res.json(),
            json!({"code": "VALIDATION_ERROR", "message": format!("[body.image] {message}")})
        );
    }
    assert_eq!(t.send("GET", path, &[], None).await.status, 200);

    // Another picture by URL: the stored one goes.
    let res = update(json!("https://images.example.org/me.png")).await;
    assert_eq!(res.status, 200);
    let res = t.send("GET", path, &[], None).await;
    assert_eq!(res.status, 404);
}
