//! Which origins Portal trusts, and where it may send a browser. A URL a client hands us is
//! first resolved against the base URL exactly as a browser would (WHATWG rules, through the
//! `url` crate: `\` is `/`, `//host` is a host, tabs and newlines vanish), and only the
//! RESULT is compared with the trusted origins. Used by the auth function (callback and
//! redirect URLs, its CSRF check) and by the Portal routes' CSRF check.

use axum::http::HeaderMap;
use axum::http::header::{ORIGIN, REFERER};
use url::{Host, Url};

use portal_domain::config::Config;

/// `scheme://host[:port]` of an http(s) URL, lower-case; `None` for opaque origins.
fn origin_of(url: &Url) -> Option<(String, String, Option<u16>)> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = match url.host()? {
        Host::Domain(d) => d.to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => format!("[{ip}]"),
    };
    Some((url.scheme().to_string(), host, url.port_or_known_default()))
}

/// Whether a resolved URL's origin is the base URL's or a configured trusted origin (with
/// `*.example.org` / `https://*.example.org` wildcards, which never match the bare domain).
pub fn is_trusted_url(config: &Config, url: &Url) -> bool {
    let Some((scheme, host, port)) = origin_of(url) else {
        return false;
    };
    let Some(auth) = &config.auth else {
        return false;
    };
    if origin_of(&auth.base_url) == Some((scheme.clone(), host.clone(), port)) {
        return true;
    }
    auth.trusted_origins.iter().any(|pattern| {
        let pattern = pattern.trim().to_ascii_lowercase();
        let (want_scheme, rest) = match pattern.split_once("://") {
            Some((s, rest)) => (Some(s.to_string()), rest.to_string()),
            None => (None, pattern.clone()),
        };
        if want_scheme.as_deref().is_some_and(|s| s != scheme) {
            return false;
        }
        match rest.strip_prefix("*.") {
            // A wildcard names hosts under a domain, on the scheme's default port.
            Some(suffix) => {
                let default_port = if scheme == "https" { 443 } else { 80 };
                host.ends_with(&format!(".{suffix}")) && port == Some(default_port)
            }
            None => {
                let scheme = want_scheme.as_deref().unwrap_or(&scheme);
                Url::parse(&format!("{scheme}://{rest}"))
                    .ok()
                    .and_then(|u| origin_of(&u))
                    .is_some_and(|want| want == (scheme.to_string(), host.clone(), port))
            }
        }
    })
}

/// Whether an `Origin` (or `Referer`) header value names a trusted origin.
pub fn is_trusted_origin(config: &Config, origin: &str) -> bool {
    Url::parse(origin).is_ok_and(|url| is_trusted_url(config, &url))
}

/// Where a client-given redirect or callback URL really leads, if we may send a browser
/// there: resolved against the base URL as a browser would, then held against the trusted
/// origins. Refused outright: control characters or white space anywhere, credentials in
/// the URL, and (as BetterAuth does) relative URLs with encoded slashes.
pub fn resolve_redirect(config: &Config, raw: &str) -> Option<Url> {
    if raw.is_empty() || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    match raw.split_once(':') {
        // An absolute URL must say `scheme://`: `https:evil.org` and `javascript:` are not
        // where a front end sends anyone.
        Some((scheme, rest)) if is_scheme(scheme) => {
            if !rest.starts_with("//") {
                return None;
            }
        }
        _ => {
            let lower = raw.to_ascii_lowercase();
            if lower.contains("%2f") || lower.contains("%5c") {
                return None;
            }
        }
    }
    let url = config.auth.as_ref()?.base_url.join(raw).ok()?;
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    is_trusted_url(config, &url).then_some(url)
}

/// RFC 3986: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Why a state-changing browser request is refused by the origin check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginRefusal {
    /// No `Origin` nor `Referer`, or `Origin: null`.
    Missing,
    /// An origin that is not trusted.
    Untrusted,
}

/// BetterAuth's origin check on a request: `Origin`, else `Referer`, must be trusted.
pub fn check_request_origin(config: &Config, headers: &HeaderMap) -> Result<(), OriginRefusal> {
    let origin = headers
        .get(ORIGIN)
        .or_else(|| headers.get(REFERER))
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && *v != "null")
        .ok_or(OriginRefusal::Missing)?;
    if is_trusted_origin(config, origin) {
        Ok(())
    } else {
        Err(OriginRefusal::Untrusted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut c = Config::for_tests("t");
        let auth = c.auth.as_mut().unwrap();
        auth.base_url = Url::parse("https://portal.example.org").unwrap();
        auth.trusted_origins = vec![
            "https://*.atl.dev".into(),
            "http://localhost:5173".into(),
            "*.example.net".into(),
        ];
        c
    }

    #[test]
    fn trusted_origins() {
        let c = config();
        for ok in [
            "https://portal.example.org",
            "https://portal.example.org/some/page",
            "https://PORTAL.example.org:443",
            "https://app.atl.dev",
            "http://localhost:5173",
            "http://x.example.net",
        ] {
            assert!(is_trusted_origin(&c, ok), "{ok}");
        }
        for bad in [
            "http://portal.example.org",
            "https://portal.example.org:8443",
            "https://evil.org",
            "http://app.atl.dev",
            "https://atl.dev",
            "https://atl.dev.evil.org",
            "https://app.atl.dev:444",
            "null",
            "http://localhost:5174",
        ] {
            assert!(!is_trusted_origin(&c, bad), "{bad}");
        }
    }

    #[test]
    fn redirects_resolve_like_a_browser_before_the_comparison() {
        let c = config();
        for (raw, lands) in [
            ("/dashboard", "https://portal.example.org/dashboard"),
            ("/reset?x=1", "https://portal.example.org/reset?x=1"),
            ("reset", "https://portal.example.org/reset"),
            ("https://app.atl.dev/done", "https://app.atl.dev/done"),
        ] {
            assert_eq!(
                resolve_redirect(&c, raw).map(|u| u.to_string()).as_deref(),
                Some(lands),
                "{raw}"
            );
        }
        for bad in [
            "/\t/evil.example",
            "//evil.org",
            "/%2F%2Fevil.org",
            "/\\evil.org",
            "\\\\evil.org",
            "https:evil.org",
            "https://evil.org/x",
            "javascript:alert(1)",
            "https://user@portal.example.org/",
        ] {
            assert_eq!(resolve_redirect(&c, bad), None, "{bad:?}");
        }
    }
}
