//! Metrics as CloudWatch Embedded Metric Format: one JSON log line per request that counts
//! something, read by CloudWatch Logs into metrics in the `Portal` namespace. No network
//! call, no SDK. Counted from outcomes in one place (a layer of `http::finish`), so no
//! handler has to remember to: sign-ins, failed sign-ins, sign-ups, rate-limited requests
//! and server errors by route template (never a raw path: paths can hold secrets, and
//! templates keep the dimension small).

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value, json};

/// The namespace of every metric.
pub const NAMESPACE: &str = "Portal";

pub const SIGN_INS: &str = "SignIns";
pub const FAILED_SIGN_INS: &str = "FailedSignIns";
pub const SIGN_UPS: &str = "SignUps";
pub const RATE_LIMITED: &str = "RateLimited";
pub const SERVER_ERRORS: &str = "ServerErrors";

/// Where EMF lines go: standard output on Lambda (CloudWatch Logs), a buffer in tests.
#[derive(Clone)]
pub struct Sink(Arc<dyn Fn(String) + Send + Sync>);

impl Sink {
    pub fn stdout() -> Self {
        Self(Arc::new(|line| println!("{line}")))
    }

    /// Standard output on Lambda (where CloudWatch reads EMF); elsewhere (`portal-local`) a
    /// debug log line, so a local console is not filled with metric documents.
    pub fn for_environment() -> Self {
        if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            Self::stdout()
        } else {
            Self::new(|line| tracing::debug!(target: "metrics", "{line}"))
        }
    }

    pub fn new(write: impl Fn(String) + Send + Sync + 'static) -> Self {
        Self(Arc::new(write))
    }

    fn write(&self, line: String) {
        (self.0)(line)
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
    let dimensions = match route {
        Some(_) => json!([["Route"]]),
        None => json!([[]]),
    };
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": [{ "Name": metric, "Unit": "Count" }],
            }],
        }),
    );
    if let Some(route) = route {
        doc.insert("Route".into(), json!(route));
    }
    doc.insert(metric.into(), json!(1));
    Value::Object(doc).to_string()
}

/// The layer: counts each answer (see [`counted`]) after it is made.
pub async fn count(sink: Sink, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let route = response
        .extensions()
        .get::<crate::http::MatchedRoute>()
        .map(|r| r.0.as_str().to_string());
    let counts = counted(route.as_deref(), response.status().as_u16());
    if !counts.is_empty() {
        let at = crate::time::now().unix_timestamp_nanos() / 1_000_000;
        for (metric, route) in counts {
            sink.write(emf_line(metric, route.as_deref(), at));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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
