//! Sentry: the project every function reports its own 5xx answers and panics to, and the
//! browser tunnel's limits (the monitoring function's section).

use std::time::Duration;

pub use sentry_types::Dsn;

use super::vars::{ConfigError, Vars};

/// A DSN as Portal takes it: Sentry's own parser, and a numeric project id (the tunnel
/// builds the envelope URL from it).
pub fn parse_dsn(raw: &str) -> Result<Dsn, String> {
    let dsn: Dsn = raw.trim().parse().map_err(|e| format!("{e}"))?;
    let project = dsn.project_id().value();
    if project.is_empty() || !project.bytes().all(|b| b.is_ascii_digit()) {
        return Err("project id must be numeric".into());
    }
    Ok(dsn)
}

/// `SENTRY_DSN`, read by every function.
pub(super) fn dsn(vars: &Vars) -> Result<Option<Dsn>, ConfigError> {
    vars.get("SENTRY_DSN")
        .map(|raw| {
            parse_dsn(&raw).map_err(|reason| ConfigError::Invalid {
                name: "SENTRY_DSN",
                reason,
            })
        })
        .transpose()
}

/// The browser tunnel's limits.
#[derive(Debug, Clone)]
pub struct TunnelConfig {
    /// `SENTRY_TUNNEL_TIMEOUT_MS` (default 5 s).
    pub timeout: Duration,
    /// `SENTRY_TUNNEL_MAX_BYTES` (default 1 MiB).
    pub max_bytes: usize,
}

impl TunnelConfig {
    pub(super) fn load(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            timeout: vars.millis("SENTRY_TUNNEL_TIMEOUT_MS", 5_000)?,
            max_bytes: vars.number("SENTRY_TUNNEL_MAX_BYTES", 1024 * 1024)?,
        })
    }
}
