//! A small Prosody `mod_http_admin_api` stand-in (real HTTP): checks the bearer token,
//! keeps users in memory, and can be told to fail, hang, or run a hook when an account is
//! created (to break things between the upstream create and Portal's own write).

use crate::Sections;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use bytes::Bytes;

type Hook = Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Every call answers this status.
    Fail(u16),
    /// Only calls with this method answer this status.
    FailOn(&'static str, u16),
    /// Every call waits this long first.
    Hang(Duration),
}

#[derive(Clone)]
struct Shared {
    token: String,
    users: Arc<Mutex<HashMap<String, String>>>,
    mode: Arc<Mutex<Mode>>,
    calls: Arc<Mutex<Vec<(String, String)>>>,
    on_create: Arc<Mutex<Option<Hook>>>,
}

pub struct FakeProsody {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

pub const PROSODY_TOKEN: &str = "prosody-test-token";

impl FakeProsody {
    pub async fn start() -> Self {
        let shared = Shared {
            token: PROSODY_TOKEN.into(),
            users: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Normal)),
            calls: Arc::default(),
            on_create: Arc::default(),
        };
        let app = Router::new()
            .route("/admin_api/users", axum::routing::get(users))
            .route("/admin_api/users/{name}", any(user))
            .with_state(shared.clone());
        let (addr, task) = crate::upstream::serve(app).await;
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>` (PROSODY_REST_URL).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points `config` at this server with its token, for the domain `chat.example.org`.
    pub fn configure(&self, config: &mut portal_domain::Config) {
        config.services_mut().prosody.rest_url = url::Url::parse(&self.url()).ok();
        config.services_mut().prosody.rest_token = Some(PROSODY_TOKEN.into());
        config.services_mut().prosody.xmpp_domain = Some("chat.example.org".into());
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("lock") = mode;
    }

    /// Runs `hook(username)` after an account is created, before answering.
    pub fn on_create<F, Fut>(&self, hook: F)
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: Hook = Arc::new(move |name| Box::pin(hook(name)));
        *self.shared.on_create.lock().expect("lock") = Some(hook);
    }

    /// The users it holds and their passwords.
    pub fn users(&self) -> HashMap<String, String> {
        self.shared.users.lock().expect("lock").clone()
    }

    /// Adds a user as if created on the server directly.
    pub fn add_user(&self, name: &str, password: &str) {
        self.shared
            .users
            .lock()
            .expect("lock")
            .insert(name.into(), password.into());
    }

    /// Removes a user as if deleted on the server directly.
    pub fn remove_user(&self, name: &str) {
        self.shared.users.lock().expect("lock").remove(name);
    }

    /// `(method, username)` of every call, in order.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.shared.calls.lock().expect("lock").clone()
    }
}

impl Drop for FakeProsody {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `GET /admin_api/users`: every user, as `[{username}]`.
async fn users(State(s): State<Shared>, headers: HeaderMap) -> (StatusCode, String) {
    s.calls
        .lock()
        .expect("lock")
        .push(("GET".into(), String::new()));
    let mode = *s.mode.lock().expect("lock");
    match mode {
        Mode::Hang(wait) => tokio::time::sleep(wait).await,
        Mode::Fail(status) | Mode::FailOn("GET", status) => {
            return (StatusCode::from_u16(status).expect("status"), "{}".into());
        }
        _ => {}
    }
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", s.token));
    if !authorized {
        return (StatusCode::UNAUTHORIZED, "{}".into());
    }
    let mut names: Vec<String> = s.users.lock().expect("lock").keys().cloned().collect();
    names.sort();
    let list: Vec<serde_json::Value> = names
        .into_iter()
        .map(|n| serde_json::json!({ "username": n }))
        .collect();
    (StatusCode::OK, serde_json::Value::from(list).to_string())
}

async fn user(
    State(s): State<Shared>,
    method: Method,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    s.calls
        .lock()
        .expect("lock")
        .push((method.to_string(), name.clone()));
    let mode = *s.mode.lock().expect("lock");
    match mode {
        Mode::Hang(wait) => tokio::time::sleep(wait).await,
        Mode::Fail(status) => {
            return (
                StatusCode::from_u16(status).expect("status"),
                "{\"error\":\"failure\"}".into(),
            );
        }
        Mode::FailOn(m, status) if m == method.as_str() => {
            return (
                StatusCode::from_u16(status).expect("status"),
                "{\"error\":\"failure\"}".into(),
            );
        }
        _ => {}
    }
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", s.token));
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            "{\"error\":\"unauthorized\"}".into(),
        );
    }
    match method {
        Method::GET => {
            if s.users.lock().expect("lock").contains_key(&name) {
                (StatusCode::OK, format!("{{\"username\":\"{name}\"}}"))
            } else {
                (StatusCode::NOT_FOUND, "{\"error\":\"not found\"}".into())
            }
        }
        Method::PUT => {
            let password = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("password")
                        .and_then(|p| p.as_str())
                        .map(str::to_string)
                });
            let Some(password) = password else {
                return (
                    StatusCode::BAD_REQUEST,
                    "{\"error\":\"password required\"}".into(),
                );
            };
            let created = s
                .users
                .lock()
                .expect("lock")
                .insert(name.clone(), password)
                .is_none();
            if created {
                let hook = s.on_create.lock().expect("lock").clone();
                if let Some(hook) = hook {
                    hook(name).await;
                }
            }
            (StatusCode::OK, "{}".into())
        }
        Method::DELETE => {
            if s.users.lock().expect("lock").remove(&name).is_some() {
                (StatusCode::OK, "{}".into())
            } else {
                (StatusCode::NOT_FOUND, "{\"error\":\"not found\"}".into())
            }
        }
        _ => (StatusCode::METHOD_NOT_ALLOWED, "{}".into()),
    }
}
