//! Who may change whose role, ban or account, and what such a change revokes: the ONE
//! place for those rules, called by every entry point (the admin API for admins and staff,
//! the operator CLI, the local gateway's bootstrap admin). Entry points only map a
//! [`Refused`] to their own output.
//!
//! - Staff manage regular users only: they cannot grant or remove the staff/admin roles,
//!   nor edit, ban or delete an admin or another staff member. Operators may do anything.
//! - The last admin who can act (role admin, not banned) cannot be demoted, banned or
//!   deleted: enforced by the admin roster's condition in the same transaction as the
//!   change, so two admins demoting each other at once cannot both pass.
//! - A ban raises the user's session generation in the same write (every session stops on
//!   the next request), then deletes the sessions as cleanup.
//! - Making an existing account admin (`ensure_admin`) first revokes every session and
//!   API key it had: someone else may have signed up with that address.

use time::OffsetDateTime;

use crate::integrations::{Registry, ServiceError};
use portal_domain::Config;
use portal_domain::crypto::{PasswordLength, check_password_length, hash_password, new_id};
use portal_domain::model::{ApiKey, Role, Session, User};
use portal_domain::store::audit::{self, Event, Provenance};
use portal_domain::store::users::{Conflict, CreateUserError};
use portal_domain::store::{Db, StoreError};
use portal_domain::time::{iso, parse_iso};

pub const LAST_ADMIN: &str = "Forbidden - the last admin cannot be demoted, banned or deleted";

/// A signed-in admin or staff member whose role counts for this request: the ONLY way a
/// role grants power. Made only by `auth::Identity::moderator`, which applies the
/// second-factor rule (`PORTAL_REQUIRE_2FA_FOR_STAFF`), so no route can act by role
/// without it.
#[derive(Debug, Clone, Copy)]
pub struct Moderator<'a> {
    user: &'a User,
}

impl<'a> Moderator<'a> {
    /// Only [`Identity::moderator`] vouches for a role.
    fn granted(user: &'a User) -> Self {
        Self { user }
    }

    pub fn user(&self) -> &'a User {
        self.user
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session(Session),
    ApiKey(ApiKey),
}

/// A signed-in, non-banned user.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    /// The version of the user's item as read: a change can be written from this read
    /// (and is retried from a fresh one if the user changed since).
    pub user_version: i64,
    pub via: Via,
}

impl Identity {
    /// The power the caller's role grants over what is not theirs: `None` for a regular
    /// user, a [`Moderator`] for staff and admins whose credential meets the second-factor
    /// rule, [`Refused::SecondFactorRequired`] for those whose does not. Every decision
    /// taken BECAUSE of the caller's role goes through here (the guards too).
    pub fn moderator(&self, config: &Config) -> Result<Option<Moderator<'_>>, Refused> {
        match self.user.role {
            Role::User => Ok(None),
            Role::Staff | Role::Admin => {
                self.second_factor_passed(config)?;
                Ok(Some(Moderator::granted(&self.user)))
            }
        }
    }

    /// [`Identity::moderator`] for what only staff and admins do:
    /// [`Refused::NeedsModerator`] for a regular user.
    pub fn require_moderator(&self, config: &Config) -> Result<Moderator<'_>, Refused> {
        self.moderator(config)?.ok_or(Refused::NeedsModerator)
    }

    /// Whether this caller's role lets them act on someone whose role is `target` (staff
    /// manage regular users only), under the second-factor rule.
    pub fn may_manage(&self, config: &Config, target: Role) -> Result<(), Refused> {
        let moderator = self.require_moderator(config)?;
        if may_manage(Actor::Member(moderator), target) {
            Ok(())
        } else {
            Err(Refused::NeedsAdmin)
        }
    }

    pub fn session_id(&self) -> Option<&str> {
        match &self.via {
            Via::Session(s) => Some(&s.id),
            Via::ApiKey(_) => None,
        }
    }

    /// With `PORTAL_REQUIRE_2FA_FOR_STAFF`, a role counts only on a session that passed
    /// the second factor (an API key is not one: it was never asked for a code).
    fn second_factor_passed(&self, config: &Config) -> Result<(), Refused> {
        if !config.requires_2fa_for_staff() {
            return Ok(());
        }
        match &self.via {
            Via::Session(session) if session.two_factor_verified => Ok(()),
            _ => Err(Refused::SecondFactorRequired),
        }
    }
}

/// Who asks for a change.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in admin or staff member.
    Member(Moderator<'a>),
    /// Someone with access to the table (the CLI, the bootstrap admin).
    Operator,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    NotFound,
    /// Staff touching an admin or staff member, or granting a role.
    NeedsAdmin,
    LastAdmin,
    /// The username asked for belongs to somebody else.
    UsernameTaken,
    /// The e-mail address asked for belongs to somebody else.
    EmailTaken,
    /// A regular user asking for what only staff and admins do.
    NeedsModerator,
    /// A staff or admin credential without the second factor the configuration asks for.
    SecondFactorRequired,
}

impl From<Conflict> for Refused {
    fn from(conflict: Conflict) -> Self {
        match conflict {
            Conflict::LastAdmin => Refused::LastAdmin,
            Conflict::UsernameTaken => Refused::UsernameTaken,
            Conflict::EmailTaken => Refused::EmailTaken,
        }
    }
}

pub const USERNAME_TAKEN: &str = "Username is already taken";
pub const EMAIL_TAKEN: &str = "Email is already in use";

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::NotFound => "no such account",
            Refused::NeedsAdmin => "only an admin may do that",
            Refused::LastAdmin => {
                "refused: this is the last admin who can act (demote, ban or delete another first)"
            }
            Refused::UsernameTaken => "refused: the username belongs to somebody else",
            Refused::EmailTaken => "refused: the e-mail address belongs to somebody else",
            Refused::NeedsModerator => "only an admin or staff member may do that",
            Refused::SecondFactorRequired => "refused: a second factor is required",
        })
    }
}

/// Whether `actor` holds an admin's powers (granting roles, setting addresses): the
/// operator (CLI, bootstrap) and admins.
fn acts_as_admin(actor: Actor<'_>) -> bool {
    match actor {
        Actor::Operator => true,
        Actor::Member(member) => member.is_admin(),
    }
}

/// Whether `actor` may act on someone whose role is `target`: staff manage regular users
/// only.
pub fn may_manage(actor: Actor<'_>, target: Role) -> bool {
    acts_as_admin(actor) || target == Role::User
}

/// A ban as asked for: `Some(None)` clears a field, `None` leaves it.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub name: Option<String>,
    /// A new username as given (valid per `model::username_rule`; stored lower-cased, and
    /// as given for display). Only staff and admins change a username once set.
    pub username: Option<String>,
    pub role: Option<Role>,
    pub banned: Option<bool>,
    pub ban_reason: Option<Option<String>>,
    pub ban_expires: Option<Option<OffsetDateTime>>,
    /// A new e-mail address (valid per `model::is_email`; stored lower-cased). Admins only:
    /// whoever sets someone's address can reset their password. The new address is not
    /// verified, and reset links sent to the old one stop working.
    pub email: Option<String>,
}

/// What [`change_user`] did.
#[derive(Debug, Clone)]
pub struct Changed {
    pub user: User,
    /// Sessions removed because the change banned the user.
    pub sessions_ended: usize,
    /// What a ban (or its lifting) did to the user's service accounts.
    pub service_accounts: Vec<crate::integrations::lifecycle::Outcome>,
}

/// What a change of a user is called in the audit log: a ban or unban first, then a role
/// change, else an update.
fn action_of(before: &User, after: &User) -> &'static str {
    match (before.banned, after.banned) {
        (false, true) => "user.banned",
        (true, false) => "user.unbanned",
        _ if before.role != after.role => "user.role_changed",
        _ => "user.updated",
    }
}

/// Applies `change` to the user `user_id` under every rule above, recorded in the audit log
/// (from `origin`) in the same transaction. `Ok(Err(_))` is a refusal (nothing written).
/// A ban then suspends the user's service accounts, and lifting it restores those the ban
/// suspended (see `integrations::lifecycle::follow_ban`).
pub async fn change_user(
    db: &Db,
    services: &Registry,
    actor: Actor<'_>,
    origin: &Provenance,
    user_id: &str,
    change: &UserChange,
    at: OffsetDateTime,
) -> Result<Result<Changed, Refused>, StoreError> {
    let mut banned_now = false;
    let mut ban_lifted = false;
    let result = db
        .users()
        .modify_audited(
            user_id,
            &iso(at),
            |user| {
                let was_banned = user.banned;
                apply(actor, change, at, user)?;
                banned_now = user.banned && !was_banned;
                ban_lifted = was_banned && !user.banned;
                Ok::<(), Refused>(())
            },
            |before, after| {
                let changes = audit::user_changes(before, after)?;
                let action = action_of(before, after);
                Some(Event::new(
                    origin,
                    action,
                    Some(&after.id),
                    Some(changes),
                    at,
                ))
            },
        )
        .await?;
    let user = match result {
        None => return Ok(Err(Refused::NotFound)),
        Some(Err(refused)) => return Ok(Err(refused)),
        Some(Ok(user)) => user,
    };
    // The generation raised with the ban already stops every session; this removes them.
    let sessions_ended = if banned_now {
        db.sessions().delete_all_for_user(&user.id, None).await?
    } else {
        0
    };
    let service_accounts = if banned_now || ban_lifted {
        crate::integrations::lifecycle::follow_ban(services, db, &user.id, banned_now, origin)
            .await?
    } else {
        Vec::new()
    };
    Ok(Ok(Changed {
        user,
        sessions_ended,
        service_accounts,
    }))
}

fn apply(
    actor: Actor<'_>,
    change: &UserChange,
    at: OffsetDateTime,
    user: &mut User,
) -> Result<(), Refused> {
    if !may_manage(actor, user.role) {
        return Err(Refused::NeedsAdmin);
    }
    if let Some(role) = change.role {
        if role != user.role && !acts_as_admin(actor) {
            return Err(Refused::NeedsAdmin);
        }
        user.role = role;
    }
    if let Some(name) = &change.name {
        user.name = name.trim().to_string();
    }
    if let Some(email) = &change.email {
        let email = email.trim().to_lowercase();
        if email != user.email {
            if !acts_as_admin(actor) {
                return Err(Refused::NeedsAdmin);
            }
            user.email = email;
            user.email_verified = false;
            user.generations.reset_tokens += 1;
        }
    }
    if let Some(username) = &change.username {
        user.username = Some(portal_domain::model::normalize_username(username));
        user.display_username = Some(username.clone());
    }
    let was_banned = user.banned;
    let amend = |user: &mut User| {
        if let Some(reason) = &change.ban_reason {
            user.ban_reason = reason.clone();
        }
        if let Some(until) = &change.ban_expires {
            user.ban_expires = until.map(iso);
        }
    };
    match change.banned {
        Some(true) => {
            user.banned = true;
            amend(user);
            // A ban that has already ended is no ban.
            if user
                .ban_expires
                .as_deref()
                .and_then(parse_iso)
                .is_some_and(|t| t <= at)
            {
                user.banned = false;
            }
        }
        Some(false) => {
            user.banned = false;
            user.ban_reason = None;
            user.ban_expires = None;
        }
        None if user.banned => amend(user),
        None => {}
    }
    if user.banned && !was_banned {
        user.generations.sessions += 1;
    }
    Ok(())
}

/// Deletes a user and everything theirs, integration accounts first (deprovisioned
/// upstream). Refused for the last admin who can act.
pub async fn delete_user(
    db: &Db,
    integrations: &Registry,
    origin: &Provenance,
    user_id: &str,
) -> Result<Result<(), Refused>, ServiceError> {
    // The user and the roster do not depend on each other: read together.
    let users = db.users();
    let (user, roster) = futures::try_join!(users.get(user_id), users.acting_admins())?;
    let Some(user) = user else {
        return Ok(Err(Refused::NotFound));
    };
    if user.is_acting_admin() && roster.len() <= 1 {
        return Ok(Err(Refused::LastAdmin));
    }
    crate::integrations::remove_accounts_of_user(integrations, db, user_id).await?;
    let details = serde_json::json!({ "email": user.email, "role": user.role.as_str() });
    let event = Event::now(origin, "user.deleted", Some(user_id), Some(details));
    Ok(
        match db.delete_user_and_belongings(user_id, Some(&event)).await? {
            None => Err(Refused::NotFound),
            Some(Err(last)) => Err(last.into()),
            Some(Ok(_)) => Ok(()),
        },
    )
}

/// What [`ensure_admin`] did.
#[derive(Debug, Clone)]
pub struct AdminEnsured {
    pub user: User,
    /// The account existed before: its sessions and API keys were revoked first.
    pub took_over: bool,
    pub sessions_ended: usize,
    pub api_keys_deleted: usize,
}

/// Creates the admin `email` with `password`, or, when the address already belongs to an
/// account, takes that account over: every session and API key it had is revoked (in the
/// same write that sets the password, the admin role and the verified mailbox), then
/// deleted. Idempotent.
pub async fn ensure_admin(
    db: &Db,
    origin: &Provenance,
    email: &str,
    password: &str,
    at: OffsetDateTime,
) -> Result<AdminEnsured, String> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') {
        return Err(format!("`{email}` is not an e-mail address"));
    }
    match check_password_length(password) {
        PasswordLength::Ok => {}
        PasswordLength::TooShort => {
            return Err("the password must have at least 8 characters".into());
        }
        PasswordLength::TooLong => {
            return Err("the password must have at most 128 characters".into());
        }
    }
    let hash = hash_password(password.to_string()).await;
    let now = iso(at);
    let users = db.users();
    let fail = |e: StoreError| e.to_string();
    if let Some((existing, _)) = users.find_by_email(&email).await.map_err(fail)? {
        let user = users
            .change_password(&existing.id, &hash, &now, |u| {
                u.role = Role::Admin;
                u.banned = false;
                u.ban_reason = None;
                u.ban_expires = None;
                u.email_verified = true;
                u.generations.sessions += 1;
                u.generations.api_keys += 1;
                u.generations.reset_tokens += 1;
                Ok::<(), Conflict>(())
            }, Some(&Event::new(
                origin,
                "user.taken_over",
                Some(&existing.id),
                Some(serde_json::json!({ "role": { "before": existing.role.as_str(), "after": "admin" } })),
                at,
            )))
            .await
            .map_err(fail)?
            .ok_or("the account vanished while being updated")?
            .map_err(|_| "the admin roster refused the change".to_string())?;
        let (sessions, api_keys) = (db.sessions(), db.api_keys());
        let (sessions_ended, api_keys_deleted) = futures::try_join!(
            sessions.delete_all_for_user(&user.id, None),
            api_keys.delete_all_for_user(&user.id),
        )
        .map_err(fail)?;
        return Ok(AdminEnsured {
            user,
            took_over: true,
            sessions_ended,
            api_keys_deleted,
        });
    }
    let name = email.split('@').next().unwrap_or("admin").to_string();
    let user = User::new(new_id(), name, email, true, Role::Admin, &now);
    let event = Event::new(
        origin,
        "user.created",
        Some(&user.id),
        Some(serde_json::json!({ "role": "admin" })),
        at,
    );
    match users
        .create_signed_in(user, Some(hash), None, Some(&event))
        .await
    {
        Ok(user) => Ok(AdminEnsured {
            user,
            took_over: false,
            sessions_ended: 0,
            api_keys_deleted: 0,
        }),
        Err(CreateUserError::EmailTaken) => {
            Err("the e-mail was claimed concurrently; run again".into())
        }
        Err(CreateUserError::UsernameTaken) => Err("the username is taken".into()),
        Err(CreateUserError::Store(e)) => Err(e.to_string()),
    }
}
