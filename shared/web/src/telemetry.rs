//! Logging: JSON lines for CloudWatch on Lambda (one object per event, carrying the
//! request span: `request_id`, `aws_request_id`, `xray_trace_id`, `route`, `user_id`),
//! readable lines locally.
//!
//! The level: Lambda's own setting (`AWS_LAMBDA_LOG_LEVEL`, set from the function's
//! `LoggingConfig.ApplicationLogLevel`) wins, then `RUST_LOG`, then `info`; the SDK's and the
//! engine's chatter stays at `error` unless `RUST_LOG` names them. The format: Lambda's
//! `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`), JSON by default on Lambda, text elsewhere.

use portal_domain::config::Runtime;
use tracing_subscriber::EnvFilter;

/// Kept quiet at any level: the SDK's log of every expected error answer (a missing table
/// at first start, a lost conditional write); we log what matters where we handle it.
const QUIET: &str = "aws_smithy_runtime=error,aws_smithy_runtime_api=error,dynoxide=error";

/// The filter directives for Lambda's level setting and `RUST_LOG`.
pub fn filter_directives(lambda_level: Option<&str>, rust_log: Option<&str>) -> String {
    let lambda_level = lambda_level.and_then(|level| match level.to_ascii_uppercase().as_str() {
        "TRACE" => Some("trace"),
        "DEBUG" => Some("debug"),
        "INFO" => Some("info"),
        "WARN" => Some("warn"),
        // tracing has no FATAL: errors are the most severe it writes.
        "ERROR" | "FATAL" => Some("error"),
        _ => None,
    });
    match (lambda_level, rust_log.filter(|r| !r.trim().is_empty())) {
        (Some(level), _) => format!("{level},{QUIET}"),
        (None, Some(rust_log)) => rust_log.to_string(),
        (None, None) => format!("info,{QUIET}"),
    }
}

/// Whether lines are JSON: Lambda's format setting, else JSON exactly when on Lambda.
pub fn json_lines(on_lambda: bool, lambda_format: Option<&str>) -> bool {
    match lambda_format {
        Some(format) if format.eq_ignore_ascii_case("json") => true,
        Some(format) if format.eq_ignore_ascii_case("text") => false,
        _ => on_lambda,
    }
}

/// Installs the global subscriber once; later calls are no-ops.
pub fn init(runtime: &Runtime) {
    let directives = filter_directives(runtime.log_level.as_deref(), runtime.rust_log.as_deref());
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if json_lines(runtime.on_lambda(), runtime.log_format.as_deref()) {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_ansi(false)
            .without_time()
            .try_init()
    } else {
        builder
            .compact()
            .with_target(false)
            .with_ansi(!runtime.on_lambda())
            .try_init()
    };
    // Already installed (tests, or a second init): keep the first.
    drop(result);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_level_wins_then_rust_log_then_info() {
        assert_eq!(
            filter_directives(Some("DEBUG"), Some("trace")),
            format!("debug,{QUIET}")
        );
        assert_eq!(
            filter_directives(Some("FATAL"), None),
            format!("error,{QUIET}")
        );
        assert_eq!(
            filter_directives(None, Some("portal_auth=debug")),
            "portal_auth=debug"
        );
        assert_eq!(filter_directives(None, None), format!("info,{QUIET}"));
        // An unknown level is ignored rather than silencing everything.
        assert_eq!(
            filter_directives(Some("LOUD"), Some("warn")),
            "warn".to_string()
        );
        assert_eq!(filter_directives(None, Some("  ")), format!("info,{QUIET}"));
    }

    #[test]
    fn lambdas_format_wins_and_json_is_the_lambda_default() {
        assert!(json_lines(true, None));
        assert!(!json_lines(false, None));
        assert!(!json_lines(true, Some("Text")));
        assert!(json_lines(false, Some("JSON")));
        assert!(json_lines(true, Some("bogus")));
    }
}
