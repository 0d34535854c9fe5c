//! `/api/integrations/*` against a fake Prosody admin API over real HTTP.

use portal_testkit::Sections;
use std::time::Duration;

use portal_domain::Config;
use portal_domain::model::Role;
use portal_domain::store::integration_accounts::Account;
use portal_testkit::{
    FakeProsody, Mode, PROSODY_TOKEN, Person, TestApp, TestResponse, call, envelope, person,
    test_state,
};
use serde_json::{Value, json};

const DOMAIN: &str = "chat.example.org";

struct T {
    t: TestApp,
    prosody: FakeProsody,
    ada: Person,
    bob: Person,
    admin: Person,
}

fn configure(c: &mut Config, prosody: &FakeProsody) {
    c.rate_limits.enabled = false;
    c.services_mut().prosody.rest_url = Some(url::Url::parse(&prosody.url()).unwrap());
    c.services_mut().prosody.rest_token = Some(PROSODY_TOKEN.into());
    c.services_mut().prosody.xmpp_domain = Some(DOMAIN.into());
}

async fn setup(adjust: impl FnOnce(&mut Config)) -> T {
    let prosody = FakeProsody::start().await;
    let state = test_state(|c| {
        configure(c, &prosody);
        adjust(c);
    })
    .await;
    let t = TestApp::new(state.clone(), portal_integrations::router(state.clone()));
    let ada = person(&state, "ada@example.org", Role::User).await;
    let bob = person(&state, "bob@example.org", Role::User).await;
    let admin = person(&state, "admin@example.org", Role::Admin).await;
    T {
        t,
        prosody,
        ada,
        bob,
        admin,
    }
}

impl std::ops::Deref for T {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.t
    }
}

impl T {
    async fn send(
        &self,
        method: &str,
        path: &str,
        who: Option<&Person>,
        body: Option<&str>,
    ) -> TestResponse {
        self.t.send_text(method, path, who, body).await
    }

    async fn create(&self, who: &Person, body: Value) -> TestResponse {
        self.send(
            "POST",
            "/api/integrations/xmpp/accounts",
            Some(who),
            Some(&body.to_string()),
        )
        .await
    }
}

#[tokio::test]
async fn the_registry_lists_xmpp_enabled_when_configured() {
    let t = setup(|_| {}).await;
    let res = t.send("GET", "/api/integrations", Some(&t.ada), None).await;
    let body = res.json();
    assert_eq!(
        body["integrations"][0],
        json!({"id": "xmpp", "name": "XMPP", "description": "A chat account (Jabber/XMPP) on the community server", "enabled": true, "icon": "message-circle"})
    );
    // The others are listed, disabled, until configured.
    let others: Vec<_> = body["integrations"].as_array().unwrap()[1..]
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["enabled"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        others,
        vec![("irc", false), ("mailcow", false), ("mediawiki", false)]
    );
    assert_eq!(
        t.send("GET", "/api/integrations", None, None).await.status,
        401
    );
}

#[tokio::test]
async fn unconfigured_xmpp_is_listed_disabled_and_refused() {
    let t = setup(|c| c.services_mut().prosody.rest_token = None).await;
    let res = t.send("GET", "/api/integrations", Some(&t.ada), None).await;
    assert_eq!(res.json()["integrations"][0]["enabled"], false);
    let res = t.create(&t.ada, json!({"username": "ada"})).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), envelope("Integration is disabled"));
    let res = t
        .send(
            "GET",
            "/api/integrations/gopher/accounts",
            Some(&t.ada),
            None,
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), envelope("Unknown integration"));
}

#[tokio::test]
async fn creating_an_account_provisions_it_on_prosody() {
    let t = setup(|_| {}).await;
    let res = t
        .create(
            &t.ada,
            json!({"username": "Ada@chat.example.org", "password": "xmpp-password-1"}),
        )
        .await;
    assert_eq!(res.status, 201);
    let body = res.json();
    assert_eq!(body["ok"], true);
    assert!(body.get("temporaryPassword").is_none());
    let account = &body["account"];
    assert_eq!(
        account["data"],
        json!({"username": "ada", "jid": "ada@chat.example.org"})
    );
    assert_eq!(account["status"], "active");
    assert_eq!(account["integrationId"], "xmpp");
    assert_eq!(account["userId"], t.ada.user.id.as_str());
    assert_eq!(
        t.prosody.users().get("ada").map(String::as_str),
        Some("xmpp-password-1")
    );
    let dump = format!(
        "{:?}",
        t.state
            .db
            .client()
            .scan()
            .table_name(t.state.db.table())
            .send()
            .await
            .unwrap()
            .items
    );
    assert!(
        !dump.contains("xmpp-password-1"),
        "passwords are never stored"
    );

    let list = t
        .send("GET", "/api/integrations/xmpp/accounts", Some(&t.ada), None)
        .await
        .json();
    assert_eq!(list["accounts"], json!([account]));
    let theirs = t
        .send("GET", "/api/integrations/xmpp/accounts", Some(&t.bob), None)
        .await
        .json();
    assert_eq!(theirs, json!({"ok": true, "accounts": [], "account": null}));
}

#[tokio::test]
async fn without_a_password_a_temporary_one_is_returned_once() {
    let t = setup(|_| {}).await;
    let res = t.create(&t.ada, json!({"username": "ada"})).await;
    assert_eq!(res.status, 201);
    let temporary = res.json()["temporaryPassword"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(temporary.len(), 24);
    assert_eq!(t.prosody.users()["ada"], temporary);
    let id = res.json()["account"]["id"].as_str().unwrap().to_string();
    let again = t
        .send(
            "GET",
            &format!("/api/integrations/xmpp/accounts/{id}"),
            Some(&t.ada),
            None,
        )
        .await;
    assert!(!String::from_utf8_lossy(&again.body).contains(&temporary));
}

#[tokio::test]
async fn bad_bodies_are_validation_errors_and_write_nothing() {
    let t = setup(|_| {}).await;
    let cases = [
        (
            json!({"username": "-ada"}),
            "Validation error: Username may contain letters, digits, _ - . and must start with a letter or digit at \"username\"",
        ),
        (
            json!({"username": "ada lovelace"}),
            "Validation error: Username may contain letters, digits, _ - . and must start with a letter or digit at \"username\"",
        ),
        (
            json!({"username": "ada@other.org"}),
            "Validation error: Username must be a localpart or localpart@chat.example.org at \"username\"",
        ),
        (
            json!({"username": "a".repeat(65)}),
            "Validation error: Username must contain at most 64 character(s) at \"username\"",
        ),
        (
            json!({"username": "ada", "password": "short"}),
            "Validation error: Password must contain at least 8 character(s) at \"password\"",
        ),
        (
            json!({"username": 5}),
            "Validation error: Expected string, received number at \"username\"",
        ),
    ];
    for (body, message) in cases {
        let res = t.create(&t.ada, body.clone()).await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(res.json()["error"], message, "{body}");
        assert!(res.json()["details"]["issues"].is_array());
    }
    // No name given, and Ada has no Portal username to take.
    let res = t.create(&t.ada, json!({})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        envelope("Set your username in account settings before creating an XMPP account")
    );
    let res = t
        .send(
            "POST",
            "/api/integrations/xmpp/accounts",
            Some(&t.ada),
            Some("{not json"),
        )
        .await;
    assert_eq!(res.json(), envelope("Invalid JSON body"));
    assert_eq!(t.integration_items().await, 0);
    assert!(t.prosody.calls().is_empty(), "nothing reached Prosody");
}

#[tokio::test]
async fn one_account_per_user_and_one_user_per_name() {
    let t = setup(|_| {}).await;
    assert_eq!(
        t.create(&t.ada, json!({"username": "ada"})).await.status,
        201
    );
    let res = t.create(&t.ada, json!({"username": "ada2"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(
        res.json(),
        envelope("You already have an account on this integration")
    );
    let res = t.create(&t.bob, json!({"username": "ADA"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Username already taken"));
    t.prosody.add_user("bob", "made-on-the-server");
    let res = t.create(&t.bob, json!({"username": "bob"})).await;
    assert_eq!(res.status, 409, "taken upstream");
    assert_eq!(res.json(), envelope("Username already taken"));
    assert_eq!(t.prosody.users()["bob"], "made-on-the-server", "untouched");
    assert_eq!(
        t.integration_items().await,
        3,
        "only Ada's account and its two claims"
    );
    assert_eq!(
        t.create(&t.bob, json!({"username": "bobby"})).await.status,
        201,
        "the reservation was released"
    );
}

#[tokio::test]
async fn upstream_failures_are_502_and_leave_nothing_behind() {
    let t = setup(|c| c.services_mut().prosody.timeout = Duration::from_millis(300)).await;
    let cases = [
        (Mode::Fail(500), "XMPP server failed (status 500)"),
        (Mode::Fail(401), "XMPP server refused Portal's credentials"),
        (Mode::FailOn("PUT", 503), "XMPP server failed (status 503)"),
        (
            Mode::Hang(Duration::from_secs(3)),
            "XMPP server did not answer in time",
        ),
    ];
    for (mode, message) in cases {
        t.prosody.set_mode(mode);
        let res = t.create(&t.ada, json!({"username": "ada"})).await;
        assert_eq!(res.status, 502, "{mode:?}");
        assert_eq!(res.json(), envelope(message), "{mode:?}");
        // Counted once for the UpstreamFailures metric, under the integration's id.
        assert_eq!(res.upstream_failures, vec!["xmpp"], "{mode:?}");
        assert_eq!(
            t.integration_items().await,
            0,
            "{mode:?}: reservation released"
        );
    }
    t.prosody.set_mode(Mode::Normal);
    assert!(t.prosody.users().is_empty());
    let res = t.create(&t.ada, json!({"username": "ada"})).await;
    assert_eq!(res.status, 201, "works once Prosody is back");
    assert!(res.upstream_failures.is_empty());
}

#[tokio::test]
async fn an_unreachable_server_is_502() {
    let port = portal_testkit::closed_port();
    let t = setup(|c| {
        c.services_mut().prosody.rest_url =
            Some(url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap())
    })
    .await;
    let res = t.create(&t.ada, json!({"username": "ada"})).await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), envelope("XMPP server could not be reached"));
    assert_eq!(res.upstream_failures, vec!["xmpp"]);
    assert_eq!(t.integration_items().await, 0);
}

#[tokio::test]
async fn when_our_write_fails_after_prosody_created_the_account_it_is_deleted_there() {
    let t = setup(|_| {}).await;
    // Between Prosody's create and Portal's own write, the reservation disappears (as if
    // the table write failed): Portal must undo the upstream account.
    let db = t.state.db.clone();
    let user_id = t.ada.user.id.clone();
    t.prosody.on_create(move |_| {
        let db = db.clone();
        let user_id = user_id.clone();
        async move {
            for account in db
                .integration_accounts()
                .all_of_user(&user_id)
                .await
                .unwrap()
            {
                db.integration_accounts()
                    .release(&account, None, None)
                    .await
                    .unwrap();
            }
        }
    });
    let res = t.create(&t.ada, json!({"username": "ada"})).await;
    assert_eq!(res.status, 500);
    assert_eq!(res.json(), envelope("Internal server error"));
    assert!(
        t.prosody.users().is_empty(),
        "the upstream account was rolled back"
    );
    let methods: Vec<String> = t.prosody.calls().into_iter().map(|(m, _)| m).collect();
    assert_eq!(methods, vec!["GET", "PUT", "DELETE"]);
    assert_eq!(t.integration_items().await, 0);
}

#[tokio::test]
async fn twenty_users_racing_for_one_name_get_one_account() {
    let t = setup(|_| {}).await;
    let mut racers = Vec::new();
    for i in 0..20 {
        racers.push(person(&t.state, &format!("racer{i}@example.org"), Role::User).await);
    }
    let attempts = racers
        .iter()
        .map(|p| t.create(p, json!({"username": "popular"})));
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.status == 201).count(), 1);
    assert_eq!(results.iter().filter(|r| r.status == 409).count(), 19);
    assert!(
        results
            .iter()
            .filter(|r| r.status == 409)
            .all(|r| r.json() == envelope("Username already taken"))
    );
    assert_eq!(t.prosody.users().len(), 1);
    assert_eq!(t.count_items("INTEGACCT#").await, 1);
}

#[tokio::test]
async fn owners_and_admins_reach_an_account_others_do_not() {
    let t = setup(|_| {}).await;
    let id = t.create(&t.ada, json!({"username": "ada"})).await.json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/integrations/xmpp/accounts/{id}");
    assert_eq!(t.send("GET", &path, Some(&t.ada), None).await.status, 200);
    assert_eq!(t.send("GET", &path, Some(&t.admin), None).await.status, 200);
    for (method, body, refusal) in [
        ("GET", None, "Forbidden - Access denied"),
        (
            "PATCH",
            Some("{\"password\":\"bobs-password\"}"),
            "Forbidden - Access denied",
        ),
        (
            "PATCH",
            Some("{\"status\":\"suspended\"}"),
            "Forbidden - Admin or Staff access required",
        ),
        ("DELETE", None, "Forbidden - Access denied"),
    ] {
        let res = t.send(method, &path, Some(&t.bob), body).await;
        assert_eq!(res.status, 403, "{method}");
        assert_eq!(res.json(), envelope(refusal));
    }
    let res = t
        .send(
            "GET",
            "/api/integrations/xmpp/accounts/nope",
            Some(&t.ada),
            None,
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), envelope("Integration account not found"));
    let res = t
        .send(
            "GET",
            &format!("/api/integrations/xmpp/accounts/{}", "x".repeat(129)),
            Some(&t.ada),
            None,
        )
        .await;
    assert_eq!(res.json(), envelope("Invalid id format"));
    assert_eq!(t.send("GET", &path, None, None).await.status, 401);
}

#[tokio::test]
async fn updates_reset_the_password_upstream_and_record_the_status() {
    let t = setup(|_| {}).await;
    let id = t
        .create(
            &t.ada,
            json!({"username": "ada", "password": "first-password"}),
        )
        .await
        .json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/integrations/xmpp/accounts/{id}");
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.ada),
            Some("{\"password\":\"second-password\"}"),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(t.prosody.users()["ada"], "second-password");
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some("{\"status\":\"suspended\"}"),
        )
        .await;
    assert_eq!(res.json()["account"]["status"], "suspended");
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some("{\"status\":\"frozen\"}"),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["error"],
        "Validation error: Invalid enum value. Expected 'active' | 'suspended', received 'frozen' at \"status\""
    );
    t.prosody.set_mode(Mode::Fail(500));
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some("{\"password\":\"third-password\",\"status\":\"active\"}"),
        )
        .await;
    assert_eq!(res.status, 502);
    let stored = t
        .state
        .db
        .integration_accounts()
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status, "suspended",
        "nothing recorded when upstream failed"
    );
}

#[tokio::test]
async fn deleting_removes_the_account_upstream_first() {
    let t = setup(|_| {}).await;
    let id = t.create(&t.ada, json!({"username": "ada"})).await.json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/integrations/xmpp/accounts/{id}");
    t.prosody.set_mode(Mode::FailOn("DELETE", 500));
    let res = t.send("DELETE", &path, Some(&t.ada), None).await;
    assert_eq!(res.status, 502);
    assert_eq!(
        t.integration_items().await,
        3,
        "kept while Prosody still has it"
    );
    t.prosody.set_mode(Mode::Normal);
    let res = t.send("DELETE", &path, Some(&t.ada), None).await;
    assert_eq!(res.json(), json!({"ok": true}));
    assert!(t.prosody.users().is_empty());
    // Kept for the record (status deleted), the owner's claim freed, the name cooling
    // for its former owner.
    assert_eq!(t.integration_items().await, 2);
    assert_eq!(
        t.state
            .db
            .integration_accounts()
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .status,
        "deleted"
    );

    // Already gone upstream (404 there): still deleted here.
    let id = t.create(&t.ada, json!({"username": "ada"})).await.json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.prosody.remove_user("ada");
    let res = t
        .send(
            "DELETE",
            &format!("/api/integrations/xmpp/accounts/{id}"),
            Some(&t.ada),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        t.integration_items().await,
        3,
        "two deleted records and the name cooling, no other claim"
    );
    let res = t
        .send(
            "DELETE",
            &format!("/api/integrations/xmpp/accounts/{id}"),
            Some(&t.ada),
            None,
        )
        .await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn a_wrong_admin_token_is_a_502_naming_the_credentials() {
    let t = setup(|c| c.services_mut().prosody.rest_token = Some("not-the-token".into())).await;
    let res = t.create(&t.ada, json!({"username": "ada"})).await;
    assert_eq!(res.status, 502);
    assert_eq!(
        res.json(),
        envelope("XMPP server refused Portal's credentials")
    );
    assert_eq!(t.integration_items().await, 0);
}

#[tokio::test]
async fn only_admins_and_staff_suspend_and_a_suspended_account_cannot_sign_in_upstream() {
    let t = setup(|_| {}).await;
    let staff = person(&t.state, "staff@example.org", Role::Staff).await;
    let id = t
        .create(
            &t.ada,
            json!({"username": "ada", "password": "ada-password-1"}),
        )
        .await
        .json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/integrations/xmpp/accounts/{id}");
    let suspend = "{\"status\":\"suspended\"}";

    // The owner cannot suspend or reactivate their own account.
    for body in [suspend, "{\"status\":\"active\"}"] {
        let res = t.send("PATCH", &path, Some(&t.ada), Some(body)).await;
        assert_eq!(res.status, 403, "{body}");
        assert_eq!(
            res.json(),
            envelope("Forbidden - Admin or Staff access required")
        );
    }
    assert_eq!(t.prosody.users()["ada"], "ada-password-1");

    // Staff may suspend a regular user's account: the password upstream is replaced.
    let res = t.send("PATCH", &path, Some(&staff), Some(suspend)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["account"]["status"], "suspended");
    let locked = t.prosody.users()["ada"].clone();
    assert_ne!(
        locked, "ada-password-1",
        "the old password no longer signs in"
    );
    assert!(locked.len() >= 32);

    // While suspended, nobody sets a password without reactivating.
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.ada),
            Some("{\"password\":\"sneaky-password\"}"),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        envelope(
            "Forbidden - the account is suspended; an admin or staff member can reactivate it"
        )
    );
    assert_eq!(t.prosody.users()["ada"], locked);

    // An admin reactivates it with a new password: it signs in again upstream.
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some("{\"status\":\"active\",\"password\":\"fresh-password-2\"}"),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["account"]["status"], "active");
    assert_eq!(t.prosody.users()["ada"], "fresh-password-2");

    // Staff may not suspend an admin's account.
    let admins = t.create(&t.admin, json!({"username": "boss"})).await.json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .send(
            "PATCH",
            &format!("/api/integrations/xmpp/accounts/{admins}"),
            Some(&staff),
            Some(suspend),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), envelope("Forbidden - Admin access required"));
}

#[tokio::test]
async fn bodies_must_be_json_and_cookie_writes_need_a_trusted_origin() {
    let t = setup(|_| {}).await;
    let request = |origin: Option<&str>, content_type: &str| {
        let mut b = axum::http::Request::builder()
            .method("POST")
            .uri("/api/integrations/xmpp/accounts")
            .header("cookie", &t.ada.cookie)
            .header("content-type", content_type);
        if let Some(origin) = origin {
            b = b.header("origin", origin);
        }
        b.body(axum::body::Body::from(r#"{"username":"ada"}"#))
            .unwrap()
    };
    let res = call(&t.t.app, request(None, "application/json")).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), envelope("Forbidden - missing or null Origin"));
    let res = call(
        &t.t.app,
        request(Some("https://evil.example"), "application/json"),
    )
    .await;
    assert_eq!(res.json(), envelope("Forbidden - invalid origin"));
    let res = call(
        &t.t.app,
        request(Some(portal_testkit::BROWSER_ORIGIN), "text/plain"),
    )
    .await;
    assert_eq!(res.status, 415);
    assert_eq!(res.json(), envelope("Unsupported media type"));
    assert!(t.prosody.users().is_empty());
    assert_eq!(t.integration_items().await, 0);
}

/// A reservation as a create leaves it when it dies between reserving and activating.
fn reservation(user: &Person, username: &str, minutes_ago: i64) -> Account {
    let at =
        portal_domain::time::iso(portal_domain::time::now() - time::Duration::minutes(minutes_ago));
    Account {
        id: portal_domain::crypto::new_id(),
        user_id: user.user.id.clone(),
        integration_id: "xmpp".into(),
        username: username.into(),
        data: json!({"username": username, "jid": format!("{username}@{DOMAIN}")}),
        status: "provisioning".into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: at.clone(),
        updated_at: at,
    }
}

#[tokio::test]
async fn a_create_that_died_mid_way_does_not_block_the_user_or_the_name_forever() {
    let t = setup(|_| {}).await;
    let accounts = t.state.db.integration_accounts();
    // Ada's earlier create reserved, then its function timed out before Prosody had it.
    accounts
        .reserve(
            &reservation(&t.ada, "ada", 10),
            portal_domain::store::integration_accounts::Taker::user(),
        )
        .await
        .unwrap();
    let res = t
        .create(
            &t.ada,
            json!({"username": "ada", "password": "ada-password-2"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["account"]["status"], "active");
    assert_eq!(t.prosody.users()["ada"], "ada-password-2");
    assert_eq!(
        t.integration_items().await,
        3,
        "one account, its two claims"
    );

    // Bob's died after Prosody created the name: the name stays taken (Portal cannot tell
    // that account from one it did not make), but Bob is not stuck: another name works.
    accounts
        .reserve(
            &reservation(&t.bob, "bobby", 10),
            portal_domain::store::integration_accounts::Taker::user(),
        )
        .await
        .unwrap();
    t.prosody.add_user("bobby", "orphan");
    let res = t.create(&t.bob, json!({"username": "bobby"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Username already taken"));
    assert_eq!(t.prosody.users()["bobby"], "orphan", "upstream left alone");
    let res = t.create(&t.bob, json!({"username": "bob2"})).await;
    assert_eq!(res.status, 201);

    // A reservation still within its lease is a create in progress: it still blocks.
    let carol = person(&t.state, "carol@example.org", Role::User).await;
    accounts
        .reserve(
            &reservation(&carol, "carol", 0),
            portal_domain::store::integration_accounts::Taker::user(),
        )
        .await
        .unwrap();
    let res = t.create(&carol, json!({"username": "another"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(
        res.json(),
        envelope("You already have an account on this integration")
    );
    let res = t.create(&t.admin, json!({"username": "carol"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Username already taken"));
}

#[tokio::test]
async fn a_hanging_prosody_cannot_hold_a_create_past_the_invocations_deadline() {
    let t = setup(|c| c.services_mut().prosody.timeout = Duration::from_secs(30)).await;
    t.prosody.set_mode(Mode::Hang(Duration::from_secs(20)));
    let mut context = lambda_http::Context::default();
    let now_ms = (portal_domain::time::now().unix_timestamp_nanos() / 1_000_000) as u64;
    context.deadline = now_ms + 3_000;
    let mut request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/integrations/xmpp/accounts")
        .header("cookie", &t.ada.cookie)
        .header("origin", portal_testkit::BROWSER_ORIGIN)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"username":"ada"}"#))
        .unwrap();
    request.extensions_mut().insert(context);
    let started = std::time::Instant::now();
    let res = call(&t.t.app, request).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(res.status, 502);
    assert_eq!(
        res.json(),
        envelope("XMPP did not answer before the request's deadline")
    );
    assert_eq!(
        t.integration_items().await,
        0,
        "the reservation was released in time"
    );
}

/// The audit actions recorded about `who`, newest first.
async fn audited(t: &T, who: &Person) -> Vec<(String, Value)> {
    let filter = portal_domain::store::audit::EventFilter {
        target: Some(who.user.id.clone()),
        ..Default::default()
    };
    let request = portal_domain::store::listing::PageRequest {
        limit: 50,
        ..Default::default()
    };
    let page = t.state.db.audit().list(&filter, &request).await.unwrap();
    page.items
        .into_iter()
        .map(|e| {
            let details = e.details_json().unwrap_or(Value::Null);
            (e.action, details)
        })
        .collect()
}

#[tokio::test]
async fn account_creation_changes_and_deletion_are_audited_without_the_password() {
    let t = setup(|_| {}).await;
    let res = t
        .create(
            &t.ada,
            json!({"username": "ada", "password": "upstream-secret-1"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let id = res.json()["account"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/integrations/xmpp/accounts/{id}");
    let body = json!({"password": "upstream-secret-2"}).to_string();
    let res = t.send("PATCH", &path, Some(&t.ada), Some(&body)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = t.send("DELETE", &path, Some(&t.ada), None).await;
    assert_eq!(res.status, 200);
    let events = audited(&t, &t.ada).await;
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "integration_account.deleted",
            "integration_account.changed",
            "integration_account.created"
        ]
    );
    assert_eq!(events[2].1["username"], "ada");
    assert_eq!(events[2].1["integration"], "xmpp");
    assert_eq!(events[1].1["passwordChanged"], true);
    let dump = t.table_dump().await;
    assert!(!dump.contains("upstream-secret-1") && !dump.contains("upstream-secret-2"));
    // A failed create records nothing: there was no change.
    t.prosody.set_mode(Mode::FailOn("PUT", 500));
    let res = t.create(&t.bob, json!({"username": "bob"})).await;
    assert_eq!(res.status, 502);
    assert!(audited(&t, &t.bob).await.is_empty());
}

#[tokio::test]
async fn an_xmpp_reset_sets_the_password_given_and_needs_one() {
    let t = setup(|_| {}).await;
    let id = t.create(&t.ada, json!({"username": "ada"})).await.json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/integrations/xmpp/accounts/{id}/reset-password");
    let res = t.send("POST", &path, Some(&t.ada), None).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["details"]["issues"][0]["path"],
        json!(["password"])
    );
    let res = t
        .send(
            "POST",
            &path,
            Some(&t.ada),
            Some(r#"{"password":"new-xmpp-pass"}"#),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"ok": true, "message": "XMPP password reset successfully"})
    );
    assert_eq!(
        t.prosody.users().get("ada").map(String::as_str),
        Some("new-xmpp-pass")
    );
    // Prosody down: 502, the password unchanged there.
    t.prosody.set_mode(Mode::Fail(500));
    let res = t
        .send(
            "POST",
            &path,
            Some(&t.ada),
            Some(r#"{"password":"other-pass-1"}"#),
        )
        .await;
    assert_eq!(res.status, 502);
    t.prosody.set_mode(Mode::Normal);
    assert_eq!(
        t.prosody.users().get("ada").map(String::as_str),
        Some("new-xmpp-pass")
    );
}
