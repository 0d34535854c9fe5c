//! `Db::land` (what `portal-admin import` writes a person with) against the real engine:
//! all of a person or nothing, counters moved in the same transaction, a second landing
//! writing nothing, a claim someone holds refusing the whole person.

use portal_domain::crypto::{new_id, random_alphanumeric};
use portal_domain::keyring::Keyring;
use portal_domain::model::{Client, Role, User};
use portal_domain::store::Db;
use portal_domain::store::import::{Arrival, ArrivingFactor, Landed, census};
use portal_domain::store::integration_accounts::Account;
use portal_domain::store::sessions::session_for_token;
use portal_domain::time::{iso, now};
use portal_testkit::fresh_db;
use serde_json::json;

fn person(email: &str, username: Option<&str>, role: Role) -> User {
    let mut user = User::new(
        new_id(),
        "Moved".into(),
        email.into(),
        true,
        role,
        &iso(now()),
    );
    user.username = username.map(str::to_string);
    user.display_username = username.map(str::to_string);
    user
}

fn arrival(keyring: &Keyring, user: User, sessions: usize) -> Arrival {
    let at = iso(now());
    let sessions = (0..sessions)
        .map(|_| {
            let token = random_alphanumeric(32);
            let id = portal_domain::crypto::sha256_hex(token.as_bytes())[..32].to_string();
            session_for_token(keyring, &user, id, &token, true, &Client::default(), now())
        })
        .collect();
    let account = |integration: &str, name: &str, status: &str| Account {
        id: new_id(),
        user_id: user.id.clone(),
        integration_id: integration.into(),
        username: name.into(),
        data: json!({ "username": name }),
        status: status.into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    Arrival {
        password_hash: Some("00ff:00ff".into()),
        sessions,
        api_keys: vec![],
        two_factor: Some(ArrivingFactor {
            sealed_secret: keyring.seal("JBSWY3DPEHPK3PXP"),
            verified: true,
            backup_hashes: vec!["a".into(), "b".into()],
        }),
        passkeys: vec![],
        linked: vec![],
        accounts: vec![
            account(
                "xmpp",
                &format!("x{}", &user.id[..8]).to_lowercase(),
                "active",
            ),
            account(
                "xmpp",
                &format!("old{}", &user.id[..8]).to_lowercase(),
                "deleted",
            ),
        ],
        consents: vec![],
        grants: vec![],
        user,
    }
}

async fn items(db: &Db) -> usize {
    db.scan_everything().await.unwrap().len()
}

#[tokio::test]
async fn a_person_lands_whole_with_the_counters_and_only_once() {
    let db = fresh_db().await;
    let keyring = Keyring::new("import-secret", None);
    let admin = arrival(
        &keyring,
        person("root@example.org", Some("root"), Role::Admin),
        2,
    );
    let Landed::Written(written) = db.land(&admin).await.unwrap() else {
        panic!("written");
    };
    assert_eq!(
        items(&db).await,
        written,
        "one item per write, nothing else"
    );
    let stats = db.stats().read(now()).await.unwrap();
    assert_eq!(
        (stats.users, stats.admins, stats.sessions_active),
        (1, 1, 2)
    );
    let xmpp = db.stats().accounts("xmpp").await.unwrap();
    assert_eq!(
        (xmpp.get("active"), xmpp.get("deleted")),
        (Some(&1), Some(&1))
    );
    assert!(
        db.present_users(std::slice::from_ref(&admin.user.id))
            .await
            .unwrap()
            .contains(&admin.user.id)
    );
    let before = census(&db.scan_everything().await.unwrap());
    assert!(before.orphan_claims.is_empty() && before.unclaimed_users.is_empty());

    assert_eq!(db.land(&admin).await.unwrap(), Landed::AlreadyThere);
    let after = census(&db.scan_everything().await.unwrap());
    assert_eq!(
        before.digest, after.digest,
        "a second landing changes nothing"
    );
    assert_eq!(db.stats().read(now()).await.unwrap(), stats);
}

#[tokio::test]
async fn a_claim_held_by_someone_else_refuses_the_whole_person() {
    let db = fresh_db().await;
    let keyring = Keyring::new("import-secret", None);
    let first = arrival(
        &keyring,
        person("ada@example.org", Some("ada"), Role::User),
        1,
    );
    assert!(matches!(db.land(&first).await.unwrap(), Landed::Written(_)));
    let count = items(&db).await;

    let same_email = arrival(
        &keyring,
        person("ada@example.org", Some("other"), Role::User),
        1,
    );
    assert_eq!(db.land(&same_email).await.unwrap(), Landed::Taken("email"));
    let same_name = arrival(
        &keyring,
        person("ada2@example.org", Some("ada"), Role::User),
        1,
    );
    assert_eq!(
        db.land(&same_name).await.unwrap(),
        Landed::Taken("username")
    );
    assert_eq!(items(&db).await, count, "nothing of theirs was written");
    assert_eq!(db.stats().read(now()).await.unwrap().users, 1);
}

#[tokio::test]
async fn a_person_too_large_for_one_transaction_is_refused_not_split() {
    let db = fresh_db().await;
    let keyring = Keyring::new("import-secret", None);
    let busy = arrival(&keyring, person("busy@example.org", None, Role::User), 120);
    assert!(matches!(db.land(&busy).await.unwrap(), Landed::TooLarge(n) if n > 100));
    assert_eq!(items(&db).await, 0);
}

#[tokio::test]
async fn the_checkpoint_remembers_where_an_import_stopped() {
    let db = fresh_db().await;
    assert!(db.import_checkpoint("abc").await.unwrap().is_none());
    db.save_import_checkpoint("abc", "user-0042").await.unwrap();
    db.save_import_checkpoint("other", "user-0001")
        .await
        .unwrap();
    assert_eq!(
        db.import_checkpoint("abc").await.unwrap().unwrap().after,
        "user-0042"
    );
}
