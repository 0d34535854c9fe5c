//! A DynamoDB that misbehaves on demand: a small HTTP proxy on loopback in front of the
//! embedded engine, speaking DynamoDB's wire protocol. It forwards requests, or answers
//! them as a struggling DynamoDB would (throttling, a 500, an answer that never comes),
//! from a chosen request on, so a test can break a multi-step write in the middle.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portal_domain::Config;
use portal_domain::store::Db;
use portal_web::AppState;

use crate::engine::shared_engine;

/// What the proxy does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward it to the engine.
    Pass,
    /// 400 `ThrottlingException`, as DynamoDB answers when over its limits.
    Throttle,
    /// 500 `InternalServerError`.
    ServerError,
    /// Answer only after this long (past the client's timeouts).
    Hang(Duration),
    /// Forward it after this long: a table a few milliseconds away, so that calls that go
    /// out together overlap and calls that wait for each other do not.
    Delay(Duration),
}

#[derive(Clone)]
struct Shared {
    target: String,
    client: reqwest::Client,
    fault: Arc<Mutex<Fault>>,
    /// Requests pass until this many have been seen, then the fault applies.
    pass_first: Arc<AtomicUsize>,
    seen: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
    /// Each request: operation, when it came in, when it was answered.
    timeline: Arc<Mutex<Vec<(String, Instant, Instant)>>>,
}

/// The proxy; it stops when dropped with its runtime (the test's).
pub struct FaultyDynamo {
    url: String,
    shared: Shared,
}

impl FaultyDynamo {
    /// A proxy in front of the shared engine, passing everything.
    pub async fn start() -> Self {
        let shared = Shared {
            target: shared_engine().endpoint().to_string(),
            client: reqwest::Client::new(),
            fault: Arc::new(Mutex::new(Fault::Pass)),
            pass_first: Arc::new(AtomicUsize::new(0)),
            seen: Arc::new(AtomicUsize::new(0)),
            targets: Arc::new(Mutex::new(Vec::new())),
            timeline: Arc::new(Mutex::new(Vec::new())),
        };
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// From now on, every request meets `fault`.
    pub fn set(&self, fault: Fault) {
        self.after(0, fault);
    }

    /// The next `passing` requests go through, then every request meets `fault`.
    pub fn after(&self, passing: usize, fault: Fault) {
        self.shared.pass_first.store(
            self.shared.seen.load(Ordering::SeqCst) + passing,
            Ordering::SeqCst,
        );
        *self.shared.fault.lock().expect("fault lock") = fault;
    }

    /// The DynamoDB operations received so far (`GetItem`, `TransactWriteItems`, ...).
    pub fn operations(&self) -> Vec<String> {
        self.shared.targets.lock().expect("targets lock").clone()
    }

    /// The requests since the last call, as sequential round trips: each inner list is the
    /// calls that went out together (sorted by name); a call made once any call of the
    /// current round trip was answered starts the next one (it could have waited for it).
    /// Meaningful with [`Fault::Delay`], which makes each call last long enough that calls
    /// sent together start well before the first of them is answered.
    pub fn round_trips(&self) -> Vec<Vec<String>> {
        let mut calls = std::mem::take(&mut *self.shared.timeline.lock().expect("timeline lock"));
        calls.sort_by_key(|(_, start, _)| *start);
        let mut trips: Vec<(Vec<String>, Instant)> = Vec::new();
        for (operation, start, end) in calls {
            match trips.last_mut() {
                Some((ops, first_end)) if start < *first_end => {
                    ops.push(operation);
                    *first_end = (*first_end).min(end);
                }
                _ => trips.push((vec![operation], end)),
            }
        }
        trips
            .into_iter()
            .map(|(mut ops, _)| {
                ops.sort();
                ops
            })
            .collect()
    }
}

async fn forward(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_start_matches("DynamoDB_20120810.")
        .to_string();
    let response = answer(&shared, &headers, body, &target).await;
    shared
        .timeline
        .lock()
        .expect("timeline lock")
        .push((target, started, Instant::now()));
    response
}

async fn answer(shared: &Shared, headers: &HeaderMap, body: Bytes, target: &str) -> Response {
    let n = shared.seen.fetch_add(1, Ordering::SeqCst);
    shared
        .targets
        .lock()
        .expect("targets lock")
        .push(target.to_string());
    let fault = if n < shared.pass_first.load(Ordering::SeqCst) {
        Fault::Pass
    } else {
        *shared.fault.lock().expect("fault lock")
    };
    let error = |status: StatusCode, kind: &str, message: &str| {
        let body = format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"{message}"}}"#
        );
        (
            status,
            [("content-type", "application/x-amz-json-1.0")],
            body,
        )
            .into_response()
    };
    match fault {
        Fault::Throttle => error(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal server error",
        ),
        Fault::Hang(delay) => {
            tokio::time::sleep(delay).await;
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "late",
            )
        }
        Fault::Pass | Fault::Delay(_) => {
            if let Fault::Delay(delay) = fault {
                tokio::time::sleep(delay).await;
            }
            let mut request = shared.client.post(&shared.target).body(body);
            for (name, value) in headers {
                if name != "host" && name != "content-length" {
                    request = request.header(name.as_str(), value.as_bytes());
                }
            }
            match request.send().await {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    let content_type = answer
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("application/x-amz-json-1.0")
                        .to_string();
                    let bytes = answer.bytes().await.unwrap_or_default();
                    (
                        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                        [("content-type", content_type)],
                        bytes,
                    )
                        .into_response()
                }
                Err(_) => StatusCode::BAD_GATEWAY.into_response(),
            }
        }
    }
}

/// Test configuration on a fresh table whose every DynamoDB call goes through a
/// [`FaultyDynamo`] (the table itself is created directly on the engine).
pub async fn faulty_state(adjust: impl FnOnce(&mut Config)) -> (AppState, FaultyDynamo) {
    let direct = crate::engine::fresh_db().await;
    let proxy = FaultyDynamo::start().await;
    // The production timeouts: what a deployed function would do.
    let db = Db::local_with(
        proxy.url(),
        direct.table(),
        portal_domain::store::timeouts(),
    );
    let mut config = Config::for_tests(direct.table());
    adjust(&mut config);
    (AppState::new(config, db), proxy)
}
