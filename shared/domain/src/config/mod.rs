//! Typed configuration, read once at start: every variable Portal reads is read in this
//! folder, one module per section. A function names the sections it needs ([`Needs`]); a
//! section it does not need is `None` (never read, so never required).
//!
//! Production refuses to start with a missing or weak secret: a misconfigured deployment
//! must fail its first cold start loudly, never run on a development default.

mod auth;
mod mail;
mod rate_limits;
mod runtime;
mod sentry;
mod services;
mod vars;

pub use auth::{
    AuthConfig, ClientRegistration, DEVELOPMENT_SECRET, OAuthProviderConfig, PasskeyConfig,
    ProviderEndpoints, SocialConfig,
};
pub use mail::{MailConfig, MailTransport};
pub use rate_limits::{RateLimits, Rule};
pub use runtime::Runtime;
pub use secrecy::{ExposeSecret, SecretString};
pub use sentry::{Dsn, TunnelConfig, parse_dsn};
pub use services::{IrcConfig, MailcowConfig, MediaWikiConfig, ProsodyConfig, ServicesConfig};
pub use vars::ConfigError;
use vars::Vars;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Production,
    Development,
    Test,
}

/// Which sections of the configuration a function needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub auth: bool,
    pub mail: bool,
    /// The browser tunnel's limits (the DSN itself is read by every function).
    pub tunnel: bool,
    /// The community services (Prosody, Atheme, Mailcow, MediaWiki, the bridge).
    pub services: bool,
}

impl Needs {
    /// Everything: the local gateway, the tests.
    pub const ALL: Needs = Needs {
        auth: true,
        mail: true,
        tunnel: true,
        services: true,
    };
}

/// What every function has (where it runs, its table, its body cap, its rate limits, the
/// Sentry project of its errors) and the sections it needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub runtime: Runtime,
    /// The single DynamoDB table.
    pub table_name: String,
    /// Cap on request bodies for every route that has no cap of its own.
    pub max_body_bytes: usize,
    /// How long audit events are kept (`PORTAL_AUDIT_RETENTION_DAYS`, default 365): their
    /// `ttl`.
    pub audit_retention_days: i64,
    pub rate_limits: RateLimits,
    /// The Sentry project errors go to (`SENTRY_DSN`); the tunnel forwards only to it.
    pub sentry_dsn: Option<Dsn>,
    pub auth: Option<AuthConfig>,
    pub mail: Option<MailConfig>,
    pub tunnel: Option<TunnelConfig>,
    pub services: Option<ServicesConfig>,
}

impl Config {
    /// Reads the process environment, every section.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(|name| std::env::var(name).ok(), Needs::ALL)
    }

    /// Reads the process environment: the core and the sections `needs` names.
    pub fn from_env_for(needs: Needs) -> Result<Self, ConfigError> {
        Self::load(|name| std::env::var(name).ok(), needs)
    }

    /// Reads every section through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::load(lookup, Needs::ALL)
    }

    /// Reads the core and the sections `needs` names through `lookup`.
    pub fn load(
        lookup: impl Fn(&str) -> Option<String>,
        needs: Needs,
    ) -> Result<Self, ConfigError> {
        let mut vars = Vars::new(&lookup);
        let runtime = Runtime::from_lookup(&lookup);
        let environment = environment(&vars, &runtime)?;
        vars.production = environment == Environment::Production;
        let section = |needed: bool| needed.then_some(&vars);
        Ok(Self {
            environment,
            table_name: vars.required_in_production("TABLE_NAME", "portal")?,
            max_body_bytes: vars.number("PORTAL_MAX_BODY_BYTES", 1024 * 1024)?,
            audit_retention_days: vars.number("PORTAL_AUDIT_RETENTION_DAYS", 365)?,
            rate_limits: RateLimits::load(&vars)?,
            sentry_dsn: sentry::dsn(&vars)?,
            auth: section(needs.auth).map(AuthConfig::load).transpose()?,
            mail: section(needs.mail).map(MailConfig::load).transpose()?,
            tunnel: section(needs.tunnel).map(TunnelConfig::load).transpose()?,
            services: section(needs.services)
                .map(ServicesConfig::load)
                .transpose()?,
            runtime,
        })
    }

    /// A configuration for tests: development defaults, every section, the given table.
    pub fn for_tests(table_name: &str) -> Self {
        let mut config = Self::from_lookup(|name| match name {
            "PORTAL_ENV" => Some("test".into()),
            _ => None,
        })
        .expect("test defaults are valid");
        config.table_name = table_name.to_string();
        config
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// `production`, `development` or `test`, as `PORTAL_ENV` spells it.
    pub fn environment_name(&self) -> &'static str {
        match self.environment {
            Environment::Production => "production",
            Environment::Development => "development",
            Environment::Test => "test",
        }
    }

    /// Whether staff and admin power needs a second factor (`PORTAL_REQUIRE_2FA_FOR_STAFF`;
    /// off where nobody is authenticated).
    pub fn requires_2fa_for_staff(&self) -> bool {
        self.auth.as_ref().is_some_and(|a| a.require_2fa_for_staff)
    }
}

/// `PORTAL_ENV`, or production on Lambda, else development.
fn environment(vars: &Vars, runtime: &Runtime) -> Result<Environment, ConfigError> {
    Ok(
        match vars
            .get("PORTAL_ENV")
            .as_deref()
            .map(str::to_ascii_lowercase)
        {
            Some(v) if v == "production" => Environment::Production,
            Some(v) if v == "development" => Environment::Development,
            Some(v) if v == "test" => Environment::Test,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "PORTAL_ENV",
                    reason: format!("`{other}` is not production, development or test"),
                });
            }
            // On Lambda nothing may run on development defaults by accident.
            None if runtime.on_lambda() => Environment::Production,
            None => Environment::Development,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn auth(c: &Config) -> &AuthConfig {
        c.auth.as_ref().expect("the auth section was read")
    }

    const STRONG: &str = "0123456789abcdef0123456789abcdef-strong";

    #[test]
    fn each_function_reads_only_its_own_sections() {
        let lookup = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        const MONITORING: &[(&str, &str)] = &[
            ("PORTAL_ENV", "production"),
            ("TABLE_NAME", "portal"),
            ("SENTRY_DSN", "https://k@o1.ingest.sentry.io/42"),
        ];
        let only_sentry = Needs {
            auth: false,
            mail: false,
            tunnel: true,
            services: false,
        };
        // The public monitoring function starts in production with no auth secret at all,
        // and holds no secret of the deployment.
        let c = Config::load(lookup(MONITORING), only_sentry).unwrap();
        assert!(c.sentry_dsn.is_some());
        assert!(c.auth.is_none());
        // The same variables do not start a function that needs the auth section.
        let err = Config::load(lookup(MONITORING), Needs::ALL).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                name: "PORTAL_BASE_URL"
            }
        );
        // A section not needed is not read: Prosody stays off even when set.
        const WITH_PROSODY: &[(&str, &str)] = &[
            ("PROSODY_REST_URL", "http://127.0.0.1:5280"),
            ("PROSODY_REST_TOKEN", "t"),
            ("XMPP_DOMAIN", "chat.example.org"),
        ];
        let c = Config::load(lookup(WITH_PROSODY), only_sentry).unwrap();
        assert!(c.services.is_none());
        let all = Config::load(lookup(WITH_PROSODY), Needs::ALL).unwrap();
        assert!(all.services.unwrap().prosody.rest_url.is_some());
    }

    #[test]
    fn production_refuses_unsafe_settings() {
        let base = [
            ("PORTAL_ENV", "production"),
            ("TABLE_NAME", "portal"),
            ("BETTER_AUTH_SECRET", STRONG),
            ("PORTAL_MAIL_FROM", "Portal <no-reply@example.org>"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        let https = ("PORTAL_BASE_URL", "https://portal.example.org");
        assert_eq!(
            with(&[https, ("PORTAL_RATE_LIMIT", "off")])
                .unwrap_err()
                .to_string(),
            "PORTAL_RATE_LIMIT is invalid: rate limiting cannot be turned off in production"
        );
        assert_eq!(
            with(&[("PORTAL_BASE_URL", "http://portal.example.org")])
                .unwrap_err()
                .to_string(),
            "PORTAL_BASE_URL is invalid: must be an https URL in production"
        );
        assert!(with(&[("PORTAL_BASE_URL", "http://localhost:3000")]).is_ok());
        assert!(with(&[https, ("PORTAL_RATE_LIMIT", "on")]).is_ok());
        // Outside production both stay possible (local load tests, plain http).
        assert!(
            !config(&[("PORTAL_RATE_LIMIT", "off")])
                .unwrap()
                .rate_limits
                .enabled
        );
    }

    #[test]
    fn production_refuses_to_start_without_its_secret() {
        let err = config(&[
            ("PORTAL_ENV", "production"),
            ("TABLE_NAME", "portal"),
            ("PORTAL_BASE_URL", "https://portal.example.org"),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "BETTER_AUTH_SECRET is required in production"
        );
    }

    #[test]
    fn production_refuses_the_development_secret_and_short_secrets() {
        let base = [
            ("PORTAL_ENV", "production"),
            ("TABLE_NAME", "portal"),
            ("PORTAL_BASE_URL", "https://portal.example.org"),
        ];
        let mut with_dev = base.to_vec();
        with_dev.push(("BETTER_AUTH_SECRET", DEVELOPMENT_SECRET));
        assert!(matches!(
            config(&with_dev),
            Err(ConfigError::Invalid {
                name: "BETTER_AUTH_SECRET",
                ..
            })
        ));
        let mut with_short = base.to_vec();
        with_short.push(("BETTER_AUTH_SECRET", "short"));
        assert!(matches!(
            config(&with_short),
            Err(ConfigError::Invalid {
                name: "BETTER_AUTH_SECRET",
                ..
            })
        ));
    }

    #[test]
    fn the_previous_secret_is_held_to_the_same_rules_and_only_accepted() {
        let base = [
            ("PORTAL_ENV", "production"),
            ("TABLE_NAME", "portal"),
            ("PORTAL_BASE_URL", "https://portal.example.org"),
            ("BETTER_AUTH_SECRET", STRONG),
            ("PORTAL_MAIL_FROM", "Portal <no-reply@example.org>"),
        ];
        let with = |previous: &'static str| {
            let mut vars = base.to_vec();
            vars.push(("BETTER_AUTH_SECRET_PREVIOUS", previous));
            config(&vars)
        };
        assert_eq!(
            with("short").unwrap_err().to_string(),
            "BETTER_AUTH_SECRET_PREVIOUS is invalid: must be at least 32 characters"
        );
        let old = "an-older-secret-of-forty-characters-long";
        let rotated = with(old).unwrap();
        assert_eq!(auth(&rotated).secret.expose_secret(), STRONG);
        assert_eq!(
            auth(&rotated).accepted_secrets().collect::<Vec<_>>(),
            vec![STRONG, old]
        );
        // Empty (the template's default) or the current secret again: no second secret.
        assert_eq!(auth(&with("").unwrap()).accepted_secrets().count(), 1);
        assert_eq!(auth(&with(STRONG).unwrap()).accepted_secrets().count(), 1);
    }

    #[test]
    fn lambda_without_portal_env_is_production() {
        let err = config(&[("AWS_LAMBDA_FUNCTION_NAME", "portal-auth")]).unwrap_err();
        assert_eq!(err, ConfigError::Missing { name: "TABLE_NAME" });
    }

    #[test]
    fn production_starts_with_everything_set() {
        let c = config(&[
            ("PORTAL_ENV", "production"),
            ("TABLE_NAME", "portal-prod"),
            ("PORTAL_BASE_URL", "https://portal.example.org"),
            ("BETTER_AUTH_SECRET", STRONG),
            ("PORTAL_MAIL_FROM", "Portal <no-reply@example.org>"),
        ])
        .unwrap();
        assert!(c.is_production());
        assert_eq!(c.mail.unwrap().transport, MailTransport::Ses);
        assert_eq!(c.table_name, "portal-prod");
        assert!(c.sentry_dsn.is_none());
    }

    #[test]
    fn rate_limit_rules_are_configurable_and_checked() {
        let c = config(&[
            ("PORTAL_RATE_LIMIT_CREDENTIALS", "5/30"),
            ("PORTAL_RATE_LIMIT", "off"),
        ])
        .unwrap();
        assert_eq!(c.rate_limits.credentials, Rule::new(5, 30));
        assert_eq!(c.rate_limits.mail, Rule::new(3, 60));
        assert!(!c.rate_limits.enabled);
        assert!(config(&[]).unwrap().rate_limits.enabled, "on by default");
        let err = config(&[("PORTAL_RATE_LIMIT_MAIL", "lots")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("PORTAL_RATE_LIMIT_MAIL is invalid")
        );
    }

    #[test]
    fn the_senders_local_part_is_read_from_its_address() {
        assert_eq!(
            mail::sender_local_part("Portal <Hello@portal.example.org>").as_deref(),
            Some("hello")
        );
        assert_eq!(mail::sender_local_part("bot@x.org").as_deref(), Some("bot"));
        assert_eq!(mail::sender_local_part("nobody"), None);
    }

    #[test]
    fn development_has_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.environment, Environment::Development);
        assert_eq!(auth(&c).secret.expose_secret(), DEVELOPMENT_SECRET);
        assert_eq!(auth(&c).base_url.as_str(), "http://localhost:3000/");
    }

    #[test]
    fn no_secret_shows_in_the_configurations_debug() {
        let secrets = [
            ("BETTER_AUTH_SECRET", "s3cret-current-0123456789-abcdefghij"),
            (
                "BETTER_AUTH_SECRET_PREVIOUS",
                "s3cret-previous-0123456789-abcdefgh",
            ),
            ("BRIDGE_SERVICE_TOKEN", "s3cret-bridge"),
            ("PROSODY_REST_TOKEN", "s3cret-prosody"),
            ("IRC_ATHEME_OPER_PASSWORD", "s3cret-atheme"),
            ("MAILCOW_API_KEY", "s3cret-mailcow"),
            ("MEDIAWIKI_BOT_PASSWORD", "s3cret-wiki"),
        ];
        let c = config(&secrets).unwrap();
        let services = c.services.as_ref().expect("the services section is loaded");
        assert_eq!(
            services
                .irc
                .oper_password
                .as_ref()
                .map(|p| p.expose_secret()),
            Some("s3cret-atheme")
        );
        let shown = format!("{c:?}");
        for (name, value) in secrets {
            assert!(!shown.contains(value), "{name} shows in {shown}");
        }
    }

    #[test]
    fn cookie_prefix_and_sign_in_page_are_configurable_and_checked() {
        let c = config(&[]).unwrap();
        assert_eq!(auth(&c).cookie_prefix, "better-auth");
        assert_eq!(
            auth(&c).sign_in_url.as_str(),
            "http://localhost:3000/auth/sign-in"
        );
        let c = config(&[
            ("PORTAL_COOKIE_PREFIX", "portal"),
            ("PORTAL_SIGN_IN_URL", "https://app.example.org/login"),
        ])
        .unwrap();
        assert_eq!(auth(&c).cookie_prefix, "portal");
        assert_eq!(
            auth(&c).sign_in_url.as_str(),
            "https://app.example.org/login"
        );
        for bad in ["por tal", "portal;x=1", "a.b"] {
            let err = config(&[("PORTAL_COOKIE_PREFIX", bad)]).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("PORTAL_COOKIE_PREFIX is invalid"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bad_numbers_and_dsns_are_named() {
        let err = config(&[("PORTAL_MAX_BODY_BYTES", "lots")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("PORTAL_MAX_BODY_BYTES is invalid")
        );
        let err = config(&[("SENTRY_DSN", "https://o1.ingest.sentry.io/abc")]).unwrap_err();
        assert!(err.to_string().starts_with("SENTRY_DSN is invalid"));
    }

    #[test]
    fn the_dsn_is_sentrys_own_with_a_numeric_project() {
        let dsn = parse_dsn("https://abc123@o42.ingest.sentry.io/4505").unwrap();
        assert_eq!(dsn.host(), "o42.ingest.sentry.io");
        assert_eq!(dsn.project_id().value(), "4505");
        assert_eq!(
            dsn.envelope_api_url().as_str(),
            "https://o42.ingest.sentry.io/api/4505/envelope/"
        );
        let prefixed = parse_dsn("http://key@127.0.0.1:9000/sentry/7").unwrap();
        assert_eq!(
            prefixed.envelope_api_url().as_str(),
            "http://127.0.0.1:9000/sentry/api/7/envelope/"
        );
        assert!(parse_dsn("https://key@sentry.example.org/abc").is_err());
    }
}
