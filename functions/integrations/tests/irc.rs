//! IRC accounts against a fake Atheme JSON-RPC server over real HTTP: registration,
//! verification, password resets, suspension, drops, and each way Atheme can fail.

use portal_testkit::Sections;
use std::time::Duration;

use portal_domain::Config;
use portal_domain::model::Role;
use portal_testkit::{
    AthemeMode, FakeAtheme, Person, TestApp, TestResponse, closed_port, envelope, person,
    person_with_username, test_state,
};
use serde_json::{Value, json};

struct T {
    t: TestApp,
    atheme: FakeAtheme,
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

fn configure(c: &mut Config, atheme: &FakeAtheme) {
    c.rate_limits.enabled = false;
    atheme.configure(c);
    c.services_mut().irc.server = "irc.example.org".into();
}

async fn setup(adjust: impl FnOnce(&mut Config)) -> T {
    let atheme = FakeAtheme::start().await;
    let state = test_state(|c| {
        configure(c, &atheme);
        adjust(c);
    })
    .await;
    let t = TestApp::new(state.clone(), portal_integrations::router(state.clone()));
    let ada = person_with_username(&state, "ada@example.org", "Ada", Role::User).await;
    let bob = person(&state, "bob@example.org", Role::User).await;
    let admin = person(&state, "admin@example.org", Role::Admin).await;
    T {
        t,
        atheme,
        ada,
        bob,
        admin,
    }
}

impl T {
    async fn create(&self, who: &Person, body: Value) -> TestResponse {
        self.t
            .send(
                "POST",
                "/api/integrations/irc/accounts",
                Some(who),
                Some(body),
            )
            .await
    }

    async fn created(&self, who: &Person, body: Value) -> Value {
        let res = self.create(who, body).await;
        assert_eq!(res.status, 201, "{:?}", res.json());
        res.json()
    }

    async fn on(
        &self,
        method: &str,
        id: &str,
        tail: &str,
        who: &Person,
        body: Option<Value>,
    ) -> TestResponse {
        self.t
            .send(
                method,
                &format!("/api/integrations/irc/accounts/{id}{tail}"),
                Some(who),
                body,
            )
            .await
    }
}

#[tokio::test]
async fn the_registry_lists_irc_enabled_only_when_configured() {
    let t = setup(|_| {}).await;
    let res = t.get("/api/integrations", &t.ada).await;
    let irc = res.json()["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "irc")
        .cloned()
        .unwrap();
    assert_eq!(irc["enabled"], true);
    assert_eq!(irc["name"], "IRC");

    let t = setup(|c| c.services_mut().irc.jsonrpc_url = None).await;
    let res = t.get("/api/integrations", &t.ada).await;
    assert!(
        res.json()["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == "irc" && i["enabled"] == false)
    );
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), envelope("Integration is disabled"));
}

#[tokio::test]
async fn registering_takes_the_username_as_nick_and_returns_the_password_once() {
    let t = setup(|_| {}).await;
    let body = t.created(&t.ada, json!({})).await;
    let account = &body["account"];
    assert_eq!(account["status"], "active");
    assert_eq!(
        account["data"],
        json!({"nick": "Ada", "server": "irc.example.org", "port": 6697})
    );
    let password = body["temporaryPassword"].as_str().unwrap().to_string();
    let nick = t.atheme.nick("ada").expect("registered on Atheme");
    assert_eq!(nick.nick, "Ada");
    assert_eq!(nick.email, "ada@example.org");
    assert_eq!(nick.password, password);
    // The password is shown once: never stored, never shown again.
    assert!(!t.table_dump().await.contains(&password));
    let id = account["id"].as_str().unwrap();
    let again = t.on("GET", id, "", &t.ada, None).await.json();
    assert!(again.get("temporaryPassword").is_none());
    assert_eq!(again["account"]["status"], "active");
    // A second nick for the same user is refused.
    let res = t.create(&t.ada, json!({"nick": "ada_two"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(
        res.json(),
        envelope("You already have an account on this integration")
    );
}

#[tokio::test]
async fn a_chosen_nick_and_password_are_used() {
    let t = setup(|_| {}).await;
    let body = t
        .created(
            &t.bob,
            json!({"nick": "Bobby", "password": "irc-password-1"}),
        )
        .await;
    assert!(body.get("temporaryPassword").is_none());
    assert_eq!(t.atheme.nick("bobby").unwrap().password, "irc-password-1");
}

#[tokio::test]
async fn bad_bodies_are_refused_before_atheme_is_called() {
    let t = setup(|_| {}).await;
    // No username and no nick.
    let res = t.create(&t.bob, json!({})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        envelope("Set your username in account settings before creating an IRC account")
    );
    for (body, path) in [
        (json!({"nick": "9lives"}), "nick"),
        (json!({"nick": "ab"}), "nick"),
        (json!({"nick": "has space"}), "nick"),
        (json!({"nick": 7}), "nick"),
        (json!({"nick": "fine", "password": "short"}), "password"),
        (
            json!({"nick": "fine", "password": "has a space"}),
            "password",
        ),
    ] {
        let res = t.create(&t.bob, body.clone()).await;
        assert_eq!(res.status, 400, "{body}");
        let json = res.json();
        assert_eq!(json["ok"], false);
        assert_eq!(
            json["details"]["issues"][0]["path"],
            json!([path]),
            "{body}: {json}"
        );
    }
    assert!(t.atheme.calls().is_empty());
    assert_eq!(t.integration_items().await, 0);
}

#[tokio::test]
async fn a_nick_registered_on_irc_already_is_a_conflict() {
    let t = setup(|_| {}).await;
    t.atheme.add_nick("Ada", "someone-elses");
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Username already taken"));
    assert_eq!(t.atheme.nick("ada").unwrap().password, "someone-elses");
    assert_eq!(t.integration_items().await, 0);
    // Registered between our check and our REGISTER: Atheme's own fault 8.
    let t = setup(|_| {}).await;
    t.atheme.set_mode(AthemeMode::FaultOn("REGISTER", 8));
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Username already taken"));
    assert_eq!(t.integration_items().await, 0);
}

#[tokio::test]
async fn atheme_asking_for_verification_leaves_the_account_pending() {
    let t = setup(|_| {}).await;
    t.atheme.require_verification(true);
    let body = t.created(&t.ada, json!({})).await;
    assert_eq!(body["account"]["status"], "pending");
    assert!(!t.atheme.nick("ada").unwrap().verified);
}

#[tokio::test]
async fn atheme_failing_leaves_nothing_behind() {
    let t = setup(|_| {}).await;
    let cases = [
        (AthemeMode::Http(500), "IRC services failed (status 500)"),
        (
            AthemeMode::FaultOn("REGISTER", 16),
            "IRC services failed (fault 16)",
        ),
        (
            AthemeMode::FaultOn("INFO", 15),
            "IRC services refused Portal's credentials",
        ),
        (
            AthemeMode::Hang(Duration::from_secs(2)),
            "IRC services did not answer in time",
        ),
    ];
    for (mode, message) in cases {
        t.atheme.set_mode(mode);
        let res = t.create(&t.ada, json!({})).await;
        assert_eq!(res.status, 502, "{mode:?}");
        assert_eq!(res.json(), envelope(message), "{mode:?}");
        assert_eq!(t.integration_items().await, 0, "{mode:?}");
        assert_eq!(res.upstream_failures, vec!["irc"], "{mode:?}");
    }
    t.atheme.set_mode(AthemeMode::Normal);
    assert!(t.atheme.nicks().is_empty());
    // Down: nothing listens.
    let t = setup(|c| {
        c.services_mut().irc.jsonrpc_url =
            Some(url::Url::parse(&format!("http://127.0.0.1:{}/jsonrpc", closed_port())).unwrap())
    })
    .await;
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), envelope("IRC services could not be reached"));
    assert_eq!(t.integration_items().await, 0);
}

#[tokio::test]
async fn resetting_without_a_password_returns_the_one_atheme_picked() {
    let t = setup(|_| {}).await;
    let body = t
        .created(&t.ada, json!({"password": "first-password"}))
        .await;
    let id = body["account"]["id"].as_str().unwrap().to_string();
    let res = t.on("POST", &id, "/reset-password", &t.ada, None).await;
    assert_eq!(res.status, 200, "{:?}", res.json());
    let temporary = res.json()["temporaryPassword"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(t.atheme.nick("ada").unwrap().password, temporary);
    assert_ne!(temporary, "first-password");
    assert_eq!(t.atheme.open_sessions(), 0, "the operator logged out");
    // With a password: set it (RESETPASS, then SET PASSWORD as the nick).
    let res = t
        .on(
            "POST",
            &id,
            "/reset-password",
            &t.ada,
            Some(json!({"password": "chosen-password"})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"ok": true, "message": "IRC password reset successfully"})
    );
    assert_eq!(t.atheme.nick("ada").unwrap().password, "chosen-password");
    assert_eq!(t.atheme.open_sessions(), 0);
    assert!(!t.table_dump().await.contains("chosen-password"));
    // Someone else's account: refused; an admin may.
    let res = t.on("POST", &id, "/reset-password", &t.bob, None).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), envelope("Forbidden - Access denied"));
    let res = t.on("POST", &id, "/reset-password", &t.admin, None).await;
    assert_eq!(res.status, 200);
    // Bad bodies: too short, or with a space (NickServ splits on spaces).
    for password in ["short", "two words here"] {
        let res = t
            .on(
                "POST",
                &id,
                "/reset-password",
                &t.ada,
                Some(json!({ "password": password })),
            )
            .await;
        assert_eq!(res.status, 400, "{password}");
        assert_eq!(
            res.json()["details"]["issues"][0]["path"],
            json!(["password"])
        );
    }
    assert_ne!(t.atheme.nick("ada").unwrap().password, "two words here");
    let res = t
        .on("POST", &id, "/reset-password", &t.ada, Some(json!([1])))
        .await;
    assert_eq!(res.status, 400);
    let res = t
        .on("POST", "missing", "/reset-password", &t.ada, None)
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), envelope("Integration account not found"));
    // The reset is in the owner's security events, the password is not.
    let events = t.count_items("AUDIT#").await;
    assert!(events >= 4, "{events}");
}

#[tokio::test]
async fn wrong_operator_credentials_fail_resets_and_drops_cleanly() {
    let t = setup(|c| c.services_mut().irc.oper_password = Some("wrong".into())).await;
    let body = t
        .created(&t.ada, json!({"password": "first-password"}))
        .await;
    let id = body["account"]["id"].as_str().unwrap().to_string();
    let res = t.on("POST", &id, "/reset-password", &t.ada, None).await;
    assert_eq!(res.status, 502);
    assert_eq!(
        res.json(),
        envelope("IRC services refused Portal's credentials")
    );
    assert_eq!(t.atheme.nick("ada").unwrap().password, "first-password");
    let res = t.on("DELETE", &id, "", &t.ada, None).await;
    assert_eq!(res.status, 502);
    assert_eq!(
        res.json(),
        envelope("IRC services refused Portal's credentials")
    );
    assert!(t.atheme.nick("ada").is_some());
    let res = t.on("GET", &id, "", &t.ada, None).await;
    assert_eq!(res.json()["account"]["status"], "active");
}

#[tokio::test]
async fn without_an_operator_account_resets_and_drops_are_unavailable() {
    let t = setup(|c| {
        c.services_mut().irc.oper_account = None;
        c.services_mut().irc.oper_password = None;
    })
    .await;
    let body = t.created(&t.ada, json!({})).await;
    let id = body["account"]["id"].as_str().unwrap().to_string();
    for (method, tail) in [("POST", "/reset-password"), ("DELETE", "")] {
        let res = t.on(method, &id, tail, &t.ada, None).await;
        assert_eq!(res.status, 503, "{method}");
        assert_eq!(
            res.json(),
            envelope("IRC operator credentials are not configured")
        );
        assert_eq!(res.header("retry-after"), Some("1"));
    }
    assert!(t.atheme.nick("ada").is_some());
}

#[tokio::test]
async fn deleting_drops_the_nick_and_keeps_the_record() {
    let t = setup(|_| {}).await;
    let body = t.created(&t.ada, json!({})).await;
    let id = body["account"]["id"].as_str().unwrap().to_string();
    let res = t.on("DELETE", &id, "", &t.ada, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"ok": true}));
    assert!(t.atheme.nick("ada").is_none());
    assert!(
        t.atheme
            .calls()
            .contains(&"atheme.command NickServ FDROP".to_string())
    );
    // Kept for the record as deleted; gone from the owner's views; the nick cools for its
    // former owner: nobody else takes it (they would get Ada's mail and resets), she may.
    let kept = t
        .state
        .db
        .integration_accounts()
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, "deleted");
    assert_eq!(t.on("GET", &id, "", &t.ada, None).await.status, 404);
    let list = t.get("/api/integrations/irc/accounts", &t.ada).await.json();
    assert_eq!(list["accounts"], json!([]));
    assert_eq!(t.count_items("INTEGNAME#").await, 1);
    let res = t
        .create(&t.bob, json!({"nick": "ada", "password": "irc-password-1"}))
        .await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Username already taken"));
    assert!(t.atheme.nick("ada").is_none());
    let again = t.created(&t.ada, json!({})).await;
    assert_ne!(again["account"]["id"], json!(id));
    // Already dropped on IRC: still deleted here.
    let id = again["account"]["id"].as_str().unwrap().to_string();
    t.atheme.remove_nick("ada");
    assert_eq!(t.on("DELETE", &id, "", &t.ada, None).await.status, 200);
}

#[tokio::test]
async fn suspending_freezes_the_nick_and_reactivating_thaws_it() {
    let t = setup(|_| {}).await;
    let body = t.created(&t.ada, json!({})).await;
    let id = body["account"]["id"].as_str().unwrap().to_string();
    let res = t
        .on(
            "PATCH",
            &id,
            "",
            &t.admin,
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.json());
    assert_eq!(res.json()["account"]["status"], "suspended");
    assert!(t.atheme.nick("ada").unwrap().frozen);
    // Its owner cannot reset a suspended account.
    let res = t.on("POST", &id, "/reset-password", &t.ada, None).await;
    assert_eq!(res.status, 403);
    let res = t
        .on(
            "PATCH",
            &id,
            "",
            &t.admin,
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(res.json()["account"]["status"], "active");
    assert!(!t.atheme.nick("ada").unwrap().frozen);
    // Atheme refusing the freeze: nothing changes here either.
    t.atheme.set_mode(AthemeMode::FaultOn("FREEZE", 16));
    let res = t
        .on(
            "PATCH",
            &id,
            "",
            &t.admin,
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(res.status, 502);
    let res = t.on("GET", &id, "", &t.ada, None).await;
    assert_eq!(res.json()["account"]["status"], "active");
}

#[tokio::test]
async fn password_resets_are_rate_limited_per_user() {
    let t = setup(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.service_resets = portal_domain::config::Rule::new(2, 3600);
    })
    .await;
    let body = t.created(&t.ada, json!({})).await;
    let id = body["account"]["id"].as_str().unwrap().to_string();
    for _ in 0..2 {
        assert_eq!(
            t.on("POST", &id, "/reset-password", &t.ada, None)
                .await
                .status,
            200
        );
    }
    let res = t.on("POST", &id, "/reset-password", &t.ada, None).await;
    assert_eq!(res.status, 429);
    assert_eq!(res.json(), envelope("Too many requests"));
    assert!(res.header("retry-after").is_some());
}
