//! The Lambda path: `events/user-*.v2.json` (HTTP API v2 with the session cookie).

use portal_domain::model::Role;
use portal_testkit::{FIXTURE_TOKEN, call, event_request, fixture, fixture_person, test_state};
use portal_web::http;

#[tokio::test]
async fn user_fixtures_are_served_for_the_cookie_they_carry() {
    let state = test_state(|_| {}).await;
    let app = http::finish(portal_user::router(state.clone()), &state.config);
    fixture_person(&state, Role::User).await;
    let me = call(&app, event_request(&fixture("user-me.v2.json"))).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["user"]["email"], "fixture@example.org");
    assert_eq!(
        me.header("x-ratelimit-limit"),
        Some("300"),
        "per-user limit applies"
    );
    let sessions = call(&app, event_request(&fixture("user-sessions.v2.json"))).await;
    assert_eq!(sessions.status, 200);
    let list = sessions.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["current"], true);
    assert_eq!(
        list[0]["id"],
        portal_web::caller::token::session_id(FIXTURE_TOKEN)
    );
}
