//! Sessions, stored under an id derived from their token (what a token looks like is the
//! web edge's `caller::token`): found by GetItem on that id, with the user the token names
//! in the same BatchGetItem. The token itself is kept only sealed.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::audit::{Event, Provenance};
use super::db::{Db, StoreError};
use super::item::{Item, from_item, n, s, to_item};
use super::keys::ItemKeys;
use super::listing::{Page, PageRequest};
use super::table::{Committed, Expression, exists, is_new};
use super::users::versioned_user_from_item;
use super::{keys, schema};
use crate::keyring::Keyring;
use crate::model::{ApiKey, Client, Session, User};

/// How long a session lasts (BetterAuth's `expiresIn`), and one not remembered.
pub const LIFETIME: time::Duration = time::Duration::days(7);
pub const NOT_REMEMBERED_LIFETIME: time::Duration = time::Duration::days(1);

/// The session `token` (stored as `id`) names, the token kept only sealed, under the user's
/// current session generation.
pub fn session_for_token(
    keyring: &Keyring,
    user: &User,
    id: String,
    token: &str,
    remember: bool,
    from: &Client,
    at: time::OffsetDateTime,
) -> Session {
    let lifetime = if remember {
        LIFETIME
    } else {
        NOT_REMEMBERED_LIFETIME
    };
    Session {
        id,
        user_id: user.id.clone(),
        expires_at: crate::time::iso(at + lifetime),
        created_at: crate::time::iso(at),
        updated_at: crate::time::iso(at),
        ip_address: from.ip.clone(),
        user_agent: from.user_agent.clone(),
        remember,
        sealed_token: keyring.seal(token),
        impersonated_by: None,
        generation: user.generations.sessions,
        two_factor_verified: false,
    }
}

/// The audit event of a session's revocation (its id, never its token).
fn revoked(origin: &Provenance, session: &Session) -> Event {
    let details = serde_json::json!({ "sessionId": session.id });
    Event::now(
        origin,
        "session.revoked",
        Some(&session.user_id),
        Some(details),
    )
}

#[derive(Debug, Serialize, Deserialize)]
struct SessionItem {
    #[serde(flatten)]
    keys: ItemKeys,
    ttl: i64,
    #[serde(flatten)]
    session: Session,
}

fn epoch(iso: &str) -> i64 {
    crate::time::parse_iso(iso).map_or(0, |t| t.unix_timestamp())
}

impl SessionItem {
    fn new(session: Session) -> Self {
        Self {
            keys: keys::session_item(&session),
            // Kept for the stats retention (48 h after the expiry hour), then removed.
            ttl: epoch(&session.expires_at) + (super::stats::SESSION_RETENTION_HOURS + 1) * 3600,
            session,
        }
    }
}

enum DeleteRace {
    /// A session changed or went between reading and deleting.
    Lost,
    Store(StoreError),
}

impl From<StoreError> for DeleteRace {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The guard of a write to a session as it was read: still there, same expiry.
fn as_read(session: &Session) -> Expression {
    exists().and(
        Expression::new("#expiresAt = :expiresAt")
            .name("#expiresAt", "expiresAt")
            .value(":expiresAt", s(&session.expires_at)),
    )
}

/// What a secret presented by a client resolved to, with its user and the version of the
/// user's item as read (so a change can be written from this read), from one round trip.
#[derive(Debug, Clone)]
pub enum Resolved {
    Session(Session, User, i64),
    ApiKey(ApiKey, User, i64),
}

pub struct Sessions<'a> {
    db: &'a Db,
}

impl Db {
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { db: self }
    }

    /// Reads an item and a user in ONE strongly consistent BatchGetItem.
    pub(crate) async fn get_with_user(
        &self,
        item_key: (String, String),
        user_id: &str,
    ) -> Result<(Option<Item>, Option<(User, i64)>), StoreError> {
        let found = self
            .batch_get(vec![item_key.clone(), keys::user(user_id)])
            .await?;
        let mut item = None;
        let mut user = None;
        for it in found {
            let pk = it.get(schema::PK).and_then(|v| v.as_s().ok()).cloned();
            if pk.as_deref() == Some(item_key.0.as_str()) {
                item = Some(it);
            } else {
                user = Some(versioned_user_from_item(it)?);
            }
        }
        Ok((item, user))
    }
}

impl Sessions<'_> {
    /// Stores a session and counts its expiry hour, in one transaction.
    pub async fn create(&self, session: Session) -> Result<Session, StoreError> {
        self.create_audited(session, None).await
    }

    /// [`Sessions::create`] with the audit event of the sign-in, in the same transaction.
    pub async fn create_audited(
        &self,
        session: Session,
        audit: Option<&super::audit::Event>,
    ) -> Result<Session, StoreError> {
        let mut items = self.db.session_items(&session)?;
        if let Some(event) = audit {
            items.push(self.db.audit_write(event)?);
        }
        match self.db.commit(items).await? {
            Committed::Yes => Ok(session),
            Committed::ConditionFailed(_) => Err(StoreError::Dynamo(
                "a session with this id exists already".into(),
            )),
        }
    }

    /// The session `id` and its user `user_id`, in one strongly consistent round trip.
    /// `None` for anything that does not match (unknown session, user mismatch); expiry is
    /// the caller's rule.
    pub async fn resolve(&self, id: &str, user_id: &str) -> Result<Option<Resolved>, StoreError> {
        let (item, user) = self.db.get_with_user(keys::session(id), user_id).await?;
        let (Some(item), Some((user, version))) = (item, user) else {
            return Ok(None);
        };
        let session = from_item::<SessionItem>(item)?.session;
        if session.user_id != user.id {
            return Ok(None);
        }
        Ok(Some(Resolved::Session(session, user, version)))
    }

    /// A session whose token does not carry its user (one BetterAuth made, brought over by
    /// an import): its item by id, then its user; one read more than [`Sessions::resolve`],
    /// for that format only.
    pub async fn resolve_by_id(&self, id: &str) -> Result<Option<Resolved>, StoreError> {
        let Some(session) = self.get(id).await? else {
            return Ok(None);
        };
        self.resolve(id, &session.user_id).await
    }

    pub async fn get(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        self.db
            .get_item(keys::session(session_id))
            .await?
            .map(|i| from_item::<SessionItem>(i).map(|i| i.session))
            .transpose()
    }

    /// Moves the expiry (sliding refresh) from `old_expires_at`, moving its count between
    /// expiry hours. A session that changed or went meanwhile is left alone.
    pub async fn extend(
        &self,
        session: &Session,
        expires_at: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let db = self.db;
        let mut moved = session.clone();
        moved.expires_at = expires_at.to_string();
        moved.updated_at = now.to_string();
        // Unchanged since read: neither refreshed nor moved to another generation.
        let unchanged = as_read(session).and(
            Expression::new("attribute_not_exists(#generation) OR #generation = :generation")
                .name("#generation", "generation")
                .value(":generation", n(session.generation)),
        );
        let mut items = vec![db.put(to_item(&SessionItem::new(moved))?, Some(unchanged))?];
        items.extend(db.expiry_updates(&[(&session.expires_at, -1), (expires_at, 1)])?);
        db.commit(items).await?;
        Ok(())
    }

    /// Deletes a session; `owner` restricts it to that user's. True if one was deleted.
    pub async fn delete(&self, session_id: &str, owner: Option<&str>) -> Result<bool, StoreError> {
        self.delete_by(session_id, owner, None).await
    }

    /// [`Sessions::delete`] as a revocation by `origin`: recorded (`session.revoked`) in the
    /// same transaction.
    pub async fn revoke(
        &self,
        session_id: &str,
        owner: Option<&str>,
        origin: &Provenance,
    ) -> Result<bool, StoreError> {
        self.delete_by(session_id, owner, Some(origin)).await
    }

    async fn delete_by(
        &self,
        session_id: &str,
        owner: Option<&str>,
        origin: Option<&Provenance>,
    ) -> Result<bool, StoreError> {
        for _ in 0..4 {
            let Some(session) = self.get(session_id).await? else {
                return Ok(false);
            };
            if owner.is_some_and(|o| o != session.user_id) {
                return Ok(false);
            }
            let event = origin.map(|o| revoked(o, &session));
            match self.delete_exact(&[session], event.as_ref()).await {
                Ok(()) => return Ok(true),
                Err(DeleteRace::Lost) => continue,
                Err(DeleteRace::Store(e)) => return Err(e),
            }
        }
        Ok(false)
    }

    /// Deletes a session the caller has just read; if it changed meanwhile (a refresh),
    /// falls back to reading it again. True if it was deleted.
    pub async fn delete_read(&self, session: &Session) -> Result<bool, StoreError> {
        self.delete_read_by(session, None).await
    }

    /// [`Sessions::delete_read`] as a revocation by `origin`, recorded with it.
    pub async fn revoke_read(
        &self,
        session: &Session,
        origin: &Provenance,
    ) -> Result<bool, StoreError> {
        self.delete_read_by(session, Some(origin)).await
    }

    async fn delete_read_by(
        &self,
        session: &Session,
        origin: Option<&Provenance>,
    ) -> Result<bool, StoreError> {
        let event = origin.map(|o| revoked(o, session));
        match self
            .delete_exact(std::slice::from_ref(session), event.as_ref())
            .await
        {
            Ok(()) => Ok(true),
            Err(DeleteRace::Lost) => {
                self.delete_by(&session.id, Some(&session.user_id), origin)
                    .await
            }
            Err(DeleteRace::Store(e)) => Err(e),
        }
    }

    /// Deletes these sessions as read (unchanged since), uncounting their expiry hours,
    /// in one transaction.
    async fn delete_exact(
        &self,
        sessions: &[Session],
        audit: Option<&Event>,
    ) -> Result<(), DeleteRace> {
        let db = self.db;
        let mut items = Vec::new();
        if let Some(event) = audit {
            items.push(db.audit_write(event)?);
        }
        let mut expiries = Vec::new();
        for session in sessions {
            items.push(db.delete(keys::session(&session.id), Some(as_read(session)))?);
            expiries.push((session.expires_at.as_str(), -1));
        }
        items.extend(db.expiry_updates(&expiries)?);
        match db.commit(items).await? {
            Committed::Yes => Ok(()),
            Committed::ConditionFailed(_) => Err(DeleteRace::Lost),
        }
    }

    /// Every session of a user, newest first (expired ones included: callers filter).
    pub async fn list_for_user(&self, user_id: &str) -> Result<Vec<Session>, StoreError> {
        self.db
            .query_index(schema::GSI1, &keys::sessions_of(user_id))
            .await?
            .into_iter()
            .map(|item| from_item::<SessionItem>(item).map(|i| i.session))
            .collect()
    }

    /// Deletes every session of a user except `keep`. Returns how many went.
    pub async fn delete_all_for_user(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<usize, StoreError> {
        let doomed: Vec<Session> = self
            .list_for_user(user_id)
            .await?
            .into_iter()
            .filter(|s| Some(s.id.as_str()) != keep)
            .collect();
        let mut deleted = 0;
        // Up to 40 sessions (and their few expiry-day updates) per transaction.
        for chunk in doomed.chunks(40) {
            match self.delete_exact(chunk, None).await {
                Ok(()) => deleted += chunk.len(),
                Err(DeleteRace::Store(e)) => return Err(e),
                // One of them changed or went meanwhile: take them one by one.
                Err(DeleteRace::Lost) => {
                    for session in chunk {
                        if self.delete(&session.id, Some(user_id)).await? {
                            deleted += 1;
                        }
                    }
                }
            }
        }
        Ok(deleted)
    }
}

impl Db {
    /// The writes that put `new` in the place of `old` (which must still exist): a
    /// session rotated to a fresh token, its expiry hours counted over.
    pub(crate) fn replace_session_items(
        &self,
        old: &Session,
        new: &Session,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = vec![
            self.delete(keys::session(&old.id), Some(exists()))?,
            self.put(to_item(&SessionItem::new(new.clone()))?, Some(is_new()))?,
        ];
        items.extend(self.expiry_updates(&[(&old.expires_at, -1), (&new.expires_at, 1)])?);
        Ok(items)
    }

    /// The write of a session's item alone, only where its id is free (its expiry count
    /// is the caller's: `expiry_updates`).
    pub(crate) fn session_put(&self, session: &Session) -> Result<TransactWriteItem, StoreError> {
        self.put(to_item(&SessionItem::new(session.clone()))?, Some(is_new()))
    }

    /// The writes that store a new session: the item and the count of its expiry hour
    /// (to run alone, or inside a larger transaction such as a sign-up).
    pub(crate) fn session_items(
        &self,
        session: &Session,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items =
            vec![self.put(to_item(&SessionItem::new(session.clone()))?, Some(is_new()))?];
        items.extend(self.expiry_updates(&[(&session.expires_at, 1)])?);
        Ok(items)
    }
}

impl Sessions<'_> {
    /// Sessions newest first, of one user or of everyone, optionally only the active (or
    /// only the expired) ones, and only those of a session generation at least
    /// `from_generation` (the user's own listing: revoked ones not yet cleaned up are gone):
    /// one index Query per page.
    pub async fn list_page(
        &self,
        user_id: Option<&str>,
        active: Option<bool>,
        from_generation: Option<i64>,
        now: &str,
        request: &PageRequest,
    ) -> Result<Page<Session>, StoreError> {
        let (gsi, partition) = match user_id {
            Some(id) => (schema::GSI1, keys::sessions_of(id)),
            None => (schema::GSI2, keys::SESSIONS.to_string()),
        };
        let by_activity = active.map(|active| {
            Expression::new(if active {
                "#expiresAt > :now"
            } else {
                "#expiresAt <= :now"
            })
            .name("#expiresAt", "expiresAt")
            .value(":now", s(now))
        });
        let by_generation = from_generation.filter(|g| *g > 0).map(|g| {
            Expression::new("#generation >= :generation")
                .name("#generation", "generation")
                .value(":generation", n(g))
        });
        let filter = Expression::both(by_activity, by_generation);
        self.db
            .list_page(gsi, &partition, filter.as_ref(), request, |item| {
                from_item::<SessionItem>(item).map(|i| i.session)
            })
            .await
    }
}
