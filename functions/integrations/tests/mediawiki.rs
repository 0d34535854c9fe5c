//! Wiki accounts against a fake MediaWiki Action API over real HTTP: the bot's login,
//! createaccount, blocks for suspension and deletion, user stats, and each failure.

use portal_testkit::Sections;
use std::time::Duration;

use portal_domain::Config;
use portal_domain::model::Role;
use portal_testkit::{
    FakeMediaWiki, Person, TestApp, TestResponse, WikiMode, closed_port, envelope, person,
    person_with_username, test_state,
};
use serde_json::{Value, json};

struct T {
    t: TestApp,
    wiki: FakeMediaWiki,
    ada: Person,
    bob: Person,
    admin: Person,
}

impl std::ops::Deref for T {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.t
    }
}

async fn setup(adjust: impl FnOnce(&mut Config)) -> T {
    let wiki = FakeMediaWiki::start().await;
    let state = test_state(|c| {
        c.rate_limits.enabled = false;
        wiki.configure(c);
        adjust(c);
    })
    .await;
    let t = TestApp::new(state.clone(), portal_integrations::router(state.clone()));
    let ada = person_with_username(&state, "ada@example.org", "ada", Role::User).await;
    let bob = person(&state, "bob@example.org", Role::User).await;
    let admin = person(&state, "admin@example.org", Role::Admin).await;
    T {
        t,
        wiki,
        ada,
        bob,
        admin,
    }
}

impl T {
    async fn create(&self, who: &Person, body: Value) -> TestResponse {
        self.send(
            "POST",
            "/api/integrations/mediawiki/accounts",
            Some(who),
            Some(body),
        )
        .await
    }

    async fn on(
        &self,
        method: &str,
        path: &str,
        who: &Person,
        body: Option<Value>,
    ) -> TestResponse {
        self.send(
            method,
            &format!("/api/integrations/mediawiki/accounts/{path}"),
            Some(who),
            body,
        )
        .await
    }
}

#[tokio::test]
async fn a_wiki_account_is_created_by_the_bot_in_the_wikis_canonical_name() {
    let t = setup(|_| {}).await;
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 201, "{:?}", res.json());
    assert_eq!(res.json()["account"]["data"], json!({"username": "Ada"}));
    let password = res.json()["temporaryPassword"]
        .as_str()
        .unwrap()
        .to_string();
    let user = t.wiki.user("Ada").expect("created on the wiki");
    assert_eq!(user.password, password);
    assert_eq!(user.email, "ada@example.org");
    let calls = t.wiki.calls();
    assert_eq!(
        calls,
        vec![
            "query users",
            "query tokens",
            "login",
            "query tokens",
            "createaccount"
        ]
    );
    // Taken on the wiki already; taken between check and create.
    t.wiki.add_user("Bobby", 3);
    let res = t.create(&t.bob, json!({"username": "bobby"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Username already taken"));
    t.wiki.set_mode(WikiMode::ErrorOn("nothing", "x"));
    let res = t.create(&t.bob, json!({"username": "Robert"})).await;
    assert_eq!(res.status, 201);
    // No username anywhere: told to choose one; a bad one: validation.
    let t = setup(|_| {}).await;
    let res = t.create(&t.bob, json!({})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        envelope("Choose a wiki username, or set your username in account settings first")
    );
    let res = t.create(&t.bob, json!({"username": "1bob"})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["details"]["issues"][0]["path"],
        json!(["username"])
    );
}

#[tokio::test]
async fn wiki_failures_leave_nothing_behind() {
    let t = setup(|_| {}).await;
    for (mode, status, message) in [
        (WikiMode::Http(500), 502, "Wiki failed (status 500)"),
        (
            WikiMode::Hang(Duration::from_secs(2)),
            502,
            "Wiki did not answer in time",
        ),
        (
            WikiMode::ErrorOn("createaccount", "readonly"),
            502,
            "Wiki refused the change (readonly)",
        ),
    ] {
        t.wiki.set_mode(mode);
        let res = t.create(&t.ada, json!({})).await;
        assert_eq!(res.status, status, "{mode:?}");
        assert_eq!(res.json(), envelope(message), "{mode:?}");
        assert_eq!(t.integration_items().await, 0, "{mode:?}");
    }
    let t = setup(|c| c.services_mut().mediawiki.bot_password = Some("wrong".into())).await;
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), envelope("Wiki refused Portal's credentials"));
    assert!(t.wiki.user("Ada").is_none());
    assert_eq!(t.integration_items().await, 0);
    let t = setup(|c| {
        c.services_mut().mediawiki.api_url =
            Some(url::Url::parse(&format!("http://127.0.0.1:{}/w/api.php", closed_port())).unwrap())
    })
    .await;
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), envelope("Wiki could not be reached"));
}

#[tokio::test]
async fn suspension_blocks_deletion_blocks_for_good_and_resets_are_not_supported() {
    let t = setup(|_| {}).await;
    let id = t.create(&t.ada, json!({})).await.json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .on("PATCH", &id, &t.admin, Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.json());
    let user = t.wiki.user("Ada").unwrap();
    assert!(user.blocked && !user.nocreate);
    let res = t
        .on("PATCH", &id, &t.admin, Some(json!({"status": "active"})))
        .await;
    assert_eq!(res.status, 200);
    assert!(!t.wiki.user("Ada").unwrap().blocked);
    let res = t
        .on(
            "POST",
            &format!("{id}/reset-password"),
            &t.ada,
            Some(json!({"password": "new-password-1"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), envelope("Password reset is not supported"));
    // A password through PATCH is refused the same way, and nothing changes.
    let res = t
        .on(
            "PATCH",
            &id,
            &t.ada,
            Some(json!({"password": "new-password-1"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), envelope("Password reset is not supported"));
    // The bot losing its rights: 502, kept.
    t.wiki
        .set_mode(WikiMode::ErrorOn("block", "permissiondenied"));
    let res = t.on("DELETE", &id, &t.ada, None).await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), envelope("Wiki refused Portal's credentials"));
    t.wiki.set_mode(WikiMode::Normal);
    let res = t.on("DELETE", &id, &t.ada, None).await;
    assert_eq!(res.status, 200);
    let user = t.wiki.user("Ada").unwrap();
    assert!(
        user.blocked && user.nocreate,
        "blocked for good, account creation too"
    );
    let kept = t
        .state
        .db
        .integration_accounts()
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, "deleted");
}

#[tokio::test]
async fn user_stats_show_the_callers_wiki_figures() {
    let t = setup(|_| {}).await;
    let res = t
        .get("/api/integrations/mediawiki/user-stats", &t.ada)
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), envelope("You have no wiki account"));
    t.create(&t.ada, json!({})).await;
    t.wiki.edit("Ada", 12);
    let res = t
        .get("/api/integrations/mediawiki/user-stats", &t.ada)
        .await;
    assert_eq!(res.status, 200, "{:?}", res.json());
    let stats = &res.json()["stats"];
    assert_eq!(stats["username"], "Ada");
    assert_eq!(stats["editCount"], 12);
    assert_eq!(stats["registration"], "2026-11-01T09:00:00Z");
    let contributions = stats["contributions"].as_array().unwrap();
    assert_eq!(contributions.len(), 10);
    assert_eq!(contributions[0]["title"], "Article 11");
    assert_eq!(contributions[0]["sizeDiff"], 8);
    t.wiki.set_mode(WikiMode::Http(503));
    let res = t
        .get("/api/integrations/mediawiki/user-stats", &t.ada)
        .await;
    assert_eq!(res.status, 502);
    assert_eq!(
        t.send("GET", "/api/integrations/mediawiki/user-stats", None, None)
            .await
            .status,
        401
    );
    let t = setup(|c| c.services_mut().mediawiki.api_url = None).await;
    let res = t
        .get("/api/integrations/mediawiki/user-stats", &t.ada)
        .await;
    assert_eq!(res.status, 503);
    assert_eq!(res.json(), envelope("The wiki is not configured"));
    assert_eq!(res.header("retry-after"), Some("1"));
}
