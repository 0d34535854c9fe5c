//! Sessions, cookies, origins: the section of every function that authenticates a caller.

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::vars::{ConfigError, Vars};

/// The secret used when none is configured outside production (BetterAuth's own fallback
/// has the same role). It can never be used in production.
pub const DEVELOPMENT_SECRET: &str = "portal-development-secret-do-not-use-in-production";

const MIN_PRODUCTION_SECRET_LEN: usize = 32;
const DEFAULT_COOKIE_PREFIX: &str = "better-auth";

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Public origin of the API (BetterAuth's `baseURL`), e.g. `https://portal.example.org`.
    pub base_url: Url,
    /// HMAC/AEAD key material for cookies, sealed tokens and cursors.
    pub secret: SecretString,
    /// The secret before the last rotation (`BETTER_AUTH_SECRET_PREVIOUS`), accepted for
    /// what it signed or sealed but never used to sign or seal: sessions, links and cursors
    /// made before a rotation keep working while it is configured.
    pub previous_secret: Option<SecretString>,
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
    /// What a banned user is told when they sign in (`PORTAL_BANNED_USER_MESSAGE`, the
    /// admin plugin's `bannedUserMessage`; BetterAuth's default without one).
    pub banned_user_message: String,
    /// The relying party of passkeys (BetterAuth's passkey plugin).
    pub passkeys: PasskeyConfig,
    /// Portal as an OpenID Connect provider (BetterAuth's oauth-provider plugin).
    pub oauth: OAuthProviderConfig,
    /// Sign-in with other providers (BetterAuth's `socialProviders` and `genericOAuth`).
    pub social: SocialConfig,
}

/// An OAuth 2.0 provider Portal signs people in with: its client registration there and
/// its endpoints.
#[derive(Debug, Clone)]
pub struct ProviderEndpoints {
    pub client_id: String,
    pub client_secret: SecretString,
    pub authorize_url: Url,
    pub token_url: Url,
    pub userinfo_url: Url,
}

/// The providers configured (each is listed and usable only when configured).
#[derive(Debug, Clone, Default)]
pub struct SocialConfig {
    /// Discord (`DISCORD_CLIENT_ID`, `DISCORD_CLIENT_SECRET`; its host
    /// `PORTAL_DISCORD_BASE_URL`, default `https://discord.com`).
    pub discord: Option<ProviderEndpoints>,
    /// Portal's Mailcow server as an OAuth provider (`MAILCOW_OAUTH_CLIENT_ID`,
    /// `MAILCOW_OAUTH_CLIENT_SECRET`, under `MAILCOW_API_URL`).
    pub mailcow: Option<ProviderEndpoints>,
    /// The production deployment that handles the providers' callbacks for this one (the
    /// oauth-proxy plugin's `productionURL`, `PORTAL_OAUTH_PROXY_PRODUCTION_URL`): set on a
    /// preview deployment whose own address is not registered at the providers. `None`, or
    /// this deployment's own origin: nothing is proxied.
    pub proxy_production_url: Option<Url>,
}

impl SocialConfig {
    fn load(vars: &Vars) -> Result<Self, ConfigError> {
        let url = |name: &'static str, raw: String| {
            Url::parse(&raw).map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })
        };
        let pair = |id: &str, secret: &str| match (vars.get(id), vars.get(secret)) {
            (Some(id), Some(secret)) if !id.trim().is_empty() && !secret.is_empty() => {
                Some((id.trim().to_string(), SecretString::from(secret)))
            }
            _ => None,
        };
        let discord = match pair("DISCORD_CLIENT_ID", "DISCORD_CLIENT_SECRET") {
            Some((client_id, client_secret)) => {
                let base = vars
                    .get("PORTAL_DISCORD_BASE_URL")
                    .filter(|b| !b.trim().is_empty())
                    .unwrap_or_else(|| "https://discord.com".into());
                let base = base.trim_end_matches('/').to_string();
                Some(ProviderEndpoints {
                    client_id,
                    client_secret,
                    authorize_url: url(
                        "PORTAL_DISCORD_BASE_URL",
                        format!("{base}/api/oauth2/authorize"),
                    )?,
                    token_url: url(
                        "PORTAL_DISCORD_BASE_URL",
                        format!("{base}/api/oauth2/token"),
                    )?,
                    userinfo_url: url("PORTAL_DISCORD_BASE_URL", format!("{base}/api/users/@me"))?,
                })
            }
            None => None,
        };
        let mailcow = match (
            pair("MAILCOW_OAUTH_CLIENT_ID", "MAILCOW_OAUTH_CLIENT_SECRET"),
            vars.get("MAILCOW_API_URL").filter(|u| !u.trim().is_empty()),
        ) {
            (Some((client_id, client_secret)), Some(base)) => {
                let base = base.trim_end_matches('/').to_string();
                Some(ProviderEndpoints {
                    client_id,
                    client_secret,
                    authorize_url: url("MAILCOW_API_URL", format!("{base}/oauth/authorize"))?,
                    token_url: url("MAILCOW_API_URL", format!("{base}/oauth/token"))?,
                    userinfo_url: url("MAILCOW_API_URL", format!("{base}/oauth/profile"))?,
                })
            }
            _ => None,
        };
        let proxy_production_url = vars
            .get("PORTAL_OAUTH_PROXY_PRODUCTION_URL")
            .filter(|u| !u.trim().is_empty())
            .map(|raw| url("PORTAL_OAUTH_PROXY_PRODUCTION_URL", raw))
            .transpose()?;
        Ok(Self {
            discord,
            mailcow,
            proxy_production_url,
        })
    }
}

/// Who may register OAuth clients (`PORTAL_OAUTH_CLIENT_REGISTRATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRegistration {
    /// Only those whose role grants managing OAuth clients (admins), and operators
    /// (`portal-admin create-oauth-client`). The default.
    Closed,
    /// Any signed-in user registers clients of their own (`/oauth2/create-client`,
    /// `/oauth2/register` with a session).
    SignedIn,
    /// Also anyone, unauthenticated, registers a public client at `/oauth2/register`
    /// (RFC 7591 dynamic registration, as upstream leaves it), rate-limited per address.
    Open,
}

/// The OpenID Connect provider's settings.
#[derive(Debug, Clone)]
pub struct OAuthProviderConfig {
    /// The consent page (`PORTAL_OAUTH_CONSENT_URL`: a path on the base URL or an absolute
    /// URL; default `/auth/consent`, Portal's page). The login page is `sign_in_url`.
    pub consent_url: Url,
    pub registration: ClientRegistration,
}

impl OAuthProviderConfig {
    fn load(vars: &Vars, base_url: &Url) -> Result<Self, ConfigError> {
        let consent_url = base_url
            .join(
                &vars
                    .get("PORTAL_OAUTH_CONSENT_URL")
                    .unwrap_or_else(|| "/auth/consent".into()),
            )
            .map_err(|e| ConfigError::Invalid {
                name: "PORTAL_OAUTH_CONSENT_URL",
                reason: e.to_string(),
            })?;
        let registration = match vars
            .get("PORTAL_OAUTH_CLIENT_REGISTRATION")
            .as_deref()
            .map(str::trim)
        {
            None | Some("" | "closed") => ClientRegistration::Closed,
            Some("signed-in") => ClientRegistration::SignedIn,
            Some("open") => ClientRegistration::Open,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "PORTAL_OAUTH_CLIENT_REGISTRATION",
                    reason: "one of `closed` (the default), `signed-in`, `open`".into(),
                });
            }
        };
        Ok(Self {
            consent_url,
            registration,
        })
    }
}

/// Who passkeys are made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyConfig {
    /// The relying party id (`PORTAL_PASSKEY_RP_ID`, default the base URL's host name), or
    /// why there is none: browsers refuse an IP address as one, so a base URL on an address
    /// leaves passkeys off with that said plainly.
    pub rp_id: Result<String, String>,
    /// The name authenticators show (`PORTAL_PASSKEY_RP_NAME`, default `Portal`).
    pub rp_name: String,
}

impl PasskeyConfig {
    fn load(vars: &Vars, base_url: &Url) -> Self {
        Self::new(
            base_url,
            vars.get("PORTAL_PASSKEY_RP_ID"),
            vars.get("PORTAL_PASSKEY_RP_NAME"),
        )
    }

    /// The relying party of a deployment at `base_url`, with the id and name configured.
    pub fn new(base_url: &Url, rp_id: Option<String>, rp_name: Option<String>) -> Self {
        let rp_name = rp_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Portal".into());
        let rp_id = match rp_id.filter(|r| !r.trim().is_empty()) {
            Some(id) if id.parse::<std::net::IpAddr>().is_ok() => Err(format!(
                "PORTAL_PASSKEY_RP_ID is an IP address ({id}): passkeys need a host name"
            )),
            Some(id) => Ok(id.trim().to_lowercase()),
            None => match base_url.host() {
                Some(url::Host::Domain(host)) => Ok(host.to_lowercase()),
                Some(_) => Err(format!(
                    "passkeys need a host name, and the base URL ({}) is an IP address: use {} instead",
                    base_url.as_str().trim_end_matches('/'),
                    localhost_for(base_url),
                )),
                None => Err("passkeys need a base URL with a host name".into()),
            },
        };
        Self { rp_id, rp_name }
    }
}

/// `base_url` with its address replaced by `localhost` (what a local run should use).
fn localhost_for(base_url: &Url) -> String {
    let mut local = base_url.clone();
    let _ = local.set_host(Some("localhost"));
    local.as_str().trim_end_matches('/').to_string()
}

/// BetterAuth's `bannedUserMessage` when none is configured.
pub const DEFAULT_BANNED_USER_MESSAGE: &str = "You have been banned from this application. Please contact support if you believe this is an error.";

impl AuthConfig {
    pub(super) fn load(vars: &Vars) -> Result<Self, ConfigError> {
        let base_url = match vars
            .get("PORTAL_BASE_URL")
            .or_else(|| vars.get("BETTER_AUTH_URL"))
        {
            Some(raw) => Url::parse(&raw).map_err(|e| ConfigError::Invalid {
                name: "PORTAL_BASE_URL",
                reason: e.to_string(),
            })?,
            None if vars.production => {
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
        if vars.production && base_url.scheme() != "https" && !on_localhost {
            return Err(ConfigError::Invalid {
                name: "PORTAL_BASE_URL",
                reason: "must be an https URL in production".into(),
            });
        }
        let secret = match vars
            .get("BETTER_AUTH_SECRET")
            .or_else(|| vars.get("AUTH_SECRET"))
        {
            Some(s) => production_secret(vars, "BETTER_AUTH_SECRET", s)?,
            None if vars.production => {
                return Err(ConfigError::Missing {
                    name: "BETTER_AUTH_SECRET",
                });
            }
            None => DEVELOPMENT_SECRET.to_string(),
        };
        let previous_secret = vars
            .get("BETTER_AUTH_SECRET_PREVIOUS")
            .filter(|s| *s != secret)
            .map(|s| production_secret(vars, "BETTER_AUTH_SECRET_PREVIOUS", s))
            .transpose()?
            .map(SecretString::from);
        let secret = SecretString::from(secret);
        let trusted = |name| vars.list(name, |o| o.trim_end_matches('/').to_string());
        let mut trusted_origins = trusted("PORTAL_TRUSTED_ORIGINS");
        if trusted_origins.is_empty() {
            trusted_origins = trusted("BETTER_AUTH_TRUSTED_ORIGINS");
        }
        Ok(Self {
            secret,
            previous_secret,
            trusted_origins,
            require_email_verification: vars.flag("PORTAL_REQUIRE_EMAIL_VERIFICATION", false)?,
            send_verification_on_sign_up: vars.flag("PORTAL_SEND_VERIFICATION_ON_SIGN_UP", true)?,
            require_username: vars.flag("PORTAL_REQUIRE_USERNAME", false)?,
            require_2fa_for_staff: vars.flag("PORTAL_REQUIRE_2FA_FOR_STAFF", false)?,
            multi_session_max: vars.number("PORTAL_MULTI_SESSION_MAX", 5)?,
            two_factor_issuer: vars
                .get("PORTAL_2FA_ISSUER")
                .unwrap_or_else(|| "Portal".into()),
            cookie_prefix: cookie_prefix(vars)?,
            passkeys: PasskeyConfig::load(vars, &base_url),
            oauth: OAuthProviderConfig::load(vars, &base_url)?,
            social: SocialConfig::load(vars)?,
            banned_user_message: vars
                .get("PORTAL_BANNED_USER_MESSAGE")
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_BANNED_USER_MESSAGE.into()),
            sign_in_url: base_url
                .join(
                    &vars
                        .get("PORTAL_SIGN_IN_URL")
                        .unwrap_or_else(|| "/auth/sign-in".into()),
                )
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
        std::iter::once(self.secret.expose_secret()).chain(
            self.previous_secret
                .as_ref()
                .map(ExposeSecret::expose_secret),
        )
    }
}

/// `PORTAL_COOKIE_PREFIX`: letters, digits, `-` and `_` (a cookie name's safe characters;
/// the `.` BetterAuth adds follows it).
fn cookie_prefix(vars: &Vars) -> Result<String, ConfigError> {
    let prefix = vars
        .get("PORTAL_COOKIE_PREFIX")
        .unwrap_or_else(|| DEFAULT_COOKIE_PREFIX.into());
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
    vars: &Vars,
    name: &'static str,
    secret: String,
) -> Result<String, ConfigError> {
    if vars.production && secret == DEVELOPMENT_SECRET {
        return Err(ConfigError::Invalid {
            name,
            reason: "the development secret cannot be used in production".into(),
        });
    }
    if vars.production && secret.len() < MIN_PRODUCTION_SECRET_LEN {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("must be at least {MIN_PRODUCTION_SECRET_LEN} characters"),
        });
    }
    Ok(secret)
}

#[cfg(test)]
mod passkey_tests {
    use super::*;

    fn rp(base: &str, id: Option<&str>) -> Result<String, String> {
        PasskeyConfig::new(&Url::parse(base).unwrap(), id.map(String::from), None).rp_id
    }

    #[test]
    fn the_relying_party_is_the_base_urls_host_name_never_an_address() {
        assert_eq!(
            rp("https://Portal.Example.org", None),
            Ok("portal.example.org".into())
        );
        assert_eq!(rp("http://localhost:3000", None), Ok("localhost".into()));
        assert_eq!(
            rp("https://portal.example.org", Some("example.org")),
            Ok("example.org".into())
        );
        assert_eq!(
            rp("http://127.0.0.1:3000", None),
            Err("passkeys need a host name, and the base URL (http://127.0.0.1:3000) is an IP address: use http://localhost:3000 instead".into())
        );
        assert!(rp("http://[::1]:3000", None).is_err());
        assert!(rp("https://portal.example.org", Some("10.0.0.1")).is_err());
        let named = PasskeyConfig::new(&Url::parse("https://a.example").unwrap(), None, None);
        assert_eq!(named.rp_name, "Portal");
    }
}
