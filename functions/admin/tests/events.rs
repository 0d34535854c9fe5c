//! The Lambda path: `events/admin-*.v2.json` (HTTP API v2 with an admin's session cookie).

use portal_domain::model::Role;
use portal_testkit::{call, event_request, fixture, fixture_person, test_state};
use portal_web::http;

#[tokio::test]
async fn admin_fixtures_are_served_for_the_admin_cookie_they_carry() {
    let state = test_state(|_| {}).await;
    let app = http::finish(portal_admin_api::router(state.clone()), &state.config);
    fixture_person(&state, Role::Admin).await;
    let stats = call(&app, event_request(&fixture("admin-stats.v2.json"))).await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.json()["users"]["admins"], 1);
    assert_eq!(stats.json()["sessions"]["active"], 1);
    let users = call(&app, event_request(&fixture("admin-users.v2.json"))).await;
    assert_eq!(users.status, 200);
    assert_eq!(users.json()["users"][0]["email"], "fixture@example.org");
    assert_eq!(users.json()["pagination"]["limit"], 10);
}

#[tokio::test]
async fn the_same_fixture_from_a_regular_user_is_403() {
    let state = test_state(|_| {}).await;
    let app = http::finish(portal_admin_api::router(state.clone()), &state.config);
    fixture_person(&state, Role::User).await;
    let res = call(&app, event_request(&fixture("admin-stats.v2.json"))).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json()["error"],
        "Forbidden - Admin or Staff access required"
    );
}
