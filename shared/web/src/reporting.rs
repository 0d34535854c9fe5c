//! The functions' own errors to Sentry: every 5xx answer (a panic included) becomes one
//! event in the project of `SENTRY_DSN`, the one the browser tunnel feeds, sent before the
//! request's answer leaves (on Lambda nothing runs between invocations, so an unsent event
//! would wait for the next one, or be lost with the sandbox). No DSN: nothing is sent and
//! nothing waits.
//!
//! An event carries the status, the route TEMPLATE, the method, the request ids and the
//! function's name: never a raw path, a header, a body or a user's address, which can hold
//! secrets or personal data.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use sentry::protocol::{Event, Level};

use portal_domain::config::Config;

/// How long an answer may wait for its event to reach Sentry.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// A Sentry client for this process, when a DSN is configured.
#[derive(Clone, Default)]
pub struct Reporter(Option<Arc<Reporting>>);

struct Reporting {
    client: Arc<sentry::Client>,
    /// The Lambda function's name, tagged on every event.
    function: Option<String>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Reporter(on)"
        } else {
            "Reporter(off)"
        })
    }
}

impl Reporter {
    pub fn from_config(config: &Config) -> Self {
        let Some(dsn) = config.sentry_dsn.clone() else {
            return Self(None);
        };
        let mut options = sentry::ClientOptions::default();
        options.dsn = Some(dsn);
        options.environment = Some(config.environment_name().into());
        options.release = Some(concat!("portal@", env!("CARGO_PKG_VERSION")).into());
        options.send_default_pii = false;
        // Only what we capture below: no panic hook, no context probing of the host.
        options.default_integrations = false;
        // Sentry's reqwest transport, on a client that gives up with the flush: an event that
        // cannot be delivered in time is dropped rather than held in flight (dropping the
        // client joins its thread, which would otherwise wait on a silent Sentry forever).
        options.transport = Some(Arc::new(|options: &sentry::ClientOptions| {
            let http = reqwest::Client::builder()
                .timeout(FLUSH_TIMEOUT)
                .build()
                .unwrap_or_default();
            match sentry::TransportOptions::try_from_client_options(options) {
                Some(general) => Arc::new(
                    sentry::transports::ReqwestHttpTransportOptions::from(general)
                        .with_client(http)
                        .build(),
                ) as Arc<dyn sentry::Transport>,
                None => Arc::new(NoTransport),
            }
        }));
        let options = sentry::apply_defaults(options);
        Self(Some(Arc::new(Reporting {
            client: Arc::new(sentry::Client::from(options)),
            function: config.runtime.function_name.clone(),
        })))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }
}

/// Sends nothing (a client whose options hold no DSN never gets here).
struct NoTransport;

impl sentry::Transport for NoTransport {
    fn send_envelope(&self, _envelope: sentry::Envelope) {}
}

/// What the event of one failed answer says.
fn event_for(
    status: u16,
    route: Option<&str>,
    method: &str,
    ids: &Ids,
    panic: Option<&str>,
) -> Event<'static> {
    let route = route.unwrap_or("(no route)");
    let message = match panic {
        Some(what) => format!("handler panicked on {method} {route}: {what}"),
        None => format!("{status} on {method} {route}"),
    };
    let mut event = Event {
        message: Some(message),
        level: if panic.is_some() {
            Level::Fatal
        } else {
            Level::Error
        },
        transaction: Some(format!("{method} {route}")),
        ..Default::default()
    };
    let mut tag = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            event.tags.insert(name.into(), value.into());
        }
    };
    tag("status", Some(&status.to_string()));
    tag("route", Some(route));
    tag("function", ids.function.as_deref());
    tag("request_id", ids.request_id.as_deref());
    tag("aws_request_id", ids.aws_request_id.as_deref());
    event
}

#[derive(Debug, Default)]
struct Ids {
    function: Option<String>,
    request_id: Option<String>,
    aws_request_id: Option<String>,
}

/// The layer: after each answer, a 5xx is captured and flushed before the answer goes on.
pub async fn report(reporter: Reporter, req: Request, next: Next) -> Response {
    let Some(reporting) = reporter.0 else {
        return next.run(req).await;
    };
    let method = req.method().clone();
    let ids = Ids {
        function: reporting.function.clone(),
        request_id: req
            .extensions()
            .get::<crate::request::RequestId>()
            .map(|id| id.0.clone()),
        aws_request_id: lambda_http::RequestExt::lambda_context_ref(&req)
            .map(|c| c.request_id.clone()),
    };
    let response = next.run(req).await;
    let status = response.status().as_u16();
    // Below 500, or an upstream's own answer relayed as it came: not our failure.
    if status < 500
        || response
            .extensions()
            .get::<crate::request::VerbatimBody>()
            .is_some()
    {
        return response;
    }
    let route = response
        .extensions()
        .get::<crate::request::MatchedRoute>()
        .map(|r| r.0.as_str().to_string());
    let panic = response
        .extensions()
        .get::<crate::request::Panicked>()
        .map(|p| p.0.clone());
    let event = event_for(
        status,
        route.as_deref(),
        method.as_str(),
        &ids,
        panic.as_deref(),
    );
    let client = reporting.client.clone();
    let hub = sentry::Hub::new(Some(client.clone()), Arc::new(sentry::Scope::default()));
    hub.capture_event(event);
    // Sent before the answer leaves; the flush blocks, so off the async workers.
    let flushed = tokio::task::spawn_blocking(move || client.flush(Some(FLUSH_TIMEOUT))).await;
    if !matches!(flushed, Ok(true)) {
        tracing::warn!("the error event did not reach Sentry in time");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_dsn_there_is_no_client() {
        let mut config = Config::for_tests("t");
        config.sentry_dsn = None;
        assert!(!Reporter::from_config(&config).is_on());
        config.sentry_dsn = portal_domain::config::parse_dsn("https://k@sentry.example.org/7").ok();
        assert!(Reporter::from_config(&config).is_on());
    }

    #[test]
    fn an_event_names_the_route_template_and_the_ids_only() {
        let ids = Ids {
            function: Some("portal-auth".into()),
            request_id: Some("req-1".into()),
            aws_request_id: None,
        };
        let event = event_for(503, Some("/api/user/me"), "GET", &ids, None);
        assert_eq!(event.message.as_deref(), Some("503 on GET /api/user/me"));
        assert_eq!(event.level, Level::Error);
        assert_eq!(event.tags["route"], "/api/user/me");
        assert_eq!(event.tags["function"], "portal-auth");
        assert!(!event.tags.contains_key("aws_request_id"));
        let panic = event_for(500, None, "POST", &Ids::default(), Some("boom"));
        assert_eq!(
            panic.message.as_deref(),
            Some("handler panicked on POST (no route): boom")
        );
        assert_eq!(panic.level, Level::Fatal);
    }
}
