//! The request's credential, parsed and verified once.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use portal_domain::config::RateLimits;
use portal_domain::store::keys;

use super::token::{is_legacy_session_token, key_id, key_user_id, session_user_id};
use crate::cookies::CookieJar;
use crate::rate_limit::Bucket;
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "x-api-key";

/// A secret the request presents. Its `Debug` names the kind, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A session token. `signed`: it came with our signature (the session cookie, or a
    /// bearer value with its signature), so we minted it and the user id it carries names
    /// its real owner even before the session is read. `cookie`: the browser sent it on its
    /// own (the cross-site check applies).
    Session {
        token: String,
        signed: bool,
        cookie: bool,
    },
    ApiKey(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Session { signed, cookie, .. } => f
                .debug_struct("Session")
                .field("token", &"<redacted>")
                .field("signed", signed)
                .field("cookie", cookie)
                .finish(),
            Self::ApiKey(_) => f.debug_tuple("ApiKey").field(&"<redacted>").finish(),
        }
    }
}

/// The request's parse, kept in its extensions (`None`: nothing presented).
#[derive(Debug, Clone)]
struct Parsed(Option<Credential>);

impl Credential {
    /// What `headers` present, in the documented order of precedence: the session cookie,
    /// a bearer value (signed token, bare token, API key), `x-api-key`.
    pub fn parse(jar: &CookieJar, headers: &HeaderMap) -> Option<Self> {
        if let Some(token) = jar.session_token(headers) {
            return Some(Self::Session {
                token,
                signed: true,
                cookie: true,
            });
        }
        if let Some(value) = bearer(headers) {
            if let Some(token) = jar.verify(value) {
                return Some(Self::Session {
                    token,
                    signed: true,
                    cookie: false,
                });
            }
            if session_user_id(value).is_some() || is_legacy_session_token(value) {
                return Some(Self::Session {
                    token: value.to_string(),
                    signed: false,
                    cookie: false,
                });
            }
            if key_user_id(value).is_some() {
                return Some(Self::ApiKey(value.to_string()));
            }
        }
        headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| Self::ApiKey(v.trim().to_string()))
    }

    /// The request's credential: parsed on first use, then read from its extensions.
    pub fn of(parts: &mut Parts, state: &AppState) -> Option<Self> {
        if let Some(Parsed(parsed)) = parts.extensions.get::<Parsed>() {
            return parsed.clone();
        }
        let parsed = Self::parse(&state.cookies, &parts.headers);
        parts.extensions.insert(Parsed(parsed.clone()));
        parsed
    }

    /// The secret itself (a session token or an API key).
    pub fn secret(&self) -> &str {
        match self {
            Self::Session { token, .. } => token,
            Self::ApiKey(key) => key,
        }
    }

    /// Sent by the browser on its own: the session cookie.
    pub fn is_cookie(&self) -> bool {
        matches!(self, Self::Session { cookie: true, .. })
    }

    /// The bucket the request is counted in, known BEFORE the credential is read, so the
    /// count and the read go out together: a signed session token's user (only we sign
    /// tokens, so nobody can spend another user's allowance), an API key's own id (a hash of
    /// the key: a forged key counts in a bucket nobody owns). `None` for an unsigned session
    /// token, whose user id anyone could write: it is counted after the read.
    pub fn bucket(&self, limits: &RateLimits) -> Option<Bucket> {
        match self {
            Self::Session {
                token,
                signed: true,
                ..
            } => Some(Bucket::new(
                keys::rate_bucket_user(session_user_id(token)?),
                limits.per_user,
            )),
            Self::Session { signed: false, .. } => None,
            Self::ApiKey(key) => Some(Bucket::new(
                keys::rate_bucket_api_key(&key_id(key)),
                limits.per_api_key,
            )),
        }
    }
}

/// The bearer value of `Authorization` (scheme case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use axum::http::header::COOKIE;
    use portal_domain::config::Config;
    use portal_domain::keyring::Keyring;

    use super::*;
    use crate::caller::token::{DEFAULT_KEY_PREFIX, new_api_key, new_session_token};

    #[test]
    fn debug_never_shows_the_secret() {
        let config = Config::for_tests("t");
        let jar = CookieJar::new(&config, Keyring::from_config(&config));
        let token = new_session_token("u1");
        let mut headers = HeaderMap::new();
        let cookie = format!("{}={}", jar.name("session_token"), jar.signed(&token));
        headers.insert(COOKIE, HeaderValue::from_str(&cookie).unwrap());
        let session = Credential::parse(&jar, &headers).expect("the cookie is read");
        let shown = format!("{session:?} {:?}", Parsed(Some(session.clone())));
        assert!(
            shown.contains("Session") && shown.contains("cookie: true"),
            "{shown}"
        );
        assert!(!shown.contains(&token), "{shown}");

        let key = new_api_key(DEFAULT_KEY_PREFIX, "u1");
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, HeaderValue::from_str(&key).unwrap());
        let parsed = Credential::parse(&jar, &headers).expect("the key is read");
        assert_eq!(parsed, Credential::ApiKey(key.clone()));
        let shown = format!("{parsed:?}");
        assert!(
            shown.starts_with("ApiKey") && !shown.contains(&key),
            "{shown}"
        );
    }
}
