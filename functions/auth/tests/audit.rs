//! The audit log as the auth function writes it: every security-relevant change with its
//! record in the same transaction, failed sign-ins on their own, never a secret.

mod common;

use common::{Browser, PASSWORD, TestAuth, h, token_of};
use portal_domain::model::{Role, User};
use portal_domain::store::audit::{Event, EventFilter, Provenance};
use portal_domain::store::listing::PageRequest;
use portal_domain::store::users::Conflict;
use serde_json::{Value, json};

/// Every event about `user_id`, newest first, as `(action, actor, details)`.
async fn events_of(t: &TestAuth, user_id: &str) -> Vec<(String, Option<String>, Value)> {
    let filter = EventFilter {
        target: Some(user_id.to_string()),
        ..Default::default()
    };
    let page = t
        .state
        .db
        .audit()
        .list(
            &filter,
            &PageRequest {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    page.items
        .into_iter()
        .map(|e| {
            let details = e.details_json().unwrap_or(Value::Null);
            (e.action, e.actor, details)
        })
        .collect()
}

fn actions(events: &[(String, Option<String>, Value)]) -> Vec<&str> {
    events.iter().map(|(a, _, _)| a.as_str()).collect()
}

#[tokio::test]
async fn sign_up_sign_in_and_refused_sign_ins_are_recorded_without_secrets() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("aud@example.org").await;
    let id = b.user["id"].as_str().unwrap().to_string();
    let refused = t
        .send_from(
            "203.0.113.9",
            "POST",
            "/api/auth/sign-in/email",
            json!({"email": "aud@example.org", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(t.sign_in("aud@example.org", PASSWORD).await.status, 200);
    let events = events_of(&t, &id).await;
    assert_eq!(
        actions(&events),
        ["sign_in.succeeded", "sign_in.failed", "sign_up"],
        "newest first"
    );
    assert_eq!(events[0].1.as_deref(), Some(id.as_str()), "the user acted");
    assert_eq!(events[0].2["via"], "email");
    assert_eq!(events[1].1, None, "nobody was signed in");
    assert_eq!(events[1].2["reason"], "credentials");
    let stored = t
        .state
        .db
        .audit()
        .list(
            &EventFilter::default(),
            &PageRequest {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let failed = stored
        .items
        .iter()
        .find(|e| e.action == "sign_in.failed")
        .unwrap();
    assert_eq!(
        failed.ip.as_deref(),
        Some("203.0.113.9"),
        "the source address"
    );
    let dump = t.table_dump().await;
    assert!(!dump.contains("wrong-password") && !dump.contains(PASSWORD));
}

#[tokio::test]
async fn a_failed_sign_in_for_an_unknown_account_is_recorded_without_revealing_it() {
    let t = TestAuth::new(|_| {}).await;
    let before = t.count_items("EMAIL#").await;
    assert_eq!(t.sign_in("nobody@example.org", PASSWORD).await.status, 401);
    // A password typed into the username field: only a keyed hash of it is kept.
    let res = t
        .post(
            "/api/auth/sign-in/username",
            json!({"username": "Secret-Passw0rd", "password": "x-anything-1"}),
        )
        .await;
    assert_eq!(res.status, 401);
    let all = t
        .state
        .db
        .audit()
        .list(
            &EventFilter {
                action: Some("sign_in.failed".into()),
                ..Default::default()
            },
            &PageRequest {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
    for event in &all.items {
        assert_eq!(event.target, None, "no account named");
        let details = event.details_json().unwrap();
        assert_eq!(details["identifierHash"].as_str().unwrap().len(), 16);
    }
    assert_eq!(all.items[0].details_json().unwrap()["via"], "username");
    let dump = t.table_dump().await;
    assert!(
        !dump.contains("nobody@example.org"),
        "the e-mail is not stored"
    );
    assert!(!dump.contains("Secret-Passw0rd") && !dump.to_lowercase().contains("secret-passw0rd"));
    assert_eq!(
        t.count_items("EMAIL#").await,
        before,
        "nothing keyed by the e-mail"
    );
}

#[tokio::test]
async fn password_reset_and_change_two_factor_keys_and_verification_are_recorded() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("many@example.org").await;
    let id = b.user["id"].as_str().unwrap().to_string();
    // E-mail verification through the mailed link.
    let verify = t.mails()[0]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://localhost:3000")
        .split("&callbackURL")
        .next()
        .unwrap()
        .to_string();
    assert_eq!(t.send("GET", &verify, &[], None).await.status, 200);
    // Password change, then reset.
    let res = t
        .send(
            "POST",
            "/api/auth/change-password",
            &h(&b.headers()),
            Some(json!({"currentPassword": PASSWORD, "newPassword": "second-password-1"})),
        )
        .await;
    assert_eq!(res.status, 200);
    t.post(
        "/api/auth/request-password-reset",
        json!({"email": "many@example.org"}),
    )
    .await;
    let token = token_of(t.mails().last().unwrap()["url"].as_str().unwrap());
    let res = t
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": PASSWORD, "token": token}),
        )
        .await;
    assert_eq!(res.status, 200);
    let b = Browser::from_response(&t.sign_in("many@example.org", PASSWORD).await);
    // An API key made and deleted.
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&b.headers()),
            Some(json!({"name": "ci"})),
        )
        .await;
    let key_id = res.json()["id"].as_str().unwrap().to_string();
    let secret = res.json()["key"].as_str().unwrap().to_string();
    t.send(
        "POST",
        "/api/auth/api-key/delete",
        &h(&b.headers()),
        Some(json!({"keyId": key_id})),
    )
    .await;
    // Two-factor on (e-mailed codes, on once the mailed code comes back) and off.
    t.send(
        "POST",
        "/api/auth/two-factor/enable",
        &h(&b.headers()),
        Some(json!({"password": PASSWORD, "method": "otp"})),
    )
    .await;
    let mail = t
        .mails()
        .into_iter()
        .rfind(|m| m["kind"] == "two-factor-code")
        .expect("a code mail");
    let code: String = mail["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .map(|w| w.trim_end_matches('.'))
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .into();
    let res = t
        .send(
            "POST",
            "/api/auth/two-factor/verify-otp",
            &h(&b.headers()),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let b = b.renewed(&res);
    t.send(
        "POST",
        "/api/auth/two-factor/disable",
        &h(&b.headers()),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    let events = events_of(&t, &id).await;
    assert_eq!(
        actions(&events),
        [
            "two_factor.disabled",
            "two_factor.enabled",
            "api_key.deleted",
            "api_key.created",
            "sign_in.succeeded",
            "password.reset",
            "password.changed",
            "email.verified",
            "sign_up",
        ]
    );
    let by_action = |a: &str| events.iter().find(|(x, _, _)| x == a).unwrap().clone();
    assert_eq!(
        by_action("email.verified").2,
        json!({"emailVerified": {"before": false, "after": true}})
    );
    assert_eq!(
        by_action("password.reset").1,
        None,
        "a reset link acts for nobody"
    );
    assert_eq!(
        by_action("password.changed").1.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(by_action("api_key.created").2["keyId"], key_id.as_str());
    assert_eq!(by_action("two_factor.enabled").2["method"], "otp");
    let dump = t.table_dump().await;
    assert!(!dump.contains(&secret), "never the key");
}

/// An event whose record already exists: its write fails the transaction it is in.
async fn spent_event(t: &TestAuth, target: &str) -> Event {
    let event = Event::now(&Provenance::operator(365), "test.spent", Some(target), None);
    t.state.db.audit().append(&event).await.unwrap();
    event
}

#[tokio::test]
async fn a_change_whose_record_cannot_be_written_does_not_happen() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("atomic@example.org").await;
    let id = b.user["id"].as_str().unwrap().to_string();
    let users = t.state.db.users();

    // A role change (the moderation path's store call).
    let spent = spent_event(&t, &id).await;
    let refused = users
        .modify_audited(
            &id,
            "2026-01-01T00:00:00.000Z",
            |u| {
                u.role = Role::Staff;
                Ok::<(), Conflict>(())
            },
            |_, _| Some(spent.clone()),
        )
        .await;
    assert!(refused.is_err(), "the transaction failed: {refused:?}");
    let stored: User = users.get(&id).await.unwrap().unwrap();
    assert_eq!(
        stored.role,
        Role::User,
        "the change did not land without its record"
    );

    // A password change.
    let spent = spent_event(&t, &id).await;
    let refused = users
        .change_password(
            &id,
            "not-a-real-hash",
            "2026-01-01T00:00:00.000Z",
            |_| Ok::<(), Conflict>(()),
            Some(&spent),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(
        t.sign_in("atomic@example.org", PASSWORD).await.status,
        200,
        "the old password still works"
    );

    // A sign-up: neither the user nor its record.
    let spent = spent_event(&t, "someone-new").await;
    let user = User::new(
        "u".repeat(32),
        "N".into(),
        "fresh@example.org".into(),
        false,
        Role::User,
        "2026-01-01T00:00:00.000Z",
    );
    assert!(
        users
            .create_signed_in(user, None, None, Some(&spent))
            .await
            .is_err()
    );
    assert!(
        users
            .find_by_email("fresh@example.org")
            .await
            .unwrap()
            .is_none()
    );

    // A deletion.
    let spent = spent_event(&t, &id).await;
    assert!(users.delete(&id, Some(&spent)).await.is_err());
    assert!(users.get(&id).await.unwrap().is_some(), "still there");

    // Only the pre-written records exist: no record of a change that did not happen.
    let events = events_of(&t, &id).await;
    assert!(
        events
            .iter()
            .all(|(a, _, _)| a == "test.spent" || a == "sign_up" || a.starts_with("sign_in"))
    );
}

#[tokio::test]
async fn revoking_sessions_is_recorded() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("rev@example.org").await;
    let id = b.user["id"].as_str().unwrap().to_string();
    let other = Browser::from_response(&t.sign_in("rev@example.org", PASSWORD).await);
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-session",
            &h(&b.headers()),
            Some(json!({"token": other.token})),
        )
        .await;
    assert_eq!(res.status, 200);
    t.sign_in("rev@example.org", PASSWORD).await;
    let res = t
        .send(
            "POST",
            "/api/auth/revoke-other-sessions",
            &h(&b.headers()),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 200);
    let events = events_of(&t, &id).await;
    assert_eq!(
        actions(&events)[..3],
        ["sessions.revoked", "sign_in.succeeded", "session.revoked"]
    );
    assert_eq!(events[0].2, json!({"keptCurrent": true}));
    assert_eq!(events[2].1.as_deref(), Some(id.as_str()));
    assert!(events[2].2["sessionId"].is_string());
    assert!(
        !t.table_dump().await.contains(&other.token),
        "an id, never the token"
    );
}

#[tokio::test]
async fn every_other_recorded_write_fails_whole_when_its_record_cannot_be_written() {
    use portal_domain::store::integration_accounts::Account;
    use portal_domain::store::oauth_clients::OAuthClient;
    use portal_domain::store::two_factor::Rotate;
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("whole@example.org").await;
    let id = b.user["id"].as_str().unwrap().to_string();
    let db = &t.state.db;
    let user = db.users().get(&id).await.unwrap().unwrap();
    let at = "2026-01-01T00:00:00.000Z";

    // A sign-in's session.
    let spent = spent_event(&t, &id).await;
    let (session, token) = portal_web::caller::token::new_session(
        &t.state.keyring,
        &user,
        true,
        &portal_domain::model::Client::default(),
        portal_domain::time::now(),
    );
    assert!(
        db.sessions()
            .create_audited(session, Some(&spent))
            .await
            .is_err()
    );
    assert!(
        db.sessions()
            .get(&portal_web::caller::token::session_id(&token))
            .await
            .unwrap()
            .is_none(),
        "no session"
    );

    // Revoking every session.
    let spent = spent_event(&t, &id).await;
    assert!(
        db.users()
            .revoke_sessions(&id, at, None, Some(&spent))
            .await
            .is_err()
    );
    assert!(
        t.send("GET", "/api/auth/get-session", &h(&b.headers()), None)
            .await
            .json()["user"]
            .is_object(),
        "the sessions still work"
    );

    // API keys.
    let (_, key) = portal_testkit::unsaved_api_key(&user, "k", true);
    let spent = spent_event(&t, &id).await;
    assert!(
        db.api_keys()
            .create_audited(key.clone(), Some(&spent))
            .await
            .is_err()
    );
    assert!(db.api_keys().get(&key.id).await.unwrap().is_none());
    let key = db.api_keys().create(key).await.unwrap();
    let spent = spent_event(&t, &id).await;
    let deleted = db
        .api_keys()
        .delete_audited(&key.id, None, |_| Some(spent.clone()))
        .await
        .unwrap();
    assert!(!deleted && db.api_keys().get(&key.id).await.unwrap().is_some());

    // Two-factor on and off.
    // The caller's real session, so only the record can refuse.
    let current = db
        .sessions()
        .get(&portal_web::caller::token::session_id(&b.token))
        .await
        .unwrap()
        .unwrap();
    let (successor, _) = portal_web::caller::token::new_session(
        &t.state.keyring,
        &user,
        true,
        &Default::default(),
        portal_domain::time::now(),
    );
    let keep = || Rotate {
        old: &current,
        new: &successor,
    };
    let spent = spent_event(&t, &id).await;
    assert!(
        db.two_factor()
            .enable(&id, keep(), false, at, &spent)
            .await
            .is_err()
    );
    assert!(
        !db.users()
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .two_factor_enabled
    );
    let spent = spent_event(&t, &id).await;
    assert!(
        db.two_factor()
            .disable(&id, keep(), at, &spent)
            .await
            .is_err()
    );

    // OAuth clients.
    let client = OAuthClient {
        id: "c".repeat(32),
        name: "Wiki".into(),
        client_id: "client".into(),
        client_secret_hash: "hash".into(),
        redirect_uris: vec!["https://wiki.example.org/cb".into()],
        disabled: false,
        created_at: at.into(),
        updated_at: at.into(),
        ..OAuthClient::default()
    };
    let spent = spent_event(&t, &id).await;
    assert!(
        db.oauth_clients()
            .create(client.clone(), Some(&spent))
            .await
            .is_err()
    );
    assert!(db.oauth_clients().get(&client.id).await.unwrap().is_none());
    db.oauth_clients()
        .create(client.clone(), None)
        .await
        .unwrap();
    let mut changed = client.clone();
    changed.disabled = true;
    changed.updated_at = "2026-01-02T00:00:00.000Z".into();
    let spent = spent_event(&t, &id).await;
    assert!(
        !db.oauth_clients()
            .save(&client, &changed, Some(&spent))
            .await
            .unwrap()
    );
    assert!(
        !db.oauth_clients()
            .get(&client.id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );

    // Integration accounts: activation, change, removal.
    let account = Account {
        id: "a".repeat(32),
        user_id: id.clone(),
        integration_id: "xmpp".into(),
        username: "whole".into(),
        data: Value::Null,
        status: "provisioning".into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: at.into(),
        updated_at: at.into(),
    };
    let accounts = db.integration_accounts();
    accounts
        .reserve(
            &account,
            portal_domain::store::integration_accounts::Taker::user(),
        )
        .await
        .unwrap();
    let spent = spent_event(&t, &id).await;
    assert_eq!(
        accounts
            .activate(&account, "active", at, Some(&spent))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        accounts.get(&account.id).await.unwrap().unwrap().status,
        "provisioning"
    );
    let active = accounts
        .activate(&account, "active", at, None)
        .await
        .unwrap()
        .unwrap();
    let mut suspended = active.clone();
    suspended.status = "suspended".into();
    suspended.updated_at = "2026-01-02T00:00:00.000Z".into();
    let spent = spent_event(&t, &id).await;
    assert!(
        !accounts
            .save(&active, &suspended, Some(&spent))
            .await
            .unwrap()
    );
    let spent = spent_event(&t, &id).await;
    assert!(accounts.release(&active, None, Some(&spent)).await.is_err());
    assert_eq!(
        accounts.get(&account.id).await.unwrap().unwrap().status,
        "active"
    );

    // No record of any of it: only the pre-written ones.
    let events = events_of(&t, &id).await;
    assert!(
        events
            .iter()
            .all(|(a, _, _)| a == "test.spent" || a == "sign_up"),
        "{events:?}"
    );
}
