//! What the Lambda runtime tells a process about itself, and how it logs. Read before the
//! rest of the configuration: the log format is needed to report a refused configuration,
//! and the thread layout before anything runs.

/// The process's runtime facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runtime {
    /// `AWS_LAMBDA_FUNCTION_NAME`: set on Lambda (and under its emulators) only.
    pub function_name: Option<String>,
    /// `AWS_LAMBDA_MAX_CONCURRENCY`: invocations Lambda may send at once (1 unless Lambda
    /// Managed Instances says more).
    pub max_concurrency: u32,
    /// `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`.
    pub log_level: Option<String>,
    pub rust_log: Option<String>,
    /// `AWS_LAMBDA_LOG_FORMAT`: `json` or `text`.
    pub log_format: Option<String>,
    /// `PORTAL_HASH_WORKERS`: password-hashing threads (1 to 64).
    pub hash_workers: Option<usize>,
}

impl Runtime {
    /// The process environment's runtime facts.
    pub fn from_env() -> Self {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        Self {
            function_name: get("AWS_LAMBDA_FUNCTION_NAME"),
            max_concurrency: get("AWS_LAMBDA_MAX_CONCURRENCY")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1),
            log_level: get("AWS_LAMBDA_LOG_LEVEL"),
            rust_log: get("RUST_LOG"),
            log_format: get("AWS_LAMBDA_LOG_FORMAT"),
            hash_workers: get("PORTAL_HASH_WORKERS")
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|n| (1..=64).contains(n)),
        }
    }

    pub fn on_lambda(&self) -> bool {
        self.function_name.is_some()
    }
}
