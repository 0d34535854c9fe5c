//! The real `portal-admin` binary against a table in the embedded engine, as an operator
//! would run it against portal-local's store.

use std::io::Write;
use std::process::{Command, Stdio};

use portal_shared::model::Role;
use portal_testkit::{fresh_db, person, shared_engine};

fn admin_cli(table: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal-admin"))
        .args(args)
        .env("TABLE_NAME", table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", shared_engine().endpoint())
        .env_remove("PORTAL_ADMIN_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn an_operator_creates_an_admin_sets_roles_bans_and_reads_stats() {
    let db = fresh_db().await;
    let table = db.table().to_string();
    let (ok, out, err) = admin_cli(
        &table,
        &["create-admin", "--email", "Root@Example.org"],
        Some("a-long-password\n"),
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("admin root@example.org ("), "{out}");
    let (user, _) = db
        .users()
        .find_by_email("root@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Admin);

    let state = portal_shared::AppState::new(portal_shared::Config::for_tests(&table), db.clone());
    let member = person(&state, "member@example.org", Role::User).await;
    let (ok, out, _) = admin_cli(
        &table,
        &[
            "set-role",
            "--email",
            "member@example.org",
            "--role",
            "staff",
        ],
        None,
    );
    assert!(ok);
    assert_eq!(out.trim(), "member@example.org is now staff");
    let (ok, out, _) = admin_cli(
        &table,
        &["ban", "--email", "member@example.org", "--reason", "spam"],
        None,
    );
    assert!(ok);
    assert_eq!(out.trim(), "member@example.org banned; 1 session(s) ended");
    assert!(
        db.sessions()
            .resolve(&member.token)
            .await
            .unwrap()
            .is_none()
    );

    let (ok, out, _) = admin_cli(&table, &["stats"], None);
    assert!(ok);
    let stats: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        stats["users"],
        serde_json::json!({"total": 2, "admins": 1, "staff": 1, "banned": 1, "regular": 0})
    );
    let (ok, out, _) = admin_cli(&table, &["unban", "--email", "member@example.org"], None);
    assert!(ok, "{out}");
    assert!(
        !db.users()
            .get(&member.user.id)
            .await
            .unwrap()
            .unwrap()
            .banned
    );
}

#[tokio::test]
async fn mistakes_are_refused_with_a_message() {
    let db = fresh_db().await;
    let table = db.table().to_string();
    let (ok, _, err) = admin_cli(
        &table,
        &["create-admin", "--email", "a@example.org"],
        Some("short\n"),
    );
    assert!(!ok);
    assert!(err.contains("at least 8 characters"), "{err}");
    let (ok, _, err) = admin_cli(
        &table,
        &[
            "set-role",
            "--email",
            "nobody@example.org",
            "--role",
            "admin",
        ],
        None,
    );
    assert!(!ok);
    assert!(
        err.contains("no account with e-mail nobody@example.org"),
        "{err}"
    );
    let (ok, _, err) = admin_cli(
        &table,
        &["set-role", "--email", "a@example.org", "--role", "root"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("`root` is not user, staff or admin"), "{err}");
}
