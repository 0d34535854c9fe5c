//! Logging: JSON lines for CloudWatch on Lambda (one object per event, carrying the
//! request span's `request_id`), readable lines locally. `RUST_LOG` filters.

use tracing_subscriber::EnvFilter;

/// `info`, without the SDK's own log of every expected error answer (a missing table at
/// first start, a lost conditional write): we log what matters where we handle it.
const DEFAULT_FILTER: &str =
    "info,aws_smithy_runtime=error,aws_smithy_runtime_api=error,dynoxide=error";

/// Installs the global subscriber once; later calls are no-ops.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if on_lambda {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_ansi(false)
            .without_time()
            .try_init()
    } else {
        builder.compact().with_target(false).try_init()
    };
    // Already installed (tests, or a second init): keep the first.
    drop(result);
}
