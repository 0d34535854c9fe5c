//! A small real HTTP server standing in for an upstream service (Sentry, Prosody, SES):
//! it records every request and answers as told, optionally after a delay.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;

/// A loopback port nothing listens on (bound, then freed): an upstream that is down.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Serves `app` on a free loopback port until the task is aborted (each fake stops it
/// when dropped).
pub(crate) async fn serve(app: Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// How the fake answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
    pub delay: Duration,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Self {
        Self {
            status: StatusCode::from_u16(status).expect("valid status"),
            content_type: "application/json",
            body: body.to_string(),
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }

    /// Answers with this header too.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Clone)]
struct Shared {
    reply: Arc<Mutex<Reply>>,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

/// The fake server; stops when dropped (its task belongs to the test's runtime).
pub struct FakeUpstream {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl FakeUpstream {
    pub async fn start(reply: Reply) -> Self {
        let shared = Shared {
            reply: Arc::new(Mutex::new(reply)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let (addr, task) = crate::upstream::serve(app).await;
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn set_reply(&self, reply: Reply) {
        *self.shared.reply.lock().expect("lock") = reply;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.seen.lock().expect("lock").clone()
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    shared.seen.lock().expect("lock").push(Recorded {
        method: parts.method,
        path: parts.uri.path().to_string(),
        headers: parts.headers,
        body,
    });
    let reply = shared.reply.lock().expect("lock").clone();
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (
        reply.status,
        [(http::header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
