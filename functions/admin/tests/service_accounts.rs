//! `/api/admin/{xmpp,irc}-accounts`, bans that suspend service accounts, admin search by
//! nick and JID, `?expand=integrations`, and reconciliation, against a fake Prosody and a
//! fake Atheme over real HTTP. Accounts are made through the owners' own route.

use portal_domain::Config;
use portal_domain::model::Role;
use portal_domain::store::audit::Provenance;
use portal_services::integrations::reconcile::reconcile;
use portal_testkit::{
    AthemeMode, FakeAtheme, FakeProsody, Mode, Person, TestApp, TestResponse, envelope, person,
    person_with_username, test_state,
};
use serde_json::{Value, json};

struct T {
    t: TestApp,
    prosody: FakeProsody,
    atheme: FakeAtheme,
    admin: Person,
    staff: Person,
    ada: Person,
    bob: Person,
}

impl std::ops::Deref for T {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.t
    }
}

fn configure(c: &mut Config, prosody: &FakeProsody, atheme: &FakeAtheme) {
    c.rate_limits.enabled = false;
    prosody.configure(c);
    atheme.configure(c);
}

async fn setup() -> T {
    let prosody = FakeProsody::start().await;
    let atheme = FakeAtheme::start().await;
    let state = test_state(|c| configure(c, &prosody, &atheme)).await;
    let routes =
        portal_admin_api::router(state.clone()).merge(portal_integrations::router(state.clone()));
    let t = TestApp::new(state.clone(), routes);
    let admin = person(&state, "boss@example.org", Role::Admin).await;
    let staff = person(&state, "staff@example.org", Role::Staff).await;
    let ada = person_with_username(&state, "ada@example.org", "Ada", Role::User).await;
    let bob = person_with_username(&state, "bob@example.org", "Bob", Role::User).await;
    T {
        t,
        prosody,
        atheme,
        admin,
        staff,
        ada,
        bob,
    }
}

impl T {
    /// `who`'s account on `integration`, made through their own route: its id.
    async fn account(&self, who: &Person, integration: &str) -> String {
        let body = match integration {
            "xmpp" => {
                let local = who.user.email.split('@').next().unwrap();
                json!({"username": local, "password": "chat-password-1"})
            }
            _ => json!({"password": "irc-password-1"}),
        };
        let res = self
            .send(
                "POST",
                &format!("/api/integrations/{integration}/accounts"),
                Some(who),
                Some(body),
            )
            .await;
        assert_eq!(res.status, 201, "{:?}", res.json());
        res.json()["account"]["id"].as_str().unwrap().to_string()
    }

    async fn admin_call(
        &self,
        method: &str,
        path: &str,
        who: &Person,
        body: Option<Value>,
    ) -> TestResponse {
        self.send(method, path, Some(who), body).await
    }
}

#[tokio::test]
async fn each_family_lists_its_accounts_newest_first_with_their_owner() {
    let t = setup().await;
    let ada_irc = t.account(&t.ada, "irc").await;
    let bob_irc = t.account(&t.bob, "irc").await;
    let ada_xmpp = t.account(&t.ada, "xmpp").await;
    let res = t.get("/api/admin/irc-accounts", &t.staff).await;
    assert_eq!(res.status, 200);
    let body = res.json();
    let rows = body["ircAccounts"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], json!(bob_irc));
    assert_eq!(rows[1]["id"], json!(ada_irc));
    assert_eq!(
        rows[1]["user"],
        json!({"id": t.ada.user.id, "email": "ada@example.org", "name": "ada"})
    );
    assert_eq!(rows[1]["data"]["nick"], "Ada");
    assert_eq!(
        body["pagination"],
        json!({"total": 2, "limit": 50, "offset": 0, "hasMore": false})
    );
    let xmpp = t.get("/api/admin/xmpp-accounts", &t.admin).await.json();
    assert_eq!(xmpp["xmppAccounts"][0]["id"], json!(ada_xmpp));
    assert_eq!(xmpp["xmppAccounts"].as_array().unwrap().len(), 1);
    // By owner, by status, page by page.
    let mine = t
        .get(
            &format!("/api/admin/irc-accounts?userId={}", t.ada.user.id),
            &t.admin,
        )
        .await
        .json();
    assert_eq!(mine["ircAccounts"].as_array().unwrap().len(), 1);
    assert_eq!(mine["ircAccounts"][0]["id"], json!(ada_irc));
    assert_eq!(mine["pagination"]["total"], 1);
    let first = t
        .get("/api/admin/irc-accounts?limit=1", &t.admin)
        .await
        .json();
    assert_eq!(first["ircAccounts"][0]["id"], json!(bob_irc));
    assert_eq!(first["pagination"]["hasMore"], true);
    assert_eq!(
        first["pagination"]["total"], 2,
        "the total is the set's, not the page's"
    );
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = t
        .get(
            &format!("/api/admin/irc-accounts?limit=1&cursor={cursor}"),
            &t.admin,
        )
        .await
        .json();
    assert_eq!(second["ircAccounts"][0]["id"], json!(ada_irc));
    assert!(second.get("nextCursor").is_none());
    let res = t
        .admin_call(
            "PATCH",
            &format!("/api/admin/irc-accounts/{bob_irc}"),
            &t.admin,
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(res.status, 200);
    let suspended = t
        .get("/api/admin/irc-accounts?status=suspended", &t.admin)
        .await
        .json();
    assert_eq!(suspended["ircAccounts"].as_array().unwrap().len(), 1);
    assert_eq!(suspended["ircAccounts"][0]["id"], json!(bob_irc));
    assert_eq!(suspended["pagination"]["total"], 1);
    let active = t
        .get("/api/admin/irc-accounts?status=active", &t.admin)
        .await
        .json();
    assert_eq!(active["ircAccounts"][0]["id"], json!(ada_irc));
    assert_eq!(active["pagination"]["total"], 1);
    let all = t.get("/api/admin/irc-accounts", &t.admin).await.json();
    assert_eq!(all["pagination"]["total"], 2);
    // Guards and bad queries.
    assert_eq!(
        t.send("GET", "/api/admin/irc-accounts", None, None)
            .await
            .status,
        401
    );
    let res = t.get("/api/admin/irc-accounts", &t.ada).await;
    assert_eq!(res.status, 403);
    for query in ["status=gone", "limit=0", "cursor=forged"] {
        let res = t
            .get(&format!("/api/admin/irc-accounts?{query}"), &t.admin)
            .await;
        assert_eq!(res.status, 400, "{query}");
        assert_eq!(res.json()["ok"], false);
    }
}

#[tokio::test]
async fn one_account_is_read_changed_and_deleted_on_the_service() {
    let t = setup().await;
    let id = t.account(&t.ada, "irc").await;
    let path = format!("/api/admin/irc-accounts/{id}");
    let res = t.get(&path, &t.staff).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["ircAccount"]["id"], json!(id));
    assert_eq!(res.json()["ircAccount"]["user"]["email"], "ada@example.org");
    // The same id under another family, or no such id: 404.
    for other in [
        format!("/api/admin/xmpp-accounts/{id}"),
        "/api/admin/irc-accounts/nope".to_string(),
    ] {
        let res = t.get(&other, &t.admin).await;
        assert_eq!(res.status, 404);
        assert_eq!(res.json(), envelope("Integration account not found"));
    }
    // Suspension is enforced on the service; notes are Portal's alone.
    let res = t
        .admin_call(
            "PATCH",
            &path,
            &t.staff,
            Some(json!({"status": "suspended", "metadata": {"ticket": 42}})),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.json());
    let account = &res.json()["ircAccount"];
    assert_eq!(account["status"], "suspended");
    assert_eq!(account["suspendedByBan"], false);
    assert_eq!(account["metadata"], json!({"ticket": 42}));
    assert!(t.atheme.nick("ada").unwrap().frozen);
    // The owner sees the suspension, never the moderators' notes.
    let own = format!("/api/integrations/irc/accounts/{id}");
    let mine = t.get(&own, &t.ada).await.json();
    assert_eq!(mine["account"]["status"], "suspended");
    assert!(mine["account"].get("metadata").is_none(), "{mine}");
    let listed = t.get("/api/integrations/irc/accounts", &t.ada).await.json();
    assert!(listed["accounts"][0].get("metadata").is_none(), "{listed}");
    // Bad bodies.
    for (body, at) in [
        (json!({"status": "banned"}), "status"),
        (json!({"metadata": "text"}), "metadata"),
        (json!({"metadata": {"x": "y".repeat(5000)}}), "metadata"),
    ] {
        let res = t
            .admin_call("PATCH", &path, &t.admin, Some(body.clone()))
            .await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(
            res.json()["details"]["issues"][0]["path"],
            json!([at]),
            "{body}"
        );
    }
    // The service failing: 502 and nothing changes.
    t.atheme.set_mode(AthemeMode::FaultOn("FREEZE", 16));
    let res = t
        .admin_call("PATCH", &path, &t.admin, Some(json!({"status": "active"})))
        .await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), envelope("IRC services failed (fault 16)"));
    assert_eq!(
        t.get(&path, &t.admin).await.json()["ircAccount"]["status"],
        "suspended"
    );
    t.atheme.set_mode(AthemeMode::FaultOn("FDROP", 16));
    let res = t.admin_call("DELETE", &path, &t.admin, None).await;
    assert_eq!(res.status, 502);
    assert!(t.atheme.nick("ada").is_some());
    t.atheme.set_mode(AthemeMode::Normal);
    // Deleted on the service, kept here as deleted.
    let res = t.admin_call("DELETE", &path, &t.admin, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"ok": true}));
    assert!(t.atheme.nick("ada").is_none());
    let kept = t.get(&path, &t.admin).await.json();
    assert_eq!(kept["ircAccount"]["status"], "deleted");
    let deleted = t
        .get("/api/admin/irc-accounts?status=deleted", &t.admin)
        .await
        .json();
    assert_eq!(deleted["ircAccounts"].as_array().unwrap().len(), 1);
    // The counters moved with every change (suspended, then deleted): they agree with
    // the accounts themselves.
    assert_eq!(deleted["pagination"]["total"], 1);
    for status in ["active", "suspended", "pending"] {
        let page = t
            .get(
                &format!("/api/admin/irc-accounts?status={status}"),
                &t.admin,
            )
            .await
            .json();
        assert_eq!(
            page["pagination"]["total"],
            page["ircAccounts"].as_array().unwrap().len(),
            "{status}"
        );
    }
    for (method, body) in [
        ("PATCH", Some(json!({"status": "active"}))),
        ("DELETE", None),
    ] {
        let res = t.admin_call(method, &path, &t.admin, body).await;
        assert_eq!(res.status, 409, "{method}");
        assert_eq!(res.json(), envelope("The account is deleted"));
    }
}

#[tokio::test]
async fn staff_act_only_on_regular_users_accounts() {
    let t = setup().await;
    let admins = t.account(&t.admin, "xmpp").await;
    let path = format!("/api/admin/xmpp-accounts/{admins}");
    for (method, body) in [
        ("PATCH", Some(json!({"status": "suspended"}))),
        ("DELETE", None),
    ] {
        let res = t.admin_call(method, &path, &t.staff, body).await;
        assert_eq!(res.status, 403, "{method}");
        assert_eq!(res.json()["ok"], false);
    }
    assert!(t.prosody.users().contains_key("boss"));
    // Reading is allowed.
    assert_eq!(t.get(&path, &t.staff).await.status, 200);
}

#[tokio::test]
async fn a_ban_suspends_service_accounts_and_lifting_it_restores_only_those() {
    let t = setup().await;
    let irc = t.account(&t.ada, "irc").await;
    let xmpp = t.account(&t.ada, "xmpp").await;
    // A moderator suspended the XMPP account on its own before the ban.
    let res = t
        .admin_call(
            "PATCH",
            &format!("/api/admin/xmpp-accounts/{xmpp}"),
            &t.admin,
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(res.status, 200);
    let user = format!("/api/admin/users/{}", t.ada.user.id);
    let res = t
        .admin_call("PATCH", &user, &t.admin, Some(json!({"banned": true})))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.json());
    assert_eq!(
        res.json()["serviceAccounts"],
        json!([{"integration": "irc", "accountId": irc, "status": "suspended"}])
    );
    assert!(t.atheme.nick("ada").unwrap().frozen);
    let row = t
        .get(&format!("/api/admin/irc-accounts/{irc}"), &t.admin)
        .await
        .json();
    assert_eq!(row["ircAccount"]["suspendedByBan"], true);
    // Lifting the ban thaws the nick; the moderator's suspension stays.
    let res = t
        .admin_call("PATCH", &user, &t.admin, Some(json!({"banned": false})))
        .await;
    assert_eq!(
        res.json()["serviceAccounts"],
        json!([{"integration": "irc", "accountId": irc, "status": "active"}])
    );
    assert!(!t.atheme.nick("ada").unwrap().frozen);
    let row = t
        .get(&format!("/api/admin/xmpp-accounts/{xmpp}"), &t.admin)
        .await
        .json();
    assert_eq!(row["xmppAccount"]["status"], "suspended");
}

#[tokio::test]
async fn a_ban_holds_when_a_service_fails_and_reconcile_finishes_the_job() {
    let t = setup().await;
    let irc = t.account(&t.ada, "irc").await;
    t.atheme.set_mode(AthemeMode::Http(503));
    let user = format!("/api/admin/users/{}", t.ada.user.id);
    let res = t
        .admin_call("PATCH", &user, &t.admin, Some(json!({"banned": true})))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["user"]["banned"], true);
    assert_eq!(
        res.json()["serviceAccounts"],
        json!([{"integration": "irc", "accountId": irc, "status": "active", "error": "IRC services failed (status 503)"}])
    );
    assert!(
        !t.atheme.nick("ada").unwrap().frozen,
        "both sides still agree"
    );
    t.atheme.set_mode(AthemeMode::Normal);
    let irc_service = t.state.integrations.get("irc").unwrap();
    let operator = Provenance::operator(365);
    let drift = reconcile(&t.state.db, irc_service.as_ref(), &operator, false, None)
        .await
        .unwrap();
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].kind, "banned_but_active");
    assert!(!drift[0].fixed);
    let drift = reconcile(&t.state.db, irc_service.as_ref(), &operator, true, None)
        .await
        .unwrap();
    assert!(drift[0].fixed);
    assert!(t.atheme.nick("ada").unwrap().frozen);
    assert!(
        reconcile(&t.state.db, irc_service.as_ref(), &operator, false, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn reconcile_reports_and_repairs_drift_both_ways() {
    let t = setup().await;
    let ada = t.account(&t.ada, "xmpp").await;
    t.account(&t.bob, "xmpp").await;
    // Gone from the server behind Portal's back; one Portal never made.
    t.prosody.remove_user("ada");
    t.prosody.add_user("stranger", "pw");
    let xmpp = t.state.integrations.get("xmpp").unwrap();
    let operator = Provenance::operator(365);
    let drift = reconcile(&t.state.db, xmpp.as_ref(), &operator, false, None)
        .await
        .unwrap();
    let kinds: Vec<_> = drift
        .iter()
        .map(|d| (d.kind, d.username.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("missing_upstream", "ada"),
            ("unknown_to_portal", "stranger")
        ]
    );
    let drift = reconcile(&t.state.db, xmpp.as_ref(), &operator, true, None)
        .await
        .unwrap();
    assert!(drift[0].fixed);
    assert!(
        !drift[1].fixed,
        "an account Portal did not make is only reported"
    );
    let kept = t
        .state
        .db
        .integration_accounts()
        .get(&ada)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, "deleted");
    assert_eq!(
        reconcile(&t.state.db, xmpp.as_ref(), &operator, false, None)
            .await
            .unwrap()
            .len(),
        1
    );
    // The service down: an error, nothing changed.
    t.prosody.set_mode(Mode::Fail(500));
    let err = reconcile(&t.state.db, xmpp.as_ref(), &operator, true, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "XMPP server failed (status 500)");
}

#[tokio::test]
async fn admin_search_finds_users_by_nick_and_jid_and_expand_shows_their_accounts() {
    let t = setup().await;
    t.account(&t.ada, "irc").await;
    let res = t
        .send(
            "POST",
            "/api/integrations/xmpp/accounts",
            Some(&t.bob),
            Some(json!({"username": "robert.chat"})),
        )
        .await;
    assert_eq!(res.status, 201);
    for (q, who) in [
        ("ada", &t.ada),
        ("robert.chat@chat.example.org", &t.bob),
        ("ROBERT.CHAT", &t.bob),
    ] {
        let found = t
            .get(&format!("/api/admin/users?search={q}"), &t.admin)
            .await
            .json();
        let ids: Vec<_> = found["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].clone())
            .collect();
        assert!(ids.contains(&json!(who.user.id)), "{q}: {found}");
    }
    let user = t
        .get(
            &format!("/api/admin/users/{}?expand=integrations", t.ada.user.id),
            &t.staff,
        )
        .await
        .json();
    let integrations = &user["user"]["integrations"];
    assert_eq!(integrations["xmpp"], Value::Null);
    assert_eq!(integrations["irc"]["data"]["nick"], "Ada");
    let plain = t
        .get(&format!("/api/admin/users/{}", t.ada.user.id), &t.staff)
        .await
        .json();
    assert!(plain["user"].get("integrations").is_none());
    let res = t
        .get(
            &format!("/api/admin/users/{}?expand=everything", t.ada.user.id),
            &t.staff,
        )
        .await;
    assert_eq!(res.status, 400);
}

#[tokio::test]
async fn portals_user_sheet_and_admin_table_read_each_services_account_at_the_top() {
    let t = setup().await;
    t.account(&t.ada, "irc").await;
    t.account(&t.ada, "xmpp").await;
    t.account(&t.bob, "irc").await;
    // fetchUserById: `user`, and `xmppAccount` ... `mediawikiAccount` (null where none).
    let sheet = t
        .get(&format!("/api/admin/users/{}", t.ada.user.id), &t.staff)
        .await
        .json();
    assert_eq!(sheet["user"]["email"], "ada@example.org");
    assert_eq!(sheet["ircAccount"]["nick"], "Ada");
    assert_eq!(sheet["ircAccount"]["userId"], t.ada.user.id.as_str());
    assert!(sheet["ircAccount"]["port"].is_u64());
    assert!(sheet["ircAccount"]["server"].is_string());
    assert_eq!(sheet["xmppAccount"]["jid"], "ada@chat.example.org");
    assert_eq!(sheet["xmppAccount"]["username"], "ada");
    assert_eq!(sheet["mailcowAccount"], Value::Null);
    assert_eq!(sheet["mediawikiAccount"], Value::Null);
    // fetchUsers({expandIntegrations}): each row carries them; without it, none do.
    let rows = t
        .get("/api/admin/users?expand=integrations&limit=10", &t.admin)
        .await
        .json();
    let row = |who: &Person| {
        rows["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == who.user.id.as_str())
            .cloned()
            .unwrap()
    };
    let ada = row(&t.ada);
    assert_eq!(ada["ircAccount"]["nick"], "Ada");
    assert_eq!(ada["ircAccount"]["status"], "active");
    assert_eq!(ada["xmppAccount"]["jid"], "ada@chat.example.org");
    assert_eq!(ada["xmppAccount"]["status"], "active");
    assert_eq!(ada["mailcowAccount"], Value::Null);
    let bob = row(&t.bob);
    assert_eq!(bob["ircAccount"]["nick"], "Bob");
    assert_eq!(bob["xmppAccount"], Value::Null);
    assert_eq!(row(&t.staff)["ircAccount"], Value::Null);
    assert!(rows["pagination"]["total"].is_u64());
    let plain = t.get("/api/admin/users?limit=10", &t.admin).await.json();
    assert!(plain["users"][0].get("ircAccount").is_none());
    let res = t.get("/api/admin/users?expand=all", &t.admin).await;
    assert_eq!(res.status, 400);
}
