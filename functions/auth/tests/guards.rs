//! The shared guards, bans, origin checks, rate limits, and what unknown paths answer.

mod common;

use common::{PASSWORD, TestAuth, h, set_cookies};
use portal_testkit::Sections;
use serde_json::{Value, json};

#[tokio::test]
async fn guards_answer_with_the_contract_envelopes() {
    let t = TestAuth::new(|_| {}).await;
    let res = t.send("GET", "/api/test/whoami", &[], None).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json(), json!({"ok": false, "error": "Unauthorized"}));
    let me = t.sign_up("plain@example.org").await;
    let owned = me.headers();
    let headers = h(&owned);
    assert_eq!(
        t.send("GET", "/api/test/whoami", &headers, None)
            .await
            .json()["role"],
        "user"
    );
    let res = t.send("GET", "/api/test/admin", &headers, None).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Forbidden - Admin access required"})
    );
    let res = t.send("GET", "/api/test/staff", &headers, None).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Forbidden - Admin or Staff access required"})
    );

    let id = me.user["id"].as_str().unwrap();
    t.state
        .db
        .users()
        .update(id, "2026-01-01T00:00:00.000Z", |u| {
            u.role = portal_domain::model::Role::Staff
        })
        .await
        .unwrap();
    assert_eq!(
        t.send("GET", "/api/test/staff", &headers, None)
            .await
            .status,
        200,
        "the role is read on every request"
    );
    assert_eq!(
        t.send("GET", "/api/test/admin", &headers, None)
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn the_bootstrapped_admin_passes_every_guard() {
    let t = TestAuth::new(|_| {}).await;
    let ensure = |email: &'static str, password: &'static str| {
        let db = t.state.db.clone();
        async move {
            portal_services::moderation::ensure_admin(
                &db,
                &portal_domain::store::audit::Provenance::operator(365),
                email,
                password,
                portal_domain::time::now(),
            )
            .await
            .unwrap()
        }
    };
    let admin = ensure("Root@Example.org", "admin-password-1").await;
    let again = ensure("root@example.org", "admin-password-2").await;
    assert_eq!(admin.user.id, again.user.id, "idempotent");
    assert!(!admin.took_over && again.took_over);
    assert_eq!(
        t.sign_in("root@example.org", "admin-password-1")
            .await
            .status,
        401,
        "password updated"
    );
    let b =
        common::Browser::from_response(&t.sign_in("root@example.org", "admin-password-2").await);
    let owned = b.headers();
    for path in ["/api/test/whoami", "/api/test/admin", "/api/test/staff"] {
        assert_eq!(
            t.send("GET", path, &h(&owned), None).await.status,
            200,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_banned_users_sessions_and_keys_stop_working() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("ban@example.org").await;
    let key = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&me.headers()),
            Some(json!({})),
        )
        .await
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let id = me.user["id"].as_str().unwrap();
    t.state
        .db
        .users()
        .update(id, "2026-01-01T00:00:00.000Z", |u| u.banned = true)
        .await
        .unwrap();
    assert_eq!(
        t.send("GET", "/api/test/whoami", &h(&me.headers()), None)
            .await
            .status,
        401
    );
    assert_eq!(
        t.send("GET", "/api/test/whoami", &[("x-api-key", &key)], None)
            .await
            .status,
        401
    );
    assert_eq!(
        t.send("GET", "/api/auth/get-session", &h(&me.headers()), None)
            .await
            .json(),
        Value::Null
    );
}

#[tokio::test]
async fn cookie_carrying_posts_need_a_trusted_origin() {
    let t =
        TestAuth::new(|c| c.auth_mut().trusted_origins = vec!["https://*.atl.dev".into()]).await;
    let me = t.sign_up("csrf@example.org").await;
    let cookie = me.cookie.as_str();
    let body = Some(json!({}));
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-sessions",
            &[("cookie", cookie)],
            body.clone(),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({"code": "MISSING_OR_NULL_ORIGIN", "message": "Missing or null Origin"})
    );
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-sessions",
            &[("cookie", cookie), ("origin", "https://evil.org")],
            body.clone(),
        )
        .await;
    assert_eq!(
        res.json(),
        json!({"code": "INVALID_ORIGIN", "message": "Invalid origin"})
    );
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-sessions",
            &[("cookie", cookie), ("origin", "null")],
            body.clone(),
        )
        .await;
    assert_eq!(res.json()["code"], "MISSING_OR_NULL_ORIGIN");
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-other-sessions",
            &[
                ("cookie", cookie),
                ("referer", "https://portal.atl.dev/settings"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(res.status, 200, "a trusted Referer stands in for Origin");
    assert!(
        t.send("GET", "/api/auth/get-session", &[("cookie", cookie)], None)
            .await
            .json()
            .is_object(),
        "the rejected calls changed nothing"
    );
}

#[tokio::test]
async fn browser_sign_ins_need_an_origin_and_cross_site_navigation_is_blocked() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("fetch@example.org").await;
    let body = Some(json!({"email": "fetch@example.org", "password": PASSWORD}));
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/email",
            &[("sec-fetch-mode", "cors")],
            body.clone(),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["code"], "MISSING_OR_NULL_ORIGIN");
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/email",
            &[
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "navigate"),
                ("origin", "http://localhost:3000"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["code"], "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED");
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/email",
            &[
                ("sec-fetch-mode", "cors"),
                ("origin", "http://localhost:3000"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        t.send("POST", "/api/auth/sign-in/email", &[], body)
            .await
            .status,
        200,
        "no fetch metadata, no cookie: allowed (curl)"
    );
}

#[tokio::test]
async fn sign_in_is_limited_to_three_per_ten_seconds_per_address() {
    let t = TestAuth::new(|c| c.rate_limits.enabled = true).await;
    let body = json!({"email": "nobody@example.org", "password": PASSWORD});
    for i in 0..3 {
        let res = t
            .send_from(
                "198.51.100.1",
                "POST",
                "/api/auth/sign-in/email",
                body.clone(),
            )
            .await;
        assert_eq!(res.status, 401, "attempt {i}");
        assert_eq!(res.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(
            res.header("x-ratelimit-remaining"),
            Some(["2", "1", "0"][i])
        );
        assert!(
            res.header("x-ratelimit-reset")
                .unwrap()
                .parse::<i64>()
                .unwrap()
                > 1_700_000_000
        );
    }
    let res = t
        .send_from(
            "198.51.100.1",
            "POST",
            "/api/auth/sign-in/email",
            body.clone(),
        )
        .await;
    assert_eq!(res.status, 429);
    assert_eq!(res.header("content-type"), Some("text/plain;charset=UTF-8"));
    assert_eq!(
        std::str::from_utf8(&res.body).unwrap(),
        r#"{"message":"Too many requests. Please try again later."}"#
    );
    let retry: u64 = res.header("x-retry-after").unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    assert_eq!(
        res.header("retry-after").unwrap(),
        res.header("x-retry-after").unwrap()
    );
    assert_eq!(res.header("x-ratelimit-remaining"), Some("0"));
}

/// Sign-in and sign-up count the caller's address in the handler, beside their first reads;
/// a request the handler refuses before counting (a bad body) is counted after it, so every
/// attempt costs the address its allowance, and once over, nothing else happens.
#[tokio::test]
async fn every_sign_in_attempt_costs_the_address_and_over_the_limit_nothing_happens() {
    let t = TestAuth::new(|c| c.rate_limits.enabled = true).await;
    t.sign_up("ada@example.org").await;
    let ip = "198.51.100.9";
    let bad_bodies = [
        json!({"email": "not-an-email", "password": PASSWORD}),
        json!({"email": "ada@example.org"}),
        json!({"email": 7, "password": PASSWORD}),
    ];
    for (i, body) in bad_bodies.into_iter().enumerate() {
        let res = t
            .send_from(ip, "POST", "/api/auth/sign-in/email", body)
            .await;
        assert_eq!(res.status, 400, "bad body {i}");
        assert_eq!(
            res.header("x-ratelimit-remaining"),
            Some(["2", "1", "0"][i]),
            "bad body {i} is counted against the address"
        );
    }
    // Over the limit, even the right password gets no session...
    let res = t
        .send_from(
            ip,
            "POST",
            "/api/auth/sign-in/email",
            json!({"email": "ada@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 429);
    assert!(set_cookies(&res).is_empty(), "no session cookie");
    // ... a bad body gets the 429 too, not its 400 ...
    let res = t
        .send_from(ip, "POST", "/api/auth/sign-in/email", json!({}))
        .await;
    assert_eq!(res.status, 429);
    // ... and sign-up (counted per address on its own route) likewise: three bad bodies,
    // then a good one creates nobody.
    for i in 0..3 {
        let res = t
            .send_from(ip, "POST", "/api/auth/sign-up/email", json!({"name": "Bo"}))
            .await;
        assert_eq!(res.status, 400, "bad sign-up {i}");
    }
    let res = t
        .send_from(
            ip,
            "POST",
            "/api/auth/sign-up/email",
            json!({"name": "Bo", "email": "bo@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 429);
    assert!(
        t.state
            .db
            .users()
            .find_by_email("bo@example.org")
            .await
            .unwrap()
            .is_none(),
        "refused sign-ups write nothing"
    );
    assert!(
        t.state
            .db
            .sessions()
            .list_for_user(
                &t.state
                    .db
                    .users()
                    .find_by_email("ada@example.org")
                    .await
                    .unwrap()
                    .unwrap()
                    .0
                    .id
            )
            .await
            .unwrap()
            .len()
            == 1,
        "Ada has only the session of her sign-up"
    );
    // Another address is unaffected.
    let res = t
        .send_from(
            "198.51.100.10",
            "POST",
            "/api/auth/sign-in/email",
            json!({"email": "ada@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn the_target_email_is_limited_across_addresses() {
    let t = TestAuth::new(|c| c.rate_limits.enabled = true).await;
    let body = json!({"email": "victim@example.org", "password": "guess-password"});
    for i in 0..3 {
        let res = t
            .send_from(
                &format!("203.0.113.{i}"),
                "POST",
                "/api/auth/sign-in/email",
                body.clone(),
            )
            .await;
        assert_eq!(res.status, 401);
    }
    let res = t
        .send_from("203.0.113.99", "POST", "/api/auth/sign-in/email", body)
        .await;
    assert_eq!(
        res.status, 429,
        "a fourth address gets no more guesses at the same account"
    );
    let other = t
        .send_from(
            "203.0.113.99",
            "POST",
            "/api/auth/sign-in/email",
            json!({"email": "someone@example.org", "password": "x-password"}),
        )
        .await;
    assert_eq!(other.status, 401, "other accounts are unaffected");
}

#[tokio::test]
async fn reset_mail_is_limited_to_three_per_minute() {
    let t = TestAuth::new(|c| c.rate_limits.enabled = true).await;
    for _ in 0..3 {
        let res = t
            .send_from(
                "192.0.2.5",
                "POST",
                "/api/auth/request-password-reset",
                json!({"email": "a@example.org"}),
            )
            .await;
        assert_eq!(res.status, 200);
    }
    let res = t
        .send_from(
            "192.0.2.5",
            "POST",
            "/api/auth/request-password-reset",
            json!({"email": "a@example.org"}),
        )
        .await;
    assert_eq!(res.status, 429);
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((50..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn unknown_auth_paths_and_wrong_methods_are_empty_404s() {
    let t = TestAuth::new(|_| {}).await;
    for (method, path) in [
        ("GET", "/api/auth/nope"),
        ("GET", "/api/auth/sign-in/email"),
        ("DELETE", "/api/auth/get-session"),
        ("GET", "/api/auth/ok/"),
    ] {
        let res = t.send(method, path, &[], None).await;
        assert_eq!(res.status, 404, "{method} {path}");
        assert!(res.body.is_empty(), "{method} {path}: {:?}", res.body);
    }
    let ok = t.send("GET", "/api/auth/ok", &[], None).await;
    assert_eq!(ok.json(), json!({"ok": true}));
    let page = t
        .send("GET", "/api/auth/error?error=INVALID_TOKEN", &[], None)
        .await;
    assert!(
        std::str::from_utf8(&page.body)
            .unwrap()
            .contains("INVALID_TOKEN")
    );
}

#[tokio::test]
async fn reset_tokens_are_stored_only_as_hashes() {
    let t = TestAuth::new(|_| {}).await;
    t.sign_up("hash@example.org").await;
    t.post(
        "/api/auth/request-password-reset",
        json!({"email": "hash@example.org"}),
    )
    .await;
    let url = t.mails().last().unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let token = url
        .split("/reset-password/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    assert_eq!(token.len(), 24);
    assert!(!t.table_dump().await.contains(token));
}
