//! Portal as an OpenID Connect provider (BetterAuth's oauth-provider plugin as Portal
//! configures it), driven as a browser and a relying party would: the login page's signed
//! request carried through sign-in, consent, the code, the tokens, and every way a token
//! must stop working. (A real relying-party library drives the same flow in the e2e run.)

mod common;

use std::collections::HashMap;

use common::{Browser, PASSWORD, TestAuth, h};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use portal_domain::crypto::sha256_hex;
use portal_domain::model::Role;
use portal_domain::store::integration_accounts::{Account, Taker};
use portal_domain::store::oauth_clients::OAuthClient;
use portal_domain::time::{iso, now};
use portal_testkit::TestResponse;
use serde_json::{Value, json};

const CALLBACK: &str = "https://xmpp.example.org/oauth/callback";
const SECRET: &str = "s3cret-of-the-relying-party-0123456789";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

fn challenge(verifier: &str) -> String {
    portal_domain::crypto::sha256_b64url(verifier.as_bytes())
}

/// A client an operator registered (as `portal-admin create-oauth-client` does).
async fn client(
    t: &TestAuth,
    client_id: &str,
    adjust: impl FnOnce(&mut OAuthClient),
) -> OAuthClient {
    let at = iso(now());
    let mut client = OAuthClient {
        id: portal_domain::crypto::new_id(),
        name: format!("Client {client_id}"),
        client_id: client_id.into(),
        client_secret_hash: sha256_hex(SECRET.as_bytes()),
        redirect_uris: vec![CALLBACK.into()],
        created_at: at.clone(),
        updated_at: at,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        enable_end_session: true,
        ..OAuthClient::default()
    };
    adjust(&mut client);
    t.state
        .db
        .oauth_clients()
        .create(client, None)
        .await
        .unwrap()
}

fn params(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn location(res: &TestResponse) -> String {
    assert_eq!(res.status, 302, "a redirect: {}", res.text());
    res.header("location").unwrap().to_string()
}

fn authorize_path(client_id: &str, extra: &str) -> String {
    format!(
        "/api/auth/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20email%20offline_access%20xmpp&state=st4te&nonce=n0nce&code_challenge={}&code_challenge_method=S256{extra}",
        urlencode(CALLBACK),
        challenge(VERIFIER)
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn basic(client_id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        BASE64.encode(format!("{client_id}:{secret}").as_bytes())
    )
}

async fn form(
    t: &TestAuth,
    path: &str,
    auth: Option<&str>,
    pairs: &[(&str, &str)],
) -> TestResponse {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let headers: Vec<(&str, &str)> = auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
    t.send_raw(
        "POST",
        path,
        &headers,
        Some(("application/x-www-form-urlencoded", body)),
    )
    .await
}

/// Signs up `email`, then runs the flow from `/authorize` through sign-in (carrying the
/// signed request) and consent; returns the browser and the code.
async fn code_through_sign_in(t: &TestAuth, client_id: &str, email: &str) -> (Browser, String) {
    let _ = t.sign_up(email).await;
    let res = t
        .send("GET", &authorize_path(client_id, ""), &[], None)
        .await;
    let login = location(&res);
    assert!(
        login.starts_with("http://localhost:3000/auth/sign-in?"),
        "{login}"
    );
    let oauth_query = login.split_once('?').unwrap().1.to_string();
    assert!(params(&login).contains_key("sig"));

    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/email",
            &[("origin", "http://localhost:3000")],
            Some(json!({"email": email, "password": PASSWORD, "oauth_query": oauth_query})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let browser = Browser {
        token: String::new(),
        cookie: res
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.contains("session_token="))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string(),
        user: Value::Null,
    };
    let body = res.json();
    assert_eq!(body["redirect"], true);
    let consent_page = body["url"].as_str().unwrap().to_string();
    assert!(
        consent_page.starts_with("http://localhost:3000/auth/consent?"),
        "{consent_page}"
    );
    let oauth_query = consent_page.split_once('?').unwrap().1.to_string();

    let res = t
        .send(
            "POST",
            "/api/auth/oauth2/consent",
            &h(&browser.headers()),
            Some(json!({"accept": true, "oauth_query": oauth_query})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let to_client = res.json()["url"].as_str().unwrap().to_string();
    assert!(to_client.starts_with(CALLBACK), "{to_client}");
    let got = params(&to_client);
    assert_eq!(got["state"], "st4te");
    assert_eq!(got["iss"], "http://localhost:3000/api/auth");
    (browser, got["code"].clone())
}

async fn exchange(t: &TestAuth, client_id: &str, code: &str, verifier: &str) -> TestResponse {
    form(
        t,
        "/api/auth/oauth2/token",
        Some(&basic(client_id, SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn userinfo(t: &TestAuth, token: &str) -> TestResponse {
    let auth = format!("Bearer {token}");
    t.send(
        "GET",
        "/api/auth/oauth2/userinfo",
        &[("authorization", &auth)],
        None,
    )
    .await
}

fn part(token: &str, n: usize) -> Value {
    let piece = token.split('.').nth(n).unwrap();
    serde_json::from_slice(&BASE64URL_NOPAD.decode(piece.as_bytes()).unwrap()).unwrap()
}

/// Verifies a JWT against the published keys as a relying party does: by `kid`, with the
/// key's own algorithm.
async fn verified(t: &TestAuth, token: &str) -> Value {
    let jwks = t.send("GET", "/api/auth/jwks", &[], None).await.json();
    let header = part(token, 0);
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the signing key is published")
        .clone();
    assert_eq!(key["alg"], header["alg"]);
    let b = |f: &str| {
        BASE64URL_NOPAD
            .decode(key[f].as_str().unwrap().as_bytes())
            .unwrap()
    };
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let signature = BASE64URL_NOPAD.decode(signature.as_bytes()).unwrap();
    let good = match header["alg"].as_str().unwrap() {
        "EdDSA" => {
            let public = PKey::public_key_from_raw_bytes(&b("x"), Id::ED25519).unwrap();
            Verifier::new_without_digest(&public)
                .unwrap()
                .verify_oneshot(&signature, signed.as_bytes())
                .unwrap()
        }
        "RS256" => {
            let rsa = Rsa::from_public_components(
                BigNum::from_slice(&b("n")).unwrap(),
                BigNum::from_slice(&b("e")).unwrap(),
            )
            .unwrap();
            let public = PKey::from_rsa(rsa).unwrap();
            let mut v = Verifier::new(MessageDigest::sha256(), &public).unwrap();
            v.verify_oneshot(&signature, signed.as_bytes()).unwrap()
        }
        other => panic!("unexpected alg {other}"),
    };
    assert!(good, "the signature verifies");
    part(token, 1)
}

async fn xmpp_account(t: &TestAuth, user_id: &str, username: &str) {
    let at = iso(now());
    let account = Account {
        id: portal_domain::crypto::new_id(),
        user_id: user_id.into(),
        integration_id: "xmpp".into(),
        username: username.into(),
        data: json!({}),
        status: "provisioning".into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    let accounts = t.state.db.integration_accounts();
    accounts.reserve(&account, Taker::user()).await.unwrap();
    accounts
        .activate(&account, "active", &at, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn discovery_is_served_under_the_issuer_and_at_the_root() {
    let t = TestAuth::new(|_| {}).await;
    let doc = t
        .send(
            "GET",
            "/api/auth/.well-known/openid-configuration",
            &[],
            None,
        )
        .await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["issuer"], "http://localhost:3000/api/auth");
    assert_eq!(
        doc["authorization_endpoint"],
        "http://localhost:3000/api/auth/oauth2/authorize"
    );
    assert_eq!(doc["jwks_uri"], "http://localhost:3000/api/auth/jwks");
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["EdDSA", "RS256"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("xmpp"))
    );
    assert!(
        doc["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("irc_nick"))
    );
    assert!(
        doc.get("registration_endpoint").is_none(),
        "closed: not advertised"
    );
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/api/auth",
        "/api/auth/.well-known/oauth-authorization-server",
    ] {
        let res = t.send("GET", path, &[], None).await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.json(), doc, "{path}");
    }
    let resource = t
        .send("GET", "/.well-known/oauth-protected-resource", &[], None)
        .await;
    assert_eq!(resource.status, 200);
    assert_eq!(
        resource.json()["authorization_servers"],
        json!(["http://localhost:3000/api/auth"])
    );

    let open = TestAuth::new(|c| {
        c.auth.as_mut().unwrap().oauth.registration =
            portal_domain::config::ClientRegistration::Open
    })
    .await;
    let doc = open
        .send("GET", "/.well-known/openid-configuration", &[], None)
        .await
        .json();
    assert_eq!(
        doc["registration_endpoint"],
        "http://localhost:3000/api/auth/oauth2/register"
    );
}

#[tokio::test]
async fn the_whole_code_flow_with_pkce_consent_refresh_and_logout() {
    let t = TestAuth::new(|_| {}).await;
    client(&t, "prosody", |_| {}).await;
    let (browser, code) = code_through_sign_in(&t, "prosody", "ada@example.org").await;
    let user_id = t
        .state
        .db
        .users()
        .find_by_email("ada@example.org")
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    xmpp_account(&t, &user_id, "ada").await;

    let res = exchange(&t, "prosody", &code, VERIFIER).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let tokens = res.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "openid profile email offline_access xmpp");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let id_token = tokens["id_token"].as_str().unwrap().to_string();

    let claims = verified(&t, &id_token).await;
    assert_eq!(claims["iss"], "http://localhost:3000/api/auth");
    assert_eq!(claims["aud"], "prosody");
    assert_eq!(claims["sub"], json!(user_id));
    assert_eq!(claims["nonce"], "n0nce");
    assert_eq!(claims["email"], "ada@example.org");
    assert_eq!(claims["given_name"], "Test");
    assert_eq!(claims["family_name"], "User");
    assert!(
        claims["sid"].is_string(),
        "end-session is on for this client"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        36_000
    );

    let me = userinfo(&t, &access).await;
    assert_eq!(me.status, 200, "{}", me.text());
    let me = me.json();
    assert_eq!(me["sub"], json!(user_id));
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["xmpp_username"], "ada");
    assert!(me.get("irc_nick").is_none(), "no irc scope, no IRC account");

    // Introspection, as the client.
    let seen = form(
        &t,
        "/api/auth/oauth2/introspect",
        Some(&basic("prosody", SECRET)),
        &[("token", &access)],
    )
    .await
    .json();
    assert_eq!(seen["active"], true);
    assert_eq!(seen["client_id"], "prosody");
    assert_eq!(seen["sub"], json!(user_id));
    let seen = form(
        &t,
        "/api/auth/oauth2/introspect",
        Some(&basic("prosody", SECRET)),
        &[("token", &refresh), ("token_type_hint", "refresh_token")],
    )
    .await
    .json();
    assert_eq!(seen["active"], true);

    // Refresh: rotated. The old refresh token used again revokes the whole grant.
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "prosody"),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let renewed = res.json();
    let access2 = renewed["access_token"].as_str().unwrap().to_string();
    let refresh2 = renewed["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh2, refresh);
    assert!(renewed["id_token"].is_string());
    assert_eq!(userinfo(&t, &access2).await.status, 200);

    let again = form(
        &t,
        "/api/auth/oauth2/token",
        Some(&basic("prosody", SECRET)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.json(),
        json!({"error": "invalid_grant", "error_description": "invalid refresh token"})
    );
    for token in [&access, &access2] {
        let res = userinfo(&t, token).await;
        assert_eq!(res.status, 401, "the reused family is revoked");
        assert_eq!(
            res.json(),
            json!({"error": "invalid_token", "error_description": "the access token is not active"})
        );
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .starts_with("Bearer error=\"invalid_token\"")
        );
    }
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        Some(&basic("prosody", SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh2),
        ],
    )
    .await;
    assert_eq!(
        res.status, 400,
        "the newest refresh token died with its grant"
    );
    let audit = t.table_dump().await;
    assert!(audit.contains("oauth.refresh_token_reused"));
    assert!(audit.contains("oauth.consent_granted"));
    assert!(!audit.contains(&refresh), "no token in the table");
    assert!(!audit.contains(&access));

    // Remembered consent: the next authorization goes straight to the client.
    let res = t
        .send(
            "GET",
            &authorize_path("prosody", ""),
            &h(&browser.headers()),
            None,
        )
        .await;
    let to_client = location(&res);
    assert!(to_client.starts_with(CALLBACK), "{to_client}");
    let code = params(&to_client)["code"].clone();
    let tokens = exchange(&t, "prosody", &code, VERIFIER).await.json();
    let id_token = tokens["id_token"].as_str().unwrap().to_string();

    // End-session: the session the ID token names ends; the browser goes back.
    let res = t
        .send(
            "GET",
            &format!(
                "/api/auth/oauth2/end-session?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
                urlencode("https://evil.example.org/")
            ),
            &[],
            None,
        )
        .await;
    assert_eq!(
        res.status, 200,
        "an unregistered post-logout URI is not followed"
    );
    let res = t
        .send("GET", "/api/auth/get-session", &h(&browser.headers()), None)
        .await;
    assert_eq!(res.json(), Value::Null, "the session ended");
}

#[tokio::test]
async fn hostile_authorization_requests_never_reach_an_unregistered_uri() {
    let t = TestAuth::new(|_| {}).await;
    client(&t, "wiki", |_| {}).await;
    let b = t.sign_up("eve@example.org").await;

    // Unregistered redirect URIs (a prefix, a different path, a fragment, another host).
    let fragment = format!(
        "/api/auth/oauth2/authorize?response_type=code&client_id=wiki&redirect_uri={}",
        urlencode("https://xmpp.example.org/oauth/callback#frag")
    );
    let res = t.send("GET", &fragment, &h(&b.headers()), None).await;
    assert_eq!(res.status, 400, "a fragment is never a redirect URI");
    assert_eq!(
        res.json(),
        json!({"code": "VALIDATION_ERROR", "message": "[query.redirect_uri] Invalid URL"})
    );
    for bad in [
        "https://xmpp.example.org/oauth/callback/../../evil",
        "https://xmpp.example.org/oauth/callbackx",
        "https://evil.example.org/oauth/callback",
        "http://localhost/oauth/callback",
    ] {
        let path = format!(
            "/api/auth/oauth2/authorize?response_type=code&client_id=wiki&redirect_uri={}&code_challenge={}&code_challenge_method=S256",
            urlencode(bad),
            challenge(VERIFIER)
        );
        let to = location(&t.send("GET", &path, &h(&b.headers()), None).await);
        assert!(
            to.starts_with("http://localhost:3000/api/auth/error?"),
            "{bad} -> {to}"
        );
        assert_eq!(params(&to)["error"], "invalid_redirect");
    }
    // Unknown client: the error page too.
    let to = location(
        &t.send("GET", &authorize_path("nobody", ""), &h(&b.headers()), None)
            .await,
    );
    assert!(to.starts_with("http://localhost:3000/api/auth/error?"));
    assert_eq!(params(&to)["error"], "invalid_client");

    // Known client and URI: errors go to the client, with state and iss.
    let no_pkce = format!(
        "/api/auth/oauth2/authorize?response_type=code&client_id=wiki&redirect_uri={}&state=s&scope=openid",
        urlencode(CALLBACK)
    );
    let to = location(&t.send("GET", &no_pkce, &h(&b.headers()), None).await);
    let got = params(&to);
    assert!(to.starts_with(CALLBACK));
    assert_eq!(got["error"], "invalid_request");
    assert_eq!(got["error_description"], "pkce is required for this client");
    assert_eq!(got["state"], "s");
    let plain = authorize_path("wiki", "")
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    let res = t.send("GET", &plain, &h(&b.headers()), None).await;
    assert_eq!(res.status, 400, "only S256");
    assert_eq!(
        res.json(),
        json!({"code": "VALIDATION_ERROR", "message": "[query.code_challenge_method] Invalid option: expected \"S256\""})
    );
    let bad_scope = authorize_path("wiki", "").replace("scope=openid", "scope=admin%20openid");
    let to = location(&t.send("GET", &bad_scope, &h(&b.headers()), None).await);
    assert_eq!(params(&to)["error"], "invalid_scope");
    // The plugin's query schema: anything but `code` is a 400 before any redirect.
    let token_flow =
        authorize_path("wiki", "").replace("response_type=code&", "response_type=token&");
    let res = t.send("GET", &token_flow, &h(&b.headers()), None).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");

    // prompt=none: no session, no consent: said to the client, never a page.
    let to = location(
        &t.send("GET", &authorize_path("wiki", "&prompt=none"), &[], None)
            .await,
    );
    assert_eq!(params(&to)["error"], "login_required");
    let to = location(
        &t.send(
            "GET",
            &authorize_path("wiki", "&prompt=none"),
            &h(&b.headers()),
            None,
        )
        .await,
    );
    assert_eq!(params(&to)["error"], "consent_required");
    // prompt=login with a session: the login page anyway; max_age=0 too.
    for extra in ["&prompt=login", "&max_age=0"] {
        let to = location(
            &t.send(
                "GET",
                &authorize_path("wiki", extra),
                &h(&b.headers()),
                None,
            )
            .await,
        );
        assert!(
            to.starts_with("http://localhost:3000/auth/sign-in?"),
            "{extra}: {to}"
        );
    }

    // A forged or altered signed request is refused at sign-in.
    let to = location(&t.send("GET", &authorize_path("wiki", ""), &[], None).await);
    let signed = to.split_once('?').unwrap().1.to_string();
    let forged = signed.replace("client_id=wiki", "client_id=evil");
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/email",
            &[("origin", "http://localhost:3000")],
            Some(json!({"email": "eve@example.org", "password": PASSWORD, "oauth_query": forged})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"], "invalid_signature");
    assert!(
        res.headers.get("set-cookie").is_none(),
        "no session from a refused request"
    );

    // Denied consent: access_denied to the client.
    let consent_page = location(
        &t.send("GET", &authorize_path("wiki", ""), &h(&b.headers()), None)
            .await,
    );
    assert!(consent_page.starts_with("http://localhost:3000/auth/consent?"));
    let res = t
        .send(
            "POST",
            "/api/auth/oauth2/consent",
            &h(&b.headers()),
            Some(json!({"accept": false, "oauth_query": consent_page.split_once('?').unwrap().1})),
        )
        .await;
    let url = res.json()["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(CALLBACK));
    assert_eq!(params(&url)["error"], "access_denied");
    // Consent to scopes never asked for: refused.
    let res = t
        .send(
            "POST",
            "/api/auth/oauth2/consent",
            &h(&b.headers()),
            Some(json!({"accept": true, "scope": "openid irc", "oauth_query": consent_page.split_once('?').unwrap().1})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"], "invalid_request");
    let res = t
        .send(
            "POST",
            "/api/auth/oauth2/consent",
            &h(&b.headers()),
            Some(json!({"accept": true})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"error": "invalid_request", "error_description": "missing oauth query"})
    );
}

#[tokio::test]
async fn hostile_token_requests() {
    let t = TestAuth::new(|_| {}).await;
    client(&t, "wiki", |_| {}).await;
    client(&t, "other", |_| {}).await;
    let (_, code) = code_through_sign_in(&t, "wiki", "mallory@example.org").await;

    // Missing or wrong verifier: the code is spent either way.
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        Some(&basic("wiki", SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"error": "invalid_request", "error_description": "PKCE is required for this client"})
    );
    let res = exchange(&t, "wiki", &code, VERIFIER).await;
    assert_eq!(res.status, 400, "spent by the failed try");

    let (_, code) = code_through_sign_in(&t, "wiki", "mallory2@example.org").await;
    let res = exchange(
        &t,
        "wiki",
        &code,
        "x-wrong-verifier-of-at-least-forty-three-characters-000",
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"error": "invalid_grant", "error_description": "code verification failed"})
    );

    // Another client's code.
    let (_, code) = code_through_sign_in(&t, "wiki", "mallory3@example.org").await;
    let res = exchange(&t, "other", &code, VERIFIER).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"error": "invalid_grant", "error_description": "code was issued to another client"})
    );

    // A wrong secret, a missing one, an unknown client.
    let (_, code) = code_through_sign_in(&t, "wiki", "mallory4@example.org").await;
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        Some(&basic("wiki", "not-the-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json(),
        json!({"error": "invalid_client", "error_description": "invalid client_secret"})
    );

    // Code reuse: the second use revokes what the first issued.
    let (_, code) = code_through_sign_in(&t, "wiki", "mallory5@example.org").await;
    let first = exchange(&t, "wiki", &code, VERIFIER).await.json();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&t, access).await.status, 200);
    let second = exchange(&t, "wiki", &code, VERIFIER).await;
    assert_eq!(second.status, 400);
    assert_eq!(
        second.json(),
        json!({"error": "invalid_grant", "error_description": "authorization code already used"})
    );
    assert_eq!(
        userinfo(&t, access).await.status,
        401,
        "revoked by the reuse"
    );
    assert!(t.table_dump().await.contains("oauth.code_reused"));

    // Unknown grant types and bodies.
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        None,
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"], "unsupported_grant_type");
    let res = form(&t, "/api/auth/oauth2/token", None, &[]).await;
    assert_eq!(
        res.json(),
        json!({"error": "unsupported_grant_type", "error_description": "missing required grant_type"})
    );
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        Some(&basic("wiki", SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(res.status, 400, "the client was not registered for it");
    assert_eq!(res.json()["error"], "unauthorized_client");
}

#[tokio::test]
async fn a_token_with_alg_none_or_a_foreign_key_is_refused() {
    let t = TestAuth::new(|_| {}).await;
    client(&t, "wiki", |_| {}).await;
    let (_, code) = code_through_sign_in(&t, "wiki", "forger@example.org").await;
    let tokens = exchange(&t, "wiki", &code, VERIFIER).await.json();
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims = part(id_token, 1);
    let kid = part(id_token, 0)["kid"].clone();

    // The same claims, unsigned (`alg: none`), as a userinfo bearer and an end-session hint.
    let unsigned = format!(
        "{}.{}.",
        BASE64URL_NOPAD.encode(json!({"alg": "none", "kid": kid}).to_string().as_bytes()),
        BASE64URL_NOPAD.encode(claims.to_string().as_bytes())
    );
    let res = t
        .send(
            "GET",
            &format!("/api/auth/oauth2/end-session?id_token_hint={unsigned}"),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json(),
        json!({"error": "invalid_token", "error_description": "invalid id token"})
    );
    // A JWT access token of our shape but made up: no record, no signature.
    let fake = format!(
        "{}.{}.{}",
        BASE64URL_NOPAD.encode(json!({"alg": "none", "kid": kid}).to_string().as_bytes()),
        BASE64URL_NOPAD.encode(json!({"sub": claims["sub"], "scope": "openid", "jti": "x", "iss": "http://localhost:3000/api/auth", "exp": 9_999_999_999i64}).to_string().as_bytes()),
        "c2ln"
    );
    assert_eq!(userinfo(&t, &fake).await.status, 401);
    assert_eq!(userinfo(&t, "").await.status, 401);
}

#[tokio::test]
async fn a_ban_a_deletion_a_disabled_client_or_a_withdrawn_consent_stops_tokens_at_once() {
    let t = TestAuth::new(|_| {}).await;
    let wiki = client(&t, "wiki", |_| {}).await;
    let admin = portal_testkit::person(&t.state, "root@example.org", Role::Admin).await;

    // A ban.
    let (_, code) = code_through_sign_in(&t, "wiki", "banned@example.org").await;
    let tokens = exchange(&t, "wiki", &code, VERIFIER).await.json();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo(&t, &access).await.status, 200);
    let user_id = t
        .state
        .db
        .users()
        .find_by_email("banned@example.org")
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    let res = t
        .send(
            "POST",
            "/api/auth/admin/ban-user",
            &admin.headers(),
            Some(json!({"userId": user_id})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(userinfo(&t, &access).await.status, 401);
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        Some(&basic("wiki", SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"], "invalid_grant");

    // A withdrawn consent (through the plugin's consent routes).
    let (browser, code) = code_through_sign_in(&t, "wiki", "withdraws@example.org").await;
    let access = exchange(&t, "wiki", &code, VERIFIER).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let consents = t
        .send(
            "GET",
            "/api/auth/oauth2/get-consents",
            &h(&browser.headers()),
            None,
        )
        .await
        .json();
    assert_eq!(consents.as_array().unwrap().len(), 1);
    assert_eq!(consents[0]["clientId"], "wiki");
    let id = consents[0]["id"].as_str().unwrap().to_string();
    let one = t
        .send(
            "GET",
            &format!("/api/auth/oauth2/get-consent?id={id}"),
            &h(&browser.headers()),
            None,
        )
        .await;
    assert_eq!(
        one.json()["scopes"],
        json!(["openid", "profile", "email", "offline_access", "xmpp"])
    );
    // Narrowed: tokens with scopes no longer granted stop.
    let res = t
        .send(
            "POST",
            "/api/auth/oauth2/update-consent",
            &h(&browser.headers()),
            Some(json!({"id": id, "update": {"scopes": ["openid"]}})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(userinfo(&t, &access).await.status, 401);
    let res = t
        .send(
            "POST",
            "/api/auth/oauth2/delete-consent",
            &h(&browser.headers()),
            Some(json!({"id": id})),
        )
        .await;
    assert_eq!(res.status, 200);
    let res = t
        .send(
            "GET",
            &format!("/api/auth/oauth2/get-consent?id={id}"),
            &h(&browser.headers()),
            None,
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["error"], "not_found");
    assert!(t.table_dump().await.contains("oauth.consent_withdrawn"));

    // A disabled client.
    let (_, code) = code_through_sign_in(&t, "wiki", "disabled@example.org").await;
    let access = exchange(&t, "wiki", &code, VERIFIER).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(userinfo(&t, &access).await.status, 200);
    let mut off = wiki.clone();
    off.disabled = true;
    off.updated_at = iso(now() + time::Duration::seconds(1));
    assert!(
        t.state
            .db
            .oauth_clients()
            .save(&wiki, &off, None)
            .await
            .unwrap()
    );
    assert_eq!(userinfo(&t, &access).await.status, 401);
    let to = location(&t.send("GET", &authorize_path("wiki", ""), &[], None).await);
    assert!(
        to.starts_with("http://localhost:3000/api/auth/error?"),
        "{to}"
    );
    assert_eq!(params(&to)["error"], "client_disabled");
    let res = exchange(&t, "wiki", "any-code", VERIFIER).await;
    assert_eq!(res.status, 400, "an unknown code first");
    let res = form(
        &t,
        "/api/auth/oauth2/introspect",
        Some(&basic("wiki", SECRET)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json(),
        json!({"error": "invalid_client", "error_description": "client is disabled"})
    );

    // A deleted user.
    let wiki2 = client(&t, "wiki2", |_| {}).await;
    let _ = wiki2;
    let (browser, code) = code_through_sign_in(&t, "wiki2", "leaves@example.org").await;
    let access = exchange(&t, "wiki2", &code, VERIFIER).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .send(
            "POST",
            "/api/auth/delete-user",
            &h(&browser.headers()),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(userinfo(&t, &access).await.status, 401);
}

#[tokio::test]
async fn tokens_are_revoked_and_introspected_only_by_their_client() {
    let t = TestAuth::new(|_| {}).await;
    client(&t, "wiki", |_| {}).await;
    client(&t, "other", |_| {}).await;
    let (_, code) = code_through_sign_in(&t, "wiki", "rev@example.org").await;
    let tokens = exchange(&t, "wiki", &code, VERIFIER).await.json();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    // Another client learns nothing and revokes nothing.
    let seen = form(
        &t,
        "/api/auth/oauth2/introspect",
        Some(&basic("other", SECRET)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(seen.json(), json!({"active": false}));
    let res = form(
        &t,
        "/api/auth/oauth2/revoke",
        Some(&basic("other", SECRET)),
        &[("token", &refresh)],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(userinfo(&t, &access).await.status, 200);
    // Introspection needs the client's secret.
    let res = form(
        &t,
        "/api/auth/oauth2/introspect",
        None,
        &[("token", &access), ("client_id", "wiki")],
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["error"], "invalid_client");

    // Revoking the refresh token ends the grant: its access token too.
    let res = form(
        &t,
        "/api/auth/oauth2/revoke",
        Some(&basic("wiki", SECRET)),
        &[("token", &refresh), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(userinfo(&t, &access).await.status, 401);
    let seen = form(
        &t,
        "/api/auth/oauth2/introspect",
        Some(&basic("wiki", SECRET)),
        &[("token", &refresh)],
    )
    .await;
    assert_eq!(seen.json(), json!({"active": false}));
    assert!(t.table_dump().await.contains("oauth.token_revoked"));

    // An access token on its own.
    let (_, code) = code_through_sign_in(&t, "wiki", "rev2@example.org").await;
    let access = exchange(&t, "wiki", &code, VERIFIER).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = form(
        &t,
        "/api/auth/oauth2/revoke",
        Some(&basic("wiki", SECRET)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(userinfo(&t, &access).await.status, 401);
}

#[tokio::test]
async fn rs256_clients_jwt_access_tokens_and_client_credentials() {
    let t = TestAuth::new(|_| {}).await;
    client(&t, "rsa", |c| {
        c.id_token_signed_response_alg = Some("RS256".into());
        c.grant_types.push("client_credentials".into());
        c.scopes = Some(vec!["openid".into(), "profile".into(), "irc".into()]);
        c.skip_consent = true;
    })
    .await;
    let _ = t.sign_up("rsa@example.org").await;
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/email",
            &[("origin", "http://localhost:3000")],
            Some(json!({"email": "rsa@example.org", "password": PASSWORD})),
        )
        .await;
    let b = Browser::from_response(&res);
    let path = format!(
        "/api/auth/oauth2/authorize?response_type=code&client_id=rsa&redirect_uri={}&scope=openid%20irc&code_challenge={}&code_challenge_method=S256",
        urlencode(CALLBACK),
        challenge(VERIFIER)
    );
    // Skip-consent: straight to the client.
    let to = location(&t.send("GET", &path, &h(&b.headers()), None).await);
    let code = params(&to)["code"].clone();
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
            ("client_id", "rsa"),
            ("client_secret", SECRET),
            ("resource", "http://localhost:3000"),
        ],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let tokens = res.json();
    let id = verified(&t, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(
        part(tokens["id_token"].as_str().unwrap(), 0)["alg"],
        "RS256"
    );
    assert_eq!(id["aud"], "rsa");
    assert!(id.get("email").is_none(), "no email scope");
    // A JWT access token for the resource, verifiable and still revocable.
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let claims = verified(&t, &access).await;
    assert_eq!(
        claims["aud"],
        json!([
            "http://localhost:3000",
            "http://localhost:3000/api/auth/oauth2/userinfo"
        ])
    );
    assert_eq!(claims["azp"], "rsa");
    assert_eq!(userinfo(&t, &access).await.status, 200);
    let res = form(
        &t,
        "/api/auth/oauth2/revoke",
        Some(&basic("rsa", SECRET)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(userinfo(&t, &access).await.status, 401);
    // A resource this provider does not serve.
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        Some(&basic("rsa", SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://elsewhere.example.org"),
        ],
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"], "invalid_target");

    // The client's own token: no user scopes, introspectable, no userinfo.
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        Some(&basic("rsa", SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let own = res.json();
    assert_eq!(own["scope"], "irc");
    assert!(own.get("refresh_token").is_none() && own.get("id_token").is_none());
    let own = own["access_token"].as_str().unwrap().to_string();
    let seen = form(
        &t,
        "/api/auth/oauth2/introspect",
        Some(&basic("rsa", SECRET)),
        &[("token", &own)],
    )
    .await
    .json();
    assert_eq!(seen["active"], true);
    assert!(seen.get("sub").is_none());
    let res = form(
        &t,
        "/api/auth/oauth2/token",
        Some(&basic("rsa", SECRET)),
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await;
    assert_eq!(res.json()["error"], "invalid_scope");
}

#[tokio::test]
async fn signing_keys_rotate_and_the_old_key_stays_published() {
    let t = TestAuth::new(|_| {}).await;
    client(&t, "wiki", |_| {}).await;
    let (_, code) = code_through_sign_in(&t, "wiki", "rot@example.org").await;
    let before = exchange(&t, "wiki", &code, VERIFIER).await.json();
    let old_kid = part(before["id_token"].as_str().unwrap(), 0)["kid"].clone();
    assert_eq!(t.state.db.signing_keys().rotate().await.unwrap(), 1);

    let b = t
        .send(
            "POST",
            "/api/auth/sign-in/email",
            &[("origin", "http://localhost:3000")],
            Some(json!({"email": "rot@example.org", "password": PASSWORD})),
        )
        .await;
    let b = Browser::from_response(&b);
    let to = location(
        &t.send("GET", &authorize_path("wiki", ""), &h(&b.headers()), None)
            .await,
    );
    let after = exchange(&t, "wiki", &params(&to)["code"], VERIFIER)
        .await
        .json();
    let new_kid = part(after["id_token"].as_str().unwrap(), 0)["kid"].clone();
    assert_ne!(old_kid, new_kid, "a new key signs");
    let jwks = t.send("GET", "/api/auth/jwks", &[], None).await.json();
    let kids: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert!(
        kids.contains(&&old_kid) && kids.contains(&&new_kid),
        "both published"
    );
    verified(&t, before["id_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn client_registration_is_closed_unless_opened() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("dev@example.org").await;
    let app = json!({"redirect_uris": ["https://app.example.org/cb"], "client_name": "My app"});
    for (path, who) in [
        ("/api/auth/oauth2/register", None),
        ("/api/auth/oauth2/register", Some(&b)),
        ("/api/auth/oauth2/create-client", Some(&b)),
    ] {
        let headers = who.map(|w| w.headers()).unwrap_or_default();
        let res = t.send("POST", path, &h(&headers), Some(app.clone())).await;
        assert_eq!(res.status, 403, "{path}");
        assert_eq!(
            res.json(),
            json!({"error": "access_denied", "error_description": "Client registration is disabled"})
        );
    }
    // An admin may register while it is closed; the client is theirs to manage.
    let admin = portal_testkit::person(&t.state, "root@example.org", Role::Admin).await;
    let res = t
        .send(
            "POST",
            "/api/auth/oauth2/create-client",
            &admin.headers(),
            Some(app.clone()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let made = res.json();
    let client_id = made["client_id"].as_str().unwrap().to_string();
    assert_eq!(made["client_secret"].as_str().unwrap().len(), 32);
    assert_eq!(made["token_endpoint_auth_method"], "client_secret_basic");
    let got = t
        .send(
            "GET",
            &format!("/api/auth/oauth2/get-client?client_id={client_id}"),
            &admin.headers(),
            None,
        )
        .await;
    assert_eq!(got.status, 200);
    assert!(got.json().get("client_secret").is_none());
    let not_theirs = t
        .send(
            "GET",
            &format!("/api/auth/oauth2/get-client?client_id={client_id}"),
            &h(&b.headers()),
            None,
        )
        .await;
    assert_eq!(not_theirs.status, 401);
    let public = t
        .send(
            "GET",
            &format!("/api/auth/oauth2/public-client?client_id={client_id}"),
            &h(&b.headers()),
            None,
        )
        .await;
    assert_eq!(
        public.json(),
        json!({"client_id": client_id, "client_name": "My app"})
    );
    let rotated = t
        .send(
            "POST",
            "/api/auth/oauth2/client/rotate-secret",
            &admin.headers(),
            Some(json!({"client_id": client_id})),
        )
        .await;
    assert_ne!(rotated.json()["client_secret"], made["client_secret"]);
    let updated = t.send("POST", "/api/auth/oauth2/update-client", &admin.headers(), Some(json!({"client_id": client_id, "update": {"client_name": "Renamed", "redirect_uris": ["javascript:alert(1)"]}}))).await;
    assert_eq!(updated.status, 400, "{}", updated.text());
    let listed = t
        .send(
            "GET",
            "/api/auth/oauth2/get-clients",
            &admin.headers(),
            None,
        )
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let gone = t
        .send(
            "POST",
            "/api/auth/oauth2/delete-client",
            &admin.headers(),
            Some(json!({"client_id": client_id})),
        )
        .await;
    assert_eq!(gone.status, 200);
    let dump = t.table_dump().await;
    assert!(dump.contains("oauth_client.secret_rotated") && dump.contains("oauth_client.deleted"));

    // Opened: anyone registers a public client (PKCE); a confidential one needs a session.
    let open = TestAuth::new(|c| {
        c.auth.as_mut().unwrap().oauth.registration =
            portal_domain::config::ClientRegistration::Open
    })
    .await;
    let mut public = app.clone();
    public["token_endpoint_auth_method"] = json!("none");
    let res = open
        .send(
            "POST",
            "/api/auth/oauth2/register",
            &[],
            Some(public.clone()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert!(res.json().get("client_secret").is_none());
    assert_eq!(res.json()["public"], true);
    let res = open
        .send("POST", "/api/auth/oauth2/register", &[], Some(app.clone()))
        .await;
    assert_eq!(res.status, 401);
    let mut no_pkce = public.clone();
    no_pkce["require_pkce"] = json!(false);
    let res = open
        .send("POST", "/api/auth/oauth2/register", &[], Some(no_pkce))
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"], "invalid_client_metadata");
    let mut bad = public.clone();
    bad["redirect_uris"] = json!(["http://evil.example.org/cb"]);
    let res = open
        .send("POST", "/api/auth/oauth2/register", &[], Some(bad))
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn the_token_and_userinfo_endpoints_count_the_callers_address() {
    let t = TestAuth::new(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.auth_default = portal_domain::config::Rule::new(2, 60);
    })
    .await;
    for expected in [400, 400, 429] {
        let res = form(
            &t,
            "/api/auth/oauth2/token",
            None,
            &[("grant_type", "authorization_code")],
        )
        .await;
        assert_eq!(res.status, expected, "{}", res.text());
    }
    for expected in [401, 401, 429] {
        assert_eq!(userinfo(&t, "not-a-token").await.status, expected);
    }
}

#[tokio::test]
async fn a_client_an_admin_disabled_stays_disabled_whatever_its_owner_does() {
    let t = TestAuth::new(|c| {
        c.auth.as_mut().unwrap().oauth.registration =
            portal_domain::config::ClientRegistration::SignedIn
    })
    .await;
    let owner = t.sign_up("owner@example.org").await;
    let headers = owner.headers();
    let app = json!({"redirect_uris": ["https://app.example.org/cb"], "client_name": "Spammy"});
    let res = t
        .send(
            "POST",
            "/api/auth/oauth2/create-client",
            &h(&headers),
            Some(app),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let client_id = res.json()["client_id"].as_str().unwrap().to_string();
    let store = t.state.db.oauth_clients();
    let made = store.by_client_id(&client_id).await.unwrap().unwrap();
    let mut off = made.clone();
    off.disabled = true;
    off.updated_at = iso(now() + time::Duration::seconds(1));
    assert!(store.save(&made, &off, None).await.unwrap());

    let refused =
        json!({"code": "CLIENT_DISABLED", "message": "An administrator disabled this client"});
    for (path, body) in [
        (
            "/api/auth/oauth2/update-client",
            json!({"client_id": client_id, "update": {"client_name": "Harmless"}}),
        ),
        (
            "/api/auth/oauth2/client/rotate-secret",
            json!({"client_id": client_id}),
        ),
        (
            "/api/auth/oauth2/delete-client",
            json!({"client_id": client_id}),
        ),
    ] {
        let res = t.send("POST", path, &h(&headers), Some(body)).await;
        assert_eq!(res.status, 403, "{path}: {}", res.text());
        assert_eq!(res.json(), refused, "{path}");
    }
    let still = store.by_client_id(&client_id).await.unwrap().unwrap();
    assert_eq!(still, off, "neither renamed, re-keyed nor deleted");
    // Viewing it stays the owner's.
    let seen = t
        .send(
            "GET",
            &format!("/api/auth/oauth2/get-client?client_id={client_id}"),
            &h(&headers),
            None,
        )
        .await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.json()["disabled"], true);
}
