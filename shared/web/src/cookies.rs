//! BetterAuth's session cookies: names, signed values, and Set-Cookie strings.
//!
//! Value: `encodeURIComponent(token + "." + base64(HMAC-SHA256(secret, token)))`.
//! Names are `<prefix>.<cookie>` (`PORTAL_COOKIE_PREFIX`, BetterAuth's `cookiePrefix`,
//! default `better-auth`) and carry the `__Secure-` prefix (and `Secure`) when the base URL
//! is https.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use portal_domain::config::Config;
use portal_domain::keyring::Keyring;

pub const SESSION_TOKEN: &str = "session_token";
pub const SESSION_DATA: &str = "session_data";
pub const DONT_REMEMBER: &str = "dont_remember";
/// The pending two-factor sign-in (BetterAuth's `two_factor`, 10 minutes).
pub const TWO_FACTOR: &str = "two_factor";
/// A device trusted to skip the second factor (BetterAuth's `trust_device`, 30 days).
pub const TRUST_DEVICE: &str = "trust_device";

/// Seconds a remembered session cookie lives (7 days).
pub const SESSION_MAX_AGE: i64 = 604_800;

/// Cookie names and attributes for one deployment.
#[derive(Debug, Clone)]
pub struct CookieJar {
    secure: bool,
    prefix: String,
    keyring: Keyring,
}

impl CookieJar {
    /// The jar of the auth section (BetterAuth's default names without one), signing with
    /// `keyring`.
    pub fn new(config: &Config, keyring: Keyring) -> Self {
        let auth = config.auth.as_ref();
        Self {
            secure: auth.is_some_and(|a| a.base_url.scheme() == "https"),
            prefix: auth.map_or_else(|| "better-auth".into(), |a| a.cookie_prefix.clone()),
            keyring,
        }
    }

    /// The full name of cookie `base` (`session_token`, ...): prefixed, and `__Secure-`
    /// over https.
    pub fn name(&self, base: &str) -> String {
        let secure = if self.secure { "__Secure-" } else { "" };
        format!("{secure}{}.{base}", self.prefix)
    }

    /// `token.signature`, not URL-encoded (the `set-auth-token` header form).
    pub fn signed(&self, value: &str) -> String {
        format!("{value}.{}", self.keyring.sign(value))
    }

    /// Verifies a signed value (URL-encoded or not): the part before the last `.`.
    pub fn verify(&self, signed: &str) -> Option<String> {
        let decoded = percent_decode(signed);
        let (value, signature) = decoded.rsplit_once('.')?;
        self.keyring
            .verify(value, signature)
            .then(|| value.to_string())
    }

    fn attributes(&self, max_age: Option<i64>) -> String {
        let mut attrs = String::new();
        if let Some(age) = max_age {
            attrs.push_str(&format!("; Max-Age={age}"));
        }
        attrs.push_str("; Path=/; HttpOnly; SameSite=Lax");
        if self.secure {
            attrs.push_str("; Secure");
        }
        attrs
    }

    /// Set-Cookie for a session token; `remember = false` makes it a browser-session
    /// cookie and adds the signed `dont_remember` marker.
    pub fn session_cookies(&self, token: &str, remember: bool) -> Vec<String> {
        let value = percent_encode(&self.signed(token));
        let mut cookies = vec![format!(
            "{}={value}{}",
            self.name(SESSION_TOKEN),
            self.attributes(remember.then_some(SESSION_MAX_AGE))
        )];
        if !remember {
            cookies.push(format!(
                "{}={}{}",
                self.name(DONT_REMEMBER),
                percent_encode(&self.signed("true")),
                self.attributes(None)
            ));
        }
        cookies
    }

    /// Set-Cookie for cookie `base` holding `value`, signed.
    pub fn signed_cookie(&self, base: &str, value: &str, max_age: i64) -> String {
        format!(
            "{}={}{}",
            self.name(base),
            percent_encode(&self.signed(value)),
            self.attributes(Some(max_age))
        )
    }

    /// Set-Cookie for a cookie the page's scripts may read (not `HttpOnly`), named exactly
    /// `full_name` (BetterAuth's plugins name some without the prefix), with the session
    /// cookie's other attributes.
    pub fn readable_cookie(&self, full_name: &str, value: &str, max_age: i64) -> String {
        let attributes = self.attributes(Some(max_age)).replace("; HttpOnly", "");
        format!("{full_name}={}{attributes}", percent_encode(value))
    }

    /// Set-Cookie that expires cookie `base`.
    pub fn expired(&self, base: &str) -> String {
        format!("{}={}", self.name(base), self.attributes(Some(0)))
    }

    /// The verified value of signed cookie `base` in the request.
    pub fn verified(&self, headers: &HeaderMap, base: &str) -> Option<String> {
        self.read(headers, base)
            .and_then(|signed| self.verify(signed))
    }

    /// The name of the multi-session cookie that remembers `token` (BetterAuth's
    /// `<session cookie>_multi-<lower-cased token>`).
    pub fn multi_session_name(&self, token: &str) -> String {
        format!(
            "{}_multi-{}",
            self.name(SESSION_TOKEN),
            token.to_lowercase()
        )
    }

    /// Every multi-session cookie of the request whose signature holds: `(name, token)`.
    pub fn multi_sessions(&self, headers: &HeaderMap) -> Vec<(String, String)> {
        let prefix = format!("{}_multi-", self.name(SESSION_TOKEN));
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| name.starts_with(&prefix))
            .filter_map(|(name, value)| self.verify(value).map(|t| (name.to_string(), t)))
            .collect()
    }

    /// Set-Cookie for the multi-session cookie of `token`, living as the session cookie does.
    pub fn multi_session_cookie(&self, token: &str, remember: bool) -> String {
        format!(
            "{}={}{}",
            self.multi_session_name(token),
            percent_encode(&self.signed(token)),
            self.attributes(remember.then_some(SESSION_MAX_AGE))
        )
    }

    /// Set-Cookie that expires the cookie named `full_name` (already prefixed).
    pub fn expired_named(&self, full_name: &str) -> String {
        format!("{full_name}={}", self.attributes(Some(0)))
    }

    /// The three expiring Set-Cookies of sign-out and of an invalid session.
    pub fn expired_cookies(&self) -> Vec<String> {
        [SESSION_TOKEN, SESSION_DATA, DONT_REMEMBER]
            .iter()
            .map(|base| self.expired(base))
            .collect()
    }

    /// The raw (still signed) value of cookie `base` in the request.
    pub fn read<'h>(&self, headers: &'h HeaderMap, base: &str) -> Option<&'h str> {
        let wanted = self.name(base);
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == wanted)
            .map(|(_, value)| value)
    }

    /// The verified session token from the cookie, if any and correctly signed.
    pub fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        self.verified(headers, SESSION_TOKEN)
    }

    /// True when the signed `dont_remember` marker is present.
    pub fn dont_remember(&self, headers: &HeaderMap) -> bool {
        self.verified(headers, DONT_REMEMBER)
            .is_some_and(|v| v == "true")
    }
}

/// `encodeURIComponent`.
pub fn percent_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
        .replace("%7E", "~")
        .replace("%21", "!")
        .replace("%27", "'")
        .replace("%28", "(")
        .replace("%29", ")")
        .replace("%2A", "*")
}

fn percent_decode(value: &str) -> String {
    // `+` is literal in cookie values (decodeURIComponent keeps it).
    let escaped = value.replace('+', "%2B");
    url::form_urlencoded::parse(format!("v={escaped}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar(base: &str) -> CookieJar {
        let mut config = Config::for_tests("t");
        let auth = config.auth.as_mut().unwrap();
        auth.base_url = url::Url::parse(base).unwrap();
        auth.secret = "better-auth-secret-123456789012345".into();
        let keyring = Keyring::from_config(&config);
        CookieJar::new(&config, keyring)
    }

    #[test]
    fn signature_matches_an_independent_hmac() {
        // python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(
        //   b"better-auth-secret-123456789012345", b"abc123", hashlib.sha256).digest()).decode())'
        let jar = jar("http://localhost:3000");
        assert_eq!(
            jar.signed("abc123"),
            "abc123.8OpMOGf194eyY5Iaqydc7oBD5Y5GjKhSflLEDz1jM3k="
        );
        let cookie = &jar.session_cookies("abc123", true)[0];
        assert_eq!(
            cookie,
            "better-auth.session_token=abc123.8OpMOGf194eyY5Iaqydc7oBD5Y5GjKhSflLEDz1jM3k%3D; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn https_uses_the_secure_prefix() {
        let jar = jar("https://portal.example.org");
        let cookies = jar.session_cookies("tok", false);
        assert!(cookies[0].starts_with("__Secure-better-auth.session_token="));
        assert!(!cookies[0].contains("Max-Age"), "browser-session cookie");
        assert!(cookies[0].ends_with("; Secure"));
        assert!(cookies[1].starts_with("__Secure-better-auth.dont_remember="));
    }

    #[test]
    fn verification_accepts_encoded_and_plain_and_refuses_forgeries() {
        let jar = jar("http://localhost:3000");
        let signed = jar.signed("abc123");
        assert_eq!(jar.verify(&signed).as_deref(), Some("abc123"));
        assert_eq!(
            jar.verify(&percent_encode(&signed)).as_deref(),
            Some("abc123")
        );
        assert_eq!(jar.verify(&signed.replace("abc123", "abc124")), None);
        assert_eq!(jar.verify("abc123"), None);
        assert_eq!(jar.verify("abc123.short="), None);
    }

    #[test]
    fn the_configured_prefix_names_every_cookie() {
        let mut config = Config::for_tests("t");
        let auth = config.auth.as_mut().unwrap();
        auth.base_url = url::Url::parse("https://portal.example.org").unwrap();
        auth.cookie_prefix = "portal".into();
        let jar = CookieJar::new(&config, Keyring::from_config(&config));
        let cookies = jar.session_cookies("tok", false);
        assert!(cookies[0].starts_with("__Secure-portal.session_token="));
        assert!(cookies[1].starts_with("__Secure-portal.dont_remember="));
        assert!(jar.expired_cookies()[1].starts_with("__Secure-portal.session_data=;"));
        let mut headers = HeaderMap::new();
        let signed = percent_encode(&jar.signed("tok"));
        headers.insert(
            COOKIE,
            format!("__Secure-better-auth.session_token={signed}")
                .parse()
                .unwrap(),
        );
        assert_eq!(jar.session_token(&headers), None, "another prefix's cookie");
        headers.insert(
            COOKIE,
            format!("__Secure-portal.session_token={signed}")
                .parse()
                .unwrap(),
        );
        assert_eq!(jar.session_token(&headers).as_deref(), Some("tok"));
    }

    #[test]
    fn expiring_cookies_clear_all_three() {
        let jar = jar("http://localhost:3000");
        assert_eq!(
            jar.expired_cookies(),
            vec![
                "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
                "better-auth.session_data=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
                "better-auth.dont_remember=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
            ]
        );
    }
}
