//! Sign-in with Discord (and Mailcow) against fake providers speaking their wire: state and
//! PKCE on the way out, the callback's checks on the way back, and BetterAuth's linking
//! rules (a verified provider e-mail links, an unverified one never takes an account over).

mod common;

use common::TestAuth;
use portal_domain::config::ProviderEndpoints;
use portal_testkit::oauth_provider::{CLIENT_ID, CLIENT_SECRET};
use portal_testkit::{FakeOAuthProvider, TestResponse, Wire};
use serde_json::{Value, json};

fn endpoints(fake: &FakeOAuthProvider, wire: Wire) -> ProviderEndpoints {
    let base = fake.url();
    let (a, t, p) = match wire {
        Wire::Discord => (
            "/api/oauth2/authorize",
            "/api/oauth2/token",
            "/api/users/@me",
        ),
        Wire::Mailcow => ("/oauth/authorize", "/oauth/token", "/oauth/profile"),
    };
    ProviderEndpoints {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.to_string().into(),
        authorize_url: format!("{base}{a}").parse().unwrap(),
        token_url: format!("{base}{t}").parse().unwrap(),
        userinfo_url: format!("{base}{p}").parse().unwrap(),
    }
}

async fn with_discord() -> (TestAuth, FakeOAuthProvider) {
    let fake = FakeOAuthProvider::start(Wire::Discord).await;
    let discord = endpoints(&fake, Wire::Discord);
    let t = TestAuth::new(|c| c.auth.as_mut().unwrap().social.discord = Some(discord)).await;
    (t, fake)
}

fn cookie_of(res: &TestResponse, name: &str) -> Option<String> {
    res.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")) && !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_string())
}

fn location(res: &TestResponse) -> String {
    assert_eq!(res.status, 302, "{}", res.text());
    res.header("location").unwrap().to_string()
}

/// Starts a sign-in (`body`), lets the fake provider consent, and returns the callback path
/// and the browser's state cookie.
async fn start(t: &TestAuth, fake: &FakeOAuthProvider, body: Value) -> (String, String) {
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/social",
            &[("origin", "http://localhost:3000")],
            Some(body),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let answer = res.json();
    assert_eq!(answer["redirect"], true);
    let url = answer["url"].as_str().unwrap().to_string();
    assert_eq!(res.header("location"), Some(url.as_str()));
    let outgoing = url::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<String, String> =
        outgoing.query_pairs().into_owned().collect();
    assert_eq!(
        q["code_challenge_method"], "S256",
        "PKCE on every authorization"
    );
    assert_eq!(
        q["redirect_uri"],
        "http://localhost:3000/api/auth/callback/discord"
    );
    assert_eq!(q["scope"], "identify email");
    let state_cookie = cookie_of(&res, "better-auth.state").expect("the state cookie");
    let back = fake.consent(&url).await;
    let path = back
        .strip_prefix("http://localhost:3000")
        .unwrap()
        .to_string();
    (path, state_cookie)
}

async fn come_back(t: &TestAuth, path: &str, cookie: &str) -> TestResponse {
    t.send("GET", path, &[("cookie", cookie)], None).await
}

fn session_cookie(res: &TestResponse) -> String {
    cookie_of(res, "better-auth.session_token").expect("signed in")
}

#[tokio::test]
async fn a_new_person_signs_up_with_discord_and_signs_in_again() {
    let (t, fake) = with_discord().await;
    fake.sign_in_as(
        "80351110224678912",
        "Nelly@Discord.example",
        true,
        "Nelly Bly",
    );
    let body = json!({"provider": "discord", "callbackURL": "/dashboard", "newUserCallbackURL": "/welcome"});
    let (path, cookie) = start(&t, &fake, body.clone()).await;
    let res = come_back(&t, &path, &cookie).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/welcome",
        "a new user"
    );
    let session = session_cookie(&res);
    assert!(
        res.headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("better-auth.state=;")),
        "the state cookie is cleared"
    );
    let me = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("cookie", &session)],
            None,
        )
        .await
        .json();
    assert_eq!(me["user"]["email"], "nelly@discord.example");
    assert_eq!(me["user"]["name"], "Nelly Bly");
    assert_eq!(me["user"]["emailVerified"], true, "Discord verified it");
    assert_eq!(
        me["user"]["image"],
        "https://cdn.discordapp.com/avatars/80351110224678912/a1b2c3.png"
    );
    // The provider's tokens are kept sealed.
    let dump = t.table_dump().await;
    assert!(!dump.contains(&fake.last_access_token().unwrap()));
    assert!(dump.contains("LINKED#discord#80351110224678912"));

    // Again: the same account, signed in (to the callback URL, not the new user's).
    let users_before = t.count_items("EMAIL#").await;
    let (path, cookie) = start(&t, &fake, body).await;
    let res = come_back(&t, &path, &cookie).await;
    assert_eq!(location(&res), "http://localhost:3000/dashboard");
    let again = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("cookie", &session_cookie(&res))],
            None,
        )
        .await
        .json();
    assert_eq!(again["user"]["id"], me["user"]["id"]);
    assert_eq!(
        t.count_items("EMAIL#").await,
        users_before,
        "no second user"
    );
}

#[tokio::test]
async fn an_unverified_provider_email_never_takes_over_an_account() {
    let (t, fake) = with_discord().await;
    let owner = t.sign_up("owner@example.org").await;
    fake.sign_in_as("111", "Owner@example.org", false, "Impostor");
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home", "errorCallbackURL": "/oops"}),
    )
    .await;
    let res = come_back(&t, &path, &cookie).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/oops?error=account_not_linked"
    );
    assert!(
        cookie_of(&res, "better-auth.session_token").is_none(),
        "no session"
    );
    assert!(!t.table_dump().await.contains("LINKED#discord#111"));

    // The same address, verified by the provider, but the account's own address was never
    // verified (anyone could have registered it first): not linked either.
    fake.sign_in_as("222", "owner@example.org", true, "Owner");
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home", "errorCallbackURL": "/oops"}),
    )
    .await;
    let res = come_back(&t, &path, &cookie).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/oops?error=account_not_linked"
    );
    assert!(cookie_of(&res, "better-auth.session_token").is_none());

    // Once the owner verified it: linked, signed in as the owner.
    let at = portal_domain::time::iso(portal_domain::time::now());
    let id = owner.user["id"].as_str().unwrap().to_string();
    t.state
        .db
        .users()
        .update(&id, &at, |u| u.email_verified = true)
        .await
        .unwrap();
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home"}),
    )
    .await;
    let res = come_back(&t, &path, &cookie).await;
    assert_eq!(location(&res), "http://localhost:3000/home");
    let me = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("cookie", &session_cookie(&res))],
            None,
        )
        .await
        .json();
    assert_eq!(me["user"]["id"], owner.user["id"]);
    assert!(t.table_dump().await.contains("account.linked"));
}

#[tokio::test]
async fn replayed_forged_and_refused_callbacks_sign_nobody_in() {
    let (t, fake) = with_discord().await;
    fake.sign_in_as("333", "eve@example.org", true, "Eve");
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home"}),
    )
    .await;

    // Forged: the state without the browser's cookie.
    let res = come_back(&t, &path, "").await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/api/auth/error?error=state_mismatch"
    );
    // The state was spent by the forged try: the real browser restarts.
    let res = come_back(&t, &path, &cookie).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/api/auth/error?error=please_restart_the_process"
    );
    assert!(cookie_of(&res, "better-auth.session_token").is_none());

    // A replay of a callback that signed someone in.
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home"}),
    )
    .await;
    let first = come_back(&t, &path, &cookie).await;
    assert_eq!(location(&first), "http://localhost:3000/home");
    let replay = come_back(&t, &path, &cookie).await;
    assert_eq!(
        location(&replay),
        "http://localhost:3000/api/auth/error?error=please_restart_the_process"
    );
    let res = come_back(&t, "/api/auth/callback/discord?code=x", &cookie).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/api/auth/error?state=state_not_found"
    );

    // The provider says no; the token endpoint refuses; the profile endpoint is down.
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home", "errorCallbackURL": "/oops"}),
    )
    .await;
    let state = url::Url::parse(&format!("http://x{path}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let res = come_back(
        &t,
        &format!(
            "/api/auth/callback/discord?error=access_denied&error_description=nope&state={state}"
        ),
        &cookie,
    )
    .await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/oops?error=access_denied&error_description=nope"
    );
    fake.refuse_tokens(400, json!({"error": "invalid_grant"}));
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home", "errorCallbackURL": "/oops"}),
    )
    .await;
    let res = come_back(&t, &path, &cookie).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/oops?error=invalid_code"
    );
    assert!(cookie_of(&res, "better-auth.session_token").is_none());
}

#[tokio::test]
async fn a_banned_user_is_refused_at_the_callback() {
    let (t, fake) = with_discord().await;
    fake.sign_in_as("444", "ban@example.org", true, "Ban Me");
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home"}),
    )
    .await;
    let res = come_back(&t, &path, &cookie).await;
    let session = session_cookie(&res);
    let id = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("cookie", &session)],
            None,
        )
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = portal_testkit::person(
        &t.state,
        "root@example.org",
        portal_domain::model::Role::Admin,
    )
    .await;
    let res = t
        .send(
            "POST",
            "/api/auth/admin/ban-user",
            &admin.headers(),
            Some(json!({"userId": id})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home"}),
    )
    .await;
    let res = come_back(&t, &path, &cookie).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/api/auth/error?error=banned&error_description=You%20have%20been%20banned%20from%20this%20application.%20Please%20contact%20support%20if%20you%20believe%20this%20is%20an%20error."
    );
    assert!(cookie_of(&res, "better-auth.session_token").is_none());
}

#[tokio::test]
async fn providers_not_configured_and_foreign_callback_urls_are_refused() {
    let t = TestAuth::new(|_| {}).await;
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/social",
            &[],
            Some(json!({"provider": "discord"})),
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.json(),
        json!({"code": "PROVIDER_NOT_FOUND", "message": "Provider not found"})
    );
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/oauth2",
            &[],
            Some(json!({"providerId": "mailcow"})),
        )
        .await;
    assert_eq!(res.status, 404);

    let (t, _fake) = with_discord().await;
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/social",
            &[],
            Some(json!({"provider": "discord", "callbackURL": "https://evil.example.org/"})),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["code"], "INVALID_CALLBACK_URL");
}

#[tokio::test]
async fn mailcow_signs_people_in_through_generic_oauth() {
    let fake = FakeOAuthProvider::start(Wire::Mailcow).await;
    let mailcow = endpoints(&fake, Wire::Mailcow);
    let t = TestAuth::new(|c| c.auth.as_mut().unwrap().social.mailcow = Some(mailcow)).await;
    fake.sign_in_as("ignored", "grace@mail.example.org", true, "Grace Hopper");
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/oauth2",
            &[],
            Some(json!({"providerId": "mailcow", "callbackURL": "/home"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let url = res.json()["url"].as_str().unwrap().to_string();
    assert!(url.contains("scope=profile"), "{url}");
    let cookie = cookie_of(&res, "better-auth.state").unwrap();
    let back = fake.consent(&url).await;
    assert!(
        back.starts_with("http://localhost:3000/api/auth/oauth2/callback/mailcow?"),
        "{back}"
    );
    let res = come_back(
        &t,
        back.strip_prefix("http://localhost:3000").unwrap(),
        &cookie,
    )
    .await;
    assert_eq!(location(&res), "http://localhost:3000/home");
    let me = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("cookie", &session_cookie(&res))],
            None,
        )
        .await
        .json();
    assert_eq!(me["user"]["email"], "grace@mail.example.org");
    assert_eq!(me["user"]["name"], "Grace Hopper");
    assert!(
        t.table_dump()
            .await
            .contains("LINKED#mailcow#grace@mail.example.org")
    );
}

/// Starts a linking authorization for the signed-in `browser`, lets the provider consent,
/// and comes back: the callback's answer.
async fn link(t: &TestAuth, fake: &FakeOAuthProvider, browser: &common::Browser) -> TestResponse {
    let mut headers = browser.headers();
    let res = t
        .send(
            "POST",
            "/api/auth/link-social",
            &common::h(&headers),
            Some(json!({"provider": "discord", "callbackURL": "/settings", "errorCallbackURL": "/settings/error"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let url = res.json()["url"].as_str().unwrap().to_string();
    let state = cookie_of(&res, "better-auth.state").unwrap();
    let back = fake.consent(&url).await;
    headers[0].1 = format!("{}; {state}", browser.cookie);
    t.send(
        "GET",
        back.strip_prefix("http://localhost:3000").unwrap(),
        &common::h(&headers),
        None,
    )
    .await
}

#[tokio::test]
async fn a_signed_in_user_links_discord_lists_it_uses_its_tokens_and_unlinks_it() {
    let (t, fake) = with_discord().await;
    let b = t.sign_up("linker@example.org").await;

    // Another address at Discord: refused.
    fake.sign_in_as("555", "someone-else@example.org", true, "Linker");
    let res = link(&t, &fake, &b).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/settings/error?error=email_doesn't_match"
    );
    // The same address, but not verified at Discord: refused.
    fake.sign_in_as("555", "linker@example.org", false, "Linker");
    let res = link(&t, &fake, &b).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/settings/error?error=unable_to_link_account"
    );
    // Verified: linked.
    fake.sign_in_as("555", "linker@example.org", true, "Linker");
    let res = link(&t, &fake, &b).await;
    assert_eq!(location(&res), "http://localhost:3000/settings");
    let accounts = t
        .send(
            "GET",
            "/api/auth/list-accounts",
            &common::h(&b.headers()),
            None,
        )
        .await
        .json();
    let providers: Vec<&str> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["providerId"].as_str().unwrap())
        .collect();
    assert_eq!(providers, vec!["credential", "discord"]);
    assert_eq!(accounts[1]["accountId"], "555");
    assert_eq!(accounts[1]["scopes"], json!(["identify", "email"]));

    // Someone else cannot link the same Discord account.
    let other = t.sign_up("other@example.org").await;
    fake.sign_in_as("555", "other@example.org", true, "Other");
    let res = link(&t, &fake, &other).await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/settings/error?error=account_already_linked_to_different_user"
    );

    // The provider's tokens, through Portal.
    let token = t
        .send(
            "POST",
            "/api/auth/get-access-token",
            &common::h(&b.headers()),
            Some(json!({"providerId": "discord"})),
        )
        .await;
    assert_eq!(token.status, 200, "{}", token.text());
    let issued = fake.exchanges();
    let refreshed = t
        .send(
            "POST",
            "/api/auth/refresh-token",
            &common::h(&b.headers()),
            Some(json!({"providerId": "discord"})),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert_eq!(fake.exchanges(), issued + 1, "refreshed at the provider");
    assert_ne!(refreshed.json()["accessToken"], token.json()["accessToken"]);
    assert_eq!(refreshed.json()["accountId"], "555");
    let info = t
        .send(
            "GET",
            "/api/auth/account-info?accountId=555",
            &common::h(&b.headers()),
            None,
        )
        .await;
    assert_eq!(info.status, 200, "{}", info.text());
    assert_eq!(info.json()["user"]["id"], "555");
    assert_eq!(
        info.json()["data"]["global_name"],
        "Linker",
        "what Discord says"
    );
    let res = t
        .send(
            "POST",
            "/api/auth/get-access-token",
            &common::h(&b.headers()),
            Some(json!({"providerId": "mailcow"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "PROVIDER_NOT_SUPPORTED");

    // Unlinked (the password remains a way in); audited.
    let res = t
        .send(
            "POST",
            "/api/auth/unlink-account",
            &common::h(&b.headers()),
            Some(json!({"providerId": "discord"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"status": true}));
    let dump = t.table_dump().await;
    assert!(dump.contains("account.unlinked") && dump.contains("account.linked"));
    assert!(!dump.contains("LINKED#discord#555"));
    let res = t
        .send(
            "POST",
            "/api/auth/unlink-account",
            &common::h(&b.headers()),
            Some(json!({"providerId": "discord"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "FAILED_TO_UNLINK_LAST_ACCOUNT");
}

#[tokio::test]
async fn the_last_way_in_is_never_unlinked() {
    let (t, fake) = with_discord().await;
    fake.sign_in_as("666", "only@example.org", true, "Only Discord");
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/home"}),
    )
    .await;
    let res = come_back(&t, &path, &cookie).await;
    let session = session_cookie(&res);
    let headers = [
        ("cookie", session.as_str()),
        ("origin", "http://localhost:3000"),
    ];
    let res = t
        .send(
            "POST",
            "/api/auth/unlink-account",
            &headers,
            Some(json!({"providerId": "discord"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "FAILED_TO_UNLINK_LAST_ACCOUNT", "message": "You cannot unlink your last account"})
    );
    assert!(t.table_dump().await.contains("LINKED#discord#666"));
}

#[tokio::test]
async fn a_form_post_back_is_turned_into_the_get() {
    let (t, _fake) = with_discord().await;
    let res = t
        .send_raw(
            "POST",
            "/api/auth/callback/discord",
            &[],
            Some((
                "application/x-www-form-urlencoded",
                "code=c0de&state=st4te".into(),
            )),
        )
        .await;
    assert_eq!(
        location(&res),
        "http://localhost:3000/api/auth/callback/discord?code=c0de&state=st4te"
    );
}

#[tokio::test]
async fn a_service_sign_in_continues_through_sign_in_with_discord() {
    use portal_domain::store::oauth_clients::OAuthClient;
    let (t, fake) = with_discord().await;
    let at = portal_domain::time::iso(portal_domain::time::now());
    let client = OAuthClient {
        id: portal_domain::crypto::new_id(),
        name: "Chat".into(),
        client_id: "chat".into(),
        client_secret_hash: portal_domain::crypto::sha256_hex(b"chat-secret"),
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
    let challenge = portal_domain::crypto::sha256_b64url("v".repeat(43).as_bytes());
    let res = t
        .send(
            "GET",
            &format!("/api/auth/oauth2/authorize?response_type=code&client_id=chat&redirect_uri=https%3A%2F%2Fchat.example.org%2Fcb&scope=openid&state=s9&code_challenge={challenge}&code_challenge_method=S256"),
            &[],
            None,
        )
        .await;
    let login = location(&res);
    let oauth_query = login.split_once('?').unwrap().1.to_string();

    // A forged request is refused before any authorization starts.
    let res = t
        .send(
            "POST",
            "/api/auth/sign-in/social",
            &[],
            Some(json!({"provider": "discord", "oauth_query": oauth_query.replace("client_id=chat", "client_id=evil")})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"], "invalid_signature");

    // The login page's "Sign in with Discord": back from Discord, on to the service.
    fake.sign_in_as("777", "svc@example.org", true, "Service User");
    let (path, cookie) = start(
        &t,
        &fake,
        json!({"provider": "discord", "callbackURL": "/auth/sign-in", "oauth_query": oauth_query}),
    )
    .await;
    let res = come_back(&t, &path, &cookie).await;
    let to = location(&res);
    assert!(to.starts_with("https://chat.example.org/cb?code="), "{to}");
    assert!(to.contains("&state=s9&iss="), "{to}");
    assert!(
        cookie_of(&res, "better-auth.session_token").is_some(),
        "signed in at Portal too"
    );
}

#[tokio::test]
async fn a_preview_deployment_signs_in_through_the_production_callback() {
    let fake = FakeOAuthProvider::start(Wire::Discord).await;
    let discord = endpoints(&fake, Wire::Discord);
    let production_discord = discord.clone();
    let production =
        TestAuth::new(|c| c.auth.as_mut().unwrap().social.discord = Some(production_discord)).await;
    let preview = TestAuth::new(|c| {
        let auth = c.auth.as_mut().unwrap();
        auth.base_url = "http://preview.localhost:3000".parse().unwrap();
        auth.social.discord = Some(discord);
        auth.social.proxy_production_url = Some("http://localhost:3000".parse().unwrap());
    })
    .await;
    fake.sign_in_as("888", "preview@example.org", true, "Preview User");
    let start = |who: &'static str| {
        let preview = &preview;
        async move {
            let res = preview
                .send(
                    "POST",
                    "/api/auth/sign-in/social",
                    &[],
                    Some(json!({"provider": "discord", "callbackURL": who})),
                )
                .await;
            assert_eq!(res.status, 200, "{}", res.text());
            let url = res.json()["url"].as_str().unwrap().to_string();
            assert!(
                url.contains(
                    "redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fapi%2Fauth%2Fcallback%2Fdiscord"
                ),
                "the production callback: {url}"
            );
            (url, cookie_of(&res, "better-auth.state").unwrap())
        }
    };
    let (url, cookie) = start("/home").await;
    let back = fake.consent(&url).await;
    // Production takes the provider's answer and hands the person over, sealed.
    let res = production
        .send(
            "GET",
            back.strip_prefix("http://localhost:3000").unwrap(),
            &[],
            None,
        )
        .await;
    let handed = location(&res);
    assert!(
        handed.starts_with(
            "http://preview.localhost:3000/api/auth/oauth-proxy-callback?callbackURL="
        ),
        "{handed}"
    );
    assert!(
        cookie_of(&res, "better-auth.session_token").is_none(),
        "nobody signed in at production"
    );
    let path = handed
        .strip_prefix("http://preview.localhost:3000")
        .unwrap()
        .to_string();
    // Without the preview's state cookie: refused (and the state is spent).
    let res = preview.send("GET", &path, &[], None).await;
    assert_eq!(
        location(&res),
        "http://preview.localhost:3000/api/auth/error?error=state_mismatch"
    );
    // A fresh flow, with the cookie: signed in at the preview.
    let (url, cookie2) = start("/home").await;
    let back = fake.consent(&url).await;
    let res = production
        .send(
            "GET",
            back.strip_prefix("http://localhost:3000").unwrap(),
            &[],
            None,
        )
        .await;
    let path = location(&res)
        .strip_prefix("http://preview.localhost:3000")
        .unwrap()
        .to_string();
    let res = preview
        .send("GET", &path, &[("cookie", &cookie2)], None)
        .await;
    assert_eq!(location(&res), "http://preview.localhost:3000/home");
    let session = session_cookie(&res);
    let me = preview
        .send(
            "GET",
            "/api/auth/get-session",
            &[("cookie", &session)],
            None,
        )
        .await
        .json();
    assert_eq!(me["user"]["email"], "preview@example.org");
    assert_eq!(
        production.count_items("EMAIL#").await,
        0,
        "no account at production"
    );
    // A replay of the hand-over: spent.
    let res = preview
        .send("GET", &path, &[("cookie", &cookie2)], None)
        .await;
    assert_eq!(
        location(&res),
        "http://preview.localhost:3000/api/auth/error?error=please_restart_the_process"
    );
    // No callback URL, or a foreign one: refused before anything.
    let res = preview
        .send("GET", "/api/auth/oauth-proxy-callback?profile=x", &[], None)
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    let res = preview
        .send(
            "GET",
            "/api/auth/oauth-proxy-callback?callbackURL=https%3A%2F%2Fevil.example.org&profile=x",
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["code"], "INVALID_CALLBACK_URL");
    // A forged hand-over.
    let res = preview
        .send(
            "GET",
            "/api/auth/oauth-proxy-callback?callbackURL=%2F&profile=forged",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(
        location(&res),
        "http://preview.localhost:3000/api/auth/error?error=invalid_profile"
    );
}
