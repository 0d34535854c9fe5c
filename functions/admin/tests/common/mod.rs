//! The admin router on a fresh table, with an admin, a staff member and a regular user.
#![allow(dead_code)]

use axum::Router;
use portal_shared::model::Role;
use portal_shared::{AppState, http};
use portal_testkit::{Person, TestResponse, call, person, test_state};
use serde_json::{Value, json};

pub struct Admin {
    pub state: AppState,
    pub app: Router,
    pub admin: Person,
    pub staff: Person,
    pub user: Person,
}

impl Admin {
    pub async fn new() -> Self {
        let state = test_state(|c| c.rate_limits.enabled = false).await;
        let app = http::finish(portal_admin_api::router(state.clone()), &state.config);
        let admin = person(&state, "admin@example.org", Role::Admin).await;
        let staff = person(&state, "staff@example.org", Role::Staff).await;
        let user = person(&state, "user@example.org", Role::User).await;
        Self {
            state,
            app,
            admin,
            staff,
            user,
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        who: Option<&Person>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut builder = axum::http::Request::builder().method(method).uri(path);
        if let Some(p) = who {
            builder = builder
                .header("cookie", &p.cookie)
                .header("origin", portal_testkit::BROWSER_ORIGIN);
        }
        let request = match body {
            Some(b) => builder
                .header("content-type", "application/json")
                .body(axum::body::Body::from(b.to_string())),
            None => builder.body(axum::body::Body::empty()),
        }
        .unwrap();
        call(&self.app, request).await
    }

    pub async fn get(&self, path: &str, who: &Person) -> TestResponse {
        self.send("GET", path, Some(who), None).await
    }
}

pub fn envelope(message: &str) -> Value {
    json!({"ok": false, "error": message})
}
