//! Mailboxes against a fake Mailcow API over real HTTP: create, reset, suspend, delete,
//! app passwords, aliases and usage, and each way Mailcow can fail.

use portal_testkit::Sections;
use std::time::Duration;

use portal_domain::Config;
use portal_domain::model::Role;
use portal_testkit::{
    FakeMailcow, MailcowMode, Person, TestApp, TestResponse, closed_port, envelope, person,
    person_with_username, test_state,
};
use serde_json::{Value, json};

struct T {
    t: TestApp,
    mail: FakeMailcow,
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
    let mail = FakeMailcow::start().await;
    let state = test_state(|c| {
        c.rate_limits.enabled = false;
        mail.configure(c);
        adjust(c);
    })
    .await;
    let t = TestApp::new(state.clone(), portal_integrations::router(state.clone()));
    let ada = person_with_username(&state, "ada@example.org", "Ada", Role::User).await;
    let bob = person(&state, "bob@example.org", Role::User).await;
    let admin = person(&state, "admin@example.org", Role::Admin).await;
    T {
        t,
        mail,
        ada,
        bob,
        admin,
    }
}

impl T {
    async fn create(&self, who: &Person, body: Value) -> TestResponse {
        self.send(
            "POST",
            "/api/integrations/mailcow/accounts",
            Some(who),
            Some(body),
        )
        .await
    }

    async fn mailbox_of_ada(&self) -> String {
        let res = self
            .create(&self.ada, json!({"password": "mail-password-1"}))
            .await;
        assert_eq!(res.status, 201, "{:?}", res.json());
        res.json()["account"]["id"].as_str().unwrap().to_string()
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
            &format!("/api/integrations/mailcow/accounts/{path}"),
            Some(who),
            body,
        )
        .await
    }
}

#[tokio::test]
async fn a_mailbox_is_made_on_the_configured_domain_with_its_quota() {
    let t = setup(|_| {}).await;
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 201, "{:?}", res.json());
    let body = res.json();
    assert_eq!(
        body["account"]["data"],
        json!({"email": "ada@mail.example.org", "localPart": "ada", "domain": "mail.example.org", "quotaMb": 3072})
    );
    let password = body["temporaryPassword"].as_str().unwrap();
    let mailbox = t.mail.mailbox("ada@mail.example.org").unwrap();
    assert_eq!(mailbox.password, password);
    assert_eq!(mailbox.quota_mb, 3072);
    assert_eq!(mailbox.name, "ada");
    assert!(mailbox.active);
    // A chosen address.
    let res = t
        .create(
            &t.bob,
            json!({"localPart": "Robert.B", "password": "mail-password-2"}),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(
        t.mail
            .mailbox("robert.b@mail.example.org")
            .unwrap()
            .password,
        "mail-password-2"
    );
}

#[tokio::test]
async fn bad_bodies_and_taken_addresses_are_refused() {
    let t = setup(|_| {}).await;
    let res = t.create(&t.bob, json!({})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        envelope("Choose an address, or set your username in account settings first")
    );
    for body in [
        json!({"localPart": ".bob"}),
        json!({"localPart": "b b"}),
        json!({"localPart": 5}),
    ] {
        let res = t.create(&t.bob, body.clone()).await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(
            res.json()["details"]["issues"][0]["path"],
            json!(["localPart"]),
            "{body}"
        );
    }
    t.mail.add_mailbox("bob@mail.example.org", "theirs-123");
    let res = t.create(&t.bob, json!({"localPart": "bob"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Username already taken"));
    // Taken between our check and our create: Mailcow's own object_exists.
    t.mail
        .set_mode(MailcowMode::Refuse("add/mailbox", "object_exists"));
    let res = t.create(&t.bob, json!({"localPart": "bobby"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(t.integration_items().await, 0);
}

#[tokio::test]
async fn mailcow_failing_leaves_nothing_behind() {
    let t = setup(|_| {}).await;
    for (mode, message) in [
        (MailcowMode::Http(500), "Mail server failed (status 500)"),
        (
            MailcowMode::Hang(Duration::from_secs(2)),
            "Mail server did not answer in time",
        ),
        (
            MailcowMode::Refuse("add/mailbox", "domain_quota_m_in_use"),
            "Mail server refused the change (domain_quota_m_in_use)",
        ),
    ] {
        t.mail.set_mode(mode);
        let res = t.create(&t.ada, json!({})).await;
        assert_eq!(res.status, 502, "{mode:?}");
        assert_eq!(res.json(), envelope(message), "{mode:?}");
        assert_eq!(t.integration_items().await, 0);
    }
    let t = setup(|c| c.services_mut().mailcow.api_key = Some("wrong".into())).await;
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 502);
    assert_eq!(
        res.json(),
        envelope("Mail server refused Portal's credentials")
    );
    let t = setup(|c| {
        c.services_mut().mailcow.api_url =
            Some(url::Url::parse(&format!("http://127.0.0.1:{}", closed_port())).unwrap())
    })
    .await;
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), envelope("Mail server could not be reached"));
    assert_eq!(t.integration_items().await, 0);
}

#[tokio::test]
async fn reset_suspend_and_delete_act_on_the_mailbox() {
    let t = setup(|_| {}).await;
    let id = t.mailbox_of_ada().await;
    let res = t
        .on(
            "POST",
            &format!("{id}/reset-password"),
            &t.ada,
            Some(json!({"password": "reset-password-1"})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        t.mail.mailbox("ada@mail.example.org").unwrap().password,
        "reset-password-1"
    );
    let res = t
        .on("POST", &format!("{id}/reset-password"), &t.ada, None)
        .await;
    assert_eq!(res.status, 400);
    let res = t
        .on("PATCH", &id, &t.admin, Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(res.status, 200);
    assert!(!t.mail.mailbox("ada@mail.example.org").unwrap().active);
    let res = t
        .on("PATCH", &id, &t.admin, Some(json!({"status": "active"})))
        .await;
    assert_eq!(res.status, 200);
    assert!(t.mail.mailbox("ada@mail.example.org").unwrap().active);
    let res = t.on("DELETE", &id, &t.ada, None).await;
    assert_eq!(res.status, 200);
    assert!(t.mail.mailbox("ada@mail.example.org").is_none());
    // Gone on Mailcow already: deleted here all the same.
    let id = t.mailbox_of_ada().await;
    t.mail.remove_mailbox("ada@mail.example.org");
    let res = t.on("DELETE", &id, &t.admin, None).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn app_passwords_are_shown_once_and_only_to_the_owner() {
    let t = setup(|_| {}).await;
    let id = t.mailbox_of_ada().await;
    let path = format!("{id}/app-passwords");
    let res = t
        .on("POST", &path, &t.ada, Some(json!({"name": "Thunderbird"})))
        .await;
    assert_eq!(res.status, 201, "{:?}", res.json());
    let secret = res.json()["password"].as_str().unwrap().to_string();
    assert_eq!(res.json()["name"], "Thunderbird");
    assert_eq!(
        t.mail.app_passwords(),
        vec![(
            "ada@mail.example.org".to_string(),
            "Thunderbird".to_string(),
            secret.clone()
        )]
    );
    let listed = t.on("GET", &path, &t.ada, None).await.json();
    let list = listed["appPasswords"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "Thunderbird");
    assert!(!listed.to_string().contains(&secret));
    assert!(!t.table_dump().await.contains(&secret));
    let pid = list[0]["id"].as_str().unwrap().to_string();
    // Not bob's; bad names; unknown ids.
    assert_eq!(t.on("GET", &path, &t.bob, None).await.status, 403);
    for body in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "x".repeat(65)}),
        json!({"name": 3}),
    ] {
        let res = t.on("POST", &path, &t.ada, Some(body.clone())).await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(
            res.json()["details"]["issues"][0]["path"],
            json!(["name"]),
            "{body}"
        );
    }
    let res = t.on("DELETE", &format!("{path}/999"), &t.ada, None).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), envelope("App password not found"));
    let res = t.on("DELETE", &format!("{path}/{pid}"), &t.ada, None).await;
    assert_eq!(res.status, 200);
    assert!(t.mail.app_passwords().is_empty());
    // Mail failing: 502.
    t.mail.set_mode(MailcowMode::Http(503));
    let res = t.on("GET", &path, &t.ada, None).await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), envelope("Mail server failed (status 503)"));
}

#[tokio::test]
async fn aliases_stay_within_the_allowed_domains() {
    let t = setup(|_| {}).await;
    let id = t.mailbox_of_ada().await;
    let path = format!("{id}/aliases");
    let res = t
        .on(
            "POST",
            &path,
            &t.ada,
            Some(json!({"address": "Lovelace@example.org"})),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.json());
    let aliases = res.json()["aliases"].clone();
    assert_eq!(aliases[0]["address"], "lovelace@example.org");
    assert_eq!(
        res.json()["allowedDomains"],
        json!(["mail.example.org", "example.org"])
    );
    assert_eq!(
        t.mail.aliases(),
        vec![(
            "lovelace@example.org".to_string(),
            "ada@mail.example.org".to_string()
        )]
    );
    for body in [
        json!({"address": "x@elsewhere.org"}),
        json!({"address": "nope"}),
        json!({}),
    ] {
        let res = t.on("POST", &path, &t.ada, Some(body.clone())).await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(
            res.json()["details"]["issues"][0]["path"],
            json!(["address"]),
            "{body}"
        );
    }
    let res = t
        .on(
            "POST",
            &path,
            &t.ada,
            Some(json!({"address": "lovelace@example.org"})),
        )
        .await;
    assert_eq!(res.status, 409);
    let alias_id = aliases[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.on("DELETE", &format!("{path}/{alias_id}"), &t.bob, None)
            .await
            .status,
        403
    );
    let res = t
        .on("DELETE", &format!("{path}/424242"), &t.ada, None)
        .await;
    assert_eq!(res.json(), envelope("Alias not found"));
    assert_eq!(
        t.on("DELETE", &format!("{path}/{alias_id}"), &t.ada, None)
            .await
            .status,
        200
    );
    assert!(t.mail.aliases().is_empty());
    // A suspended mailbox takes no new aliases.
    t.on("PATCH", &id, &t.admin, Some(json!({"status": "suspended"})))
        .await;
    let res = t
        .on(
            "POST",
            &path,
            &t.ada,
            Some(json!({"address": "again@example.org"})),
        )
        .await;
    assert_eq!(res.status, 403);
}

#[tokio::test]
async fn usage_reports_the_quota_in_bytes() {
    let t = setup(|_| {}).await;
    let id = t.mailbox_of_ada().await;
    t.mail.fill("ada@mail.example.org", 1_048_576, 12);
    let res = t.on("GET", &format!("{id}/usage"), &t.ada, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"ok": true, "usage": {"quotaUsed": 1_048_576, "quotaTotal": 3072u64 * 1024 * 1024, "messages": 12}})
    );
    assert_eq!(
        t.on("GET", &format!("{id}/usage"), &t.admin, None)
            .await
            .status,
        200
    );
    assert_eq!(
        t.on("GET", &format!("{id}/usage"), &t.bob, None)
            .await
            .status,
        403
    );
    assert_eq!(t.on("GET", "nope/usage", &t.ada, None).await.status, 404);
}
