//! `GET /api/admin/audit-log`: what staff and admins did, and everything else recorded,
//! newest first, filtered through the index that fits.

mod common;

use common::{Admin, envelope};
use serde_json::json;

#[tokio::test]
async fn bans_role_changes_and_deletions_are_recorded_with_their_actor_and_changes() {
    let t = Admin::new().await;
    let user = t.user.user.id.clone();
    let path = format!("/api/admin/users/{user}");
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.staff),
            Some(json!({"banned": true, "banReason": "spam"})),
        )
        .await;
    assert_eq!(res.status, 200);
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"banned": false, "role": "staff"})),
        )
        .await;
    assert_eq!(res.status, 200);
    let res = t.get("/api/admin/audit-log", &t.admin).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let events = res.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["action"], "user.unbanned");
    assert_eq!(events[0]["actor"], t.admin.user.id.as_str());
    assert_eq!(events[0]["target"], user.as_str());
    assert_eq!(
        events[0]["details"]["role"],
        json!({"before": "user", "after": "staff"})
    );
    assert_eq!(events[1]["action"], "user.banned");
    assert_eq!(events[1]["actor"], t.staff.user.id.as_str());
    assert_eq!(
        events[1]["details"],
        json!({"banned": {"before": false, "after": true}, "banReason": {"before": null, "after": "spam"}})
    );
    for key in ["id", "at", "ip", "userAgent"] {
        assert!(events[0].get(key).is_some(), "{key}");
    }

    // Filters: by actor, by action, by target, by time.
    let by_staff = t
        .get(
            &format!("/api/admin/audit-log?actor={}", t.staff.user.id),
            &t.admin,
        )
        .await
        .json();
    assert_eq!(by_staff["events"].as_array().unwrap().len(), 1);
    let by_action = t
        .get("/api/admin/audit-log?action=user.banned", &t.admin)
        .await
        .json();
    assert_eq!(by_action["events"][0]["actor"], t.staff.user.id.as_str());
    let both = t
        .get(
            &format!("/api/admin/audit-log?target={user}&action=user.unbanned"),
            &t.admin,
        )
        .await
        .json();
    assert_eq!(both["events"].as_array().unwrap().len(), 1);
    let later = t
        .get("/api/admin/audit-log?since=2999-01-01T00:00:00Z", &t.admin)
        .await
        .json();
    assert_eq!(later["events"], json!([]));
    let earlier = t
        .get("/api/admin/audit-log?until=2000-01-01T00:00:00Z", &t.admin)
        .await
        .json();
    assert_eq!(earlier["events"], json!([]));
    let window = t
        .get(
            "/api/admin/audit-log?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
            &t.admin,
        )
        .await
        .json();
    assert_eq!(window["events"].as_array().unwrap().len(), 2);

    // Deleting the user is recorded too, and the record outlives the account.
    let res = t.send("DELETE", &path, Some(&t.admin), None).await;
    assert_eq!(res.status, 200);
    let deleted = t
        .get(&format!("/api/admin/audit-log?target={user}"), &t.admin)
        .await
        .json();
    assert_eq!(deleted["events"][0]["action"], "user.deleted");
    assert_eq!(deleted["events"][0]["details"]["email"], "user@example.org");
}

#[tokio::test]
async fn pages_follow_the_cursor_without_gaps_and_bad_queries_are_400() {
    let t = Admin::new().await;
    let path = format!("/api/admin/users/{}", t.user.user.id);
    for i in 0..5 {
        t.send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"name": format!("Name {i}")})),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut next = "/api/admin/audit-log?limit=2".to_string();
    loop {
        let page = t.get(&next, &t.admin).await.json();
        for e in page["events"].as_array().unwrap() {
            seen.push(e["details"]["name"]["after"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => next = format!("/api/admin/audit-log?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Name 4", "Name 3", "Name 2", "Name 1", "Name 0"]);

    for bad in ["since=yesterday", "until="] {
        let res = t
            .get(&format!("/api/admin/audit-log?{bad}"), &t.admin)
            .await;
        assert_eq!(res.status, 400, "{bad}");
        let field = bad.split('=').next().unwrap();
        assert_eq!(
            res.json()["error"],
            format!("Validation error: Invalid datetime at \"{field}\"")
        );
    }
    let res = t
        .get(
            "/api/admin/audit-log?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            &t.admin,
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["error"],
        "Validation error: until must not be before since at \"until\""
    );
    let res = t.get("/api/admin/audit-log?cursor=forged", &t.admin).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["error"],
        "Validation error: Invalid cursor at \"cursor\""
    );
    let res = t.get("/api/admin/audit-log", &t.user).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        envelope("Forbidden - Admin or Staff access required")
    );
    let res = t.send("GET", "/api/admin/audit-log", None, None).await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn oauth_clients_and_session_revocations_are_recorded() {
    let t = Admin::new().await;
    let res = t
        .send(
            "POST",
            "/api/admin/oauth-clients",
            Some(&t.admin),
            Some(json!({"name": "Wiki", "redirectUris": ["https://wiki.example.org/cb"]})),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let secret = res.json()["oauthClient"]["clientSecret"]
        .as_str()
        .unwrap()
        .to_string();
    let id = res.json()["oauthClient"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/oauth-clients/{id}"),
            Some(&t.admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(res.status, 200);
    let (token, session) = portal_testkit::session_for(&t.state, &t.user.user).await;
    let res = t
        .send(
            "DELETE",
            &format!("/api/admin/sessions/{}", session.id),
            Some(&t.staff),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    let events = t.get("/api/admin/audit-log", &t.admin).await.json()["events"]
        .as_array()
        .unwrap()
        .clone();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "session.revoked",
            "oauth_client.changed",
            "oauth_client.created"
        ]
    );
    assert_eq!(events[0]["actor"], t.staff.user.id.as_str());
    assert_eq!(events[0]["target"], t.user.user.id.as_str());
    assert_eq!(events[0]["details"]["sessionId"], session.id.as_str());
    assert_eq!(
        events[1]["details"]["disabled"],
        json!({"before": false, "after": true})
    );
    assert_eq!(events[2]["details"]["name"], "Wiki");
    let dump = t.table_dump().await;
    assert!(
        !dump.contains(&secret) && !dump.contains(&token),
        "no secret recorded"
    );
}
