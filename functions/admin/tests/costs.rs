//! DynamoDB calls per admin request (counted by an SDK interceptor): authentication is one
//! BatchGetItem; the rest is listed per endpoint. Printed with `--nocapture`.

use portal_domain::model::Role;
use portal_testkit::{call, counted_state, person, session_for};
use serde_json::json;

#[tokio::test]
async fn calls_per_endpoint() {
    let (state, calls) = counted_state(|c| c.rate_limits.enabled = false).await;
    let app = portal_web::http::finish(portal_admin_api::router(state.clone()), &state.config);
    let admin = person(&state, "admin@example.org", Role::Admin).await;
    let user = person(&state, "user@example.org", Role::User).await;
    let (_, session) = session_for(&state, &user.user).await;
    let created = {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/api/admin/oauth-clients")
            .header("cookie", &admin.cookie)
            .header("origin", portal_testkit::BROWSER_ORIGIN)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                json!({"name": "c", "redirectUris": ["https://c.example.org/cb"]}).to_string(),
            ))
            .unwrap();
        call(&app, request).await.json()["oauthClient"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let uid = user.user.id.clone();
    let cases: Vec<(&str, String, Option<serde_json::Value>, Vec<&str>)> = vec![
        (
            "GET",
            "/api/admin/users".into(),
            None,
            vec!["BatchGetItem", "Query", "BatchGetItem"],
        ),
        (
            "GET",
            "/api/admin/users?role=admin".into(),
            None,
            vec!["BatchGetItem", "Query", "BatchGetItem"],
        ),
        (
            "GET",
            "/api/admin/users?search=us".into(),
            None,
            // e-mail, name and username prefixes: three Queries, and the IRC nick and XMPP
            // JID claims in one BatchGetItem, all sent together.
            vec!["BatchGetItem", "Query", "Query", "Query", "BatchGetItem"],
        ),
        (
            "GET",
            format!("/api/admin/users/{uid}"),
            None,
            // Auth, then the user beside their service accounts and their passkeys (one
            // round trip).
            vec!["BatchGetItem", "GetItem", "Query", "Query"],
        ),
        (
            "PATCH",
            format!("/api/admin/users/{uid}"),
            Some(json!({"name": "Renamed"})),
            // Auth, the user, the transaction (the roster condition replaced the counters read).
            vec!["BatchGetItem", "GetItem", "TransactWriteItems"],
        ),
        (
            "GET",
            "/api/admin/sessions".into(),
            None,
            vec!["BatchGetItem", "Query"],
        ),
        (
            "GET",
            format!("/api/admin/sessions/{}", session.id),
            None,
            vec!["BatchGetItem", "GetItem"],
        ),
        (
            "GET",
            "/api/admin/api-keys".into(),
            None,
            vec!["BatchGetItem", "Query"],
        ),
        (
            "GET",
            "/api/admin/oauth-clients".into(),
            None,
            vec!["BatchGetItem", "Query"],
        ),
        (
            "GET",
            format!("/api/admin/oauth-clients/{created}"),
            None,
            vec!["BatchGetItem", "GetItem"],
        ),
        (
            "GET",
            "/api/admin/stats".into(),
            None,
            vec!["BatchGetItem", "BatchGetItem", "Query"],
        ),
        (
            "DELETE",
            format!("/api/admin/sessions/{}", session.id),
            None,
            vec!["BatchGetItem", "GetItem", "GetItem", "TransactWriteItems"],
        ),
    ];
    for (method, path, body, expected) in cases {
        calls.take();
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(&path)
            .header("cookie", &admin.cookie)
            .header("origin", portal_testkit::BROWSER_ORIGIN);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(axum::body::Body::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            ))
            .unwrap();
        let res = call(&app, request).await;
        assert!(res.status.is_success(), "{method} {path}: {}", res.status);
        let made = calls.take();
        println!("{method:6} {path:60} {made:?}");
        assert_eq!(made, expected, "{method} {path}");
    }
}
