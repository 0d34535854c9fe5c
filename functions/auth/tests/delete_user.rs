//! `/delete-user`, as Portal's settings page calls it: a fresh session or the password;
//! the user's accounts on the services go first, and nothing is half-deleted when a
//! service fails.

mod common;

use common::{PASSWORD, TestAuth, h, set_cookies};
use portal_domain::model::Role;
use portal_domain::store::integration_accounts::{Account, Taker};
use portal_domain::time::{iso, now};
use portal_testkit::people::person;
use portal_testkit::{FakeProsody, Mode};
use serde_json::{Value, json};

fn deleted() -> Value {
    json!({"success": true, "message": "User deleted"})
}

#[tokio::test]
async fn a_fresh_session_deletes_its_account_and_signs_out() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("leaving@example.org").await;
    // A reset link outstanding: it goes with the account.
    let res = t
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "leaving@example.org", "redirectTo": "/reset"}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(t.count_items("TOKEN#").await, 1);
    let res = t
        .send(
            "POST",
            "/api/auth/delete-user",
            &h(&b.headers()),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), deleted());
    let cookies = set_cookies(&res);
    assert!(
        cookies
            .iter()
            .any(|c| c.contains("session_token=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    assert_eq!(t.sign_in("leaving@example.org", PASSWORD).await.status, 401);
    let res = t
        .send("GET", "/api/test/whoami", &h(&b.headers()), None)
        .await;
    assert_eq!(res.status, 401);
    assert!(t.table_dump().await.contains("user.deleted"));
    assert_eq!(t.count_items("TOKEN#").await, 0);
    // The address is free again.
    t.sign_up("leaving@example.org").await;
}

#[tokio::test]
async fn an_old_session_needs_the_password() {
    let t = TestAuth::new(|_| {}).await;
    let me = person(&t.state, "old@example.org", Role::User).await;
    // A session started two days ago.
    let from = portal_domain::model::Client::default();
    let (session, token) = portal_web::caller::token::new_session(
        &t.state.keyring,
        &me.user,
        true,
        &from,
        now() - time::Duration::days(2),
    );
    t.state.db.sessions().create(session).await.unwrap();
    let cookie = t.state.cookies.session_cookies(&token, true)[0]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let headers = [
        ("cookie", cookie.as_str()),
        ("origin", "http://localhost:3000"),
    ];
    let delete = |body: Value| {
        let t = &t;
        async move {
            t.send("POST", "/api/auth/delete-user", &headers, Some(body))
                .await
        }
    };
    let res = delete(json!({})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "SESSION_EXPIRED", "message": "Session expired. Re-authenticate to perform this action."})
    );
    let res = delete(json!({"password": "not-the-password"})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "INVALID_PASSWORD", "message": "Invalid password"})
    );
    let res = delete(json!({"token": "abc123"})).await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.json(),
        json!({"code": "INVALID_TOKEN", "message": "Invalid token"})
    );
    let res =
        delete(json!({"password": "password-123", "callbackURL": "https://evil.example.com/"}))
            .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["code"], "INVALID_CALLBACK_URL");
    assert!(t.state.db.users().get(me.id()).await.unwrap().is_some());
    let res = delete(json!({"password": "password-123"})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), deleted());
    assert!(t.state.db.users().get(me.id()).await.unwrap().is_none());

    let res = t
        .send("POST", "/api/auth/delete-user", &[], Some(json!({})))
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn the_last_admin_cannot_delete_themselves() {
    let t = TestAuth::new(|_| {}).await;
    let admin = person(&t.state, "only-admin@example.org", Role::Admin).await;
    let res = t
        .send(
            "POST",
            "/api/auth/delete-user",
            &admin.headers(),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["code"], "LAST_ADMIN");
    assert!(t.state.db.users().get(admin.id()).await.unwrap().is_some());
}

#[tokio::test]
async fn service_accounts_go_first_and_a_failing_service_deletes_nothing() {
    let prosody = FakeProsody::start().await;
    let t = TestAuth::new(|c| prosody.configure(c)).await;
    let me = person(&t.state, "chatter@example.org", Role::User).await;
    let at = iso(now());
    let account = Account {
        id: "acct-chatter".into(),
        user_id: me.user.id.clone(),
        integration_id: "xmpp".into(),
        username: "chatter".into(),
        data: json!({"username": "chatter", "jid": "chatter@chat.example.org"}),
        status: "provisioning".into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    let accounts = t.state.db.integration_accounts();
    accounts.reserve(&account, Taker::user()).await.unwrap();
    accounts
        .activate(&account, "active", &at, None)
        .await
        .unwrap();
    prosody.add_user("chatter", "on-the-server");

    prosody.set_mode(Mode::Fail(500));
    let res = t
        .send(
            "POST",
            "/api/auth/delete-user",
            &me.headers(),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 502, "{}", res.text());
    assert_eq!(res.json()["code"], "BAD_GATEWAY");
    assert!(t.state.db.users().get(me.id()).await.unwrap().is_some());
    assert!(accounts.get("acct-chatter").await.unwrap().is_some());
    assert_eq!(
        t.send("GET", "/api/test/whoami", &me.headers(), None)
            .await
            .status,
        200,
        "still signed in: nothing was deleted"
    );

    prosody.set_mode(Mode::Normal);
    let res = t
        .send(
            "POST",
            "/api/auth/delete-user",
            &me.headers(),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(
        prosody.users().is_empty(),
        "removed on the XMPP server first"
    );
    assert!(accounts.get("acct-chatter").await.unwrap().is_none());
    assert!(t.state.db.users().get(me.id()).await.unwrap().is_none());
}
