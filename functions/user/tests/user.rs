//! `/api/user/*`: a signed-in user reads and edits their profile and manages their sessions.

use portal_domain::model::Role;
use portal_testkit::{
    Person, TestApp, TestResponse, call, envelope, person, session_for, test_state,
};
use portal_web::AppState;
use serde_json::{Value, json};

async fn app() -> (AppState, TestApp) {
    let state = test_state(|c| c.rate_limits.enabled = false).await;
    let app = TestApp::new(state.clone(), portal_user::router(state.clone()));
    (state, app)
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    who: Option<&Person>,
    body: Option<Value>,
) -> TestResponse {
    app.send(method, path, who, body).await
}

#[tokio::test]
async fn me_shows_the_documented_profile() {
    let (state, app) = app().await;
    let ada = person(&state, "ada@example.org", Role::Staff).await;
    let res = send(&app, "GET", "/api/user/me", Some(&ada), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"user": {
            "id": ada.user.id, "name": "ada", "email": "ada@example.org", "image": null,
            "username": null, "displayUsername": null,
            "role": "staff", "emailVerified": true, "twoFactorEnabled": false,
            "createdAt": ada.user.created_at,
        }})
    );
    state
        .db
        .users()
        .update(&ada.user.id, "2026-01-01T00:00:00.000Z", |u| {
            u.username = Some("ada_l".into());
            u.display_username = Some("Ada_L".into());
        })
        .await
        .unwrap();
    let res = send(&app, "GET", "/api/user/me", Some(&ada), None).await;
    assert_eq!(res.json()["user"]["username"], "ada_l");
    assert_eq!(res.json()["user"]["displayUsername"], "Ada_L");
    let res = send(&app, "GET", "/api/user/me", None, None).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json(), envelope("Unauthorized"));
}

#[tokio::test]
async fn me_works_with_an_api_key_too() {
    let (state, app) = app().await;
    let ada = person(&state, "key@example.org", Role::User).await;
    let (raw, _) = portal_testkit::api_key_for(&state, &ada.user, "script").await;
    let request = axum::http::Request::builder()
        .uri("/api/user/me")
        .header("authorization", format!("Bearer {raw}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let res = call(&app.app, request).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["user"]["email"], "key@example.org");
}

#[tokio::test]
async fn patch_me_trims_the_name_and_sets_or_clears_the_image() {
    let (state, app) = app().await;
    let ada = person(&state, "patch@example.org", Role::User).await;
    let res = send(&app, "PATCH", "/api/user/me", Some(&ada), Some(json!({"name": "  Ada L.  ", "image": "https://img.example.org/a.png", "role": "admin", "email": "x@y.z"}))).await;
    assert_eq!(res.status, 200);
    let user = &res.json()["user"];
    assert_eq!(user["name"], "Ada L.");
    assert_eq!(user["image"], "https://img.example.org/a.png");
    assert_eq!(
        user["role"], "user",
        "unknown and forbidden fields are ignored"
    );
    assert_eq!(user["email"], "patch@example.org");
    let res = send(
        &app,
        "PATCH",
        "/api/user/me",
        Some(&ada),
        Some(json!({"image": null})),
    )
    .await;
    assert_eq!(res.json()["user"]["image"], Value::Null);
    assert_eq!(
        res.json()["user"]["name"],
        "Ada L.",
        "absent fields are kept"
    );
    let stored = state.db.users().get(&ada.user.id).await.unwrap().unwrap();
    assert_eq!(stored.image, None);
}

#[tokio::test]
async fn patch_me_refuses_bad_fields_with_the_validation_envelope() {
    let (state, app) = app().await;
    let ada = person(&state, "bad@example.org", Role::User).await;
    let res = send(
        &app,
        "PATCH",
        "/api/user/me",
        Some(&ada),
        Some(json!({"name": "   "})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Validation error: Name must contain at least 1 character(s) at \"name\"",
            "details": {"issues": [{"code": "too_small", "minimum": 1, "type": "string", "inclusive": true, "exact": false,
                "message": "String must contain at least 1 character(s)", "path": ["name"]}],
                "flattened": {"formErrors": [], "fieldErrors": {"name": ["String must contain at least 1 character(s)"]}}}})
    );
    let res = send(
        &app,
        "PATCH",
        "/api/user/me",
        Some(&ada),
        Some(json!({"name": "n".repeat(101)})),
    )
    .await;
    assert_eq!(res.json()["details"]["issues"][0]["code"], "too_big");
    assert_eq!(res.json()["details"]["issues"][0]["maximum"], 100);
    for image in [
        "ftp://example.org/a.png",
        "not a url",
        "javascript:alert(1)",
    ] {
        let res = send(
            &app,
            "PATCH",
            "/api/user/me",
            Some(&ada),
            Some(json!({"image": image})),
        )
        .await;
        assert_eq!(res.status, 400, "{image}");
        assert_eq!(
            res.json()["error"],
            "Validation error: Invalid url at \"image\""
        );
    }
    let long = format!("https://example.org/{}", "a".repeat(2048));
    let res = send(
        &app,
        "PATCH",
        "/api/user/me",
        Some(&ada),
        Some(json!({"image": long})),
    )
    .await;
    assert_eq!(res.json()["details"]["issues"][0]["maximum"], 2048);
    let res = send(
        &app,
        "PATCH",
        "/api/user/me",
        Some(&ada),
        Some(json!({"name": 5})),
    )
    .await;
    assert_eq!(
        res.json()["error"],
        "Validation error: Expected string, received number at \"name\""
    );
    let raw = axum::http::Request::builder()
        .method("PATCH")
        .uri("/api/user/me")
        .header("cookie", &ada.cookie)
        .header("origin", portal_testkit::BROWSER_ORIGIN)
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{oops"))
        .unwrap();
    let res = call(&app.app, raw).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), envelope("Invalid JSON body"));
    let stored = state.db.users().get(&ada.user.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "bad", "nothing was written");
}

#[tokio::test]
async fn sessions_are_listed_newest_first_without_tokens_and_the_current_one_is_flagged() {
    let (state, app) = app().await;
    let ada = person(&state, "sess@example.org", Role::User).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (_, newer) = session_for(&state, &ada.user).await;
    let (_, expired) = session_for(&state, &ada.user).await;
    state
        .db
        .sessions()
        .extend(
            &expired,
            "2020-01-01T00:00:00.000Z",
            "2020-01-01T00:00:00.000Z",
        )
        .await
        .unwrap();
    let other = person(&state, "other@example.org", Role::User).await;

    let res = send(&app, "GET", "/api/user/sessions", Some(&ada), None).await;
    assert_eq!(res.status, 200);
    let sessions = res.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3);
    assert!(
        sessions
            .iter()
            .all(|s| s["userId"] == ada.user.id.as_str() && s.get("token").is_none())
    );
    assert!(
        !res.body
            .windows(ada.token.len())
            .any(|w| w == ada.token.as_bytes()),
        "never a token"
    );
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(
        current[0]["id"],
        portal_web::caller::token::session_id(&ada.token)
    );
    let ids: Vec<&str> = sessions
        .iter()
        .map(|s| s["createdAt"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first");
    assert!(
        !sessions
            .iter()
            .any(|s| s["userId"] == other.user.id.as_str())
    );

    let active = send(
        &app,
        "GET",
        "/api/user/sessions?active=true",
        Some(&ada),
        None,
    )
    .await
    .json();
    assert_eq!(active["sessions"].as_array().unwrap().len(), 2);
    let inactive = send(
        &app,
        "GET",
        "/api/user/sessions?active=false",
        Some(&ada),
        None,
    )
    .await
    .json();
    assert_eq!(inactive["sessions"][0]["id"], expired.id.as_str());
    let page = send(
        &app,
        "GET",
        "/api/user/sessions?limit=1&offset=1",
        Some(&ada),
        None,
    )
    .await
    .json();
    assert_eq!(page["sessions"].as_array().unwrap().len(), 1);
    let _ = newer;
}

#[tokio::test]
async fn session_queries_are_validated() {
    let (state, app) = app().await;
    let ada = person(&state, "q@example.org", Role::User).await;
    let cases = [
        (
            "limit=0",
            "Validation error: Limit must be greater than or equal to 1 at \"limit\"",
        ),
        (
            "limit=101",
            "Validation error: Limit must be less than or equal to 100 at \"limit\"",
        ),
        (
            "limit=ten",
            "Validation error: Expected number, received nan at \"limit\"",
        ),
        (
            "offset=-1",
            "Validation error: Offset must be greater than or equal to 0 at \"offset\"",
        ),
        (
            "active=yes",
            "Validation error: Invalid enum value. Expected 'true' | 'false', received 'yes' at \"active\"",
        ),
    ];
    for (query, message) in cases {
        let res = send(
            &app,
            "GET",
            &format!("/api/user/sessions?{query}"),
            Some(&ada),
            None,
        )
        .await;
        assert_eq!(res.status, 400, "{query}");
        assert_eq!(res.json()["error"], message, "{query}");
        assert!(res.json()["details"]["issues"].is_array());
    }
}

#[tokio::test]
async fn users_revoke_only_their_own_sessions() {
    let (state, app) = app().await;
    let ada = person(&state, "own@example.org", Role::User).await;
    let (other_token, other_session) = session_for(&state, &ada.user).await;
    let bob = person(&state, "bob@example.org", Role::User).await;
    let bobs = portal_web::caller::token::session_id(&bob.token);

    let res = send(
        &app,
        "DELETE",
        &format!("/api/user/sessions/{bobs}"),
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), envelope("Session not found"));
    assert!(
        state
            .db
            .sessions()
            .get(&portal_web::caller::token::session_id(&bob.token))
            .await
            .unwrap()
            .is_some(),
        "Bob's session survives"
    );

    let res = send(
        &app,
        "DELETE",
        &format!("/api/user/sessions/{}", other_session.id),
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"ok": true}));
    assert!(
        state
            .db
            .sessions()
            .get(&portal_web::caller::token::session_id(&other_token))
            .await
            .unwrap()
            .is_none(),
        "gone at once"
    );

    let res = send(
        &app,
        "DELETE",
        &format!("/api/user/sessions/{}", "x".repeat(129)),
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), envelope("Invalid id format"));
    let res = send(
        &app,
        "DELETE",
        &format!("/api/user/sessions/{}", other_session.id),
        None,
        None,
    )
    .await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn each_user_has_their_own_rate_limit() {
    let state =
        test_state(|c| c.rate_limits.per_user = portal_domain::config::Rule::new(2, 60)).await;
    let app = TestApp::new(state.clone(), portal_user::router(state.clone()));
    let ada = person(&state, "limit@example.org", Role::User).await;
    let bob = person(&state, "limit2@example.org", Role::User).await;
    for remaining in ["1", "0"] {
        let res = send(&app, "GET", "/api/user/me", Some(&ada), None).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("x-ratelimit-limit"), Some("2"));
        assert_eq!(res.header("x-ratelimit-remaining"), Some(remaining));
    }
    let res = send(&app, "GET", "/api/user/me", Some(&ada), None).await;
    assert_eq!(res.status, 429);
    assert_eq!(res.json(), envelope("Too many requests"));
    assert!(res.header("retry-after").is_some());
    assert_eq!(res.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(
        send(&app, "GET", "/api/user/me", Some(&bob), None)
            .await
            .status,
        200,
        "Bob is not limited by Ada"
    );
}

#[tokio::test]
async fn cookie_requests_that_change_state_must_come_from_a_trusted_origin() {
    let (state, app) = app().await;
    let ada = person(&state, "ada@example.org", Role::User).await;
    let (_, other) = session_for(&state, &ada.user).await;
    let json_type = ("content-type", "application/json");
    let patch = Some(r#"{"name":"Changed"}"#);
    let cookie = ("cookie", ada.cookie.as_str());
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "PATCH",
            "/api/user/me".into(),
            vec![cookie, json_type],
            "Forbidden - missing or null Origin",
        ),
        (
            "PATCH",
            "/api/user/me".into(),
            vec![cookie, json_type, ("origin", "null")],
            "Forbidden - missing or null Origin",
        ),
        (
            "PATCH",
            "/api/user/me".into(),
            vec![cookie, json_type, ("origin", "https://evil.example")],
            "Forbidden - invalid origin",
        ),
        (
            "PATCH",
            "/api/user/me".into(),
            vec![
                cookie,
                json_type,
                ("origin", "http://localhost:3000.evil.example"),
            ],
            "Forbidden - invalid origin",
        ),
        (
            "PATCH",
            "/api/user/me".into(),
            vec![cookie, json_type, ("referer", "https://evil.example/page")],
            "Forbidden - invalid origin",
        ),
        (
            "DELETE",
            format!("/api/user/sessions/{}", other.id),
            vec![cookie],
            "Forbidden - missing or null Origin",
        ),
    ];
    for (method, path, headers, message) in cases {
        let res = app
            .request(method, &path, &headers, patch.filter(|_| method == "PATCH"))
            .await;
        assert_eq!(res.status, 403, "{method} {path} {headers:?}");
        assert_eq!(res.json(), envelope(message));
    }
    let stored = state.db.users().get(&ada.user.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "ada", "nothing changed");
    assert!(state.db.sessions().get(&other.id).await.unwrap().is_some());

    // Reading needs no origin; a trusted Origin, or a trusted Referer, may change state.
    assert_eq!(
        app.request("GET", "/api/user/me", &[cookie], None)
            .await
            .status,
        200
    );
    let trusted = [
        cookie,
        json_type,
        ("origin", portal_testkit::BROWSER_ORIGIN),
    ];
    assert_eq!(
        app.request("PATCH", "/api/user/me", &trusted, patch)
            .await
            .status,
        200
    );
    let by_referer = [
        cookie,
        json_type,
        ("referer", "http://localhost:3000/settings"),
    ];
    assert_eq!(
        app.request("PATCH", "/api/user/me", &by_referer, patch)
            .await
            .status,
        200
    );

    // An API key is not sent by a browser on its own: no origin needed.
    let (key, _) = portal_testkit::api_key_for(&state, &ada.user, "script").await;
    let bearer = format!("Bearer {key}");
    let res = app
        .request(
            "PATCH",
            "/api/user/me",
            &[("authorization", &bearer), json_type],
            patch,
        )
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn json_bodies_must_be_sent_as_json() {
    let (state, app) = app().await;
    let ada = person(&state, "ada@example.org", Role::User).await;
    let origin = ("origin", portal_testkit::BROWSER_ORIGIN);
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut headers = vec![("cookie", ada.cookie.as_str()), origin];
        headers.extend(content_type.map(|c| ("content-type", c)));
        let res = app
            .request(
                "PATCH",
                "/api/user/me",
                &headers,
                Some(r#"{"name":"Form"}"#),
            )
            .await;
        assert_eq!(res.status, 415, "{content_type:?}");
        assert_eq!(res.json(), envelope("Unsupported media type"));
    }
    let stored = state.db.users().get(&ada.user.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "ada");
}

#[tokio::test]
async fn the_profile_rule_is_the_sign_up_rule_and_offsets_are_bounded() {
    let (state, app) = app().await;
    let ada = person(&state, "ada@example.org", Role::User).await;
    for body in [
        json!({"name": "   "}),
        json!({"name": "x".repeat(101)}),
        json!({"image": "javascript:alert(1)"}),
        json!({"image": "data:image/png;base64,AAAA"}),
        json!({"image": format!("https://cdn.example.org/{}", "a".repeat(2048))}),
    ] {
        let res = send(
            &app,
            "PATCH",
            "/api/user/me",
            Some(&ada),
            Some(body.clone()),
        )
        .await;
        assert_eq!(res.status, 400, "{body}");
    }
    let res = send(
        &app,
        "GET",
        "/api/user/sessions?offset=10001",
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["error"],
        "Validation error: Offset must be less than or equal to 10000 at \"offset\""
    );
    let res = send(
        &app,
        "GET",
        "/api/user/sessions?offset=10000",
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn own_sessions_page_by_cursor_like_every_other_list() {
    let (state, app) = app().await;
    let ada = person(&state, "ada@example.org", Role::User).await;
    for _ in 0..4 {
        session_for(&state, &ada.user).await;
    }
    let first = send(&app, "GET", "/api/user/sessions?limit=3", Some(&ada), None).await;
    assert_eq!(first.status, 200);
    let body = first.json();
    let cursor = body["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let mut seen: Vec<String> = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen.len(), 3);
    let rest = send(
        &app,
        "GET",
        &format!("/api/user/sessions?limit=3&cursor={cursor}"),
        Some(&ada),
        None,
    )
    .await
    .json();
    assert!(rest.get("nextCursor").is_none(), "{rest}");
    seen.extend(
        rest["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string()),
    );
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (5, 5), "no duplicates, no gaps");
    let res = send(
        &app,
        "GET",
        "/api/user/sessions?cursor=forged",
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["error"],
        "Validation error: Invalid cursor at \"cursor\""
    );
}

#[tokio::test]
async fn hostile_bodies_get_a_clear_4xx_and_change_nothing() {
    let (state, app) = app().await;
    let ada = person(&state, "ada@example.org", Role::User).await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let wide = format!("{{\"name\":[{}]}}", vec!["1"; 100_000].join(","));
    let cases: Vec<(String, u16, &str)> = vec![
        (format!("{{\"name\":{deep}}}"), 400, "Invalid JSON body"),
        (
            wide,
            400,
            "Validation error: Expected string, received array at \"name\"",
        ),
        (
            r#"{"name":"a","name":"b"}"#.into(),
            400,
            "Invalid JSON body",
        ),
        (r#"{"name":"\ud800"}"#.into(), 400, "Invalid JSON body"),
        ("x".repeat(2 * 1024 * 1024), 413, "Request body too large"),
    ];
    for (body, status, error) in cases {
        let res = app
            .send_text("PATCH", "/api/user/me", Some(&ada), Some(&body))
            .await;
        assert_eq!(res.status, status, "{}", &body[..body.len().min(40)]);
        assert_eq!(
            res.json()["error"],
            error,
            "{}",
            &body[..body.len().min(40)]
        );
    }
    // Unicode that is valid text is kept as sent (trimmed), within the length rule.
    for name in ["Ada\u{200b}", "\u{202e}adA", "Ａｄａ", "أدا"] {
        let res = send(
            &app,
            "PATCH",
            "/api/user/me",
            Some(&ada),
            Some(json!({ "name": name })),
        )
        .await;
        assert_eq!(res.status, 200, "{name:?}");
        assert_eq!(res.json()["user"]["name"], name.trim());
    }
    let stored = state.db.users().get(&ada.user.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "أدا");
}

/// Found by schemathesis: serde reads a struct from a JSON array by position, so
/// `[null, null]` was taken as `{name: null, image: null}` and cleared the picture.
#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused_and_changes_nothing() {
    let (state, app) = app().await;
    let ada = person(&state, "ada@example.org", Role::User).await;
    let res = send(
        &app,
        "PATCH",
        "/api/user/me",
        Some(&ada),
        Some(json!({"image": "https://example.org/ada.png"})),
    )
    .await;
    assert_eq!(res.status, 200);
    for (body, received) in [
        ("[null, null]", "array"),
        (r#"["Eve", null]"#, "array"),
        (r#""Eve""#, "string"),
        ("42", "number"),
        ("null", "null"),
    ] {
        let res = app
            .send_text("PATCH", "/api/user/me", Some(&ada), Some(body))
            .await;
        assert_eq!(res.status, 400, "{body}");
        let json = res.json();
        assert_eq!(
            json["error"],
            format!("Validation error: Expected object, received {received}"),
            "{body}"
        );
        assert_eq!(json["ok"], false);
        assert_eq!(json["details"]["issues"][0]["code"], "invalid_type");
        assert_eq!(json["details"]["issues"][0]["path"], json!([]));
    }
    let stored = state.db.users().get(&ada.user.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "ada");
    assert_eq!(stored.image.as_deref(), Some("https://example.org/ada.png"));
}
