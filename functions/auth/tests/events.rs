//! The Lambda path for auth: API Gateway events (v2 and v1) from `events/`, deserialised by
//! lambda_http and served by the router, with the signed cookie a browser sends.

mod common;

use common::TestAuth;
use portal_domain::model::Role;
use portal_testkit::{FIXTURE_TOKEN, call, event_request, fixture, fixture_person};

#[tokio::test]
async fn get_session_fixtures_carry_the_session_cookie() {
    let t = TestAuth::new(|_| {}).await;
    fixture_person(&t.state, Role::User).await;
    for name in ["auth-get-session.v2.json", "auth-get-session.v1.json"] {
        let res = call(&t.t.app, event_request(&fixture(name))).await;
        assert_eq!(res.status, 200, "{name}");
        let body = res.json();
        assert_eq!(body["user"]["email"], "fixture@example.org", "{name}");
        assert_eq!(body["session"]["token"], FIXTURE_TOKEN);
    }
}

#[tokio::test]
async fn sign_in_fixtures_sign_in_from_the_gateway_source_ip() {
    let t = TestAuth::new(|_| {}).await;
    fixture_person(&t.state, Role::User).await;
    for name in ["auth-sign-in.v2.json", "auth-sign-in.v1.json"] {
        let res = call(&t.t.app, event_request(&fixture(name))).await;
        assert_eq!(res.status, 200, "{name}");
        let token = res.json()["token"].as_str().unwrap().to_string();
        let Some(session) = t
            .state
            .db
            .sessions()
            .get(&portal_web::caller::token::session_id(&token))
            .await
            .unwrap()
        else {
            panic!("no session")
        };
        assert_eq!(
            session.ip_address, "203.0.113.7",
            "API Gateway's source IP, not a header"
        );
        assert_eq!(session.user_agent, "curl/8.5.0");
    }
}
