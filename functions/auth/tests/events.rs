//! The Lambda path for auth: API Gateway events (v2 and v1) from `events/`, deserialised by
//! lambda_http and served by the router, with the signed cookie a browser sends.

mod common;

use common::TestAuth;
use portal_shared::crypto::hash_password;
use portal_shared::model::{Role, Session, User};
use portal_shared::store::sessions::session_id;
use portal_testkit::{call, event_request, fixture};

/// The token inside the fixtures' cookie (signed with the development secret).
const FIXTURE_TOKEN: &str = "FixtureUser000000000000000000001FixtureSession00000000000000001X";
const FIXTURE_USER: &str = "FixtureUser000000000000000000001";

async fn fixture_user(t: &TestAuth, email: &str, password: &str) {
    let at = portal_shared::time::iso(portal_shared::time::now());
    let user = User {
        id: FIXTURE_USER.into(),
        name: "Fixture".into(),
        email: email.into(),
        email_verified: true,
        image: None,
        role: Role::User,
        banned: false,
        ban_reason: None,
        ban_expires: None,
        created_at: at.clone(),
        updated_at: at,
    };
    t.state
        .db
        .users()
        .create(user, Some(hash_password(password.into()).await))
        .await
        .unwrap();
}

#[tokio::test]
async fn get_session_fixtures_carry_the_session_cookie() {
    let t = TestAuth::new(|_| {}).await;
    fixture_user(&t, "fixture@example.org", "fixture-password-1").await;
    let at = portal_shared::time::now();
    t.state
        .db
        .sessions()
        .create(Session {
            id: session_id(FIXTURE_TOKEN),
            user_id: FIXTURE_USER.into(),
            expires_at: portal_shared::time::iso(at + time::Duration::days(7)),
            created_at: portal_shared::time::iso(at),
            updated_at: portal_shared::time::iso(at),
            ip_address: "203.0.113.7".into(),
            user_agent: "curl/8.5.0".into(),
            remember: true,
            sealed_token: t.state.sealer.seal(FIXTURE_TOKEN),
            impersonated_by: None,
        })
        .await
        .unwrap();
    for name in ["auth-get-session.v2.json", "auth-get-session.v1.json"] {
        let res = call(&t.app, event_request(&fixture(name))).await;
        assert_eq!(res.status, 200, "{name}");
        let body = res.json();
        assert_eq!(body["user"]["email"], "fixture@example.org", "{name}");
        assert_eq!(body["session"]["token"], FIXTURE_TOKEN);
    }
}

#[tokio::test]
async fn sign_in_fixtures_sign_in_from_the_gateway_source_ip() {
    let t = TestAuth::new(|_| {}).await;
    fixture_user(&t, "fixture@example.org", "fixture-password-1").await;
    for name in ["auth-sign-in.v2.json", "auth-sign-in.v1.json"] {
        let res = call(&t.app, event_request(&fixture(name))).await;
        assert_eq!(res.status, 200, "{name}");
        let token = res.json()["token"].as_str().unwrap().to_string();
        let (session, _) = t
            .state
            .db
            .sessions()
            .resolve(&token)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            session.ip_address, "203.0.113.7",
            "API Gateway's source IP, not a header"
        );
        assert_eq!(session.user_agent, "curl/8.5.0");
    }
}
