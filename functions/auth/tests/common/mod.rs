//! A fresh table, the auth router (plus guard probes), an outbox folder per test, and
//! helpers that act like a browser: sign up, sign in, carry the cookie.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use portal_auth::mail::Mailer;
use portal_domain::Config;
use portal_testkit::{CallCounter, TestApp, TestResponse, call, counted_state, test_state};
use portal_web::AppState;
use portal_web::caller::{RequireAdmin, RequireAdminOrStaff, RequireAuth};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestAuth {
    pub t: TestApp,
    pub outbox: PathBuf,
}

impl std::ops::Deref for TestAuth {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.t
    }
}

async fn whoami(RequireAuth(id): RequireAuth) -> axum::Json<Value> {
    axum::Json(json!({ "id": id.user.id, "role": id.user.role.as_str() }))
}

async fn admin_only(RequireAdmin(id): RequireAdmin) -> axum::Json<Value> {
    axum::Json(json!({ "id": id.user.id }))
}

async fn staff_only(RequireAdminOrStaff(id): RequireAdminOrStaff) -> axum::Json<Value> {
    axum::Json(json!({ "id": id.user.id }))
}

impl TestAuth {
    /// Rate limits off (most tests sign in many times from one address); `adjust` may
    /// turn them on.
    pub async fn new(adjust: impl FnOnce(&mut Config)) -> Self {
        let state = test_state(|c| {
            c.rate_limits.enabled = false;
            adjust(c);
        })
        .await;
        Self::on(state)
    }

    /// With every DynamoDB call counted.
    pub async fn counted(adjust: impl FnOnce(&mut Config)) -> (Self, CallCounter) {
        let (state, counter) = counted_state(|c| {
            c.rate_limits.enabled = false;
            adjust(c);
        })
        .await;
        (Self::on(state), counter)
    }

    pub fn on(state: AppState) -> Self {
        let outbox = std::env::temp_dir().join(format!("portal-outbox-{}", uuid_like()));
        let probes = Router::new()
            .route("/api/test/whoami", get(whoami))
            .route("/api/test/admin", get(admin_only))
            .route("/api/test/staff", get(staff_only))
            .with_state(state.clone());
        let routes =
            portal_auth::router(state.clone(), Mailer::Outbox(outbox.clone())).merge(probes);
        Self {
            t: TestApp::new(state, routes),
            outbox,
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> TestResponse {
        self.send_raw(
            method,
            path,
            headers,
            body.map(|b| ("application/json", b.to_string())),
        )
        .await
    }

    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, String)>,
    ) -> TestResponse {
        let mut headers = headers.to_vec();
        if let Some((content_type, _)) = &body {
            headers.push(("content-type", content_type));
        }
        let body = body.as_ref().map(|(_, b)| b.as_str());
        self.t.request(method, path, &headers, body).await
    }

    /// Like `send`, from the given client address.
    pub async fn send_from(&self, ip: &str, method: &str, path: &str, body: Value) -> TestResponse {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let addr = SocketAddr::new(ip.parse().unwrap(), 40000);
        request.extensions_mut().insert(ConnectInfo(addr));
        call(&self.t.app, request).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send("POST", path, &[], Some(body)).await
    }

    pub async fn sign_up(&self, email: &str) -> Browser {
        let res = self
            .post(
                "/api/auth/sign-up/email",
                json!({"name": "Test User", "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            res.status,
            200,
            "sign-up failed: {:?}",
            String::from_utf8_lossy(&res.body)
        );
        Browser::from_response(&res)
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> TestResponse {
        self.post(
            "/api/auth/sign-in/email",
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// Every mail in the outbox, oldest first.
    pub fn mails(&self) -> Vec<Value> {
        let Ok(dir) = std::fs::read_dir(&self.outbox) else {
            return Vec::new();
        };
        let mut files: Vec<_> = dir.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}

/// The token inside a mailed reset link (`.../reset-password/<token>?callbackURL=...`).
pub fn token_of(url: &str) -> String {
    url.split("/reset-password/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

fn uuid_like() -> String {
    portal_domain::crypto::random_alphanumeric(16)
}

/// A signed-in client: its token and the cookie header a browser would send.
#[derive(Debug, Clone)]
pub struct Browser {
    pub token: String,
    pub cookie: String,
    pub user: Value,
}

impl Browser {
    pub fn from_response(res: &TestResponse) -> Self {
        let body = res.json();
        let set_cookie = res
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.contains("session_token="))
            .expect("a session cookie is set");
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        Self {
            token: body["token"].as_str().unwrap().to_string(),
            cookie,
            user: body["user"].clone(),
        }
    }

    /// The browser after a response that replaced its session (two-factor turned on or
    /// off): the new cookie, and the token it carries.
    pub fn renewed(&self, res: &TestResponse) -> Self {
        let cookie = res
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.contains("session_token=") && !c.contains("Max-Age=0"))
            .expect("a new session cookie is set");
        let cookie = cookie.split(';').next().unwrap().to_string();
        let value = cookie.split_once('=').unwrap().1;
        Self {
            token: value.split('.').next().unwrap().to_string(),
            cookie,
            user: self.user.clone(),
        }
    }

    pub fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("cookie", self.cookie.clone()),
            ("origin", "http://localhost:3000".into()),
        ]
    }
}

/// Headers as `&[(&str, &str)]`.
pub fn h<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

pub fn set_cookies(res: &TestResponse) -> Vec<String> {
    res.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}
