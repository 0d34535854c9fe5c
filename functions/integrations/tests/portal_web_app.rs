//! The integration calls Portal's own web app makes (allthingslinux/portal 2.3.0,
//! `features/integrations/api/integrations.ts` and its forms), made the same way, against
//! the four services' stand-ins over real HTTP; each check reads the fields the app reads.

use portal_domain::model::Role;
use portal_testkit::{
    FakeAtheme, FakeMailcow, FakeMediaWiki, FakeProsody, Person, TestApp, TestResponse,
    person_with_username, test_state,
};
use serde_json::{Value, json};

struct T {
    t: TestApp,
    prosody: FakeProsody,
    atheme: FakeAtheme,
    mailcow: FakeMailcow,
    wiki: FakeMediaWiki,
    ada: Person,
}

async fn setup() -> T {
    let (prosody, atheme, mailcow, wiki) = tokio::join!(
        FakeProsody::start(),
        FakeAtheme::start(),
        FakeMailcow::start(),
        FakeMediaWiki::start()
    );
    let state = test_state(|c| {
        c.rate_limits.enabled = false;
        prosody.configure(c);
        atheme.configure(c);
        mailcow.configure(c);
        wiki.configure(c);
    })
    .await;
    let t = TestApp::new(state.clone(), portal_integrations::router(state.clone()));
    let ada = person_with_username(&state, "ada@example.org", "ada", Role::User).await;
    T {
        t,
        prosody,
        atheme,
        mailcow,
        wiki,
        ada,
    }
}

impl T {
    /// `fetchIntegrationAccount(id)`: 404 is "none", else `data.account ?? null`.
    async fn fetch_account(&self, integration: &str) -> Option<Value> {
        let res = self
            .t
            .send(
                "GET",
                &format!("/api/integrations/{integration}/accounts"),
                Some(&self.ada),
                None,
            )
            .await;
        if res.status == 404 {
            return None;
        }
        assert_eq!(res.status, 200, "{}", res.text());
        Some(res.json()["account"].clone()).filter(|a| !a.is_null())
    }

    /// `createIntegrationAccount(id, input)`: 2xx and `result.account`.
    async fn create(&self, integration: &str, input: Value) -> TestResponse {
        self.t
            .send(
                "POST",
                &format!("/api/integrations/{integration}/accounts"),
                Some(&self.ada),
                Some(input),
            )
            .await
    }

    /// `resetIntegrationPassword(id, accountId, password?)`.
    async fn reset(&self, integration: &str, id: &str, password: Option<&str>) -> Value {
        let body = password.map_or_else(|| json!({}), |p| json!({ "password": p }));
        let res = self
            .t
            .send(
                "POST",
                &format!("/api/integrations/{integration}/accounts/{id}/reset-password"),
                Some(&self.ada),
                Some(body),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()
    }
}

fn account_of(res: &TestResponse) -> Value {
    assert_eq!(res.status, 201, "{}", res.text());
    res.json()["account"].clone()
}

#[tokio::test]
async fn the_cards_find_no_account_then_the_one_made() {
    let t = setup().await;
    for integration in ["xmpp", "irc", "mailcow", "mediawiki"] {
        assert_eq!(t.fetch_account(integration).await, None, "{integration}");
    }
    // The XMPP form sends only a password: the account takes Ada's Portal username.
    let made = account_of(
        &t.create("xmpp", json!({"password": "xmpp-password-1"}))
            .await,
    );
    assert_eq!(made["jid"], "ada@chat.example.org");
    assert_eq!(made["username"], "ada");
    assert_eq!(made["status"], "active");
    assert_eq!(made["integrationId"], "xmpp");
    assert!(made.get("temporaryPassword").is_none(), "she chose one");
    assert_eq!(t.prosody.users()["ada"], "xmpp-password-1");
    let shown = t.fetch_account("xmpp").await.expect("the card shows it");
    assert_eq!(shown["id"], made["id"]);
    assert_eq!(shown["jid"], "ada@chat.example.org");
    assert!(shown.get("temporaryPassword").is_none(), "shown once only");
}

#[tokio::test]
async fn the_password_dialog_opens_from_the_account_itself() {
    let t = setup().await;
    // IRC without a password: the one Portal generated is on the account.
    let made = account_of(&t.create("irc", json!({})).await);
    let temporary = made["temporaryPassword"]
        .as_str()
        .expect("the dialog's password");
    assert_eq!(t.atheme.nick("ada").unwrap().password, temporary);
    assert_eq!(made["nick"], "ada");
    assert!(made["server"].is_string());
    assert!(made["port"].is_u64());
    let shown = t.fetch_account("irc").await.unwrap();
    assert_eq!(
        (shown["nick"].clone(), shown["port"].clone()),
        (made["nick"].clone(), made["port"].clone())
    );
    assert!(shown.get("temporaryPassword").is_none());
    // The reset dialog: `message`, and `temporaryPassword` when none was chosen.
    let id = made["id"].as_str().unwrap();
    let reset = t.reset("irc", id, None).await;
    assert_eq!(reset["message"], "IRC password reset successfully");
    let picked = reset["temporaryPassword"].as_str().unwrap();
    assert_eq!(t.atheme.nick("ada").unwrap().password, picked);
    let reset = t.reset("irc", id, Some("my-own-password")).await;
    assert_eq!(
        reset,
        json!({"ok": true, "message": "IRC password reset successfully"})
    );
}

#[tokio::test]
async fn the_wiki_form_names_the_account_with_wiki_username() {
    let t = setup().await;
    let made = account_of(
        &t.create(
            "mediawiki",
            json!({"wikiUsername": "Ada_Lovelace", "password": "wiki-password-1"}),
        )
        .await,
    );
    assert_eq!(made["wikiUsername"], "Ada_Lovelace");
    assert!(made["wikiUserId"].is_null());
    assert!(
        t.wiki.user("Ada_Lovelace").is_some(),
        "the name she asked for"
    );
    assert!(t.wiki.user("Ada").is_none());
    // A bad name is refused at the field she filled in.
    let t = setup().await;
    let res = t.create("mediawiki", json!({"wikiUsername": "-bad"})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["details"]["issues"][0]["path"],
        json!(["wikiUsername"])
    );
}

#[tokio::test]
async fn the_mailbox_form_sends_local_part_and_the_password_twice() {
    let t = setup().await;
    let res = t
        .create(
            "mailcow",
            json!({"local_part": "ada.l", "password": "mail-password-1", "password2": "other-password"}),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["error"],
        "Validation error: Passwords do not match at \"password2\""
    );
    assert!(
        t.mailcow.mailbox("ada.l@mail.example.org").is_none(),
        "nothing made"
    );
    let made = account_of(
        &t.create(
            "mailcow",
            json!({"local_part": "ada.l", "password": "mail-password-1", "password2": "mail-password-1"}),
        )
        .await,
    );
    assert_eq!(made["email"], "ada.l@mail.example.org");
    assert_eq!(made["localPart"], "ada.l");
    assert_eq!(made["domain"], "mail.example.org");
    assert!(t.mailcow.mailbox("ada.l@mail.example.org").is_some());
    let shown = t.fetch_account("mailcow").await.unwrap();
    assert_eq!(shown["email"], "ada.l@mail.example.org");
}
