//! `GET /api/bridge/identity`: the chat bridge's look-ups by IRC nick and XMPP JID, its
//! token, and every refusal.

use portal_domain::Config;
use portal_domain::model::Role;
use portal_testkit::Sections;
use portal_testkit::{
    FakeAtheme, FakeProsody, Person, TestApp, TestResponse, envelope, person, person_with_username,
    test_state,
};
use serde_json::json;

const TOKEN: &str = "bridge-secret-token";

struct T {
    t: TestApp,
    _prosody: FakeProsody,
    _atheme: FakeAtheme,
    ada: Person,
    staff: Person,
    bob: Person,
}

impl std::ops::Deref for T {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.t
    }
}

async fn setup(adjust: impl FnOnce(&mut Config)) -> T {
    let prosody = FakeProsody::start().await;
    let atheme = FakeAtheme::start().await;
    let state = test_state(|c| {
        c.rate_limits.enabled = false;
        prosody.configure(c);
        atheme.configure(c);
        c.services_mut().bridge_token = Some(TOKEN.into());
        adjust(c);
    })
    .await;
    let t = TestApp::new(state.clone(), portal_integrations::router(state.clone()));
    let ada = person_with_username(&state, "ada@example.org", "Ada", Role::User).await;
    let staff = person(&state, "staff@example.org", Role::Staff).await;
    let bob = person(&state, "bob@example.org", Role::User).await;
    for (path, body) in [
        ("/api/integrations/irc/accounts", json!({})),
        (
            "/api/integrations/xmpp/accounts",
            json!({"username": "ada.chat"}),
        ),
    ] {
        let res = t.send("POST", path, Some(&ada), Some(body)).await;
        assert_eq!(res.status, 201);
    }
    T {
        t,
        _prosody: prosody,
        _atheme: atheme,
        ada,
        staff,
        bob,
    }
}

impl T {
    async fn lookup(&self, query: &str, auth: Option<&str>) -> TestResponse {
        let headers: Vec<(&str, &str)> =
            auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
        self.request(
            "GET",
            &format!("/api/bridge/identity?{query}"),
            &headers,
            None,
        )
        .await
    }
}

#[tokio::test]
async fn the_bridge_finds_a_user_by_nick_or_jid_with_its_token() {
    let t = setup(|_| {}).await;
    let bearer = format!("Bearer {TOKEN}");
    // atl.chat's bridge reads `ok`, then these snake_case keys of `identity`.
    let want = json!({"ok": true, "identity": {
        "user_id": t.ada.user.id, "username": "ada", "discord_id": null,
        "irc_nick": "Ada", "irc_status": "active",
        "xmpp_jid": "ada.chat@chat.example.org", "xmpp_username": "ada.chat", "xmpp_status": "active",
        "avatar_url": null,
    }});
    for query in [
        "ircNick=ada",
        "ircNick=ADA",
        // The bridge names the network it saw the nick on.
        "ircNick=Ada&ircServer=irc.atl.chat",
        "xmppJid=ada.chat@chat.example.org",
        "xmppJid=ada.chat",
    ] {
        let res = t.lookup(query, Some(&bearer)).await;
        assert_eq!(res.status, 200, "{query}");
        assert_eq!(res.json(), want, "{query}");
    }
    for (query, message) in [
        ("ircNick=nobody", "IRC account not found"),
        ("xmppJid=ada.chat@elsewhere.org", "XMPP account not found"),
        ("discordId=123456789", "Discord account not linked"),
    ] {
        let res = t.lookup(query, Some(&bearer)).await;
        assert_eq!(res.status, 404, "{query}");
        assert_eq!(res.json(), envelope(message));
    }
    for query in ["", "ircNick=ada&xmppJid=ada.chat", "other=1"] {
        let res = t.lookup(query, Some(&bearer)).await;
        assert_eq!(res.status, 400, "{query}");
        assert_eq!(
            res.json(),
            envelope("Give exactly one of discordId, ircNick, xmppJid")
        );
    }
    for query in [
        "ircServer=irc.atl.chat",
        "xmppJid=ada.chat&ircServer=irc.atl.chat",
    ] {
        let res = t.lookup(query, Some(&bearer)).await;
        assert_eq!(res.status, 400, "{query}");
        assert_eq!(res.json(), envelope("ircServer goes with ircNick"));
    }
    let long = format!("ircNick=ada&ircServer={}", "a".repeat(254));
    let res = t.lookup(&long, Some(&bearer)).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["error"],
        "Validation error: Irc server must contain at most 253 character(s) at \"ircServer\""
    );
}

#[tokio::test]
async fn with_a_token_configured_nothing_else_is_accepted() {
    let t = setup(|_| {}).await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("bridge-secret-token"),
        Some("Bearer bridge-secret-toke"),
    ] {
        let res = t.lookup("ircNick=ada", auth).await;
        assert_eq!(res.status, 401, "{auth:?}");
        assert_eq!(res.json(), envelope("Unauthorized"));
    }
    // Not even staff's session.
    let res = t
        .send(
            "GET",
            "/api/bridge/identity?ircNick=ada",
            Some(&t.staff),
            None,
        )
        .await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn without_a_token_only_staff_and_admins_look_up() {
    let t = setup(|c| c.services_mut().bridge_token = None).await;
    let res = t
        .send(
            "GET",
            "/api/bridge/identity?ircNick=ada",
            Some(&t.staff),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["identity"]["irc_nick"], "Ada");
    let res = t
        .send(
            "GET",
            "/api/bridge/identity?ircNick=ada",
            Some(&t.bob),
            None,
        )
        .await;
    assert_eq!(res.status, 403);
    let res = t
        .send("GET", "/api/bridge/identity?ircNick=ada", None, None)
        .await;
    assert_eq!(res.status, 401);
    let _ = &t.ada;
}

#[tokio::test]
async fn look_ups_are_rate_limited_and_read_no_index_scans() {
    let t = setup(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.per_user = portal_domain::config::Rule::new(1000, 60);
        c.rate_limits.bridge = portal_domain::config::Rule::new(2, 60);
    })
    .await;
    let bearer = format!("Bearer {TOKEN}");
    let res = t.lookup("ircNick=ada", Some(&bearer)).await;
    // The count beside the nick's claim, then the user beside their service accounts and
    // their linked (Discord) accounts: five calls, two round trips, no scan (each Query
    // reads the user's own index partition).
    let mut calls: Vec<_> = res
        .dynamo_calls
        .iter()
        .map(|c| c.operation.as_str())
        .collect();
    calls.sort();
    assert_eq!(
        calls,
        vec!["GetItem", "GetItem", "Query", "Query", "UpdateItem"]
    );
    assert_eq!(t.lookup("ircNick=ada", Some(&bearer)).await.status, 200);
    let res = t.lookup("ircNick=ada", Some(&bearer)).await;
    assert_eq!(res.status, 429);
    assert!(res.header("retry-after").is_some());
}

#[tokio::test]
async fn the_bridge_finds_a_user_by_the_discord_account_linked_to_them() {
    use portal_domain::store::linked_accounts::LinkedAccount;
    let t = setup(|_| {}).await;
    let bearer = format!("Bearer {TOKEN}");
    let at = portal_domain::time::iso(portal_domain::time::now());
    let linked = LinkedAccount {
        id: "link-1".into(),
        user_id: t.ada.user.id.clone(),
        provider_id: "discord".into(),
        account_id: "80351110224678912".into(),
        access_token_sealed: None,
        refresh_token_sealed: None,
        id_token_sealed: None,
        access_token_expires_at: None,
        refresh_token_expires_at: None,
        scopes: vec![],
        created_at: at.clone(),
        updated_at: at,
    };
    assert!(
        t.state
            .db
            .linked_accounts()
            .link(&linked, None)
            .await
            .unwrap()
    );
    let res = t.lookup("discordId=80351110224678912", Some(&bearer)).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let identity = &res.json()["identity"];
    assert_eq!(identity["user_id"], json!(t.ada.user.id));
    assert_eq!(identity["discord_id"], "80351110224678912");
    assert_eq!(identity["xmpp_username"], "ada.chat");
    // Looked up by nick, the same person carries their Discord id too.
    let res = t.lookup("ircNick=ada", Some(&bearer)).await;
    assert_eq!(res.json()["identity"]["discord_id"], "80351110224678912");
    // Another id: not linked.
    let res = t.lookup("discordId=1", Some(&bearer)).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), envelope("Discord account not linked"));
}
