//! Metrics as CloudWatch Embedded Metric Format: one JSON log line per request that counts
//! something, read by CloudWatch Logs into metrics in the `Portal` namespace. No network
//! call, no SDK. Counted from outcomes in one place (a layer of `http::finish`), so no
//! handler has to remember to: sign-ins, failed sign-ins, sign-ups, rate-limited requests
//! and server errors by route template (never a raw path: paths can hold secrets, and
//! templates keep the dimension small). Also what the request's [`Invocation`] saw: DynamoDB
//! latency and throttled attempts by operation, upstream failures by integration.
//!
//! [`Invocation`]: portal_domain::observe::Invocation

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value, json};

use portal_domain::observe::{Invocation, Observed};

/// The namespace of every metric.
pub const NAMESPACE: &str = "Portal";

pub const SIGN_INS: &str = "SignIns";
pub const FAILED_SIGN_INS: &str = "FailedSignIns";
pub const SIGN_UPS: &str = "SignUps";
pub const RATE_LIMITED: &str = "RateLimited";
pub const SERVER_ERRORS: &str = "ServerErrors";
pub const DYNAMODB_LATENCY: &str = "DynamoDBLatency";
pub const DYNAMODB_THROTTLES: &str = "DynamoDBThrottles";
pub const UPSTREAM_FAILURES: &str = "UpstreamFailures";

/// Where EMF lines go: standard output on Lambda (CloudWatch Logs), a buffer in tests.
#[derive(Clone)]
pub struct Sink {
    write: Arc<dyn Fn(String) + Send + Sync>,
    /// Whether lines are wanted at all: nothing is formatted for a sink that drops it.
    wanted: fn() -> bool,
}

impl Sink {
    pub fn stdout() -> Self {
        Self::new(|line| println!("{line}"))
    }

    /// Standard output on Lambda (where CloudWatch reads EMF); elsewhere (`portal-local`) a
    /// debug log line, so a local console is not filled with metric documents.
    pub fn for_runtime(runtime: &portal_domain::config::Runtime) -> Self {
        if runtime.on_lambda() {
            Self::stdout()
        } else {
            Self::debug_log()
        }
    }

    /// Debug log lines (target `metrics`); below that level, nothing is even formatted.
    pub fn debug_log() -> Self {
        Self {
            write: Arc::new(|line| tracing::debug!(target: "metrics", "{line}")),
            wanted: || tracing::enabled!(target: "metrics", tracing::Level::DEBUG),
        }
    }

    pub fn new(write: impl Fn(String) + Send + Sync + 'static) -> Self {
        Self {
            write: Arc::new(write),
            wanted: || true,
        }
    }

    fn write(&self, line: String) {
        (self.write)(line)
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("metrics::Sink")
    }
}

/// What one answer counts: `(metric, route dimension)`.
pub fn counted(route: Option<&str>, status: u16) -> Vec<(&'static str, Option<String>)> {
    let mut counts = Vec::new();
    match (route, status) {
        (Some("/api/auth/sign-in/email"), 200) => counts.push((SIGN_INS, None)),
        (Some("/api/auth/sign-in/email"), 401 | 403) => counts.push((FAILED_SIGN_INS, None)),
        (Some("/api/auth/sign-up/email"), 200) => counts.push((SIGN_UPS, None)),
        _ => {}
    }
    let route = route.unwrap_or("(no route)").to_string();
    if status == 429 {
        counts.push((RATE_LIMITED, Some(route.clone())));
    }
    if status >= 500 {
        counts.push((SERVER_ERRORS, Some(route)));
    }
    counts
}

/// One EMF document: `value` of `metric`, with a `Route` dimension when given.
pub fn emf_line(metric: &str, route: Option<&str>, timestamp_ms: i128) -> String {
    emf_document(
        route.map(|r| ("Route", r)),
        &[(metric, "Count", json!(1))],
        timestamp_ms,
    )
}

/// One EMF document: each `(name, unit, value)` of `metrics` (a value may be an array of
/// samples), under one dimension when given.
pub fn emf_document(
    dimension: Option<(&str, &str)>,
    metrics: &[(&str, &str, Value)],
    timestamp_ms: i128,
) -> String {
    let dimensions = match dimension {
        Some((name, _)) => json!([[name]]),
        None => json!([[]]),
    };
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit }))
        .collect();
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": definitions,
            }],
        }),
    );
    if let Some((name, value)) = dimension {
        doc.insert(name.into(), json!(value));
    }
    for (name, _, value) in metrics {
        doc.insert((*name).into(), value.clone());
    }
    Value::Object(doc).to_string()
}

/// The documents of what a request's invocation saw: per DynamoDB operation its latencies
/// (milliseconds, one sample a call) and throttled attempts (when any); per integration its
/// upstream failures.
pub fn observed_lines(invocation: &Invocation, timestamp_ms: i128) -> Vec<String> {
    let mut by_operation: BTreeMap<String, (Vec<f64>, u32)> = BTreeMap::new();
    for call in invocation.dynamo_calls() {
        let entry = by_operation.entry(call.operation).or_default();
        entry
            .0
            .push((call.latency.as_secs_f64() * 1000.0 * 100.0).round() / 100.0);
        entry.1 += call.throttled;
    }
    let mut lines = Vec::new();
    for (operation, (latencies, throttled)) in by_operation {
        let mut metrics = vec![(DYNAMODB_LATENCY, "Milliseconds", json!(latencies))];
        if throttled > 0 {
            metrics.push((DYNAMODB_THROTTLES, "Count", json!(throttled)));
        }
        lines.push(emf_document(
            Some(("Operation", &operation)),
            &metrics,
            timestamp_ms,
        ));
    }
    let mut by_integration: BTreeMap<&str, u32> = BTreeMap::new();
    for integration in invocation.upstream_failures() {
        *by_integration.entry(integration).or_default() += 1;
    }
    for (integration, failures) in by_integration {
        lines.push(emf_document(
            Some(("Integration", integration)),
            &[(UPSTREAM_FAILURES, "Count", json!(failures))],
            timestamp_ms,
        ));
    }
    lines
}

/// The layer: opens the request's [`Invocation`], counts its answer (see [`counted`]) and
/// writes what it saw ([`observed_lines`]); the record goes on in the response's extensions.
pub async fn count(sink: Sink, req: Request, next: Next) -> Response {
    let invocation = Arc::new(Invocation::default());
    let mut response = portal_domain::observe::scope(invocation.clone(), next.run(req)).await;
    let route = response
        .extensions()
        .get::<crate::request::MatchedRoute>()
        .map(|r| r.0.as_str().to_string());
    if !(sink.wanted)() {
        response.extensions_mut().insert(Observed(invocation));
        return response;
    }
    let at = portal_domain::time::now().unix_timestamp_nanos() / 1_000_000;
    for (metric, route) in counted(route.as_deref(), response.status().as_u16()) {
        sink.write(emf_line(metric, route.as_deref(), at));
    }
    for line in observed_lines(&invocation, at) {
        sink.write(line);
    }
    response.extensions_mut().insert(Observed(invocation));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_sink_formats_nothing_a_quieter_log_would_drop() {
        let sink = Sink::debug_log();
        let info = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::with_default(info, || assert!(!(sink.wanted)()));
        let debug = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::with_default(debug, || assert!((sink.wanted)()));
    }

    #[test]
    fn an_emf_line_is_what_cloudwatch_reads() {
        let line = emf_line(SERVER_ERRORS, Some("/api/user/me"), 1_700_000_000_000);
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Portal",
                        "Dimensions": [["Route"]],
                        "Metrics": [{"Name": "ServerErrors", "Unit": "Count"}],
                    }],
                },
                "Route": "/api/user/me",
                "ServerErrors": 1,
            })
        );
        let plain: Value = serde_json::from_str(&emf_line(SIGN_INS, None, 1)).unwrap();
        assert_eq!(
            plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert!(plain.get("Route").is_none());
    }

    #[tokio::test]
    async fn upstream_failures_are_counted_by_integration() {
        let invocation = Arc::new(Invocation::default());
        portal_domain::observe::scope(invocation.clone(), async {
            portal_domain::observe::upstream_failed("xmpp");
            portal_domain::observe::upstream_failed("xmpp");
        })
        .await;
        let lines = observed_lines(&invocation, 5);
        assert_eq!(lines.len(), 1);
        let doc: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 5,
                    "CloudWatchMetrics": [{
                        "Namespace": "Portal",
                        "Dimensions": [["Integration"]],
                        "Metrics": [{"Name": "UpstreamFailures", "Unit": "Count"}],
                    }],
                },
                "Integration": "xmpp",
                "UpstreamFailures": 2,
            })
        );
        assert!(observed_lines(&Invocation::default(), 5).is_empty());
    }

    #[test]
    fn outcomes_count_as_documented() {
        let sign_in = Some("/api/auth/sign-in/email");
        assert_eq!(counted(sign_in, 200), vec![(SIGN_INS, None)]);
        assert_eq!(counted(sign_in, 401), vec![(FAILED_SIGN_INS, None)]);
        assert_eq!(counted(sign_in, 403), vec![(FAILED_SIGN_INS, None)]);
        assert_eq!(
            counted(sign_in, 429),
            vec![(RATE_LIMITED, Some("/api/auth/sign-in/email".into()))]
        );
        assert_eq!(
            counted(Some("/api/auth/sign-up/email"), 200),
            vec![(SIGN_UPS, None)]
        );
        assert_eq!(
            counted(None, 503),
            vec![(SERVER_ERRORS, Some("(no route)".into()))]
        );
        assert!(counted(Some("/api/user/me"), 200).is_empty());
        assert!(counted(Some("/api/user/me"), 404).is_empty());
    }
}
