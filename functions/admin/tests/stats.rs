//! `/api/admin/stats`: the documented shape, O(1) reads, and exact after concurrent writes
//! (compared with a full recount of the table).

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use common::Admin;
use portal_domain::model::{ApiKey, Role};
use portal_domain::time::{iso, now};
use portal_testkit::{Person, person, session_for};
use serde_json::{Value, json};

fn new_key(user: &Person, n: usize) -> (String, ApiKey) {
    portal_testkit::unsaved_api_key(&user.user, &format!("k{n}"), !n.is_multiple_of(3))
}

/// A role or ban change either applied, or was refused by the last-admin rule (a member
/// demoted from admin by one request while another bans them can look like the last one).
fn settled(res: &portal_testkit::TestResponse) {
    let refused_last_admin = res.status == 403
        && res.json()["error"] == "Forbidden - the last admin cannot be demoted, banned or deleted";
    assert!(
        res.status == 200 || refused_last_admin,
        "{} {:?}",
        res.status,
        String::from_utf8_lossy(&res.body)
    );
}

/// What a full Scan of the table says, by the same rules as the counters.
async fn recount(t: &Admin) -> Value {
    let mut items: Vec<HashMap<String, AttributeValue>> = Vec::new();
    let mut start = None;
    loop {
        let page = t
            .state
            .db
            .client()
            .scan()
            .table_name(t.state.db.table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let text = |i: &HashMap<String, AttributeValue>, k: &str| {
        i.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let flag = |i: &HashMap<String, AttributeValue>, k: &str| {
        i.get(k)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false)
    };
    let now = iso(now());
    let retention = iso(portal_domain::time::now() - time::Duration::hours(48));
    let hour = |s: &str| portal_domain::store::keys::hour_of(s);
    let of = |sk: &'static str| -> Vec<&HashMap<String, AttributeValue>> {
        items.iter().filter(|i| text(i, "SK") == sk).collect()
    };
    let users = of("USER");
    let sessions = of("SESSION");
    let keys = of("APIKEY");
    let clients = of("OAUTH");
    json!({
        "users": {
            "total": users.len(),
            "admins": users.iter().filter(|u| text(u, "role") == "admin").count(),
            "staff": users.iter().filter(|u| text(u, "role") == "staff").count(),
            "banned": users.iter().filter(|u| flag(u, "banned")).count(),
            "regular": users.iter().filter(|u| text(u, "role") == "user").count(),
        },
        "sessions": {
            "total": sessions.iter().filter(|s| hour(&text(s, "expiresAt")) >= hour(&retention)).count(),
            "active": sessions.iter().filter(|s| text(s, "expiresAt") > now).count(),
        },
        "apiKeys": { "total": keys.len(), "enabled": keys.iter().filter(|k| flag(k, "enabled")).count() },
        "oauthClients": { "total": clients.len(), "disabled": clients.iter().filter(|c| flag(c, "disabled")).count() },
    })
}

#[tokio::test]
async fn stats_have_the_documented_shape() {
    let t = Admin::new().await;
    let (_, expired) = session_for(&t.state, &t.user.user).await;
    t.state
        .db
        .sessions()
        .extend(
            &expired,
            &iso(now() - time::Duration::hours(1)),
            &iso(now()),
        )
        .await
        .unwrap();
    let res = t.get("/api/admin/stats", &t.staff).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({
            "users": {"total": 3, "admins": 1, "staff": 1, "banned": 0, "regular": 1},
            "sessions": {"total": 4, "active": 3},
            "apiKeys": {"total": 0, "enabled": 0},
            "oauthClients": {"total": 0, "disabled": 0},
        })
    );
    assert_eq!(res.json(), recount(&t).await);
    assert_eq!(t.get("/api/admin/stats", &t.user).await.status, 403);
}

#[tokio::test]
async fn a_session_expiring_within_the_current_hour_is_counted_exactly() {
    let t = Admin::new().await;
    let (_, soon) = session_for(&t.state, &t.user.user).await;
    let (_, just_gone) = session_for(&t.state, &t.user.user).await;
    t.state
        .db
        .sessions()
        .extend(&soon, &iso(now() + time::Duration::seconds(2)), &iso(now()))
        .await
        .unwrap();
    t.state
        .db
        .sessions()
        .extend(
            &just_gone,
            &iso(now() - time::Duration::seconds(1)),
            &iso(now()),
        )
        .await
        .unwrap();
    let stats = t.get("/api/admin/stats", &t.admin).await.json();
    assert_eq!(stats["sessions"], recount(&t).await["sessions"]);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let later = t.get("/api/admin/stats", &t.admin).await.json();
    assert_eq!(
        later["sessions"]["active"].as_i64().unwrap(),
        stats["sessions"]["active"].as_i64().unwrap() - 1,
        "the session that expired meanwhile is no longer active"
    );
}

#[tokio::test]
async fn two_hundred_concurrent_writes_leave_the_stats_exact() {
    let t = Admin::new().await;
    let mut members = Vec::new();
    for i in 0..10 {
        members.push(person(&t.state, &format!("member{i}@example.org"), Role::User).await);
    }
    let mut doomed = Vec::new();
    for i in 0..20 {
        let (_, key) = new_key(&members[i % 10], 1000 + i);
        doomed.push(t.state.db.api_keys().create(key).await.unwrap());
    }

    let mut ops: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>> = Vec::new();
    for i in 0..60 {
        let state = t.state.clone();
        ops.push(Box::pin(async move {
            let p = person(&state, &format!("signup{i}@example.org"), Role::User).await;
            session_for(&state, &p.user).await;
        }));
    }
    for i in 0..40 {
        let target = members[i % 10].user.id.clone();
        let role = ["staff", "user", "admin"][i % 3];
        let t = &t;
        ops.push(Box::pin(async move {
            let res = t
                .send(
                    "PATCH",
                    &format!("/api/admin/users/{target}"),
                    Some(&t.admin),
                    Some(json!({"role": role})),
                )
                .await;
            settled(&res);
        }));
    }
    for i in 0..30 {
        let target = members[(i * 3) % 10].user.id.clone();
        let banned = i.is_multiple_of(2);
        let t = &t;
        ops.push(Box::pin(async move {
            let res = t
                .send(
                    "PATCH",
                    &format!("/api/admin/users/{target}"),
                    Some(&t.admin),
                    Some(json!({"banned": banned})),
                )
                .await;
            settled(&res);
        }));
    }
    for i in 0..40 {
        let owner = members[i % 10].clone();
        let state = t.state.clone();
        ops.push(Box::pin(async move {
            let (_, key) = new_key(&owner, i);
            state.db.api_keys().create(key).await.unwrap();
        }));
    }
    for i in 0..30 {
        // 20 keys, 30 deletions: some race for the same key, only one may count.
        let id = doomed[i % 20].id.clone();
        let t = &t;
        ops.push(Box::pin(async move {
            let res = t
                .send(
                    "DELETE",
                    &format!("/api/admin/api-keys/{id}"),
                    Some(&t.admin),
                    None,
                )
                .await;
            assert!(res.status == 200 || res.status == 404, "{}", res.status);
        }));
    }
    assert_eq!(ops.len(), 200);
    futures::future::join_all(ops).await;

    let stats = t.get("/api/admin/stats", &t.admin).await.json();
    let truth = recount(&t).await;
    assert_eq!(stats, truth);
    assert_eq!(truth["users"]["total"], 73);
    assert_eq!(truth["apiKeys"]["total"], 40);
}

#[tokio::test]
async fn stats_cost_the_same_reads_whatever_the_table_holds() {
    let (state, calls) = portal_testkit::counted_state(|c| c.rate_limits.enabled = false).await;
    let app = portal_web::http::finish(portal_admin_api::router(state.clone()), &state.config);
    let admin = person(&state, "admin@example.org", Role::Admin).await;
    let mut costs = Vec::new();
    for round in 0..2 {
        for i in 0..25 {
            let p = person(&state, &format!("r{round}-{i}@example.org"), Role::User).await;
            session_for(&state, &p.user).await;
        }
        calls.take();
        let request = axum::http::Request::builder()
            .uri("/api/admin/stats")
            .header("cookie", &admin.cookie)
            .header("origin", portal_testkit::BROWSER_ORIGIN)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = portal_testkit::call(&app, request).await;
        assert_eq!(res.status, 200);
        costs.push(calls.take());
    }
    // Authentication (one batch read) + the stats (one batch read, one Query of the hour).
    for cost in &costs {
        assert_eq!(cost, &vec!["BatchGetItem", "BatchGetItem", "Query"]);
    }
}
