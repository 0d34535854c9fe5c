//! Sequential DynamoDB round trips per request, with rate limits on (the defaults): every
//! call goes through a proxy that holds it 25 ms, so calls sent together overlap and calls
//! that wait for each other do not (`FaultyDynamo::round_trips`). Deployed, each round trip
//! is a few milliseconds of a request's latency.

use std::time::Duration;

use portal_domain::model::Role;
use portal_testkit::{Fault, FaultyDynamo, TestApp, api_key_for, faulty_state, person};

const HOP: Duration = Duration::from_millis(25);

fn trips(list: &[&[&str]]) -> Vec<Vec<String>> {
    list.iter()
        .map(|ops| ops.iter().map(|o| o.to_string()).collect())
        .collect()
}

async fn app(adjust: impl FnOnce(&mut portal_domain::Config)) -> (TestApp, FaultyDynamo) {
    let (state, proxy) = faulty_state(adjust).await;
    let routes = portal_local::routes(state.clone()).await;
    (TestApp::new(state, routes), proxy)
}

#[tokio::test]
async fn a_signed_in_read_is_one_round_trip_the_count_beside_the_read() {
    let (t, proxy) = app(|_| {}).await;
    let ada = person(&t.state, "ada@example.org", Role::User).await;
    proxy.set(Fault::Delay(HOP));
    proxy.round_trips();

    // The auth function: the per-address count and the session read together.
    let res = t.get("/api/auth/get-session", &ada).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["user"]["email"], "ada@example.org");
    assert_eq!(
        proxy.round_trips(),
        trips(&[&["BatchGetItem", "UpdateItem"]])
    );

    // The Portal routes: the per-user count (the signed cookie names its user) and the read.
    let res = t.get("/api/user/me", &ada).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        proxy.round_trips(),
        trips(&[&["BatchGetItem", "UpdateItem"]])
    );
    assert!(res.header("x-ratelimit-remaining").is_some());
}

#[tokio::test]
async fn an_api_key_is_counted_beside_its_read_and_its_use_recorded_after() {
    let (t, proxy) = app(|_| {}).await;
    let ada = person(&t.state, "ada@example.org", Role::User).await;
    let (key, _) = api_key_for(&t.state, &ada.user, "ci").await;
    proxy.set(Fault::Delay(HOP));
    proxy.round_trips();
    let res = t
        .request("GET", "/api/user/me", &[("x-api-key", &key)], None)
        .await;
    assert_eq!(res.status, 200);
    // First use in the minute: lastRequest is written once the count has passed.
    assert_eq!(
        proxy.round_trips(),
        trips(&[&["BatchGetItem", "UpdateItem"], &["UpdateItem"]])
    );
    t.request("GET", "/api/user/me", &[("x-api-key", &key)], None)
        .await;
    assert_eq!(
        proxy.round_trips(),
        trips(&[&["BatchGetItem", "UpdateItem"]])
    );
}

/// An unsigned raw session token carries a user id anyone can write: counting it before the
/// read would let a stranger spend that user's allowance. It is read first, counted after.
#[tokio::test]
async fn forged_tokens_cannot_spend_someone_elses_allowance() {
    let (t, proxy) =
        app(|c| c.rate_limits.per_user = portal_domain::config::Rule::new(3, 60)).await;
    let ada = person(&t.state, "ada@example.org", Role::User).await;
    let forged = format!("{}{}", ada.user.id, "A".repeat(32));
    proxy.set(Fault::Delay(HOP));
    proxy.round_trips();
    for _ in 0..5 {
        let res = t
            .request(
                "GET",
                "/api/user/me",
                &[("authorization", &format!("Bearer {forged}"))],
                None,
            )
            .await;
        assert_eq!(res.status, 401);
    }
    // Read only, nothing counted, for each forged request.
    assert_eq!(
        proxy.round_trips(),
        trips(&[&["BatchGetItem"] as &[&str]; 5])
    );
    // Ada's allowance is whole: three requests pass, the fourth is refused.
    for _ in 0..3 {
        assert_eq!(t.get("/api/user/me", &ada).await.status, 200);
    }
    let refused = t.get("/api/user/me", &ada).await;
    assert_eq!(refused.status, 429);
    assert_eq!(
        refused.json(),
        serde_json::json!({"ok": false, "error": "Too many requests"})
    );
    assert!(refused.header("retry-after").is_some());
    // Her real raw token (unsigned) is read first and counted after: two round trips.
    proxy.round_trips();
    let res = t
        .request(
            "GET",
            "/api/user/me",
            &[("authorization", &format!("Bearer {}", ada.token))],
            None,
        )
        .await;
    assert_eq!(res.status, 429, "the same user's allowance");
    assert_eq!(
        proxy.round_trips(),
        trips(&[&["BatchGetItem"], &["UpdateItem"]])
    );
}

/// A request (method, path, body) and the round trips it should cost.
type Case = (
    &'static str,
    &'static str,
    Option<serde_json::Value>,
    Vec<&'static [&'static str]>,
);

/// The round trips of the main endpoints, once their rate-limit windows are open (the
/// first request of a window opens it: one more conditional update unless this process saw
/// the window). Printed as a table (`--nocapture`) and held here.
#[tokio::test]
async fn the_main_endpoints_cost_these_round_trips() {
    let (t, proxy) = app(|_| {}).await;
    let ada = person(&t.state, "ada@example.org", Role::Admin).await;
    proxy.set(Fault::Delay(HOP));
    let auth = &["BatchGetItem", "UpdateItem"][..];
    let expected: Vec<Case> = vec![
        ("GET", "/api/auth/get-session", None, vec![auth]),
        ("GET", "/api/user/me", None, vec![auth]),
        ("GET", "/api/user/sessions", None, vec![auth, &["Query"]]),
        (
            "GET",
            "/api/admin/users",
            None,
            vec![auth, &["BatchGetItem", "Query"]],
        ),
        ("GET", "/api/admin/sessions", None, vec![auth, &["Query"]]),
        (
            "PATCH",
            "/api/user/me",
            Some(serde_json::json!({"name": "Ada L"})),
            vec![auth, &["TransactWriteItems"]],
        ),
    ];
    // The first pass opens the windows; the second is measured.
    for pass in 0..2 {
        for (method, path, body, trips_expected) in &expected {
            let body = body.clone().map(|b| {
                let mut b = b;
                b["name"] = serde_json::json!(format!("Ada {pass}"));
                b
            });
            proxy.round_trips();
            let res = t.send(method, path, Some(&ada), body).await;
            assert_eq!(res.status, 200, "{method} {path}");
            let measured = proxy.round_trips();
            if pass == 1 {
                println!(
                    "{method} {path}: {} round trips {measured:?}",
                    measured.len()
                );
                assert_eq!(measured, trips(trips_expected), "{method} {path}");
            }
        }
    }
    for pass in 0..2 {
        proxy.round_trips();
        let email = format!("new{pass}@example.org");
        let up = serde_json::json!({"name": "B", "email": email, "password": "correct-horse-1"});
        assert_eq!(
            t.send("POST", "/api/auth/sign-up/email", None, Some(up))
                .await
                .status,
            200
        );
        let sign_up = proxy.round_trips();
        let body = serde_json::json!({"email": email, "password": "correct-horse-1"});
        assert_eq!(
            t.send("POST", "/api/auth/sign-in/email", None, Some(body))
                .await
                .status,
            200
        );
        let sign_in = proxy.round_trips();
        if pass == 1 {
            println!("POST sign-up: {} round trips {sign_up:?}", sign_up.len());
            println!("POST sign-in: {} round trips {sign_in:?}", sign_in.len());
            // The per-address and per-e-mail counts beside the e-mail claim, (the user's
            // partition,) the write.
            assert_eq!(
                sign_up,
                trips(&[
                    &["GetItem", "UpdateItem", "UpdateItem"],
                    &["TransactWriteItems"]
                ])
            );
            assert_eq!(
                sign_in,
                trips(&[
                    &["GetItem", "UpdateItem", "UpdateItem"],
                    &["Query"],
                    &["TransactWriteItems"]
                ])
            );
        }
    }
}

/// The cookie a response set whose name contains `name` (`name=value`).
fn set_cookie(res: &portal_testkit::TestResponse, name: &str) -> String {
    res.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains(name))
        .and_then(|c| c.split(';').next())
        .expect("the cookie")
        .to_string()
}

#[tokio::test]
async fn a_passkey_sign_in_is_three_round_trips() {
    use portal_testkit::authenticator::SoftAuthenticator;
    let (t, proxy) = app(|_| {}).await;
    let ada = person(&t.state, "ada@example.org", Role::User).await;
    let origin = portal_testkit::BROWSER_ORIGIN;
    let mut key = SoftAuthenticator::new("localhost");
    let options = t
        .send(
            "GET",
            "/api/auth/passkey/generate-register-options",
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(options.status, 200, "{}", options.text());
    let cookie = format!(
        "{}; {}",
        ada.cookie,
        set_cookie(&options, "better-auth-passkey=")
    );
    let response = key.register(&options.json(), origin);
    let body = serde_json::json!({"response": response}).to_string();
    let headers = [
        ("cookie", cookie.as_str()),
        ("origin", origin),
        ("content-type", "application/json"),
    ];
    let res = t
        .request(
            "POST",
            "/api/auth/passkey/verify-registration",
            &headers,
            Some(&body),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    proxy.set(Fault::Delay(HOP));
    for pass in 0..2 {
        let options = t
            .send(
                "GET",
                "/api/auth/passkey/generate-authenticate-options",
                None,
                None,
            )
            .await;
        assert_eq!(options.status, 200);
        let cookie = set_cookie(&options, "better-auth-passkey=");
        let body =
            serde_json::json!({"response": key.authenticate(&options.json(), origin)}).to_string();
        let headers = [
            ("cookie", cookie.as_str()),
            ("origin", origin),
            ("content-type", "application/json"),
        ];
        proxy.round_trips();
        let res = t
            .request(
                "POST",
                "/api/auth/passkey/verify-authentication",
                &headers,
                Some(&body),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        let measured = proxy.round_trips();
        if pass == 1 {
            println!(
                "POST passkey sign-in: {} round trips {measured:?}",
                measured.len()
            );
            // The address's count beside the ceremony and the passkey; the user; one
            // transaction for the passkey, the session and the record.
            assert_eq!(
                measured,
                trips(&[
                    &["DeleteItem", "GetItem", "UpdateItem"],
                    &["GetItem"],
                    &["TransactWriteItems"]
                ])
            );
        }
    }
}

/// The OpenID Connect provider's hot paths, windows open: the code exchange, a refresh, and
/// userinfo (with the XMPP claim).
#[tokio::test]
async fn the_openid_connect_provider_costs_these_round_trips() {
    use portal_domain::store::oauth_clients::OAuthClient;
    let (t, proxy) = app(|_| {}).await;
    let ada = person(&t.state, "ada@example.org", Role::User).await;
    let at = portal_domain::time::iso(portal_domain::time::now());
    let secret = "a-relying-party-secret";
    let client = OAuthClient {
        id: portal_domain::crypto::new_id(),
        name: "Chat".into(),
        client_id: "chat".into(),
        client_secret_hash: portal_domain::crypto::sha256_hex(secret.as_bytes()),
        redirect_uris: vec!["https://chat.example.org/cb".into()],
        created_at: at.clone(),
        updated_at: at,
        skip_consent: true,
        ..OAuthClient::default()
    };
    t.state
        .db
        .oauth_clients()
        .create(client, None)
        .await
        .unwrap();
    // Ada holds an XMPP account (what the xmpp scope's claim reads).
    let account = portal_domain::store::integration_accounts::Account {
        id: portal_domain::crypto::new_id(),
        user_id: ada.user.id.clone(),
        integration_id: "xmpp".into(),
        username: "ada".into(),
        data: serde_json::json!({}),
        status: "provisioning".into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: ada.user.created_at.clone(),
        updated_at: ada.user.created_at.clone(),
    };
    let accounts = t.state.db.integration_accounts();
    let taker = portal_domain::store::integration_accounts::Taker::user();
    accounts.reserve(&account, taker).await.unwrap();
    accounts
        .activate(&account, "active", &ada.user.created_at, None)
        .await
        .unwrap();
    let verifier = "v".repeat(43);
    let challenge = portal_domain::crypto::sha256_b64url(verifier.as_bytes());
    let basic = format!(
        "Basic {}",
        data_encoding::BASE64.encode(format!("chat:{secret}").as_bytes())
    );
    let form = |pairs: &[(&str, &str)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let headers = [
        ("authorization", basic.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    proxy.set(Fault::Delay(HOP));
    for pass in 0..2 {
        let authorize = format!(
            "/api/auth/oauth2/authorize?response_type=code&client_id=chat&redirect_uri=https%3A%2F%2Fchat.example.org%2Fcb&scope=openid%20offline_access%20xmpp&code_challenge={challenge}&code_challenge_method=S256"
        );
        let res = t.get(&authorize, &ada).await;
        let to = res.header("location").unwrap().to_string();
        let code = url::Url::parse(&to)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        proxy.round_trips();
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://chat.example.org/cb"),
            ("code_verifier", &verifier),
        ]);
        let res = t
            .request("POST", "/api/auth/oauth2/token", &headers, Some(&body))
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        let exchange = proxy.round_trips();
        let tokens = res.json();
        let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
        let res = t
            .request(
                "GET",
                "/api/auth/oauth2/userinfo",
                &[("authorization", &bearer)],
                None,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(res.json()["xmpp_username"], "ada");
        let userinfo = proxy.round_trips();
        let body = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ]);
        let res = t
            .request("POST", "/api/auth/oauth2/token", &headers, Some(&body))
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        let refresh = proxy.round_trips();
        if pass == 1 {
            println!(
                "POST /oauth2/token (code): {} round trips {exchange:?}",
                exchange.len()
            );
            println!(
                "GET /oauth2/userinfo: {} round trips {userinfo:?}",
                userinfo.len()
            );
            println!(
                "POST /oauth2/token (refresh): {} round trips {refresh:?}",
                refresh.len()
            );
        }
    }
}
