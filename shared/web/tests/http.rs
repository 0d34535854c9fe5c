//! What `http::finish` guarantees every route group: errors are JSON envelopes whatever
//! produced them, panics are 500s that leak nothing, and bodies are capped.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use portal_domain::Config;
use portal_testkit::{call, get as get_path, post_as, post_bytes, request};
use portal_web::validation::{Issue, Rules, ValidJson, Validate};
use portal_web::{ApiResult, http};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct Rename {
    name: String,
}

impl Validate for Rename {
    fn validate(&self) -> Result<(), Vec<Issue>> {
        let mut rules = Rules::default();
        rules.length("name", &self.name, 3, 100);
        rules.finish()
    }
}

async fn rename(ValidJson(body): ValidJson<Rename>) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(json!({ "ok": true, "name": body.name })))
}

async fn buggy_handler() -> &'static str {
    let parsed: Result<u8, _> = "not a number".parse::<u8>();
    match parsed {
        Ok(_) => "unreachable",
        Err(_) => panic!("a bug with secret details"),
    }
}

fn app() -> Router {
    let mut config = Config::for_tests("unused");
    config.max_body_bytes = 256;
    let routes = Router::new()
        .route("/api/rename", post(rename))
        .route("/api/panic", get(buggy_handler))
        .route(
            "/api/plain-error",
            get(|| async { (StatusCode::BAD_REQUEST, "plain text") }),
        );
    http::finish(routes, &config)
}

#[tokio::test]
async fn a_panic_is_a_500_envelope_without_details() {
    let res = get_path(&app(), "/api/panic").await;
    assert_eq!(res.status, 500);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Internal server error"})
    );
}

#[tokio::test]
async fn non_json_errors_become_envelopes() {
    let res = get_path(&app(), "/api/plain-error").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Invalid request body"})
    );
}

#[tokio::test]
async fn bodies_over_the_cap_are_413() {
    let body = format!("{{\"name\":\"{}\"}}", "n".repeat(300));
    let res = post_bytes(&app(), "/api/rename", body).await;
    assert_eq!(res.status, 413);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Request body too large"})
    );
}

#[tokio::test]
async fn validated_bodies_answer_the_contract() {
    let app = app();
    let ok = post_bytes(&app, "/api/rename", r#"{"name":"Ada Lovelace","extra":1}"#).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json(), json!({"ok": true, "name": "Ada Lovelace"}));

    let bad = post_bytes(&app, "/api/rename", r#"{"name":"Al"}"#).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({
            "ok": false,
            "error": "Validation error: Name must contain at least 3 character(s) at \"name\"",
            "details": {
                "issues": [{"code": "too_small", "minimum": 3, "type": "string",
                    "inclusive": true, "exact": false,
                    "message": "String must contain at least 3 character(s)", "path": ["name"]}],
                "flattened": {"formErrors": [],
                    "fieldErrors": {"name": ["String must contain at least 3 character(s)"]}}
            }
        })
    );

    let not_json = post_bytes(&app, "/api/rename", "name=Ada").await;
    assert_eq!(not_json.status, 400);
    assert_eq!(
        not_json.json(),
        json!({"ok": false, "error": "Invalid JSON body"})
    );

    // A JSON body must say so: a form post (what a cross-site <form> can send) is 415.
    for content_type in ["application/x-www-form-urlencoded", "text/plain", ""] {
        let res = post_as(&app, "/api/rename", content_type, r#"{"name":"Ada"}"#).await;
        assert_eq!(res.status, 415, "{content_type:?}");
        assert_eq!(
            res.json(),
            json!({"ok": false, "error": "Unsupported media type"})
        );
    }
    let json_charset = post_as(
        &app,
        "/api/rename",
        "application/json; charset=utf-8",
        r#"{"name":"Ada"}"#,
    )
    .await;
    assert_eq!(json_charset.status, 200);
}

#[tokio::test]
async fn wrong_method_and_unknown_path() {
    let app = app();
    let res = call(&app, request("PUT", "/api/rename", "")).await;
    assert_eq!(res.status, 405);
    assert_eq!(
        res.json(),
        json!({"ok": false, "error": "Method not allowed"})
    );
    let res = get_path(&app, "/api/rename/extra").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), json!({"ok": false, "error": "Not found"}));
}

#[tokio::test]
async fn a_client_supplied_request_id_is_not_trusted() {
    let app = app();
    let mut req = request("GET", "/api/unknown", "");
    req.headers_mut()
        .insert("x-request-id", "forged\u{41}".parse().unwrap());
    let res = call(&app, req).await;
    let id = res.header("x-request-id").unwrap();
    assert_ne!(id, "forgedA");
    assert_eq!(id.len(), 36, "a fresh UUID");
}

#[tokio::test]
async fn every_response_says_nosniff_and_credentialed_ones_are_not_stored() {
    let app = app();
    for res in [
        get_path(&app, "/api/nope").await,
        get_path(&app, "/api/panic").await,
        post_bytes(&app, "/api/rename", r#"{"name":"Ada"}"#).await,
    ] {
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(res.header("cache-control"), None, "anonymous: cacheable");
    }
    for (name, value) in [
        ("cookie", "better-auth.session_token=x"),
        ("authorization", "Bearer x"),
        ("x-api-key", "x"),
    ] {
        let req = axum::http::Request::builder()
            .uri("/api/nope")
            .header(name, value)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = call(&app, req).await;
        assert_eq!(res.header("cache-control"), Some("no-store"), "{name}");
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    }
    let res = get_path(&app, "/api/auth/anything").await;
    assert_eq!(res.header("cache-control"), Some("no-store"));
}
