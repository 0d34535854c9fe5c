//! BetterAuth's username plugin as Portal configures it: sign-up and update with a
//! username, sign-in by username, availability, and the claim that keeps usernames unique.

mod common;

use common::{Browser, PASSWORD, TestAuth, h};
use portal_testkit::Sections;
use portal_testkit::TestResponse;
use serde_json::{Value, json};

fn sign_up_body(email: &str, username: &str) -> Value {
    json!({"name": "N", "email": email, "password": PASSWORD, "username": username})
}

async fn sign_up_with(t: &TestAuth, email: &str, username: &str) -> Browser {
    let res = t
        .post("/api/auth/sign-up/email", sign_up_body(email, username))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    Browser::from_response(&res)
}

fn assert_code(res: &TestResponse, status: u16, code: &str, message: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    assert_eq!(res.json(), json!({"code": code, "message": message}));
}

#[tokio::test]
async fn sign_up_stores_the_username_lower_cased_and_shows_it_everywhere() {
    let t = TestAuth::new(|_| {}).await;
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "Ada", "email": "ada@example.org", "password": PASSWORD,
                   "username": "Ada_Lovelace"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["user"]["username"], "ada_lovelace");
    assert_eq!(res.json()["user"]["displayUsername"], "Ada_Lovelace");
    let b = Browser::from_response(&res);
    let session = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(session.json()["user"]["username"], "ada_lovelace");
    assert_eq!(session.json()["user"]["displayUsername"], "Ada_Lovelace");
    // A display name alone is the username when it is a valid one.
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "G", "email": "g@example.org", "password": PASSWORD,
                   "displayUsername": "Grace"}),
        )
        .await;
    assert_eq!(res.json()["user"]["username"], "grace");
    assert_eq!(res.json()["user"]["displayUsername"], "Grace");
    // Without one, both are null.
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "N", "email": "n@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.json()["user"]["username"], Value::Null);
}

#[tokio::test]
async fn bad_and_taken_usernames_are_refused_at_sign_up_and_write_nothing() {
    let t = TestAuth::new(|_| {}).await;
    sign_up_with(&t, "first@example.org", "taken").await;
    let users_before = t.count_items("EMAIL#").await;
    let cases = [
        (json!("ab"), "USERNAME_TOO_SHORT", "Username is too short"),
        (
            json!("a".repeat(31)),
            "USERNAME_TOO_LONG",
            "Username is too long",
        ),
        (json!("1abc"), "INVALID_USERNAME", "Username is invalid"),
        (
            json!("ada lovelace"),
            "INVALID_USERNAME",
            "Username is invalid",
        ),
        (json!("adä"), "INVALID_USERNAME", "Username is invalid"),
        (
            json!("TAKEN"),
            "USERNAME_IS_ALREADY_TAKEN",
            "Username is already taken. Please try another.",
        ),
    ];
    for (username, code, message) in cases {
        let res = t
            .post(
                "/api/auth/sign-up/email",
                json!({"name": "N", "email": "second@example.org", "password": PASSWORD,
                       "username": username}),
            )
            .await;
        assert_code(&res, 400, code, message);
    }
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "N", "email": "second@example.org", "password": PASSWORD,
                   "username": "second", "displayUsername": "someone_else"}),
        )
        .await;
    assert_code(
        &res,
        400,
        "INVALID_DISPLAY_USERNAME",
        "Display username is invalid",
    );
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "N", "email": "second@example.org", "password": PASSWORD,
                   "username": 42}),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    assert_eq!(
        t.count_items("EMAIL#").await,
        users_before,
        "nobody created"
    );
    assert_eq!(t.count_items("USERNAME#").await, 1);
}

#[tokio::test]
async fn a_required_username_must_be_given_at_sign_up() {
    let t = TestAuth::new(|c| c.auth_mut().require_username = true).await;
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "N", "email": "n@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    assert_eq!(
        res.json()["message"],
        "[body.username] Invalid input: expected string, received undefined"
    );
    assert_eq!(t.count_items("EMAIL#").await, 0);
    sign_up_with(&t, "n@example.org", "nora").await;
}

#[tokio::test]
async fn twenty_racing_sign_ups_for_one_username_make_exactly_one_user() {
    let t = TestAuth::new(|_| {}).await;
    let attempts = (0..20).map(|i| {
        let username = if i % 2 == 0 { "racer" } else { "Racer" };
        t.post(
            "/api/auth/sign-up/email",
            sign_up_body(&format!("racer{i}@example.org"), username),
        )
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 1);
    for res in results.iter().filter(|r| r.status != 200) {
        assert_code(
            res,
            400,
            "USERNAME_IS_ALREADY_TAKEN",
            "Username is already taken. Please try another.",
        );
    }
    assert_eq!(t.count_items("USERNAME#").await, 1, "one claim");
    assert_eq!(t.count_items("EMAIL#").await, 1, "one user, no orphans");
    assert_eq!(t.count_items("SESSION#").await, 1);
}

#[tokio::test]
async fn sign_in_by_username_starts_a_session_and_refuses_alike_for_unknown_and_wrong() {
    let t = TestAuth::new(|_| {}).await;
    sign_up_with(&t, "lin@example.org", "Linus").await;
    let res = t
        .post(
            "/api/auth/sign-in/username",
            json!({"username": "LINUS", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["redirect"], false);
    assert_eq!(body["user"]["email"], "lin@example.org");
    let b = Browser::from_response(&res);
    let me = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(me.json()["user"]["username"], "linus");

    for (username, password) in [
        ("linus", "wrong-password"),
        ("nobody", PASSWORD),
        ("", PASSWORD),
    ] {
        let res = t
            .post(
                "/api/auth/sign-in/username",
                json!({"username": username, "password": password}),
            )
            .await;
        assert_code(
            &res,
            401,
            "INVALID_USERNAME_OR_PASSWORD",
            "Invalid username or password",
        );
    }
    for (username, code, message) in [
        ("li", "USERNAME_TOO_SHORT", "Username is too short"),
        (
            "l234567890123456789012345678901",
            "USERNAME_TOO_LONG",
            "Username is too long",
        ),
        ("lin.us", "INVALID_USERNAME", "Username is invalid"),
    ] {
        let res = t
            .post(
                "/api/auth/sign-in/username",
                json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_code(&res, 422, code, message);
    }
    let res = t
        .post("/api/auth/sign-in/username", json!({"username": "linus"}))
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn sign_in_by_username_is_rate_limited_per_username() {
    let t = TestAuth::new(|c| c.rate_limits.enabled = true).await;
    sign_up_with(&t, "lim@example.org", "limited").await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let res = t
            .send_from(
                &format!("203.0.113.{i}"),
                "POST",
                "/api/auth/sign-in/username",
                json!({"username": "limited", "password": "wrong-password"}),
            )
            .await;
        statuses.push(res.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429], "3 per 10 s per username");
}

#[tokio::test]
async fn is_username_available_answers_and_checks_the_rule() {
    let t = TestAuth::new(|_| {}).await;
    sign_up_with(&t, "a@example.org", "someone").await;
    let ask = |username: &str| {
        t.post(
            "/api/auth/is-username-available",
            json!({ "username": username }),
        )
    };
    assert_eq!(ask("SomeOne").await.json(), json!({"available": false}));
    assert_eq!(ask("nobody").await.json(), json!({"available": true}));
    assert_code(
        &ask("").await,
        422,
        "INVALID_USERNAME",
        "Username is invalid",
    );
    assert_code(
        &ask("ab").await,
        422,
        "USERNAME_TOO_SHORT",
        "Username is too short",
    );
    assert_code(
        &ask("a b c").await,
        422,
        "INVALID_USERNAME",
        "Username is invalid",
    );
}

#[tokio::test]
async fn a_username_is_chosen_once_and_then_locked() {
    let t = TestAuth::new(|_| {}).await;
    sign_up_with(&t, "other@example.org", "occupied").await;
    let res = t
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "N", "email": "late@example.org", "password": PASSWORD}),
        )
        .await;
    let b = Browser::from_response(&res);
    let t = &t;
    let headers = b.headers();
    let update = |body: Value| {
        let headers = &headers;
        async move {
            t.send("POST", "/api/auth/update-user", &h(headers), Some(body))
                .await
        }
    };
    assert_code(
        &update(json!({"username": "Occupied"})).await,
        400,
        "USERNAME_IS_ALREADY_TAKEN",
        "Username is already taken. Please try another.",
    );
    let res = update(json!({"username": "Chosen"})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"status": true}));
    let me = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(me.json()["user"]["username"], "chosen");
    assert_eq!(me.json()["user"]["displayUsername"], "Chosen");
    assert_code(
        &update(json!({"username": "another"})).await,
        400,
        "USERNAME_IS_IMMUTABLE",
        "Username cannot be updated",
    );
    // The same username, spelled differently, only changes its display.
    let res = update(json!({"username": "CHOSEN"})).await;
    assert_eq!(res.status, 200);
    let me = t
        .send("GET", "/api/auth/get-session", &h(&b.headers()), None)
        .await;
    assert_eq!(me.json()["user"]["displayUsername"], "CHOSEN");
    let res = update(json!({"displayUsername": "cHoSeN"})).await;
    assert_eq!(res.status, 200);
    assert_code(
        &update(json!({"displayUsername": "Impostor"})).await,
        400,
        "INVALID_DISPLAY_USERNAME",
        "Display username is invalid",
    );
    assert_eq!(t.count_items("USERNAME#").await, 2);
}

#[tokio::test]
async fn two_users_racing_for_one_username_on_update_leave_one_owner() {
    let t = TestAuth::new(|_| {}).await;
    let mut browsers = Vec::new();
    for i in 0..6 {
        let res = t
            .post(
                "/api/auth/sign-up/email",
                json!({"name": "N", "email": format!("u{i}@example.org"), "password": PASSWORD}),
            )
            .await;
        browsers.push(Browser::from_response(&res));
    }
    let attempts = browsers.iter().map(|b| {
        let headers = b.headers();
        let t = &t;
        async move {
            t.send(
                "POST",
                "/api/auth/update-user",
                &h(&headers),
                Some(json!({"username": "prize"})),
            )
            .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 1);
    for res in results.iter().filter(|r| r.status != 200) {
        assert_eq!(res.json()["code"], "USERNAME_IS_ALREADY_TAKEN");
    }
    assert_eq!(t.count_items("USERNAME#").await, 1);
}
