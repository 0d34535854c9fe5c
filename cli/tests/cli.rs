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

#[tokio::test]
async fn the_cli_keeps_the_last_admin_rule() {
    let db = fresh_db().await;
    let table = db.table().to_string();
    let (ok, _, err) = admin_cli(
        &table,
        &["create-admin", "--email", "root@example.org"],
        Some("a-long-password\n"),
    );
    assert!(ok, "{err}");
    for args in [
        vec!["set-role", "--email", "root@example.org", "--role", "user"],
        vec!["ban", "--email", "root@example.org"],
    ] {
        let (ok, _, err) = admin_cli(&table, &args, None);
        assert!(!ok, "{args:?}");
        assert!(err.contains("last admin"), "{err}");
    }
    let (user, _) = db
        .users()
        .find_by_email("root@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Admin);
    assert!(!user.banned);
}

#[tokio::test]
async fn create_admin_over_an_existing_account_revokes_what_it_had() {
    let db = fresh_db().await;
    let table = db.table().to_string();
    let state = portal_shared::AppState::new(portal_shared::Config::for_tests(&table), db.clone());
    // Someone signed up with the address the operator is about to make admin.
    let squatter = person(&state, "root@example.org", Role::User).await;
    let (key, _) = portal_testkit::api_key_for(&state, &squatter.user, "theirs").await;
    let (ok, out, err) = admin_cli(
        &table,
        &["create-admin", "--email", "root@example.org"],
        Some("the-operators-password\n"),
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("taken over; 1 session(s) ended and 1 API key(s) deleted"),
        "{out}"
    );
    assert!(
        db.sessions()
            .resolve(&squatter.token)
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.api_keys().resolve(&key).await.unwrap().is_none());
    let (user, _) = db
        .users()
        .find_by_email("root@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Admin);
    assert!(user.email_verified);
}
