//! The integration routes as an attacker would use them, with every service configured at
//! once (fake Prosody, Atheme, Mailcow and MediaWiki over real HTTP): a suspension its owner
//! cannot escape, and role-granted power that obeys the staff second-factor rule.

use portal_domain::Config;
use portal_domain::model::Role;
use portal_testkit::Sections;
use portal_testkit::{
    FakeAtheme, FakeMailcow, FakeMediaWiki, FakeProsody, Person, TestApp, TestResponse,
    api_key_for, envelope, person, person_with_username, test_state, with_second_factor,
};
use serde_json::{Value, json};

const TWO_FACTOR_REQUIRED: &str = "Two-factor authentication required";

struct Services {
    prosody: FakeProsody,
    atheme: FakeAtheme,
    mail: FakeMailcow,
    wiki: FakeMediaWiki,
}

struct T {
    t: TestApp,
    s: Services,
    mallory: Person,
    bob: Person,
    staff: Person,
    admin: Person,
}

impl std::ops::Deref for T {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.t
    }
}

async fn setup(adjust: impl FnOnce(&mut Config)) -> T {
    let s = Services {
        prosody: FakeProsody::start().await,
        atheme: FakeAtheme::start().await,
        mail: FakeMailcow::start().await,
        wiki: FakeMediaWiki::start().await,
    };
    let state = test_state(|c| {
        c.rate_limits.enabled = false;
        s.prosody.configure(c);
        s.atheme.configure(c);
        s.mail.configure(c);
        s.wiki.configure(c);
        adjust(c);
    })
    .await;
    let t = TestApp::new(state.clone(), portal_integrations::router(state.clone()));
    let mallory = person_with_username(&state, "mallory@example.org", "mallory", Role::User).await;
    let bob = person_with_username(&state, "bob@example.org", "bobby", Role::User).await;
    let staff = person(&state, "staff@example.org", Role::Staff).await;
    let admin = person(&state, "admin@example.org", Role::Admin).await;
    T {
        t,
        s,
        mallory,
        bob,
        staff,
        admin,
    }
}

/// What `who` asks for to get an account on each service (named after their username).
fn new_account(who: &Person, integration: &str) -> Value {
    match integration {
        "xmpp" => json!({"username": who.user.username, "password": "xmpp-password-1"}),
        "irc" => json!({"password": "irc-password-1"}),
        "mailcow" => json!({"password": "mail-password-1"}),
        _ => json!({"password": "wiki-password-1"}),
    }
}

impl T {
    async fn create(&self, who: &Person, integration: &str) -> TestResponse {
        let path = format!("/api/integrations/{integration}/accounts");
        self.send(
            "POST",
            &path,
            Some(who),
            Some(new_account(who, integration)),
        )
        .await
    }

    async fn created(&self, who: &Person, integration: &str) -> String {
        let res = self.create(who, integration).await;
        assert_eq!(res.status, 201, "{integration}: {}", res.text());
        res.json()["account"]["id"].as_str().unwrap().to_string()
    }

    /// Whether the service holds Mallory's account, and whether it is locked there.
    fn upstream(&self, integration: &str) -> Option<bool> {
        match integration {
            "xmpp" => self
                .s
                .prosody
                .users()
                .get("mallory")
                .map(|password| password != "xmpp-password-1"),
            "irc" => self.s.atheme.nick("mallory").map(|n| n.frozen),
            "mailcow" => self
                .s
                .mail
                .mailbox("mallory@mail.example.org")
                .map(|m| !m.active),
            _ => self.s.wiki.user("Mallory").map(|u| u.blocked),
        }
    }
}

const SUSPEND: &str = r#"{"status":"suspended"}"#;
const LIFT: &str = r#"{"status":"active"}"#;

#[tokio::test]
async fn a_suspension_survives_everything_its_owner_can_do_on_every_service() {
    let t = setup(|_| {}).await;
    for integration in ["xmpp", "irc", "mailcow", "mediawiki"] {
        let id = t.created(&t.mallory, integration).await;
        let path = format!("/api/integrations/{integration}/accounts/{id}");
        let res = t
            .send_text("PATCH", &path, Some(&t.staff), Some(SUSPEND))
            .await;
        assert_eq!(res.status, 200, "{integration}: {}", res.text());
        assert_eq!(t.upstream(integration), Some(true), "{integration}");

        // Deleting it, or making a new one in its place, would undo the suspension.
        let res = t.send("DELETE", &path, Some(&t.mallory), None).await;
        assert_eq!(res.status, 403, "{integration}");
        assert_eq!(
            res.json(),
            envelope(
                "Forbidden - a suspended account cannot be deleted by its owner; an admin or staff member can lift the suspension"
            )
        );
        let res = t.create(&t.mallory, integration).await;
        assert_eq!(res.status, 403, "{integration}: {}", res.text());
        assert_eq!(
            res.json(),
            envelope(
                "Forbidden - your account on this integration is suspended; an admin or staff member can lift the suspension"
            )
        );
        // The service still holds the account, locked.
        assert_eq!(t.upstream(integration), Some(true), "{integration}");
        let res = t.send("GET", &path, Some(&t.mallory), None).await;
        assert_eq!(res.json()["account"]["status"], "suspended");

        // Lifted by staff, both work again (the name goes back to its former owner at once).
        let res = t
            .send_text("PATCH", &path, Some(&t.staff), Some(LIFT))
            .await;
        assert_eq!(res.status, 200, "{integration}: {}", res.text());
        let res = t.send("DELETE", &path, Some(&t.mallory), None).await;
        assert_eq!(res.status, 200, "{integration}: {}", res.text());
        if integration == "mediawiki" {
            // A wiki account is never removed, only blocked: the name stays the wiki's.
            continue;
        }
        assert_eq!(t.upstream(integration), None, "{integration}");
        t.created(&t.mallory, integration).await;
        assert_eq!(t.upstream(integration), Some(false), "{integration}");
    }
}

#[tokio::test]
async fn a_banned_user_creates_nothing_anywhere() {
    let t = setup(|_| {}).await;
    t.state
        .db
        .users()
        .update(&t.mallory.user.id, "2026-01-01T00:00:00.000Z", |u| {
            u.banned = true;
        })
        .await
        .unwrap();
    for integration in ["xmpp", "irc", "mailcow", "mediawiki"] {
        let res = t.create(&t.mallory, integration).await;
        assert_eq!(res.status, 401, "{integration}");
        assert_eq!(res.json(), envelope("Unauthorized"));
    }
    assert_eq!(t.upstream("xmpp"), None);
    assert_eq!(t.upstream("irc"), None);
    assert_eq!(t.upstream("mailcow"), None);
    assert_eq!(t.upstream("mediawiki"), None);
}

/// A request as `who` sends it: a browser session, or a script's API key.
enum Caller<'a> {
    Browser(&'a Person),
    Key(&'a str),
}

impl T {
    async fn call(
        &self,
        caller: &Caller<'_>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> TestResponse {
        match caller {
            Caller::Browser(who) => self.send(method, path, Some(who), body).await,
            Caller::Key(key) => {
                let text = body.map(|b| b.to_string());
                let mut headers = vec![("x-api-key", *key)];
                if text.is_some() {
                    headers.push(("content-type", "application/json"));
                }
                self.request(method, path, &headers, text.as_deref()).await
            }
        }
    }
}

/// Every action on Bob's accounts that only a role allows: (who may, method, path, body).
/// Reads first, then changes; the deletions last.
async fn role_granted_actions(t: &T) -> Vec<(Role, &'static str, String, Option<Value>)> {
    let xmpp = t.created(&t.bob, "xmpp").await;
    let irc = t.created(&t.bob, "irc").await;
    let mail = t.created(&t.bob, "mailcow").await;
    let base = "/api/integrations";
    let res = t
        .send(
            "POST",
            &format!("{base}/mailcow/accounts/{mail}/app-passwords"),
            Some(&t.bob),
            Some(json!({"name": "Phone"})),
        )
        .await;
    assert_eq!(res.status, 201);
    let listed = t
        .send(
            "GET",
            &format!("{base}/mailcow/accounts/{mail}/app-passwords"),
            Some(&t.bob),
            None,
        )
        .await
        .json();
    let app_password = listed["appPasswords"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .send(
            "POST",
            &format!("{base}/mailcow/accounts/{mail}/aliases"),
            Some(&t.bob),
            Some(json!({"address": "robert@mail.example.org"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let listed = t
        .send(
            "GET",
            &format!("{base}/mailcow/accounts/{mail}/aliases"),
            Some(&t.bob),
            None,
        )
        .await
        .json();
    let alias = listed["aliases"][0]["id"].as_str().unwrap().to_string();
    let mailbox = format!("{base}/mailcow/accounts/{mail}");
    vec![
        (
            Role::Staff,
            "GET",
            "/api/bridge/identity?ircNick=bobby".into(),
            None,
        ),
        (
            Role::Admin,
            "GET",
            format!("{base}/xmpp/accounts/{xmpp}"),
            None,
        ),
        (Role::Admin, "GET", format!("{mailbox}/app-passwords"), None),
        (Role::Admin, "GET", format!("{mailbox}/aliases"), None),
        (Role::Admin, "GET", format!("{mailbox}/usage"), None),
        (
            Role::Admin,
            "PATCH",
            format!("{base}/xmpp/accounts/{xmpp}"),
            Some(json!({"password": "taken-over-1"})),
        ),
        (
            Role::Admin,
            "POST",
            format!("{base}/xmpp/accounts/{xmpp}/reset-password"),
            Some(json!({"password": "taken-over-2"})),
        ),
        (
            Role::Admin,
            "POST",
            format!("{mailbox}/app-passwords"),
            Some(json!({"name": "Reads Bob's mail"})),
        ),
        (
            Role::Admin,
            "POST",
            format!("{mailbox}/aliases"),
            Some(json!({"address": "bob2@mail.example.org"})),
        ),
        (
            Role::Admin,
            "DELETE",
            format!("{mailbox}/app-passwords/{app_password}"),
            None,
        ),
        (
            Role::Admin,
            "DELETE",
            format!("{mailbox}/aliases/{alias}"),
            None,
        ),
        (
            Role::Staff,
            "PATCH",
            format!("{base}/irc/accounts/{irc}"),
            Some(json!({"status": "suspended"})),
        ),
        (
            Role::Staff,
            "PATCH",
            format!("{base}/irc/accounts/{irc}"),
            Some(json!({"status": "active"})),
        ),
        (
            Role::Admin,
            "DELETE",
            format!("{base}/irc/accounts/{irc}"),
            None,
        ),
        (
            Role::Admin,
            "DELETE",
            format!("{base}/xmpp/accounts/{xmpp}"),
            None,
        ),
    ]
}

#[tokio::test]
async fn with_the_staff_rule_on_a_role_grants_nothing_without_a_second_factor() {
    let t = setup(|c| c.auth_mut().require_2fa_for_staff = true).await;
    let (admin_key, _) = api_key_for(&t.state, &t.admin.user, "admin script").await;
    let actions = role_granted_actions(&t).await;
    let refused = [
        (
            "admin session without two-factor",
            Caller::Browser(&t.admin),
            Role::Admin,
        ),
        ("admin API key", Caller::Key(&admin_key), Role::Admin),
        (
            "staff session without two-factor",
            Caller::Browser(&t.staff),
            Role::Staff,
        ),
    ];
    for (who, caller, role) in &refused {
        for (needs, method, path, body) in &actions {
            if *needs == Role::Admin && *role == Role::Staff {
                continue;
            }
            let res = t.call(caller, method, path, body.clone()).await;
            assert_eq!(res.status, 403, "{who}: {method} {path}: {}", res.text());
            assert_eq!(
                res.json(),
                envelope(TWO_FACTOR_REQUIRED),
                "{who}: {method} {path}"
            );
        }
    }
    // Nothing happened to Bob's accounts.
    assert_eq!(t.s.mail.app_passwords().len(), 1);
    assert_eq!(t.s.mail.aliases().len(), 1);
    assert!(!t.s.atheme.nick("bobby").unwrap().frozen);
    assert!(t.s.prosody.users().contains_key("bobby"));

    // The same callers, having passed a second factor, may.
    let admin = with_second_factor(&t.state, &t.admin).await;
    let staff = with_second_factor(&t.state, &t.staff).await;
    for (needs, method, path, body) in &actions {
        let caller = match needs {
            Role::Staff => Caller::Browser(&staff),
            _ => Caller::Browser(&admin),
        };
        let res = t.call(&caller, method, path, body.clone()).await;
        assert!(
            res.status.is_success(),
            "{needs:?}: {method} {path}: {} {}",
            res.status,
            res.text()
        );
    }
    // A regular user's own accounts never needed a second factor.
    t.created(&t.mallory, "xmpp").await;
}

#[tokio::test]
async fn without_the_staff_rule_roles_act_as_before() {
    let t = setup(|_| {}).await;
    let (admin_key, _) = api_key_for(&t.state, &t.admin.user, "admin script").await;
    let id = t.created(&t.bob, "xmpp").await;
    let path = format!("/api/integrations/xmpp/accounts/{id}");
    let res = t.call(&Caller::Key(&admin_key), "GET", &path, None).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = t.send("GET", &path, Some(&t.staff), None).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), envelope("Forbidden - Access denied"));
}

/// The 400 envelope of a reserved name given in `field`.
fn reserved(field: &str) -> Value {
    json!({
        "ok": false,
        "error": format!("Validation error: This name is reserved at \"{field}\""),
        "details": {
            "issues": [{"code": "custom", "message": "This name is reserved", "path": [field]}],
            "flattened": {"formErrors": [], "fieldErrors": {field: ["This name is reserved"]}},
        },
    })
}

#[tokio::test]
async fn reserved_names_are_refused_on_every_service_and_for_aliases() {
    let t = setup(|c| c.services_mut().reserved_names = vec!["board".into(), "hello".into()]).await;
    let refused = [
        ("xmpp", json!({"username": "Postmaster"}), "username"),
        (
            "xmpp",
            json!({"username": "admin@chat.example.org"}),
            "username",
        ),
        ("irc", json!({"nick": "NickServ"}), "nick"),
        ("irc", json!({"nick": "operator"}), "nick"),
        ("mailcow", json!({"localPart": "abuse"}), "localPart"),
        ("mailcow", json!({"localPart": "hello"}), "localPart"),
        ("mailcow", json!({"localPart": "webmaster"}), "localPart"),
        ("mediawiki", json!({"username": "Board"}), "username"),
    ];
    for (integration, body, field) in refused {
        let path = format!("/api/integrations/{integration}/accounts");
        let res = t
            .send("POST", &path, Some(&t.mallory), Some(body.clone()))
            .await;
        assert_eq!(res.status, 400, "{integration} {body}");
        assert_eq!(res.json(), reserved(field), "{body}");
    }
    assert!(t.s.prosody.users().is_empty());
    assert!(t.s.atheme.nicks().is_empty());
    // An alias is a mail address too.
    let mail = t.created(&t.mallory, "mailcow").await;
    let path = format!("/api/integrations/mailcow/accounts/{mail}/aliases");
    for address in ["hostmaster@mail.example.org", "Security@mail.example.org"] {
        let res = t
            .send(
                "POST",
                &path,
                Some(&t.mallory),
                Some(json!({"address": address})),
            )
            .await;
        assert_eq!(res.status, 400, "{address}");
        assert_eq!(res.json(), reserved("address"));
    }
    assert!(t.s.mail.aliases().is_empty());
}

#[tokio::test]
async fn a_freed_name_waits_for_its_former_owner() {
    let t = setup(|_| {}).await;
    let id = t.created(&t.mallory, "xmpp").await;
    let nick = t.created(&t.mallory, "irc").await;
    for (integration, id) in [("xmpp", &id), ("irc", &nick)] {
        let path = format!("/api/integrations/{integration}/accounts/{id}");
        assert_eq!(
            t.send("DELETE", &path, Some(&t.mallory), None).await.status,
            200
        );
    }
    // Nobody else receives Mallory's messages or password resets.
    let taken = |res: TestResponse| {
        assert_eq!(res.status, 409, "{}", res.text());
        assert_eq!(res.json(), envelope("Username already taken"));
    };
    let xmpp = json!({"username": "mallory", "password": "xmpp-password-1"});
    taken(
        t.send(
            "POST",
            "/api/integrations/xmpp/accounts",
            Some(&t.bob),
            Some(xmpp.clone()),
        )
        .await,
    );
    let irc = json!({"nick": "mallory", "password": "irc-password-1"});
    taken(
        t.send(
            "POST",
            "/api/integrations/irc/accounts",
            Some(&t.bob),
            Some(irc),
        )
        .await,
    );
    assert!(t.s.prosody.users().is_empty());
    // The chat bridge no longer maps the name to her.
    let staff = with_second_factor(&t.state, &t.staff).await;
    let res = t
        .send(
            "GET",
            "/api/bridge/identity?ircNick=mallory",
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(res.status, 404);
    // Staff may hand it on at once; she may take it back at once.
    let res = t
        .send(
            "POST",
            "/api/integrations/xmpp/accounts",
            Some(&t.staff),
            Some(xmpp),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    t.created(&t.mallory, "irc").await;
}

#[tokio::test]
async fn without_a_cooling_period_a_freed_name_is_free_at_once() {
    let t = setup(|c| c.services_mut().name_cooling_days = 0).await;
    let id = t.created(&t.mallory, "xmpp").await;
    let path = format!("/api/integrations/xmpp/accounts/{id}");
    assert_eq!(
        t.send("DELETE", &path, Some(&t.mallory), None).await.status,
        200
    );
    let xmpp = json!({"username": "mallory", "password": "xmpp-password-1"});
    let res = t
        .send(
            "POST",
            "/api/integrations/xmpp/accounts",
            Some(&t.bob),
            Some(xmpp),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
}
