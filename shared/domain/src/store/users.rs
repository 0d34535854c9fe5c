//! Users, their password credential, the e-mail claim that keeps e-mails unique, and the
//! name entry that makes names searchable. Every change to a user is one transaction with
//! the counters it moves (see `stats`), guarded by a version number.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::db::{Db, StoreError};
use super::item::{Item, from_item, n, s, to_item};
use super::keys::ItemKeys;
use super::listing::{Cursor, PageRequest};
use super::stats::Delta;
use super::table::{Committed, Expression, Query, at_version, exists, is_new};
use super::{keys, schema};
use crate::model::{Role, User};

#[derive(Debug, Serialize, Deserialize)]
struct UserItem {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(default)]
    version: i64,
    #[serde(flatten)]
    user: User,
}

impl UserItem {
    fn new(user: User, version: i64) -> Self {
        Self {
            keys: keys::user_item(&user),
            version,
            user,
        }
    }
}

/// Makes a user findable by the start of their name (lower-cased).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NameEntry {
    #[serde(flatten)]
    keys: ItemKeys,
    user_id: String,
}

impl NameEntry {
    fn of(user: &User) -> Self {
        Self {
            keys: keys::name_entry_item(user),
            user_id: user.id.clone(),
        }
    }
}

/// The stored password of a user (BetterAuth's credential account).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    #[serde(flatten)]
    keys: ItemKeys,
    pub user_id: String,
    pub password_hash: String,
    pub created_at: String,
    pub updated_at: String,
    /// Wrong passwords typed for this account in the current window (every entry point
    /// counts here), and when the last one was (unix milliseconds).
    #[serde(default)]
    pub failed_attempts: i64,
    #[serde(default)]
    pub last_failure_ms: i64,
}

impl Credential {
    /// Seconds until the account takes password tries again, when `max` wrong ones were
    /// typed within `window_secs` of each other and the last is that recent.
    pub fn locked_for(&self, max: u32, window_secs: u64, now_ms: i64) -> Option<u64> {
        let free_at = self.last_failure_ms + (window_secs * 1000) as i64;
        (self.failed_attempts >= i64::from(max) && free_at > now_ms)
            .then(|| ((free_at - now_ms) as u64).div_ceil(1000).max(1))
    }
}

/// Holds an e-mail (or, with other keys, a username) for one user.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailClaim {
    #[serde(flatten)]
    keys: ItemKeys,
    user_id: String,
}

impl EmailClaim {
    fn username(username: &str, user_id: &str) -> Self {
        Self {
            keys: keys::username_claim_item(username, user_id),
            user_id: user_id.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("e-mail already taken")]
    EmailTaken,
    #[error("username already taken")]
    UsernameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Users<'a> {
    db: &'a Db,
}

impl Db {
    pub fn users(&self) -> Users<'_> {
        Users { db: self }
    }
}

impl Db {
    /// Adds a user to, or takes them off, the admin roster (see [`keys::admin_roster`]).
    /// Taking someone off holds only while they are on it with somebody else.
    fn roster_change(&self, user_id: &str, joins: bool) -> Result<TransactWriteItem, StoreError> {
        let id = AttributeValue::Ss(vec![user_id.to_string()]);
        let (update, condition) = if joins {
            (Expression::new("ADD #ids :ids"), None)
        } else {
            (
                Expression::new("DELETE #ids :ids"),
                Some(
                    Expression::new("contains(#ids, :id) AND size(#ids) > :one")
                        .value(":id", s(user_id))
                        .value(":one", n(1)),
                ),
            )
        };
        let update = update.name("#ids", "ids").value(":ids", id);
        self.update(keys::admin_roster(), update, condition)
    }

    /// The roster change a user's edit needs, if any.
    fn roster_between(
        &self,
        old: Option<&User>,
        new: Option<&User>,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let was = old.is_some_and(User::is_acting_admin);
        let is = new.is_some_and(User::is_acting_admin);
        let id = new.or(old).map(|u| u.id.as_str()).unwrap_or_default();
        match (was, is) {
            // An acting admin is (re)stated on every write of theirs: adding to a set is
            // idempotent, and it heals a roster written before this rule existed.
            (_, true) => Ok(Some(self.roster_change(id, true)?)),
            (true, false) => Ok(Some(self.roster_change(id, false)?)),
            (false, false) => Ok(None),
        }
    }
}

/// Where [`Db::new_user_items`] puts its conditional writes: the e-mail claim, the user
/// item, and (when the user has one) the username claim.
pub(crate) const NEW_USER_EMAIL_AT: usize = 0;
pub(crate) const NEW_USER_ITEM_AT: usize = 1;
pub(crate) const NEW_USER_USERNAME_AT: usize = 3;

impl Db {
    /// The writes of a new user (counters aside): the e-mail claim and the user item (both
    /// only if new), the name entry, the username claim (only if free, when there is a
    /// username), the password credential (if given) and the admin roster (an acting
    /// admin). The positions of the conditional ones are the `NEW_USER_*` constants.
    pub(crate) fn new_user_items(
        &self,
        user: &User,
        password_hash: Option<String>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let claim = EmailClaim {
            keys: keys::plain_item(keys::email_claim(&user.email)),
            user_id: user.id.clone(),
        };
        let mut items = vec![
            self.put(to_item(&claim)?, Some(is_new()))?,
            self.put(to_item(&UserItem::new(user.clone(), 1))?, Some(is_new()))?,
            self.put(to_item(&NameEntry::of(user))?, None)?,
        ];
        if let Some(username) = &user.username {
            let claim = EmailClaim::username(username, &user.id);
            items.push(self.put(to_item(&claim)?, Some(is_new()))?);
        }
        if let Some(hash) = password_hash {
            let credential = Credential {
                keys: keys::plain_item(keys::credential(&user.id)),
                user_id: user.id.clone(),
                password_hash: hash,
                created_at: user.created_at.clone(),
                updated_at: user.created_at.clone(),
                failed_attempts: 0,
                last_failure_ms: 0,
            };
            items.push(self.put(to_item(&credential)?, None)?);
        }
        items.extend(self.roster_between(None, Some(user))?);
        Ok(items)
    }
}

/// A change the table refused through a claim it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// It would leave no admin who can act.
    LastAdmin,
    /// The username it sets belongs to somebody else.
    UsernameTaken,
    /// The e-mail address it sets belongs to somebody else.
    EmailTaken,
}

/// How many times a read-modify-write is retried when another writer got there first.
const ATTEMPTS: usize = 8;

impl Users<'_> {
    /// Creates the user, its e-mail claim, its name entry and (if given) its password, and
    /// counts it, all or nothing. Of any number of racing sign-ups for one e-mail, exactly
    /// one succeeds.
    pub async fn create(
        &self,
        user: User,
        password_hash: Option<String>,
    ) -> Result<User, CreateUserError> {
        self.create_signed_in(user, password_hash, None, None).await
    }

    /// [`Users::create`] together with the user's first session, in the same
    /// transaction: a sign-up either ends signed in or leaves nothing behind.
    pub async fn create_signed_in(
        &self,
        user: User,
        password_hash: Option<String>,
        session: Option<&crate::model::Session>,
        audit: Option<&Event>,
    ) -> Result<User, CreateUserError> {
        self.create_with(user, password_hash, session, audit, Vec::new())
            .await
    }

    /// [`Users::create_signed_in`] with more items written in the same transaction (a
    /// linked account); their conditions failing is a store error.
    pub(crate) async fn create_with(
        &self,
        user: User,
        password_hash: Option<String>,
        session: Option<&crate::model::Session>,
        audit: Option<&Event>,
        extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<User, CreateUserError> {
        let db = self.db;
        let mut items = db.new_user_items(&user, password_hash)?;
        items.extend(db.counter_update(Delta::of_user(&user, 1))?);
        if let Some(session) = session {
            items.extend(db.session_items(session)?);
        }
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        let extra_at = items.len();
        items.extend(extra);
        match db.commit(items).await? {
            Committed::Yes => Ok(user),
            Committed::ConditionFailed(failed) if failed.iter().any(|&i| i >= extra_at) => {
                Err(CreateUserError::Store(StoreError::Dynamo(
                    "a linked account was claimed meanwhile".into(),
                )))
            }
            // The e-mail answers first when both are taken (the plugin checks the username
            // first, but the e-mail's answer reveals nothing the username's would not).
            Committed::ConditionFailed(failed) if failed == [NEW_USER_USERNAME_AT] => {
                Err(CreateUserError::UsernameTaken)
            }
            Committed::ConditionFailed(_) => Err(CreateUserError::EmailTaken),
        }
    }

    /// The user, read strongly consistently.
    pub async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.get_versioned(user_id).await?.map(|(u, _)| u))
    }

    async fn get_versioned(&self, user_id: &str) -> Result<Option<(User, i64)>, StoreError> {
        self.db
            .get_item(keys::user(user_id))
            .await?
            .map(|item| from_item::<UserItem>(item).map(|i| (i.user, i.version)))
            .transpose()
    }

    /// The user owning `email` (lower-cased by the caller) and their password, if any.
    pub async fn find_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(User, Option<Credential>)>, StoreError> {
        let Some(claim) = self.db.get_item(keys::email_claim(email)).await? else {
            return Ok(None);
        };
        let claim: EmailClaim = from_item(claim)?;
        self.with_credential(&claim.user_id).await
    }

    /// The user holding `username` (normalised by the caller) and their password, if any.
    pub async fn find_by_username(
        &self,
        username: &str,
    ) -> Result<Option<(User, Option<Credential>)>, StoreError> {
        match self.username_owner(username).await? {
            Some(user_id) => self.with_credential(&user_id).await,
            None => Ok(None),
        }
    }

    /// The id of the user holding `username` (normalised by the caller).
    pub async fn username_owner(&self, username: &str) -> Result<Option<String>, StoreError> {
        let Some(claim) = self.db.get_item(keys::username_claim(username)).await? else {
            return Ok(None);
        };
        Ok(Some(from_item::<EmailClaim>(claim)?.user_id))
    }

    /// The user's password record (BetterAuth's credential account), if they have one.
    pub async fn credential(&self, user_id: &str) -> Result<Option<Credential>, StoreError> {
        self.db
            .get_item(keys::credential(user_id))
            .await?
            .map(from_item::<Credential>)
            .transpose()
    }

    /// The user and their password in one strongly consistent Query of their partition.
    pub async fn with_credential(
        &self,
        user_id: &str,
    ) -> Result<Option<(User, Option<Credential>)>, StoreError> {
        let (pk, user_sk) = keys::user(user_id);
        let (_, credential_sk) = keys::credential(user_id);
        let mut user = None;
        let mut credential = None;
        for item in self.db.query_all(&Query::table(&pk)).await? {
            let sk = item.get(schema::SK).and_then(|v| v.as_s().ok()).cloned();
            if sk.as_deref() == Some(user_sk.as_str()) {
                user = Some(from_item::<UserItem>(item)?.user);
            } else if sk.as_deref() == Some(credential_sk.as_str()) {
                credential = Some(from_item::<Credential>(item)?);
            }
        }
        Ok(user.map(|u| (u, credential)))
    }

    /// Counts a wrong password against the account: within `window_secs` of the last one
    /// the count goes up, else it starts again at one. Nothing for a user without a
    /// password.
    pub async fn record_password_failure(
        &self,
        user_id: &str,
        now_ms: i64,
        window_secs: u64,
    ) -> Result<(), StoreError> {
        let cutoff = now_ms - (window_secs * 1000) as i64;
        let counted = self
            .db
            .update_if(
                keys::credential(user_id),
                Expression::new("ADD failedAttempts :one SET lastFailureMs = :now")
                    .value(":one", super::item::n(1))
                    .value(":now", super::item::n(now_ms)),
                exists().and(
                    Expression::new("lastFailureMs > :cutoff")
                        .value(":cutoff", super::item::n(cutoff)),
                ),
            )
            .await?;
        if !counted {
            self.db
                .update_if(
                    keys::credential(user_id),
                    Expression::new("SET failedAttempts = :one, lastFailureMs = :now")
                        .value(":one", super::item::n(1))
                        .value(":now", super::item::n(now_ms)),
                    exists(),
                )
                .await?;
        }
        Ok(())
    }

    /// Stores a new password hash (creating the credential if the user had none).
    /// (A hash upgrade, not a password change: nothing is revoked.)
    pub async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let write = self.credential_write(user_id, password_hash, now)?;
        self.db.commit(vec![write]).await?;
        Ok(())
    }

    /// The write that stores a password hash (creating the credential if there was none).
    fn credential_write(
        &self,
        user_id: &str,
        password_hash: &str,
        now: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Expression::new("SET passwordHash = :h, updatedAt = :now, userId = :u, createdAt = if_not_exists(createdAt, :now)")
            .value(":h", s(password_hash))
            .value(":now", s(now))
            .value(":u", s(user_id));
        self.db.update(keys::credential(user_id), update, None)
    }

    /// Reads the user, lets `change` edit it, and stores the result with the counters and
    /// the admin roster it moves, retrying when another writer changed the user meanwhile.
    /// `change` returns `Err` to refuse (nothing is written); a change that would take the
    /// last acting admin off the roster is refused with [`LastAdmin`]. `None` when there is
    /// no such user.
    pub async fn modify<E: From<Conflict>>(
        &self,
        user_id: &str,
        now: &str,
        change: impl FnMut(&mut User) -> Result<(), E>,
    ) -> Result<Option<Result<User, E>>, StoreError> {
        self.modify_with(user_id, None, now, change, |_, _| Ok(Vec::new()))
            .await
    }

    /// [`Users::modify`] that also stores the user's picture (`Some`) in the same
    /// transaction, or removes the one they had when the change sets another `image`.
    pub async fn modify_with_avatar<E: From<Conflict>>(
        &self,
        user_id: &str,
        now: &str,
        change: impl FnMut(&mut User) -> Result<(), E>,
        avatar: Option<&crate::avatar::Avatar>,
    ) -> Result<Option<Result<User, E>>, StoreError> {
        let db = self.db;
        self.modify_with(user_id, None, now, change, |old, new| match avatar {
            Some(avatar) => Ok(vec![db.avatar_put(user_id, avatar)?]),
            None if old.image != new.image => Ok(vec![db.avatar_delete(user_id)?]),
            None => Ok(Vec::new()),
        })
        .await
    }

    /// [`Users::modify`] with its audit event, made from the user before and after the
    /// change and written in the same transaction (`None`: nothing worth recording).
    pub async fn modify_audited<E: From<Conflict>>(
        &self,
        user_id: &str,
        now: &str,
        change: impl FnMut(&mut User) -> Result<(), E>,
        mut record: impl FnMut(&User, &User) -> Option<Event>,
    ) -> Result<Option<Result<User, E>>, StoreError> {
        let db = self.db;
        self.modify_with(user_id, None, now, change, |old, new| {
            record(old, new)
                .map(|event| db.audit_write(&event))
                .into_iter()
                .collect()
        })
        .await
    }

    /// [`Users::modify`] with more writes in the same transaction, made from the changed
    /// user (`extra`, called once per attempt). The first attempt starts from `seen` (the
    /// user and its version as already read) when given; a stale copy fails the version
    /// condition and the next attempt reads afresh.
    pub(crate) async fn modify_with<E: From<Conflict>>(
        &self,
        user_id: &str,
        mut seen: Option<(User, i64)>,
        now: &str,
        mut change: impl FnMut(&mut User) -> Result<(), E>,
        mut extra: impl FnMut(&User, &User) -> Result<Vec<TransactWriteItem>, StoreError>,
    ) -> Result<Option<Result<User, E>>, StoreError> {
        let db = self.db;
        for _ in 0..ATTEMPTS {
            let read = match seen.take() {
                Some(seen) => Some(seen),
                None => self.get_versioned(user_id).await?,
            };
            let Some((old, version)) = read else {
                return Ok(None);
            };
            let mut new = old.clone();
            if let Err(refused) = change(&mut new) {
                return Ok(Some(Err(refused)));
            }
            let extra = extra(&old, &new)?;
            if new == old && extra.is_empty() {
                return Ok(Some(Ok(old)));
            }
            new.updated_at = now.to_string();
            let item = to_item(&UserItem::new(new.clone(), version + 1))?;
            let mut items = vec![db.put(item, Some(at_version(version)))?];
            if new.name != old.name {
                items.push(db.put(to_item(&NameEntry::of(&new))?, None)?);
            }
            // A new username is claimed (only if free) and the old one let go, together.
            let mut username_at = None;
            if new.username != old.username {
                if let Some(username) = &new.username {
                    username_at = Some(items.len());
                    let claim = EmailClaim::username(username, &new.id);
                    items.push(db.put(to_item(&claim)?, Some(is_new()))?);
                }
                if let Some(username) = &old.username {
                    items.push(db.delete(keys::username_claim(username), None)?);
                }
            }
            // A new address is claimed (only if free) and the old one let go, together.
            let mut email_at = None;
            if new.email != old.email {
                email_at = Some(items.len());
                let claim = EmailClaim {
                    keys: keys::plain_item(keys::email_claim(&new.email)),
                    user_id: new.id.clone(),
                };
                items.push(db.put(to_item(&claim)?, Some(is_new()))?);
                items.push(db.delete(keys::email_claim(&old.email), None)?);
            }
            items.extend(db.counter_update(Delta::between_users(&old, &new))?);
            let roster_at = items.len();
            let roster = db.roster_between(Some(&old), Some(&new))?;
            let has_roster = roster.is_some();
            items.extend(roster);
            items.extend(extra);
            match db.commit(items).await? {
                Committed::Yes => return Ok(Some(Ok(new))),
                // Only the roster said no: this user is the last admin who can act.
                Committed::ConditionFailed(failed) if has_roster && failed == [roster_at] => {
                    return Ok(Some(Err(Conflict::LastAdmin.into())));
                }
                // Only the username claim said no: somebody else holds it.
                Committed::ConditionFailed(failed)
                    if username_at.is_some_and(|at| failed == [at]) =>
                {
                    return Ok(Some(Err(Conflict::UsernameTaken.into())));
                }
                // Only the e-mail claim said no: somebody else has that address.
                Committed::ConditionFailed(failed) if email_at.is_some_and(|at| failed == [at]) => {
                    return Ok(Some(Err(Conflict::EmailTaken.into())));
                }
                Committed::ConditionFailed(_) => continue,
            }
        }
        Err(StoreError::Dynamo(format!(
            "user {user_id} kept changing under concurrent writes"
        )))
    }

    /// Stores a new password hash and applies `change` to the user in ONE transaction (so a
    /// password change and the revocations it brings land together). `change` may refuse.
    pub async fn change_password<E: From<Conflict>>(
        &self,
        user_id: &str,
        password_hash: &str,
        now: &str,
        change: impl FnMut(&mut User) -> Result<(), E>,
        audit: Option<&Event>,
    ) -> Result<Option<Result<User, E>>, StoreError> {
        let mut writes = vec![self.credential_write(user_id, password_hash, now)?];
        if let Some(event) = audit {
            writes.push(self.db.audit_write(event)?);
        }
        self.modify_with(user_id, None, now, change, |_, _| Ok(writes.clone()))
            .await
    }

    /// Revokes every session of the user made so far (raising their session generation),
    /// except `keep`, which moves to the new generation in the same transaction. The
    /// sessions still stored are the caller's cleanup. `None` when there is no such user.
    pub async fn revoke_sessions(
        &self,
        user_id: &str,
        now: &str,
        keep: Option<&str>,
        audit: Option<&Event>,
    ) -> Result<Option<User>, StoreError> {
        let recorded = audit.map(|event| self.db.audit_write(event)).transpose()?;
        let db = self.db;
        let result = self
            .modify_with(
                user_id,
                None,
                now,
                |u| {
                    u.generations.sessions += 1;
                    Ok::<(), Conflict>(())
                },
                |_, new| {
                    let mut writes: Vec<TransactWriteItem> = recorded.iter().cloned().collect();
                    let Some(session_id) = keep else {
                        return Ok(writes);
                    };
                    let update = Expression::new("SET #generation = :generation")
                        .name("#generation", "generation")
                        .value(":generation", n(new.generations.sessions));
                    writes.push(db.update(keys::session(session_id), update, Some(exists()))?);
                    Ok(writes)
                },
            )
            .await?;
        result
            .map(|r| r.map_err(|c| StoreError::Dynamo(format!("unexpected conflict: {c:?}"))))
            .transpose()
    }

    /// The ids of the admins who can act (the roster), read strongly consistently.
    pub async fn acting_admins(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .db
            .get_item(keys::admin_roster())
            .await?
            .and_then(|mut item| item.remove("ids"))
            .and_then(|ids| ids.as_ss().ok().cloned())
            .unwrap_or_default())
    }

    /// [`Users::modify`] for changes that cannot be refused (not role or ban changes).
    pub async fn update(
        &self,
        user_id: &str,
        now: &str,
        change: impl FnMut(&mut User),
    ) -> Result<Option<User>, StoreError> {
        self.update_from(user_id, None, now, change).await
    }

    /// [`Users::update`] from a copy already read (`seen`: the user and its version, as
    /// the request's authentication read it): one write instead of a read and a write
    /// while nobody else changed the user meanwhile.
    pub async fn update_from(
        &self,
        user_id: &str,
        seen: Option<(User, i64)>,
        now: &str,
        change: impl FnMut(&mut User),
    ) -> Result<Option<User>, StoreError> {
        let mut change = change;
        let result = self
            .modify_with::<Conflict>(
                user_id,
                seen,
                now,
                |u| {
                    change(u);
                    Ok(())
                },
                |_, _| Ok(Vec::new()),
            )
            .await?;
        // Role, ban and username changes go through `moderation` or their own calls, which
        // handle the refusals.
        result
            .map(|r| {
                r.map_err(|c| StoreError::Dynamo(format!("a plain update was refused: {c:?}")))
            })
            .transpose()
    }

    /// Removes the user's own items (profile, e-mail claim, name entry, password) and
    /// uncounts them, if the user is still as read (`version`), unless they are the last
    /// admin who can act. Sessions, keys and tokens are removed by the caller first.
    pub async fn delete(
        &self,
        user_id: &str,
        audit: Option<&Event>,
    ) -> Result<Option<Result<User, Conflict>>, StoreError> {
        let db = self.db;
        for _ in 0..ATTEMPTS {
            let Some((user, version)) = self.get_versioned(user_id).await? else {
                return Ok(None);
            };
            let mut items = vec![
                db.delete(keys::user(user_id), Some(at_version(version)))?,
                db.delete(keys::email_claim(&user.email), None)?,
                db.delete(keys::name_entry(user_id), None)?,
                db.delete(keys::credential(user_id), None)?,
            ];
            if let Some(username) = &user.username {
                items.push(db.delete(keys::username_claim(username), None)?);
            }
            items.push(db.delete(keys::two_factor(user_id), None)?);
            items.push(db.avatar_delete(user_id)?);
            if let Some(event) = audit {
                items.push(db.audit_write(event)?);
            }
            items.extend(db.counter_update(Delta::of_user(&user, -1))?);
            let roster_at = items.len();
            let roster = db.roster_between(Some(&user), None)?;
            let has_roster = roster.is_some();
            items.extend(roster);
            match db.commit(items).await? {
                Committed::Yes => return Ok(Some(Ok(user))),
                Committed::ConditionFailed(failed) if has_roster && failed == [roster_at] => {
                    return Ok(Some(Err(Conflict::LastAdmin)));
                }
                Committed::ConditionFailed(_) => continue,
            }
        }
        Err(StoreError::Dynamo(format!(
            "user {user_id} kept changing under concurrent writes"
        )))
    }
}

pub(crate) fn user_from_item(item: Item) -> Result<User, StoreError> {
    from_item::<UserItem>(item).map(|i| i.user)
}

/// The user and the version of its item.
pub(crate) fn versioned_user_from_item(item: Item) -> Result<(User, i64), StoreError> {
    from_item::<UserItem>(item).map(|i| (i.user, i.version))
}

/// Which users an admin listing wants.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub banned: Option<bool>,
    /// Prefix of the e-mail, the name or the username (case-insensitive).
    pub search: Option<String>,
}

/// A page of users and the size of the whole filtered set.
#[derive(Debug, Clone)]
pub struct UserList {
    pub users: Vec<User>,
    pub total: i64,
    pub has_more: bool,
    pub next: Option<Cursor>,
}

fn banned_filter(banned: bool) -> Expression {
    Expression::new("#banned = :banned")
        .name("#banned", "banned")
        .value(":banned", AttributeValue::Bool(banned))
}

fn role_filter(role: Role) -> Expression {
    Expression::new("#role = :role")
        .name("#role", "role")
        .value(":role", s(role.as_str()))
}

impl Users<'_> {
    /// Users newest first, filtered by role and ban through the index that fits (roles:
    /// GSI3, banned: the sparse GSI4), or by search (see [`Users::search`]). `total` comes
    /// from the counters when one answers the filter, else from a count of the partition.
    pub async fn list(
        &self,
        filter: &UserFilter,
        request: &PageRequest,
    ) -> Result<UserList, StoreError> {
        if let Some(q) = filter.search.as_deref() {
            return self.search(q, filter, request).await;
        }
        let (gsi, partition, extra) = match (filter.role, filter.banned) {
            (role, Some(true)) => (
                schema::GSI4,
                keys::BANNED.to_string(),
                role.map(role_filter),
            ),
            (Some(role), banned) => (
                schema::GSI3,
                keys::role_partition(role.as_str()),
                banned.map(banned_filter),
            ),
            (None, banned) => (
                schema::GSI1,
                keys::USERS.to_string(),
                banned.map(banned_filter),
            ),
        };
        let page = self
            .db
            .list_page(gsi, &partition, extra.as_ref(), request, user_from_item);
        // The page and the total do not depend on each other: they go out together.
        let total = async {
            let counters = self.db.stats().counters().await?;
            Ok(match (filter.role, filter.banned) {
                (None, None) => counters.users,
                (Some(Role::Admin), None) => counters.admins,
                (Some(Role::Staff), None) => counters.staff,
                (Some(Role::User), None) => counters.users - counters.admins - counters.staff,
                (None, Some(true)) => counters.banned,
                (None, Some(false)) => counters.users - counters.banned,
                _ => {
                    let query = Query::index(gsi, &partition).filtered(extra.as_ref());
                    self.db.count(&query).await?
                }
            })
        };
        let (page, total) = futures::try_join!(page, total)?;
        Ok(UserList {
            users: page.items,
            total,
            has_more: page.has_more,
            next: page.next,
        })
    }

    /// Every user, newest first, up to `cap`, and whether there were more: the users
    /// index read whole (cost O(users)), for the listings no index answers (BetterAuth's
    /// `list-users` with a `contains` search or an arbitrary filter or order).
    pub async fn all(&self, cap: usize) -> Result<(Vec<User>, bool), StoreError> {
        let query = Query::index(schema::GSI1, keys::USERS);
        let (items, _) = self.db.query(&query, None, Some(cap + 1)).await?;
        let more = items.len() > cap;
        let users = items
            .into_iter()
            .take(cap)
            .map(user_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((users, more))
    }

    /// Prefix search on e-mail, name and username: three index Queries (GSI2 `USER_EMAIL`,
    /// `USER_NAME`, `USER_USERNAME`), plus the exact IRC nick or XMPP JID through their
    /// claims (one BatchGetItem, sent with the Queries); cost O(matches), never a table
    /// scan. Its cursor is the position.
    async fn search(
        &self,
        q: &str,
        filter: &UserFilter,
        request: &PageRequest,
    ) -> Result<UserList, StoreError> {
        let q = q.to_lowercase();
        let limit = request.limit;
        let start = match &request.cursor {
            Some(Cursor::At { search, position }) if *search == q => *position,
            Some(_) => return Err(StoreError::BadCursor),
            None => request.offset as usize,
        };
        let mut found: std::collections::HashMap<String, User> = std::collections::HashMap::new();
        // The three prefix Queries do not depend on each other: they go out together.
        let by_email = Query::index(schema::GSI2, keys::USER_EMAIL).prefix(&q);
        let by_name = Query::index(schema::GSI2, keys::USER_NAME).prefix(&q);
        let by_username = Query::index(schema::GSI2, keys::USER_USERNAME).prefix(&q);
        // A service account's exact name finds its owner too: the IRC nick, the XMPP JID
        // (or its localpart), through their claims.
        let local = q.split('@').next().unwrap_or(&q);
        let service_names = vec![
            keys::integration_username("irc", &q),
            keys::integration_username("xmpp", local),
        ];
        let (by_email, by_name, by_username, by_service) = futures::try_join!(
            self.db.query_all(&by_email),
            self.db.query_all(&by_name),
            self.db.query_all(&by_username),
            self.db.batch_get(service_names)
        )?;
        for item in by_email {
            let user = user_from_item(item)?;
            found.insert(user.id.clone(), user);
        }
        let mut missing = Vec::new();
        for item in by_name.into_iter().chain(by_username).chain(by_service) {
            if let Some(id) = item.get("userId").and_then(|v| v.as_s().ok())
                && !found.contains_key(id)
                && !missing.contains(id)
            {
                missing.push(id.clone());
            }
        }
        for user in self.get_many(&missing).await? {
            found.insert(user.id.clone(), user);
        }
        let mut users: Vec<User> = found
            .into_values()
            .filter(|u| filter.role.is_none_or(|r| u.role == r))
            .filter(|u| filter.banned.is_none_or(|b| u.banned == b))
            .collect();
        users.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let total = users.len() as i64;
        let end = (start + limit as usize).min(users.len());
        let has_more = end < users.len();
        let page = users
            .get(start.min(users.len())..end)
            .unwrap_or_default()
            .to_vec();
        Ok(UserList {
            users: page,
            total,
            has_more,
            next: has_more.then(|| Cursor::At {
                search: q.clone(),
                position: end,
            }),
        })
    }

    /// Several users by id (one BatchGetItem per 100, sent together), in no order.
    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<User>, StoreError> {
        let mut unique: Vec<&String> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        self.db
            .batch_get(unique.into_iter().map(|id| keys::user(id)).collect())
            .await?
            .into_iter()
            .map(user_from_item)
            .collect()
    }
}

impl Db {
    /// Removes a user and everything that is theirs in the table: sessions (they stop
    /// working at once), API keys, one-time tokens, password, e-mail claim, name entry,
    /// and uncounts them. `None` when there was no such user. Integration accounts are
    /// removed by their owner module before this is called.
    pub async fn delete_user_and_belongings(
        &self,
        user_id: &str,
        audit: Option<&super::audit::Event>,
    ) -> Result<Option<Result<User, Conflict>>, StoreError> {
        // The caller checked the last-admin rule before anything was removed; the delete
        // of the user item enforces it again, atomically, through the roster.
        // Sessions, keys, one-time tokens and passkeys are independent: removed together.
        // One-time tokens and passkeys: found through the user's GSI1 partitions.
        let by_index = |partition: String| async move {
            let found: Vec<super::table::Key> = self
                .query_index(schema::GSI1, &partition)
                .await?
                .iter()
                .filter_map(super::table::key_of)
                .collect();
            self.batch_delete(found).await
        };
        let tokens = by_index(keys::tokens_of(user_id));
        let passkeys = by_index(keys::passkeys_of(user_id));
        let linked = by_index(keys::linked_accounts_of(user_id));
        let (sessions, api_keys) = (self.sessions(), self.api_keys());
        futures::try_join!(
            sessions.delete_all_for_user(user_id, None),
            api_keys.delete_all_for_user(user_id),
            tokens,
            passkeys,
            linked,
        )?;
        self.users().delete(user_id, audit).await
    }
}
