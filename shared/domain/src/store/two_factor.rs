//! Two-factor authentication (BetterAuth's `twoFactor` plugin), stronger at rest:
//!
//! - the TOTP secret is sealed (ChaCha20-Poly1305, key from the auth secret);
//! - backup codes are stored as keyed hashes (HMAC under a key derived from the auth
//!   secret, made by the caller) in a string set: using one is a conditional `DELETE` from
//!   the set, so each works exactly once even under concurrent use;
//! - a TOTP step is accepted once (`lastStep` only moves forward, conditionally);
//! - failed codes (TOTP, e-mailed or backup) are counted per user, also for a user with
//!   e-mailed codes only (the item then holds only the count), and lock the second factor
//!   for a while;
//! - a sign-in challenge (the `two_factor` cookie), an e-mailed code and a trusted device are
//!   items keyed by the SHA-256 of their random identifier, never the identifier itself.
//!
//! Turning two-factor on or off is one transaction with the user: the flag, the user's
//! session generation raised (every other session and trusted device ends on its next use),
//! and the caller's session replaced by a fresh one (a new token) under the new generation.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::db::{Db, StoreError};
use super::item::{from_item, n, number, s, to_item};
use super::keys;
use super::keys::ItemKeys;
use super::table::{Expression, exists};
use super::users::Conflict;
use crate::crypto::sha256_hex;
use crate::keyring::Keyring;
use crate::model::{Session, User};

/// The keyed hashes a code (backup or e-mailed) of `user_id` is stored and looked up as:
/// HMAC-SHA-256 under a key derived from each accepted auth secret, current first, so a
/// table dump allows no offline guessing and a rotation keeps codes working. ONE rule for
/// the API and the import.
pub fn code_hashes(keyring: &Keyring, user_id: &str, code: &str) -> Vec<String> {
    keyring.derived_macs("portal two-factor codes", &format!("{user_id}:{code}"))
}

/// The hash a code is stored as (under the current secret).
pub fn stored_code_hash(keyring: &Keyring, user_id: &str, code: &str) -> String {
    code_hashes(keyring, user_id, code).swap_remove(0)
}

/// Failed codes (any kind) before the second factor locks, and for how long.
pub const MAX_FAILURES: i64 = 10;
pub const LOCK_SECS: i64 = 900;
/// Codes tried against one sign-in challenge or one e-mailed code before it is void.
pub const ATTEMPTS_PER_CODE: i64 = 5;

/// A user's second factor (`USER#<id>` / `TWOFACTOR`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TwoFactor {
    #[serde(flatten)]
    keys: ItemKeys,
    #[serde(default)]
    pub user_id: String,
    /// The TOTP secret, sealed (empty while only failures are counted here).
    #[serde(default)]
    pub secret: String,
    /// False until a first code proves the authenticator app holds the secret.
    #[serde(default)]
    pub verified: bool,
    // `backupSet` (a string set of the unused backup codes' keyed hashes) is written and
    // changed by set operations only, so it is not a field here.
    #[serde(default)]
    pub failed_count: i64,
    /// Unix seconds until which codes are refused.
    #[serde(default)]
    pub locked_until: i64,
    /// The last TOTP step accepted.
    #[serde(default)]
    pub last_step: i64,
}

impl TwoFactor {
    /// An authenticator app was set up (this is not only a failure count).
    pub fn has_secret(&self) -> bool {
        !self.secret.is_empty()
    }
}

/// A pending sign-in: the password was right, the second factor is awaited.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    #[serde(flatten)]
    keys: ItemKeys,
    pub user_id: String,
    pub remember: bool,
    #[serde(default)]
    pub attempts: i64,
    /// Unix seconds.
    pub expires: i64,
    ttl: i64,
}

/// An e-mailed code, for a challenge or a signed-in session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailedCode {
    #[serde(flatten)]
    keys: ItemKeys,
    pub user_id: String,
    pub code_hash: String,
    #[serde(default)]
    pub attempts: i64,
    pub expires: i64,
    ttl: i64,
}

/// A device whose owner asked not to be asked again (30 days, renewed on use).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrustedDevice {
    #[serde(flatten)]
    keys: ItemKeys,
    user_id: String,
    /// The user's session generation when trusted: whatever revokes every session (a
    /// password reset, revoke-sessions, two-factor off, a ban) revokes it too.
    #[serde(default)]
    generation: i64,
    expires: i64,
    ttl: i64,
}

/// What a code attempt against a challenge or mailed code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Counted; this many were made before it.
    Counted(i64),
    /// Gone or expired.
    Missing,
    /// Out of attempts (the item is gone now).
    Exhausted,
}

fn hashed(identifier: &str) -> String {
    sha256_hex(identifier.as_bytes())
}

pub struct TwoFactors<'a> {
    db: &'a Db,
}

impl Db {
    pub fn two_factor(&self) -> TwoFactors<'_> {
        TwoFactors { db: self }
    }
}

/// How a change of the two-factor state treats the caller's session: it is replaced by
/// `new` (a fresh token, made for the change), so the old token stops on its next use.
pub struct Rotate<'a> {
    pub old: &'a Session,
    pub new: &'a Session,
}

impl TwoFactors<'_> {
    pub async fn get(&self, user_id: &str) -> Result<Option<TwoFactor>, StoreError> {
        self.db
            .get_item(keys::two_factor(user_id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Stores a new, unverified TOTP secret and backup codes (their keyed hashes), unless a
    /// verified one exists (`Ok(false)`); failures counted so far stay.
    pub async fn begin(
        &self,
        user_id: &str,
        sealed_secret: &str,
        backup_hashes: Vec<String>,
    ) -> Result<bool, StoreError> {
        let set = Expression::new(
            "SET userId = :user, secret = :secret, verified = :no, backupSet = :codes, \
             lastStep = if_not_exists(lastStep, :zero)",
        )
        .value(":user", s(user_id))
        .value(":secret", s(sealed_secret))
        .value(":no", AttributeValue::Bool(false))
        .value(":codes", AttributeValue::Ss(backup_hashes))
        .value(":zero", n(0));
        let unverified = Expression::new("attribute_not_exists(#verified) OR #verified = :no")
            .name("#verified", "verified")
            .value(":no", AttributeValue::Bool(false));
        self.db
            .update_if(keys::two_factor(user_id), set, unverified)
            .await
    }

    /// The writes that replace the caller's session with the new one, under the user's new
    /// generation; `verified`: it passed the second factor (a code was just checked).
    fn rotate_session(
        &self,
        rotate: &Rotate<'_>,
        user: &User,
        verified: bool,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut new = rotate.new.clone();
        new.generation = user.generations.sessions;
        new.two_factor_verified = verified;
        self.db.replace_session_items(rotate.old, &new)
    }

    /// Turns two-factor on (a code was just checked for the caller's session): the user's
    /// flag, every other session revoked, the caller's replaced by a fresh one marked as
    /// having passed, and (`verify_secret`) the TOTP secret marked verified, together.
    /// `None`: no such user.
    pub async fn enable(
        &self,
        user_id: &str,
        rotate: Rotate<'_>,
        verify_secret: bool,
        now: &str,
        audit: &Event,
    ) -> Result<Option<Result<User, Conflict>>, StoreError> {
        let verified = verify_secret
            .then(|| {
                let set = Expression::new("SET verified = :yes")
                    .value(":yes", AttributeValue::Bool(true));
                self.db
                    .update(keys::two_factor(user_id), set, Some(exists()))
            })
            .transpose()?;
        self.switch(user_id, true, rotate, verified, now, audit)
            .await
    }

    /// Turns two-factor off: the flag cleared, the secret and codes deleted, every other
    /// session and trusted device revoked and the caller's session replaced, together.
    pub async fn disable(
        &self,
        user_id: &str,
        rotate: Rotate<'_>,
        now: &str,
        audit: &Event,
    ) -> Result<Option<Result<User, Conflict>>, StoreError> {
        let remove = self.db.delete(keys::two_factor(user_id), None)?;
        self.switch(user_id, false, rotate, Some(remove), now, audit)
            .await
    }

    /// Sets the user's flag to `on` with the session generation raised, in one transaction
    /// with the rotated session, `with` and the audit record.
    async fn switch(
        &self,
        user_id: &str,
        on: bool,
        rotate: Rotate<'_>,
        with: Option<TransactWriteItem>,
        now: &str,
        audit: &Event,
    ) -> Result<Option<Result<User, Conflict>>, StoreError> {
        let recorded = self.db.audit_write(audit)?;
        self.db
            .users()
            .modify_with(
                user_id,
                None,
                now,
                |u| {
                    u.two_factor_enabled = on;
                    u.generations.sessions += 1;
                    Ok(())
                },
                |_, new| {
                    let mut writes = self.rotate_session(&rotate, new, on)?;
                    writes.push(recorded.clone());
                    writes.extend(with.clone());
                    Ok(writes)
                },
            )
            .await
    }

    /// Accepts TOTP step `step` once: false when it (or a later one) was used already.
    pub async fn use_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError> {
        self.db
            .update_if(
                keys::two_factor(user_id),
                Expression::new("SET lastStep = :step, failedCount = :zero")
                    .value(":step", n(step))
                    .value(":zero", n(0)),
                Expression::new("attribute_exists(#pk) AND lastStep < :step")
                    .name("#pk", super::schema::PK)
                    .value(":step", n(step)),
            )
            .await
    }

    /// Uses one backup code, given as its keyed hashes (one per accepted secret): removed
    /// from the set if one of them is in it (false otherwise).
    pub async fn use_backup_code(
        &self,
        user_id: &str,
        hashes: &[String],
    ) -> Result<bool, StoreError> {
        let held: Vec<String> = (0..hashes.len())
            .map(|i| format!("contains(backupSet, :h{i})"))
            .collect();
        let mut condition = Expression::new(held.join(" OR "));
        for (i, hash) in hashes.iter().enumerate() {
            condition = condition.value(&format!(":h{i}"), s(hash));
        }
        self.db
            .update_if(
                keys::two_factor(user_id),
                Expression::new("DELETE backupSet :hashes SET failedCount = :zero")
                    .value(":hashes", AttributeValue::Ss(hashes.to_vec()))
                    .value(":zero", n(0)),
                condition,
            )
            .await
    }

    /// Replaces the backup codes (false: two-factor was not set up).
    pub async fn replace_backup_codes(
        &self,
        user_id: &str,
        hashes: Vec<String>,
    ) -> Result<bool, StoreError> {
        self.db
            .update_if(
                keys::two_factor(user_id),
                Expression::new("SET backupSet = :set").value(":set", AttributeValue::Ss(hashes)),
                exists(),
            )
            .await
    }

    /// Counts a failed code (the item is made if the user has e-mailed codes only); the
    /// tenth in a row locks the second factor for a while. Failures while locked are
    /// refused before they get here.
    pub async fn record_failure(&self, user_id: &str, now_unix: i64) -> Result<(), StoreError> {
        let counted = self
            .db
            .update_returning(
                keys::two_factor(user_id),
                Expression::new("ADD failedCount :one").value(":one", n(1)),
                Expression::new("attribute_not_exists(lockedUntil) OR lockedUntil <= :now")
                    .value(":now", n(now_unix)),
            )
            .await?;
        let failures = counted
            .ok()
            .and_then(|item| number(&item, "failedCount"))
            .unwrap_or(0);
        if failures >= MAX_FAILURES {
            self.db
                .update_if(
                    keys::two_factor(user_id),
                    Expression::new("SET lockedUntil = :until, failedCount = :zero")
                        .value(":until", n(now_unix + LOCK_SECS))
                        .value(":zero", n(0)),
                    exists(),
                )
                .await?;
        }
        Ok(())
    }

    /// Starts a sign-in challenge named by `identifier` (the cookie's value).
    pub async fn open_challenge(
        &self,
        identifier: &str,
        user: &User,
        remember: bool,
        now: (&str, i64),
        lifetime_secs: i64,
    ) -> Result<(), StoreError> {
        let (created_at, now_unix) = now;
        let expires = now_unix + lifetime_secs;
        let challenge = Challenge {
            keys: keys::user_secret_item(
                keys::two_factor_challenge(&hashed(identifier)),
                &user.id,
                created_at,
            ),
            user_id: user.id.clone(),
            remember,
            attempts: 0,
            expires,
            ttl: expires,
        };
        self.db.put_item(to_item(&challenge)?).await
    }

    /// The live challenge `identifier` names.
    pub async fn challenge(
        &self,
        identifier: &str,
        now_unix: i64,
    ) -> Result<Option<Challenge>, StoreError> {
        let found: Option<Challenge> = self
            .db
            .get_item(keys::two_factor_challenge(&hashed(identifier)))
            .await?
            .map(from_item)
            .transpose()?;
        Ok(found.filter(|c| c.expires > now_unix))
    }

    /// Counts one code tried against the challenge.
    pub async fn attempt_challenge(
        &self,
        identifier: &str,
        now_unix: i64,
    ) -> Result<Attempt, StoreError> {
        self.attempt(keys::two_factor_challenge(&hashed(identifier)), now_unix)
            .await
    }

    /// Ends the challenge (the second factor passed): true for exactly one caller.
    pub async fn close_challenge(&self, identifier: &str) -> Result<bool, StoreError> {
        Ok(self
            .db
            .take(keys::two_factor_challenge(&hashed(identifier)))
            .await?
            .is_some())
    }

    /// Stores an e-mailed code (its keyed hash) for `key` (a challenge, or a user's
    /// session), replacing an earlier one.
    pub async fn store_mailed_code(
        &self,
        key: &str,
        user_id: &str,
        code_hash: &str,
        now: (&str, i64),
        lifetime_secs: i64,
    ) -> Result<(), StoreError> {
        let (created_at, now_unix) = now;
        let expires = now_unix + lifetime_secs;
        let item = MailedCode {
            keys: keys::user_secret_item(keys::two_factor_otp(&hashed(key)), user_id, created_at),
            user_id: user_id.into(),
            code_hash: code_hash.into(),
            attempts: 0,
            expires,
            ttl: expires,
        };
        self.db.put_item(to_item(&item)?).await
    }

    /// Counts one try of the code mailed for `key`, then checks it (given as its keyed
    /// hashes, one per accepted secret); a right code is taken (it works once).
    /// `Ok(Ok(true))`: right.
    pub async fn try_mailed_code(
        &self,
        key: &str,
        hashes: &[String],
        now_unix: i64,
    ) -> Result<Result<bool, Attempt>, StoreError> {
        let k = keys::two_factor_otp(&hashed(key));
        match self.attempt(k.clone(), now_unix).await? {
            Attempt::Counted(_) => {}
            other => return Ok(Err(other)),
        }
        let stored: Option<MailedCode> = self
            .db
            .get_item(k.clone())
            .await?
            .map(from_item)
            .transpose()?;
        let Some(stored) = stored else {
            return Ok(Err(Attempt::Missing));
        };
        if !hashes
            .iter()
            .any(|wanted| crate::crypto::constant_time_eq(&stored.code_hash, wanted))
        {
            return Ok(Ok(false));
        }
        // Of two right answers racing, one takes the code.
        Ok(Ok(self.db.take(k).await?.is_some()))
    }

    /// Counts one try on a challenge or mailed code: refused once it has expired or had
    /// its attempts (then it is deleted).
    async fn attempt(&self, k: (String, String), now_unix: i64) -> Result<Attempt, StoreError> {
        let counted = self
            .db
            .update_returning(
                k.clone(),
                Expression::new("ADD attempts :one").value(":one", n(1)),
                Expression::new("attribute_exists(#pk) AND expires > :now AND attempts < :max")
                    .name("#pk", super::schema::PK)
                    .value(":now", n(now_unix))
                    .value(":max", n(ATTEMPTS_PER_CODE)),
            )
            .await?;
        match counted {
            Ok(item) => Ok(Attempt::Counted(number(&item, "attempts").unwrap_or(1) - 1)),
            Err(None) => Ok(Attempt::Missing),
            Err(Some(old)) => {
                self.db.take(k).await?;
                let expired = number(&old, "expires").is_none_or(|e| e <= now_unix);
                Ok(if expired {
                    Attempt::Missing
                } else {
                    Attempt::Exhausted
                })
            }
        }
    }

    /// Trusts a device of `user` for `lifetime_secs` under `identifier` (the cookie's
    /// value), until then or until their sessions are all revoked.
    pub async fn trust_device(
        &self,
        identifier: &str,
        user: &User,
        now: (&str, i64),
        lifetime_secs: i64,
    ) -> Result<(), StoreError> {
        let (created_at, now_unix) = now;
        let expires = now_unix + lifetime_secs;
        let item = TrustedDevice {
            keys: keys::user_secret_item(
                keys::trusted_device(&hashed(identifier)),
                &user.id,
                created_at,
            ),
            user_id: user.id.clone(),
            generation: user.generations.sessions,
            expires,
            ttl: expires,
        };
        self.db.put_item(to_item(&item)?).await
    }

    /// Takes the trusted-device record `identifier` names if it is `user`'s, live, and
    /// trusted since their sessions were last revoked (a trusted device is renewed under a
    /// new identifier on every use).
    pub async fn take_trusted_device(
        &self,
        identifier: &str,
        user: &User,
        now_unix: i64,
    ) -> Result<bool, StoreError> {
        let Some(item) = self
            .db
            .take(keys::trusted_device(&hashed(identifier)))
            .await?
        else {
            return Ok(false);
        };
        let device: TrustedDevice = from_item(item)?;
        Ok(device.user_id == user.id
            && device.generation >= user.generations.sessions
            && device.expires > now_unix)
    }
}

impl Db {
    /// The write of a second factor brought over from another store (an import): the
    /// sealed TOTP secret, whether an authenticator proved it, and the backup codes' keyed
    /// hashes; only where none is.
    pub(crate) fn two_factor_put(
        &self,
        user_id: &str,
        sealed_secret: &str,
        verified: bool,
        backup_hashes: Vec<String>,
    ) -> Result<TransactWriteItem, StoreError> {
        let factor = TwoFactor {
            keys: keys::plain_item(keys::two_factor(user_id)),
            user_id: user_id.to_string(),
            secret: sealed_secret.to_string(),
            verified,
            failed_count: 0,
            locked_until: 0,
            last_step: 0,
        };
        let mut item = to_item(&factor)?;
        if !backup_hashes.is_empty() {
            item.insert("backupSet".into(), AttributeValue::Ss(backup_hashes));
        }
        self.put(item, Some(super::table::is_new()))
    }
}
