//! The OpenAPI document and the routers agree: every route a router serves is documented
//! with its methods, every documented operation reaches its handler, and the document the
//! monitoring function serves is the one the code makes today.

use portal_testkit::Sections;
use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use portal_local::{gateway, openapi_json, routes};
use portal_testkit::http::{call, request};
use portal_testkit::{get, test_state};
use serde_json::Value;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Routes the gateway serves on purpose without documenting them: BetterAuth's empty 404
/// for every other path under `/api/auth`, and the local reference page.
const UNDOCUMENTED: [&str; 3] = ["/api/auth", "/api/auth/{*rest}", "/api/docs"];

fn document() -> Value {
    serde_json::from_str(&openapi_json()).expect("the document is JSON")
}

/// `{path template: {METHOD}}` as the document lists them.
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("path item")
                .keys()
                .map(|m| m.to_uppercase())
                .filter(|m| METHODS.contains(&m.as_str()))
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// `{path template: {METHOD}}` as the router holds them. axum has no API to list routes,
/// so this reads its `Debug` form (axum is pinned in Cargo.lock; if a new axum prints
/// routes differently, this fails loudly rather than passing on an empty table).
fn routed(router: &axum::Router) -> BTreeMap<String, BTreeSet<String>> {
    let text = format!("{router:?}");
    let path_router = text
        .split(", fallback_router:")
        .next()
        .expect("a path router");
    let (routes, nodes) = path_router
        .split_once("node: Node { paths: {")
        .expect("the router lists its paths");
    let mut methods_of = BTreeMap::new();
    for part in routes.split("RouteId(").skip(1) {
        let Some((id, rest)) = part.split_once(')') else {
            continue;
        };
        let allowed = rest
            .split_once("allow_header: Bytes(b\"")
            .and_then(|(_, tail)| tail.split_once('"'))
            .map(|(list, _)| {
                list.split(',')
                    .filter(|m| !m.is_empty() && *m != "HEAD")
                    .map(str::to_string)
                    .collect::<BTreeSet<_>>()
            })
            .unwrap_or_default();
        methods_of.insert(id.to_string(), allowed);
    }
    let mut table = BTreeMap::new();
    for part in nodes.split("RouteId(").skip(1) {
        let (id, rest) = part.split_once("): \"").expect("RouteId(n): \"path\"");
        let path = rest.split('"').next().expect("a quoted path");
        table.insert(
            path.to_string(),
            methods_of.get(id).cloned().unwrap_or_default(),
        );
    }
    assert!(
        table.len() > 10,
        "could not read the router's routes: {table:?}"
    );
    table
}

fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_router_serves_exactly_the_documented_routes_and_methods() {
    // The routes as merged (`finish` wraps them in its layers, which list no routes).
    let app = routes(test_state(|_| {}).await).await;
    let doc = documented(&document());
    let mut served = routed(&app);
    for path in UNDOCUMENTED {
        assert!(served.remove(path).is_some(), "{path} is no longer routed");
    }
    assert_eq!(
        served, doc,
        "router (left) and document (right) disagree on paths or methods"
    );
}

#[tokio::test]
async fn every_documented_operation_reaches_its_handler() {
    let state = test_state(|c| c.rate_limits.enabled = false).await;
    let app = gateway(state).await;
    let mut calls = 0;
    for (template, methods) in documented(&document()) {
        let path = concrete(&template);
        for method in METHODS {
            let res = call(&app, request(method, &path, Body::empty())).await;
            calls += 1;
            // Portal's fallback is the 405 envelope; BetterAuth's is an empty 404.
            let fell_through = (res.status == 404 && res.body.is_empty())
                || (res.status == 405 && !path.starts_with("/api/auth/"));
            if methods.contains(method) {
                assert_eq!(
                    res.route.as_deref(),
                    Some(template.as_str()),
                    "{method} {path} was not answered by the documented route"
                );
                assert!(
                    !fell_through,
                    "{method} {path}: the documented method is not routed ({})",
                    res.status
                );
            } else {
                assert!(
                    fell_through,
                    "{method} {path} is served ({}) but not documented",
                    res.status
                );
            }
        }
    }
    assert!(calls > 150, "only {calls} calls made");
}

#[tokio::test]
async fn the_served_document_is_the_current_one() {
    let secret = "configured-secret-that-must-never-be-published-0123456789";
    let app = gateway(test_state(|c| c.auth_mut().secret = secret.into()).await).await;
    let res = get(&app, "/api/openapi.json").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(
        res.json(),
        document(),
        "docs/openapi.json is stale: run ./scripts/openapi"
    );
    let text = String::from_utf8_lossy(&res.body);
    for secret in [secret, portal_domain::config::DEVELOPMENT_SECRET] {
        assert!(!text.contains(secret), "the document holds a secret");
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_unique_operation_ids_and_envelopes() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().expect("an operation id");
            assert!(ids.insert(id.to_string()), "{id} is used twice");
            // The OpenID Connect provider answers OAuth's bodies or BetterAuth's.
            let envelope = if path.starts_with("/api/auth/oauth2/") {
                "#/components/schemas/OAuthErrorBody"
            } else if path.starts_with("/api/auth") || path.starts_with("/.well-known/") {
                "#/components/schemas/AuthErrorBody"
            } else {
                "#/components/schemas/ErrorEnvelope"
            };
            for status in ["429", "500", "503"] {
                assert_eq!(
                    op["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                    envelope,
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert!(ids.len() >= 50);
}

#[tokio::test]
async fn the_reference_page_loads_the_document() {
    let app = gateway(test_state(|_| {}).await).await;
    let res = get(&app, "/api/docs").await;
    assert_eq!(res.status, 200);
    let page = String::from_utf8_lossy(&res.body);
    assert!(page.contains("Redoc.init(\"/api/openapi.json\""));
    assert!(page.contains("integrity=\"sha384-"));
}

/// The bounds the document gives paging and ids are the ones the validators enforce (the
/// annotations take literals, so this holds them to the constants).
#[test]
fn documented_bounds_are_the_validators_bounds() {
    use portal_web::validation::{MAX_CURSOR_LEN, MAX_ID_LEN, MAX_LIMIT, MAX_OFFSET};
    let doc = document();
    let mut seen = BTreeMap::<&str, usize>::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let (name, schema) = (p["name"].as_str().unwrap(), &p["schema"]);
                let (key, want) = match (name, p["in"].as_str().unwrap()) {
                    ("limit", "query") if schema.get("maximum").is_some() => {
                        ("maximum", MAX_LIMIT as u64)
                    }
                    ("offset", "query") if schema.get("maximum").is_some() => {
                        ("maximum", MAX_OFFSET as u64)
                    }
                    ("cursor", "query") => ("maxLength", MAX_CURSOR_LEN as u64),
                    ("id", "path") => ("maxLength", MAX_ID_LEN as u64),
                    _ => continue,
                };
                assert_eq!(schema[key], want, "{name}");
                *seen.entry(name).or_default() += 1;
            }
        }
    }
    for name in ["limit", "offset", "cursor", "id"] {
        assert!(
            seen.get(name).copied().unwrap_or(0) >= 3,
            "{name}: {seen:?}"
        );
    }
}
