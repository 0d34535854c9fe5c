//! The community services Portal makes accounts on: the section of the integrations and
//! admin functions and the operator's CLI. Each service is enabled when its settings are
//! complete.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::vars::{ConfigError, Vars};

#[derive(Debug, Clone)]
pub struct ServicesConfig {
    pub prosody: ProsodyConfig,
    pub irc: IrcConfig,
    pub mailcow: MailcowConfig,
    pub mediawiki: MediaWikiConfig,
    /// The chat bridge's token (`BRIDGE_SERVICE_TOKEN`): when set, `/api/bridge/*` takes
    /// only it.
    pub bridge_token: Option<SecretString>,
    /// Names nobody takes on a service besides the built-in ones (`PORTAL_RESERVED_NAMES`,
    /// comma list, lower-cased) and the local part of `PORTAL_MAIL_FROM`.
    pub reserved_names: Vec<String>,
    /// Days a name freed by deleting a service account stays with its former owner
    /// (`PORTAL_NAME_COOLING_DAYS`, default 30; 0 hands it on at once).
    pub name_cooling_days: i64,
}

impl ServicesConfig {
    pub(super) fn load(vars: &Vars) -> Result<Self, ConfigError> {
        let mut reserved_names = vars.list("PORTAL_RESERVED_NAMES", str::to_lowercase);
        reserved_names.extend(
            vars.get("PORTAL_MAIL_FROM")
                .as_deref()
                .and_then(super::mail::sender_local_part),
        );
        Ok(Self {
            prosody: ProsodyConfig::load(vars)?,
            irc: IrcConfig::load(vars)?,
            mailcow: MailcowConfig::load(vars)?,
            mediawiki: MediaWikiConfig::load(vars)?,
            bridge_token: vars.secret("BRIDGE_SERVICE_TOKEN"),
            reserved_names,
            name_cooling_days: vars.number("PORTAL_NAME_COOLING_DAYS", 30)?,
        })
    }
}

/// Prosody's HTTP admin API (`mod_http_admin_api`); XMPP is enabled when the URL, the
/// token and the domain are all set.
#[derive(Debug, Clone)]
pub struct ProsodyConfig {
    pub rest_url: Option<Url>,
    pub rest_token: Option<SecretString>,
    pub xmpp_domain: Option<String>,
    pub timeout: Duration,
}

impl ProsodyConfig {
    fn load(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            rest_url: vars.url("PROSODY_REST_URL")?,
            rest_token: vars.secret("PROSODY_REST_TOKEN"),
            xmpp_domain: vars.get("XMPP_DOMAIN").map(|d| d.trim().to_lowercase()),
            timeout: vars.millis("PROSODY_TIMEOUT_MS", 5_000)?,
        })
    }
}

/// Atheme's JSON-RPC interface; IRC is enabled when the URL is set. The operator account
/// suspends, resets and drops nicks.
#[derive(Debug, Clone)]
pub struct IrcConfig {
    pub jsonrpc_url: Option<Url>,
    pub oper_account: Option<String>,
    pub oper_password: Option<SecretString>,
    /// The network's address and TLS port as shown with each account (`IRC_SERVER`,
    /// `IRC_PORT`).
    pub server: String,
    pub port: u16,
    pub timeout: Duration,
}

impl IrcConfig {
    fn load(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            jsonrpc_url: vars.url("IRC_ATHEME_JSONRPC_URL")?,
            oper_account: vars.get("IRC_ATHEME_OPER_ACCOUNT"),
            oper_password: vars.secret("IRC_ATHEME_OPER_PASSWORD"),
            server: vars
                .get("IRC_SERVER")
                .unwrap_or_else(|| "irc.example.org".into()),
            port: vars.number("IRC_PORT", 6697)?,
            timeout: vars.millis("IRC_ATHEME_TIMEOUT_MS", 5_000)?,
        })
    }
}

/// Mailcow's API; mail is enabled when the URL, the key and the domain are set.
#[derive(Debug, Clone)]
pub struct MailcowConfig {
    pub api_url: Option<Url>,
    pub api_key: Option<SecretString>,
    /// Where mailboxes are made (`MAILCOW_DOMAIN`).
    pub domain: Option<String>,
    /// Where aliases may be made (`MAILCOW_ALIAS_DOMAINS`, comma list; default: the domain).
    pub alias_domains: Vec<String>,
    /// Each new mailbox's quota (`MAILCOW_QUOTA_MB`, default 3072).
    pub quota_mb: u64,
    pub timeout: Duration,
}

impl MailcowConfig {
    fn load(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            api_url: vars.url("MAILCOW_API_URL")?,
            api_key: vars.secret("MAILCOW_API_KEY"),
            domain: vars.get("MAILCOW_DOMAIN").map(|d| d.trim().to_lowercase()),
            alias_domains: vars.list("MAILCOW_ALIAS_DOMAINS", str::to_lowercase),
            quota_mb: vars.number("MAILCOW_QUOTA_MB", 3072)?,
            timeout: vars.millis("MAILCOW_TIMEOUT_MS", 5_000)?,
        })
    }
}

/// The MediaWiki Action API; the wiki is enabled when the URL and the bot's credentials
/// are set.
#[derive(Debug, Clone)]
pub struct MediaWikiConfig {
    /// The wiki's `api.php`.
    pub api_url: Option<Url>,
    pub bot_username: Option<String>,
    pub bot_password: Option<SecretString>,
    pub timeout: Duration,
}

impl MediaWikiConfig {
    fn load(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            api_url: vars.url("MEDIAWIKI_API_URL")?,
            bot_username: vars.get("MEDIAWIKI_BOT_USERNAME"),
            bot_password: vars.secret("MEDIAWIKI_BOT_PASSWORD"),
            timeout: vars.millis("MEDIAWIKI_TIMEOUT_MS", 8_000)?,
        })
    }
}
