//! Property tests of every parser of untrusted input: whatever a client sends, nothing
//! panics; what we produce parses back to itself; a mutated signed or sealed value never
//! verifies; a redirect we accept always lands on a trusted origin.

use axum::http::{HeaderMap, HeaderValue};
use portal_domain::Config;
use portal_domain::config::parse_dsn;
use portal_domain::keyring::Keyring;
use portal_domain::store::listing::Cursor;
use portal_domain::time::{iso, parse_iso};
use portal_testkit::Sections;
use portal_web::caller::token::key_user_id;
use portal_web::caller::token::session_user_id as token_user_id;
use portal_web::cookies::CookieJar;
use portal_web::origins::{is_trusted_url, resolve_redirect};
use portal_web::validation::{Paging, QueryReader};
use proptest::prelude::*;

fn config() -> Config {
    let mut c = Config::for_tests("t");
    c.auth_mut().base_url = url::Url::parse("https://portal.example.org").unwrap();
    c.auth_mut().trusted_origins = vec!["https://*.apps.example.net".into()];
    c
}

/// Flips one character of `s` to another printable one.
fn mutate(s: &str, at: usize, to: char) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return None;
    }
    let i = at % chars.len();
    if chars[i] == to {
        return None;
    }
    chars[i] = to;
    Some(chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn signed_cookies_round_trip_and_a_mutation_never_verifies(
        token in "[A-Za-z0-9]{64}",
        at in 0usize..200,
        to in proptest::char::range('!', '~'),
    ) {
        let jar = { let c = config(); CookieJar::new(&c, Keyring::from_config(&c)) };
        let signed = jar.signed(&token);
        prop_assert_eq!(jar.verify(&signed), Some(token.clone()));
        if let Some(bad) = mutate(&signed, at, to) {
            prop_assert_ne!(jar.verify(&bad), Some(token));
        }
    }

    #[test]
    fn any_cookie_header_or_bearer_is_classified_without_panicking(raw in ".{0,300}") {
        let jar = { let c = config(); CookieJar::new(&c, Keyring::from_config(&c)) };
        let _ = jar.verify(&raw);
        let _ = token_user_id(&raw);
        let _ = key_user_id(&raw);
        if let Ok(value) = HeaderValue::from_str(&format!("better-auth.session_token={raw}")) {
            let mut headers = HeaderMap::new();
            headers.insert("cookie", value);
            let _ = jar.session_token(&headers);
        }
    }

    #[test]
    fn sealed_values_open_to_themselves_and_nothing_else(
        plain in ".{0,200}",
        at in 0usize..400,
        to in proptest::char::range('A', 'z'),
        junk in ".{0,300}",
    ) {
        let keyring = Keyring::new("a-secret-of-at-least-32-characters!!", None);
        let sealed = keyring.seal(&plain);
        prop_assert_eq!(keyring.open(&sealed), Some(plain.clone()));
        if let Some(bad) = mutate(&sealed, at, to) {
            prop_assert_ne!(keyring.open(&bad), Some(plain));
        }
        let _ = keyring.open(&junk);
    }

    #[test]
    fn cursors_round_trip_and_forged_ones_are_refused(
        partition in "[A-Z#a-z0-9]{1,40}",
        position in 0usize..100_000,
        junk in "[A-Za-z0-9_-]{0,200}",
    ) {
        let keyring = Keyring::new("a-secret-of-at-least-32-characters!!", None);
        let cursor = Cursor::At { search: partition, position };
        let token = portal_web::validation::seal_cursor(&keyring, Some(&cursor)).unwrap();
        let paging = Paging { limit: 10, offset: 0, cursor: Some(token) };
        prop_assert_eq!(paging.request(&keyring).unwrap().cursor, Some(cursor));
        let forged = Paging { limit: 10, offset: 0, cursor: Some(junk) };
        prop_assert!(forged.request(&keyring).is_err());
    }

    #[test]
    fn an_accepted_redirect_always_lands_on_a_trusted_origin(raw in ".{0,120}") {
        let c = config();
        if let Some(url) = resolve_redirect(&c, &raw) {
            prop_assert!(is_trusted_url(&c, &url), "{raw:?} -> {url}");
            prop_assert!(url.username().is_empty() && url.password().is_none());
        }
    }

    #[test]
    fn relative_paths_stay_on_our_origin(path in "/[a-z0-9/._~-]{0,60}") {
        let c = config();
        if !path.starts_with("//") {
            let url = resolve_redirect(&c, &path).expect("a plain path is fine");
            prop_assert_eq!(url.host_str(), Some("portal.example.org"));
        }
    }

    #[test]
    fn sentry_dsns_and_envelope_headers_never_panic(raw in ".{0,200}") {
        if let Ok(dsn) = parse_dsn(&raw) {
            prop_assert!(dsn.envelope_api_url().as_str().ends_with("/envelope/"));
        }
    }

    #[test]
    fn timestamps_we_write_parse_back_to_themselves(secs in 0i64..253_402_300_799, ms in 0u16..1000) {
        let at = time::OffsetDateTime::from_unix_timestamp(secs).unwrap()
            + time::Duration::milliseconds(i64::from(ms));
        let written = iso(at);
        prop_assert_eq!(parse_iso(&written).map(iso), Some(written));
    }

    #[test]
    fn any_timestamp_text_or_query_string_is_read_without_panicking(raw in ".{0,120}") {
        let _ = parse_iso(&raw);
        let mut q = QueryReader::parse(Some(&raw));
        let _ = Paging::read(&mut q, 50);
        let _ = q.bool("active");
        let _ = q.string("search", 100);
        let _ = q.finish();
    }
}
