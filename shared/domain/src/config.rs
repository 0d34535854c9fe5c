//! Typed configuration, read once at start from the environment.
//!
//! Production refuses to start with a missing or weak secret: a misconfigured deployment
//! must fail its first cold start loudly, never run on a development default.

use std::time::Duration;

use thiserror::Error;
use url::Url;

/// The secret used when none is configured outside production (BetterAuth's own fallback
/// has the same role). It can never be used in production.
pub const DEVELOPMENT_SECRET: &str = "portal-development-secret-do-not-use-in-production";

const MIN_PRODUCTION_SECRET_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Production,
    Development,
    Test,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} is required in production")]
    Missing { name: &'static str },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A Sentry DSN, parsed: `{scheme}://{public_key}@{host}[:port]/{path_prefix}{project_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentryDsn {
    pub scheme: String,
    pub public_key: String,
    pub host: String,
    pub port: Option<u16>,
    pub path_prefix: String,
    pub project_id: String,
}

impl SentryDsn {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
        let scheme = url.scheme().to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err("scheme must be http or https".into());
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("no host")?
            .to_ascii_lowercase();
        let public_key = url.username().to_string();
        if public_key.is_empty() {
            return Err("no public key".into());
        }
        let path = url.path().trim_end_matches('/');
        let (prefix, project) = path.rsplit_once('/').ok_or("no project id")?;
        if project.is_empty() || !project.bytes().all(|b| b.is_ascii_digit()) {
            return Err("project id must be numeric".into());
        }
        Ok(Self {
            scheme,
            public_key,
            host,
            port: url.port(),
            path_prefix: format!("{prefix}/"),
            project_id: project.to_string(),
        })
    }

    fn effective_port(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }

    /// True when `other` names the same Sentry project on the same host and port.
    pub fn same_project(&self, other: &SentryDsn) -> bool {
        self.host == other.host
            && self.effective_port() == other.effective_port()
            && self.project_id == other.project_id
    }

    /// The DSN written out again (`scheme://key@host[:port]/prefix/project`).
    pub fn as_url(&self) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{}@{}{}{}{}",
            self.scheme, self.public_key, self.host, port, self.path_prefix, self.project_id
        )
    }

    /// Where envelopes for this project are posted; built only from this DSN.
    pub fn envelope_url(&self) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{}{}{}api/{}/envelope/",
            self.scheme, self.host, port, self.path_prefix, self.project_id
        )
    }
}

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

/// How mail leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// One JSON file per mail in this folder (development and tests).
    Outbox(std::path::PathBuf),
    /// Amazon SES (v2 API).
    Ses,
}

/// Which sections of the configuration a function needs. A section it does not need is
/// not read (its variables need not be set, even in production) and holds inert values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub auth: bool,
    pub mail: bool,
    /// The browser tunnel's settings (the DSN itself is read by every function).
    pub sentry: bool,
    /// The community services' settings (Prosody, Atheme, Mailcow, MediaWiki, the bridge).
    pub services: bool,
}

impl Needs {
    /// Everything: the local gateway, the tests.
    pub const ALL: Needs = Needs {
        auth: true,
        mail: true,
        sentry: true,
        services: true,
    };
}

/// What every function has: where it runs, its table, its body cap and its rate limits.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    /// The single DynamoDB table.
    pub table_name: String,
    /// Cap on request bodies for every route that has no cap of its own.
    pub max_body_bytes: usize,
    /// How long audit events are kept (`PORTAL_AUDIT_RETENTION_DAYS`, default 365): their
    /// `ttl`.
    pub audit_retention_days: i64,
    pub rate_limits: RateLimits,
    pub auth: AuthConfig,
    pub mail: MailConfig,
    pub sentry: SentryConfig,
    pub prosody: ProsodyConfig,
    pub irc: IrcConfig,
    pub mailcow: MailcowConfig,
    pub mediawiki: MediaWikiConfig,
    /// The chat bridge's token (`BRIDGE_SERVICE_TOKEN`): when set, `/api/bridge/*` takes
    /// only it.
    pub bridge_token: Option<String>,
    /// Names nobody takes on a service besides the built-in ones (`PORTAL_RESERVED_NAMES`,
    /// comma list, lower-cased) and the local part of `PORTAL_MAIL_FROM`.
    pub reserved_names: Vec<String>,
    /// Days a name freed by deleting a service account stays with its former owner
    /// (`PORTAL_NAME_COOLING_DAYS`, default 30; 0 hands it on at once).
    pub name_cooling_days: i64,
}

/// Sessions, cookies, origins: every function that authenticates a caller.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Public origin of the API (BetterAuth's `baseURL`), e.g. `https://portal.example.org`.
    pub base_url: Url,
    /// HMAC/AEAD key material for cookies, sealed tokens and cursors.
    pub secret: String,
    /// The secret before the last rotation (`BETTER_AUTH_SECRET_PREVIOUS`), accepted for
    /// what it signed or sealed but never used to sign or seal: sessions, links and cursors
    /// made before a rotation keep working while it is configured.
    pub previous_secret: Option<String>,
    /// Origins allowed besides the base URL's (`PORTAL_TRUSTED_ORIGINS`, comma list;
    /// `*.example.org` and `https://*.example.org` wildcards).
    pub trusted_origins: Vec<String>,
    /// Sign-in refuses unverified e-mails (403 EMAIL_NOT_VERIFIED) when set.
    pub require_email_verification: bool,
    /// Send the verification mail on sign-up.
    pub send_verification_on_sign_up: bool,
    /// Admin and staff routes refuse a staff or admin session that did not pass the second
    /// factor (`PORTAL_REQUIRE_2FA_FOR_STAFF`).
    pub require_2fa_for_staff: bool,
    /// The issuer authenticator apps show (`PORTAL_2FA_ISSUER`, default `Portal`).
    pub two_factor_issuer: String,
    /// How many accounts one browser keeps signed in at once (BetterAuth's multiSession
    /// `maximumSessions`; `PORTAL_MULTI_SESSION_MAX`, default 5).
    pub multi_session_max: usize,
    /// Sign-up requires a `username` (`PORTAL_REQUIRE_USERNAME`; Portal's front end does).
    pub require_username: bool,
    /// The first part of every cookie name (`PORTAL_COOKIE_PREFIX`, BetterAuth's
    /// `cookiePrefix`; Portal's is `portal`).
    pub cookie_prefix: String,
    /// Where `/clear-stale-session` sends the browser (`PORTAL_SIGN_IN_URL`: a path on the
    /// base URL or an absolute URL; default `/auth/sign-in`, Portal's page).
    pub sign_in_url: Url,
}

/// Outgoing mail (the auth function).
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub from: String,
}

/// Sentry: the project every function reports its own 5xx answers and panics to, and the
/// browser tunnel's limits (the monitoring function).
#[derive(Debug, Clone)]
pub struct SentryConfig {
    /// The Sentry project errors go to (read by every function); the tunnel forwards only to
    /// it.
    pub dsn: Option<SentryDsn>,
    pub tunnel_timeout: Duration,
    pub tunnel_max_bytes: usize,
}

/// Prosody's HTTP admin API (`mod_http_admin_api`); XMPP is enabled when the URL, the
/// token and the domain are all set.
#[derive(Debug, Clone)]
pub struct ProsodyConfig {
    pub rest_url: Option<Url>,
    pub rest_token: Option<String>,
    pub xmpp_domain: Option<String>,
    pub timeout: Duration,
}

/// Atheme's JSON-RPC interface; IRC is enabled when the URL is set. The operator account
/// suspends, resets and drops nicks.
#[derive(Debug, Clone)]
pub struct IrcConfig {
    pub jsonrpc_url: Option<Url>,
    pub oper_account: Option<String>,
    pub oper_password: Option<String>,
    /// The network's address and TLS port as shown with each account (`IRC_SERVER`,
    /// `IRC_PORT`).
    pub server: String,
    pub port: u16,
    pub timeout: Duration,
}

/// Mailcow's API; mail is enabled when the URL, the key and the domain are set.
#[derive(Debug, Clone)]
pub struct MailcowConfig {
    pub api_url: Option<Url>,
    pub api_key: Option<String>,
    /// Where mailboxes are made (`MAILCOW_DOMAIN`).
    pub domain: Option<String>,
    /// Where aliases may be made (`MAILCOW_ALIAS_DOMAINS`, comma list; default: the domain).
    pub alias_domains: Vec<String>,
    /// Each new mailbox's quota (`MAILCOW_QUOTA_MB`, default 3072).
    pub quota_mb: u64,
    pub timeout: Duration,
}

/// The MediaWiki Action API; the wiki is enabled when the URL and the bot's credentials
/// are set.
#[derive(Debug, Clone)]
pub struct MediaWikiConfig {
    /// The wiki's `api.php`.
    pub api_url: Option<Url>,
    pub bot_username: Option<String>,
    pub bot_password: Option<String>,
    pub timeout: Duration,
}

impl MediaWikiConfig {
    fn load(get: Get, needed: bool) -> Result<Self, ConfigError> {
        Ok(Self {
            api_url: if needed {
                optional_url(get, "MEDIAWIKI_API_URL")?
            } else {
                None
            },
            bot_username: get("MEDIAWIKI_BOT_USERNAME").filter(|_| needed),
            bot_password: get("MEDIAWIKI_BOT_PASSWORD").filter(|_| needed),
            timeout: Duration::from_millis(parse_number(get, "MEDIAWIKI_TIMEOUT_MS", 8_000)?),
        })
    }
}

type Get<'a> = &'a dyn Fn(&str) -> Option<String>;

/// An optional URL variable.
fn optional_url(get: Get, name: &'static str) -> Result<Option<Url>, ConfigError> {
    get(name)
        .map(|raw| {
            Url::parse(&raw).map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })
        })
        .transpose()
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
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let environment = environment(&get)?;
        let production = environment == Environment::Production;
        let table_name = match get("TABLE_NAME") {
            Some(t) => t,
            None if production => return Err(ConfigError::Missing { name: "TABLE_NAME" }),
            None => "portal".to_string(),
        };
        Ok(Self {
            environment,
            table_name,
            max_body_bytes: parse_number(&get, "PORTAL_MAX_BODY_BYTES", 1024 * 1024)?,
            audit_retention_days: parse_number(&get, "PORTAL_AUDIT_RETENTION_DAYS", 365)?,
            rate_limits: rate_limits(&get, production)?,
            auth: if needs.auth {
                AuthConfig::load(&get, production)?
            } else {
                AuthConfig::inert()
            },
            mail: if needs.mail {
                MailConfig::load(&get, production)?
            } else {
                MailConfig::inert()
            },
            sentry: SentryConfig::load(&get, needs.sentry)?,
            prosody: ProsodyConfig::load(&get, needs.services)?,
            irc: IrcConfig::load(&get, needs.services)?,
            mailcow: MailcowConfig::load(&get, needs.services)?,
            mediawiki: MediaWikiConfig::load(&get, needs.services)?,
            bridge_token: get("BRIDGE_SERVICE_TOKEN").filter(|_| needs.services),
            reserved_names: reserved_names(&get),
            name_cooling_days: parse_number(&get, "PORTAL_NAME_COOLING_DAYS", 30)?,
        })
    }

    /// A configuration for tests: development defaults, the given table.
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
}

/// `PORTAL_ENV`, or production on Lambda, else development.
fn environment(get: Get) -> Result<Environment, ConfigError> {
    let environment = match get("PORTAL_ENV").as_deref().map(str::to_ascii_lowercase) {
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
        None if get("AWS_LAMBDA_FUNCTION_NAME").is_some() => Environment::Production,
        None => Environment::Development,
    };
    Ok(environment)
}

impl AuthConfig {
    fn load(get: Get, production: bool) -> Result<Self, ConfigError> {
        let base_url = match get("PORTAL_BASE_URL").or_else(|| get("BETTER_AUTH_URL")) {
            Some(raw) => Url::parse(&raw).map_err(|e| ConfigError::Invalid {
                name: "PORTAL_BASE_URL",
                reason: e.to_string(),
            })?,
            None if production => {
                return Err(ConfigError::Missing {
                    name: "PORTAL_BASE_URL",
                });
            }
            None => Url::parse("http://localhost:3000").expect("static URL parses"),
        };
        // Cookies of a production deployment travel only over TLS (a localhost origin,
        // for a production build tried on one machine, is the one exception).
        let on_localhost = matches!(
            base_url.host_str(),
            Some("localhost" | "127.0.0.1" | "[::1]")
        );
        if production && base_url.scheme() != "https" && !on_localhost {
            return Err(ConfigError::Invalid {
                name: "PORTAL_BASE_URL",
                reason: "must be an https URL in production".into(),
            });
        }

        let secret = match get("BETTER_AUTH_SECRET").or_else(|| get("AUTH_SECRET")) {
            Some(s) => production_secret("BETTER_AUTH_SECRET", s, production)?,
            None if production => {
                return Err(ConfigError::Missing {
                    name: "BETTER_AUTH_SECRET",
                });
            }
            None => DEVELOPMENT_SECRET.to_string(),
        };
        let previous_secret = get("BETTER_AUTH_SECRET_PREVIOUS")
            .filter(|s| !s.is_empty() && *s != secret)
            .map(|s| production_secret("BETTER_AUTH_SECRET_PREVIOUS", s, production))
            .transpose()?;
        Ok(Self {
            secret,
            previous_secret,
            trusted_origins: get("PORTAL_TRUSTED_ORIGINS")
                .or_else(|| get("BETTER_AUTH_TRUSTED_ORIGINS"))
                .map(|list| {
                    list.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_string())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            require_email_verification: flag(get, "PORTAL_REQUIRE_EMAIL_VERIFICATION", false)?,
            send_verification_on_sign_up: flag(get, "PORTAL_SEND_VERIFICATION_ON_SIGN_UP", true)?,
            require_username: flag(get, "PORTAL_REQUIRE_USERNAME", false)?,
            require_2fa_for_staff: flag(get, "PORTAL_REQUIRE_2FA_FOR_STAFF", false)?,
            multi_session_max: parse_number(&get, "PORTAL_MULTI_SESSION_MAX", 5)?,
            two_factor_issuer: get("PORTAL_2FA_ISSUER")
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "Portal".into()),
            cookie_prefix: cookie_prefix(get)?,
            sign_in_url: base_url
                .join(&get("PORTAL_SIGN_IN_URL").unwrap_or_else(|| "/auth/sign-in".into()))
                .map_err(|e| ConfigError::Invalid {
                    name: "PORTAL_SIGN_IN_URL",
                    reason: e.to_string(),
                })?,
            base_url,
        })
    }

    /// The secrets a signature or a sealed value may have been made with: the current one
    /// first, then the previous one during a rotation.
    pub fn accepted_secrets(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.secret.as_str()).chain(self.previous_secret.as_deref())
    }

    /// For a function that authenticates nobody: a secret of this process only, so
    /// nothing it could sign would be accepted anywhere else.
    fn inert() -> Self {
        Self {
            base_url: Url::parse("http://localhost").expect("static URL parses"),
            secret: crate::crypto::random_alphanumeric(48),
            previous_secret: None,
            trusted_origins: Vec::new(),
            require_email_verification: false,
            send_verification_on_sign_up: false,
            require_username: false,
            require_2fa_for_staff: false,
            multi_session_max: 5,
            two_factor_issuer: "Portal".into(),
            cookie_prefix: DEFAULT_COOKIE_PREFIX.into(),
            sign_in_url: Url::parse("http://localhost/auth/sign-in").expect("static URL parses"),
        }
    }
}

const DEFAULT_COOKIE_PREFIX: &str = "better-auth";

/// `PORTAL_COOKIE_PREFIX`: letters, digits, `-` and `_` (a cookie name's safe characters;
/// the `.` BetterAuth adds follows it).
fn cookie_prefix(get: Get) -> Result<String, ConfigError> {
    let prefix = get("PORTAL_COOKIE_PREFIX").unwrap_or_else(|| DEFAULT_COOKIE_PREFIX.into());
    let valid = (1..=64).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(prefix)
    } else {
        Err(ConfigError::Invalid {
            name: "PORTAL_COOKIE_PREFIX",
            reason: "1 to 64 letters, digits, `-` or `_`".into(),
        })
    }
}

/// A secret as production takes it: not the development constant, long enough.
fn production_secret(
    name: &'static str,
    secret: String,
    production: bool,
) -> Result<String, ConfigError> {
    if production && secret == DEVELOPMENT_SECRET {
        return Err(ConfigError::Invalid {
            name,
            reason: "the development secret cannot be used in production".into(),
        });
    }
    if production && secret.len() < MIN_PRODUCTION_SECRET_LEN {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("must be at least {MIN_PRODUCTION_SECRET_LEN} characters"),
        });
    }
    Ok(secret)
}

impl MailConfig {
    fn load(get: Get, production: bool) -> Result<Self, ConfigError> {
        Ok(Self {
            transport: match get("PORTAL_MAIL")
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("ses") => MailTransport::Ses,
                Some("outbox") => MailTransport::Outbox(
                    get("PORTAL_MAIL_DIR")
                        .unwrap_or_else(|| ".portal/mail".into())
                        .into(),
                ),
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "PORTAL_MAIL",
                        reason: format!("`{other}` is not ses or outbox"),
                    });
                }
                None if production => MailTransport::Ses,
                None => MailTransport::Outbox(
                    get("PORTAL_MAIL_DIR")
                        .unwrap_or_else(|| ".portal/mail".into())
                        .into(),
                ),
            },
            from: match get("PORTAL_MAIL_FROM") {
                Some(from) => from,
                None if production => {
                    return Err(ConfigError::Missing {
                        name: "PORTAL_MAIL_FROM",
                    });
                }
                None => "Portal <no-reply@localhost>".into(),
            },
        })
    }

    fn inert() -> Self {
        Self {
            transport: MailTransport::Outbox(".portal/mail".into()),
            from: "Portal <no-reply@localhost>".into(),
        }
    }
}

impl SentryConfig {
    /// The DSN always (every function reports its errors); the tunnel's limits when
    /// `tunnel` (else their defaults, unread).
    fn load(get: Get, tunnel: bool) -> Result<Self, ConfigError> {
        let dsn = get("SENTRY_DSN")
            .map(|raw| {
                SentryDsn::parse(&raw).map_err(|reason| ConfigError::Invalid {
                    name: "SENTRY_DSN",
                    reason,
                })
            })
            .transpose()?;
        let (timeout_ms, max_bytes) = (5_000, 1024 * 1024);
        Ok(Self {
            dsn,
            tunnel_timeout: Duration::from_millis(if tunnel {
                parse_number(get, "SENTRY_TUNNEL_TIMEOUT_MS", timeout_ms)?
            } else {
                timeout_ms
            }),
            tunnel_max_bytes: if tunnel {
                parse_number(get, "SENTRY_TUNNEL_MAX_BYTES", max_bytes)?
            } else {
                max_bytes
            },
        })
    }
}

impl ProsodyConfig {
    fn load(get: Get, needed: bool) -> Result<Self, ConfigError> {
        let timeout = Duration::from_millis(parse_number(get, "PROSODY_TIMEOUT_MS", 5_000)?);
        if !needed {
            return Ok(Self {
                rest_url: None,
                rest_token: None,
                xmpp_domain: None,
                timeout,
            });
        }
        Ok(Self {
            rest_url: optional_url(get, "PROSODY_REST_URL")?,
            rest_token: get("PROSODY_REST_TOKEN"),
            xmpp_domain: get("XMPP_DOMAIN").map(|d| d.trim().to_lowercase()),
            timeout,
        })
    }
}

impl IrcConfig {
    fn load(get: Get, needed: bool) -> Result<Self, ConfigError> {
        Ok(Self {
            jsonrpc_url: if needed {
                optional_url(get, "IRC_ATHEME_JSONRPC_URL")?
            } else {
                None
            },
            oper_account: get("IRC_ATHEME_OPER_ACCOUNT").filter(|_| needed),
            oper_password: get("IRC_ATHEME_OPER_PASSWORD").filter(|_| needed),
            server: get("IRC_SERVER").unwrap_or_else(|| "irc.example.org".into()),
            port: parse_number(get, "IRC_PORT", 6697)?,
            timeout: Duration::from_millis(parse_number(get, "IRC_ATHEME_TIMEOUT_MS", 5_000)?),
        })
    }
}

impl MailcowConfig {
    fn load(get: Get, needed: bool) -> Result<Self, ConfigError> {
        let lower = |name| get(name).map(|v: String| v.trim().to_lowercase());
        Ok(Self {
            api_url: if needed {
                optional_url(get, "MAILCOW_API_URL")?
            } else {
                None
            },
            api_key: get("MAILCOW_API_KEY").filter(|_| needed),
            domain: lower("MAILCOW_DOMAIN"),
            alias_domains: lower("MAILCOW_ALIAS_DOMAINS")
                .map(|list| {
                    list.split(',')
                        .map(|d| d.trim().to_string())
                        .filter(|d| !d.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            quota_mb: parse_number(get, "MAILCOW_QUOTA_MB", 3072)?,
            timeout: Duration::from_millis(parse_number(get, "MAILCOW_TIMEOUT_MS", 5_000)?),
        })
    }
}

/// The rate limits (every function that serves callers counts them).
fn rate_limits(get: Get, production: bool) -> Result<RateLimits, ConfigError> {
    Ok(RateLimits {
        enabled: rate_limiting(get, production)?,
        credentials: rule(get, "PORTAL_RATE_LIMIT_CREDENTIALS", Rule::new(3, 10))?,
        mail: rule(get, "PORTAL_RATE_LIMIT_MAIL", Rule::new(3, 60))?,
        auth_default: rule(get, "PORTAL_RATE_LIMIT_AUTH", Rule::new(100, 10))?,
        per_user: rule(get, "PORTAL_RATE_LIMIT_USER", Rule::new(300, 60))?,
        per_api_key: rule(get, "PORTAL_RATE_LIMIT_API_KEY", Rule::new(1000, 3600))?,
        tunnel: rule(get, "PORTAL_RATE_LIMIT_TUNNEL", Rule::new(120, 60))?,
        service_resets: rule(get, "PORTAL_RATE_LIMIT_SERVICE_RESET", Rule::new(5, 3600))?,
        bridge: rule(get, "PORTAL_RATE_LIMIT_BRIDGE", Rule::new(600, 60))?,
        password_failures: rule(
            get,
            "PORTAL_RATE_LIMIT_PASSWORD_FAILURES",
            Rule::new(10, 900),
        )?,
    })
}

/// `PORTAL_RATE_LIMIT`: on unless `off` (refused in production).
fn rate_limiting(get: Get, production: bool) -> Result<bool, ConfigError> {
    let off = matches!(
        get("PORTAL_RATE_LIMIT")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("off" | "false" | "0" | "disabled")
    );
    if off && production {
        return Err(ConfigError::Invalid {
            name: "PORTAL_RATE_LIMIT",
            reason: "rate limiting cannot be turned off in production".into(),
        });
    }
    Ok(!off)
}

fn rule(get: Get, name: &'static str, default: Rule) -> Result<Rule, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => Rule::parse(&raw).ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("`{raw}` is not max/seconds, e.g. 3/10"),
        }),
    }
}

/// The operator's reserved names and the sender's local part.
fn reserved_names(get: Get) -> Vec<String> {
    let mut names: Vec<String> = get("PORTAL_RESERVED_NAMES")
        .unwrap_or_default()
        .split(',')
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    names.extend(
        get("PORTAL_MAIL_FROM")
            .as_deref()
            .and_then(sender_local_part),
    );
    names
}

/// The local part of a sender such as `Portal <no-reply@portal.example.org>`.
fn sender_local_part(from: &str) -> Option<String> {
    let address = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from,
    };
    let (local, _) = address.trim().rsplit_once('@')?;
    Some(local.to_lowercase()).filter(|l| !l.is_empty())
}

fn flag(get: Get, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            name,
            reason: format!("`{other}` is not true or false"),
        }),
    }
}

fn parse_number<T: std::str::FromStr + Copy>(
    get: Get,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: format!("`{raw}` is not a positive integer"),
        }),
    }
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
            sentry: true,
            services: false,
        };
        // The public monitoring function starts in production with no auth secret at all,
        // and holds no secret of the deployment.
        let c = Config::load(lookup(MONITORING), only_sentry).unwrap();
        assert!(c.sentry.dsn.is_some());
        assert_ne!(c.auth.secret, DEVELOPMENT_SECRET);
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
        assert!(c.prosody.rest_url.is_none());
        assert!(
            Config::load(lookup(WITH_PROSODY), Needs::ALL)
                .unwrap()
                .prosody
                .rest_url
                .is_some()
        );
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
        assert_eq!(rotated.auth.secret, STRONG);
        assert_eq!(
            rotated.auth.accepted_secrets().collect::<Vec<_>>(),
            vec![STRONG, old]
        );
        // Empty (the template's default) or the current secret again: no second secret.
        assert_eq!(with("").unwrap().auth.accepted_secrets().count(), 1);
        assert_eq!(with(STRONG).unwrap().auth.accepted_secrets().count(), 1);
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
        assert_eq!(c.mail.transport, MailTransport::Ses);
        assert_eq!(c.table_name, "portal-prod");
        assert!(c.sentry.dsn.is_none());
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
            sender_local_part("Portal <Hello@portal.example.org>").as_deref(),
            Some("hello")
        );
        assert_eq!(sender_local_part("bot@x.org").as_deref(), Some("bot"));
        assert_eq!(sender_local_part("nobody"), None);
    }

    #[test]
    fn development_has_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.environment, Environment::Development);
        assert_eq!(c.auth.secret, DEVELOPMENT_SECRET);
        assert_eq!(c.auth.base_url.as_str(), "http://localhost:3000/");
    }

    #[test]
    fn cookie_prefix_and_sign_in_page_are_configurable_and_checked() {
        let c = config(&[]).unwrap();
        assert_eq!(c.auth.cookie_prefix, "better-auth");
        assert_eq!(
            c.auth.sign_in_url.as_str(),
            "http://localhost:3000/auth/sign-in"
        );
        let c = config(&[
            ("PORTAL_COOKIE_PREFIX", "portal"),
            ("PORTAL_SIGN_IN_URL", "https://app.example.org/login"),
        ])
        .unwrap();
        assert_eq!(c.auth.cookie_prefix, "portal");
        assert_eq!(c.auth.sign_in_url.as_str(), "https://app.example.org/login");
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
    fn dsn_parses_and_builds_the_envelope_url_from_itself() {
        let dsn = SentryDsn::parse("https://abc123@o42.ingest.sentry.io/4505").unwrap();
        assert_eq!(dsn.host, "o42.ingest.sentry.io");
        assert_eq!(dsn.project_id, "4505");
        assert_eq!(
            dsn.envelope_url(),
            "https://o42.ingest.sentry.io/api/4505/envelope/"
        );
        let prefixed = SentryDsn::parse("http://key@127.0.0.1:9000/sentry/7").unwrap();
        assert_eq!(
            prefixed.envelope_url(),
            "http://127.0.0.1:9000/sentry/api/7/envelope/"
        );
    }

    #[test]
    fn same_project_compares_host_port_and_project() {
        let a = SentryDsn::parse("https://k1@sentry.example.org/5").unwrap();
        let b = SentryDsn::parse("https://other-key@SENTRY.example.org:443/5").unwrap();
        let c = SentryDsn::parse("https://k1@sentry.example.org/6").unwrap();
        let d = SentryDsn::parse("https://k1@sentry.example.org:8443/5").unwrap();
        assert!(a.same_project(&b));
        assert!(!a.same_project(&c));
        assert!(!a.same_project(&d));
    }
}
