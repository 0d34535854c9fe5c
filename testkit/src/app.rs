//! One router under test on its own table: requests as a browser or a script sends them,
//! the contract's error envelope, and looks into the table (test-only Scans).

use axum::Router;
use axum::body::Body;
use portal_web::{AppState, http as portal_http};
use serde_json::{Value, json};

use crate::http::{TestResponse, call};
use crate::people::{BROWSER_ORIGIN, Person};

/// A finished router (envelopes, request ids, limits) and the state behind it.
#[derive(Clone)]
pub struct TestApp {
    pub state: AppState,
    pub app: Router,
}

/// `{ok: false, error}`: the contract's error envelope without details.
pub fn envelope(message: &str) -> Value {
    json!({"ok": false, "error": message})
}

impl TestApp {
    /// `routes`, finished as every function finishes its router.
    pub fn new(state: AppState, routes: Router) -> Self {
        let app = portal_http::finish(routes, &state.config);
        Self { state, app }
    }

    /// A request with exactly these headers and this body (as it is: the content type, if
    /// any, is one of the headers).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> TestResponse {
        let mut builder = axum::http::Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let request = builder.body(body).expect("a valid request");
        call(&self.app, request).await
    }

    /// What `who`'s browser sends (their cookie, from the front end's origin), with a JSON
    /// body written as text; anonymous when `who` is `None`.
    pub async fn send_text(
        &self,
        method: &str,
        path: &str,
        who: Option<&Person>,
        body: Option<&str>,
    ) -> TestResponse {
        let mut headers = Vec::new();
        if let Some(person) = who {
            headers.push(("cookie", person.cookie.as_str()));
            headers.push(("origin", BROWSER_ORIGIN));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.request(method, path, &headers, body).await
    }

    /// [`TestApp::send_text`] with a JSON value.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        who: Option<&Person>,
        body: Option<Value>,
    ) -> TestResponse {
        let text = body.map(|b| b.to_string());
        self.send_text(method, path, who, text.as_deref()).await
    }

    pub async fn get(&self, path: &str, who: &Person) -> TestResponse {
        self.send("GET", path, Some(who), None).await
    }

    /// Every item of the table (test-only Scan).
    pub async fn scan(&self) -> Vec<portal_domain::store::item::Item> {
        let out = self
            .state
            .db
            .client()
            .scan()
            .table_name(self.state.db.table())
            .send()
            .await
            .expect("the test table scans");
        out.items.unwrap_or_default()
    }

    /// How many items have a partition or sort key starting with `prefix`.
    pub async fn count_items(&self, prefix: &str) -> usize {
        let starts = |item: &portal_domain::store::item::Item, name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .is_some_and(|k| k.starts_with(prefix))
        };
        self.scan()
            .await
            .iter()
            .filter(|item| starts(item, "PK") || starts(item, "SK"))
            .count()
    }

    /// Integration accounts, their per-user claims and their username claims in the table.
    pub async fn integration_items(&self) -> usize {
        self.count_items("INTEGACCT#").await
            + self.count_items("INTEG#").await
            + self.count_items("INTEGNAME#").await
    }

    /// The whole table as text, for "no secret is stored" checks.
    pub async fn table_dump(&self) -> String {
        format!("{:?}", self.scan().await)
    }
}
