//! The local gateway serves every group under one origin, with the same envelopes.

use portal_local::gateway;
use portal_testkit::Sections;
use portal_testkit::{get, test_state};
use serde_json::json;

#[tokio::test]
async fn one_origin_answers_for_every_group() {
    let app = gateway(test_state(|_| {}).await).await;
    let res = get(&app, "/api/monitoring").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"status": "ok", "service": "sentry-tunnel"})
    );
    let res = get(&app, "/api/health").await;
    assert_eq!(res.status, 200);
    let res = get(&app, "/api/does-not-exist").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), json!({"ok": false, "error": "Not found"}));
}

/// Every route of every group, as a signed-in admin's browser calls it: each answer says
/// `nosniff`, is `no-store` (it answers a credentialed request), and never holds an
/// internal error text.
#[tokio::test]
async fn every_route_carries_the_security_headers() {
    let state = test_state(|c| c.rate_limits.enabled = false).await;
    let app = gateway(state.clone()).await;
    let admin = portal_testkit::person(
        &state,
        "root@example.org",
        portal_domain::model::Role::Admin,
    )
    .await;
    let id = admin.user.id.clone();
    let routes: Vec<(&str, String)> = vec![
        ("GET", "/api/auth/get-session".into()),
        ("GET", "/api/auth/list-sessions".into()),
        ("GET", "/api/auth/api-key/list".into()),
        ("GET", "/api/auth/ok".into()),
        ("POST", "/api/auth/sign-out".into()),
        ("POST", "/api/auth/update-user".into()),
        ("GET", "/api/user/me".into()),
        ("PATCH", "/api/user/me".into()),
        ("GET", "/api/user/sessions".into()),
        ("DELETE", "/api/user/sessions/nope".into()),
        ("GET", "/api/admin/users".into()),
        ("GET", format!("/api/admin/users/{id}")),
        ("PATCH", format!("/api/admin/users/{id}")),
        ("GET", "/api/admin/sessions".into()),
        ("GET", "/api/admin/sessions/nope".into()),
        ("GET", "/api/admin/api-keys".into()),
        ("GET", "/api/admin/api-keys/nope".into()),
        ("GET", "/api/admin/oauth-clients".into()),
        ("POST", "/api/admin/oauth-clients".into()),
        ("GET", "/api/admin/oauth-clients/nope".into()),
        ("GET", "/api/admin/stats".into()),
        ("GET", "/api/integrations".into()),
        ("GET", "/api/integrations/xmpp/accounts".into()),
        ("POST", "/api/integrations/xmpp/accounts".into()),
        ("GET", "/api/integrations/xmpp/accounts/nope".into()),
        ("GET", "/api/monitoring".into()),
        ("POST", "/api/monitoring".into()),
        ("GET", "/api/health".into()),
        ("GET", "/api/nowhere".into()),
    ];
    for (method, path) in routes {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(&path)
            .header("cookie", &admin.cookie)
            .header("origin", portal_testkit::BROWSER_ORIGIN)
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{}"))
            .unwrap();
        let res = portal_testkit::call(&app, request).await;
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{method} {path}"
        );
        assert_eq!(
            res.header("cache-control"),
            Some("no-store"),
            "{method} {path}"
        );
        assert!(
            res.status.as_u16() < 500 || res.status.as_u16() == 503,
            "{method} {path}: {}",
            res.status
        );
        let body = String::from_utf8_lossy(&res.body).to_lowercase();
        for leak in ["panicked", "backtrace", "dynamodb:", "stack"] {
            assert!(!body.contains(leak), "{method} {path}: {body}");
        }
    }
}

fn preflight(path: &str, origin: &str, method: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder()
        .method("OPTIONS")
        .uri(path)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "content-type,authorization,x-api-key",
        )
        .body(axum::body::Body::empty())
        .unwrap()
}

/// A front end on a trusted origin gets its preflights answered before any limit or guard
/// (nothing is counted, nothing needs a session), then credentialed answers it may read.
#[tokio::test]
async fn browsers_on_trusted_origins_get_cors_and_others_do_not() {
    let state = test_state(|c| {
        c.auth_mut().trusted_origins = vec!["https://*.example.org".into()];
    })
    .await;
    let app = gateway(state.clone()).await;
    for (path, method) in [
        ("/api/user/me", "PATCH"),
        ("/api/auth/sign-in/email", "POST"),
        ("/api/admin/users/x", "DELETE"),
        ("/api/monitoring", "POST"),
    ] {
        for origin in ["http://localhost:3000", "https://app.example.org"] {
            let res = portal_testkit::call(&app, preflight(path, origin, method)).await;
            assert_eq!(res.status, 200, "{origin} {method} {path}");
            assert_eq!(res.header("access-control-allow-origin"), Some(origin));
            assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
            let methods = res.header("access-control-allow-methods").unwrap();
            assert!(methods.contains(method), "{methods}");
            let headers = res.header("access-control-allow-headers").unwrap();
            for h in ["content-type", "authorization", "x-api-key"] {
                assert!(headers.contains(h), "{headers}");
            }
            assert!(res.header("x-ratelimit-limit").is_none(), "not counted");
        }
        for origin in ["https://example.org", "https://evil.example", "null"] {
            let res = portal_testkit::call(&app, preflight(path, origin, method)).await;
            assert!(
                res.header("access-control-allow-origin").is_none(),
                "{origin} {path}"
            );
        }
    }
    let written = portal_testkit::TestApp::new(state.clone(), app.clone())
        .scan()
        .await;
    assert!(written.is_empty(), "a preflight wrote {written:?}");

    let req = axum::http::Request::builder()
        .uri("/api/auth/get-session")
        .header("origin", "https://app.example.org")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = portal_testkit::call(&app, req).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.example.org")
    );
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    let exposed = res.header("access-control-expose-headers").unwrap();
    for h in [
        "set-auth-token",
        "x-request-id",
        "retry-after",
        "x-ratelimit-remaining",
    ] {
        assert!(exposed.contains(h), "{exposed}");
    }
    assert!(
        res.headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("origin")),
        "caches keep answers per origin"
    );
}

/// What the functions count (as CloudWatch EMF lines), from the answers themselves.
#[tokio::test]
async fn sign_ins_failures_sign_ups_limits_and_server_errors_are_counted() {
    use std::sync::{Arc, Mutex};
    let (state, faults) = portal_testkit::faulty_state(|c| {
        c.rate_limits.credentials = portal_domain::config::Rule::new(3, 60);
    })
    .await;
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = {
        let lines = lines.clone();
        portal_web::metrics::Sink::new(move |line| lines.lock().unwrap().push(line))
    };
    let app = portal_web::http::finish_with(
        portal_local::routes(state.clone()).await,
        &state.config,
        sink,
    );
    let post = |path: &str, body: serde_json::Value| {
        axum::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };
    let up = json!({"name": "Ada", "email": "ada@example.org", "password": "correct-horse-1"});
    let res = portal_testkit::call(&app, post("/api/auth/sign-up/email", up)).await;
    assert_eq!(res.status, 200);
    for password in [
        "wrong-password",
        "correct-horse-1",
        "wrong-again",
        "correct-horse-1",
    ] {
        let body = json!({"email": "ada@example.org", "password": password});
        portal_testkit::call(&app, post("/api/auth/sign-in/email", body)).await;
    }
    faults.set(portal_testkit::Fault::ServerError);
    let res = get(&app, "/api/health").await;
    assert_eq!(res.status, 503);
    faults.set(portal_testkit::Fault::Throttle);
    let res = get(&app, "/api/health").await;
    assert_eq!(res.status, 503);

    let lines = lines.lock().unwrap().clone();
    let docs: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // DynamoDB, by operation: one latency sample per call; throttled attempts counted (the
    // SDK tried the throttled DescribeTable 3 times).
    let by_operation = |operation: &str| -> Vec<&serde_json::Value> {
        docs.iter()
            .filter(|d| d["Operation"] == operation)
            .collect()
    };
    let transact = by_operation("TransactWriteItems");
    assert!(!transact.is_empty(), "sign-up writes in a transaction");
    let dims = &transact[0]["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(dims["Dimensions"], json!([["Operation"]]));
    assert_eq!(
        dims["Metrics"][0],
        json!({"Name": "DynamoDBLatency", "Unit": "Milliseconds"})
    );
    assert!(transact[0]["DynamoDBLatency"][0].as_f64().unwrap() > 0.0);
    let throttles: Vec<&serde_json::Value> = by_operation("DescribeTable")
        .into_iter()
        .filter_map(|d| d.get("DynamoDBThrottles"))
        .collect();
    assert_eq!(throttles, vec![&json!(3)]);

    let counted: Vec<(String, Option<String>)> = lines
        .iter()
        .zip(&docs)
        .filter(|(_, doc)| doc.get("Operation").is_none())
        .map(|(line, _)| {
            let doc: serde_json::Value = serde_json::from_str(line).unwrap();
            let aws = &doc["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(aws["Namespace"], "Portal");
            let name = aws["Metrics"][0]["Name"].as_str().unwrap().to_string();
            assert_eq!(doc[&name], 1, "{line}");
            (name, doc["Route"].as_str().map(str::to_string))
        })
        .collect();
    let route = |r: &str| Some(r.to_string());
    assert_eq!(
        counted,
        vec![
            ("SignUps".to_string(), None),
            ("FailedSignIns".to_string(), None),
            ("SignIns".to_string(), None),
            ("FailedSignIns".to_string(), None),
            // The fourth sign-in within 60 s is over the credentials limit (3).
            ("RateLimited".to_string(), route("/api/auth/sign-in/email")),
            ("ServerErrors".to_string(), route("/api/health")),
            ("ServerErrors".to_string(), route("/api/health")),
        ]
    );
}
