//! `GET /api/user/security-events`: the caller's own audit events, nobody else's.

use portal_domain::model::Role;
use portal_domain::store::audit::{Event, Provenance};
use portal_testkit::{TestApp, person, test_state};
use serde_json::json;

#[tokio::test]
async fn a_user_sees_the_events_about_them_and_only_those() {
    let state = test_state(|c| c.rate_limits.enabled = false).await;
    let app = TestApp::new(state.clone(), portal_user::router(state.clone()));
    let ada = person(&state, "ada@example.org", Role::User).await;
    let bob = person(&state, "bob@example.org", Role::User).await;
    let audit = state.db.audit();
    let origin = Provenance::request(
        &state.config,
        &portal_domain::model::Client {
            ip: "203.0.113.7".into(),
            user_agent: "Firefox".into(),
        },
    );
    for (who, action) in [
        (&ada, "sign_in.failed"),
        (&bob, "sign_in.failed"),
        (&ada, "sign_in.succeeded"),
    ] {
        let event = Event::now(&origin, action, Some(&who.user.id), None);
        audit.append(&event).await.unwrap();
    }
    // Staff acting on Ada: she sees it, not who acted nor from where.
    let by_staff = Event::now(
        &Provenance::request(
            &state.config,
            &portal_domain::model::Client {
                ip: "198.51.100.1".into(),
                user_agent: "ua".into(),
            },
        )
        .as_user("staff-id"),
        "user.banned",
        Some(&ada.user.id),
        Some(json!({"banned": {"before": false, "after": true}})),
    );
    audit.append(&by_staff).await.unwrap();

    let res = app.get("/api/user/security-events", &ada).await;
    assert_eq!(res.status, 200);
    let events = res.json()["events"].as_array().unwrap().clone();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["user.banned", "sign_in.succeeded", "sign_in.failed"]
    );
    assert_eq!(events[1]["ip"], "203.0.113.7");
    assert_eq!(events[1]["userAgent"], "Firefox");
    assert_eq!(
        events[0],
        json!({
            "id": events[0]["id"],
            "at": events[0]["at"],
            "actor": null,
            "target": ada.user.id,
            "action": "user.banned",
            "ip": null,
            "userAgent": null,
            "details": {"banned": {"before": false, "after": true}},
        })
    );

    // Someone else's id in the query changes nothing.
    let res = app
        .get(
            &format!("/api/user/security-events?target={}", bob.user.id),
            &ada,
        )
        .await;
    assert_eq!(res.json()["events"].as_array().unwrap().len(), 3);
    let res = app
        .get("/api/user/security-events?action=sign_in.failed", &ada)
        .await;
    assert_eq!(res.json()["events"].as_array().unwrap().len(), 1);
    let res = app.get("/api/user/security-events?limit=0", &ada).await;
    assert_eq!(res.status, 400);
    let res = app
        .send("GET", "/api/user/security-events", None, None)
        .await;
    assert_eq!(res.status, 401);
}
