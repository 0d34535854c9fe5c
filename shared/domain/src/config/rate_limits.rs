//! The rules of the rate limiter (every function that serves callers counts them).

use super::vars::{ConfigError, Vars};

/// At most `max` requests per `window_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub max: u32,
    pub window_secs: u64,
}

impl Rule {
    pub const fn new(max: u32, window_secs: u64) -> Self {
        Self { max, window_secs }
    }

    fn parse(raw: &str) -> Option<Self> {
        let (max, window) = raw.trim().split_once('/')?;
        let rule = Self::new(max.trim().parse().ok()?, window.trim().parse().ok()?);
        (rule.max > 0 && rule.window_secs > 0).then_some(rule)
    }
}

/// Rate limits. Defaults are BetterAuth's for `/api/auth/*`; every rule can be changed
/// with `PORTAL_RATE_LIMIT_<NAME>=max/seconds`, and `PORTAL_RATE_LIMIT=off` turns them off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub enabled: bool,
    /// sign-in, sign-up, change-password (per IP and per target e-mail).
    pub credentials: Rule,
    /// password-reset and verification mail (per IP and per target e-mail).
    pub mail: Rule,
    /// every other auth path (per IP and path).
    pub auth_default: Rule,
    /// every other route, per signed-in user.
    pub per_user: Rule,
    /// every other route, per API key.
    pub per_api_key: Rule,
    /// the public Sentry tunnel, per client address.
    pub tunnel: Rule,
    /// password resets of service accounts, per user (default 5 an hour).
    pub service_resets: Rule,
    /// the chat bridge's identity look-ups, per caller (default 600 a minute).
    pub bridge: Rule,
    /// wrong passwords per account, wherever typed (sign-in by e-mail or username,
    /// change-password, two-factor's settings): then every password try of the account is
    /// refused until `window` has passed since the last failure (default 10 per 15 min).
    pub password_failures: Rule,
}

impl RateLimits {
    pub(super) fn load(vars: &Vars) -> Result<Self, ConfigError> {
        let rule = |name: &'static str, default: Rule| match vars.get(name) {
            None => Ok(default),
            Some(raw) => Rule::parse(&raw).ok_or_else(|| ConfigError::Invalid {
                name,
                reason: format!("`{raw}` is not max/seconds, e.g. 3/10"),
            }),
        };
        Ok(Self {
            enabled: enabled(vars)?,
            credentials: rule("PORTAL_RATE_LIMIT_CREDENTIALS", Rule::new(3, 10))?,
            mail: rule("PORTAL_RATE_LIMIT_MAIL", Rule::new(3, 60))?,
            auth_default: rule("PORTAL_RATE_LIMIT_AUTH", Rule::new(100, 10))?,
            per_user: rule("PORTAL_RATE_LIMIT_USER", Rule::new(300, 60))?,
            per_api_key: rule("PORTAL_RATE_LIMIT_API_KEY", Rule::new(1000, 3600))?,
            tunnel: rule("PORTAL_RATE_LIMIT_TUNNEL", Rule::new(120, 60))?,
            service_resets: rule("PORTAL_RATE_LIMIT_SERVICE_RESET", Rule::new(5, 3600))?,
            bridge: rule("PORTAL_RATE_LIMIT_BRIDGE", Rule::new(600, 60))?,
            password_failures: rule("PORTAL_RATE_LIMIT_PASSWORD_FAILURES", Rule::new(10, 900))?,
        })
    }
}

/// `PORTAL_RATE_LIMIT`: on unless `off` (refused in production).
fn enabled(vars: &Vars) -> Result<bool, ConfigError> {
    let off = matches!(
        vars.get("PORTAL_RATE_LIMIT")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("off" | "false" | "0" | "disabled")
    );
    if off && vars.production {
        return Err(ConfigError::Invalid {
            name: "PORTAL_RATE_LIMIT",
            reason: "rate limiting cannot be turned off in production".into(),
        });
    }
    Ok(!off)
}
