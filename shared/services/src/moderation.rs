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
use portal_domain::model::{ApiKey, Power, Role, Session, User};
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

    /// Whether their role grants `power` (see [`Role::grants`]).
    pub fn may(&self, power: Power) -> bool {
        self.user.role.grants(power)
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

    /// [`Identity::require_moderator`] whose role grants `power`:
    /// [`Refused::NeedsAdmin`] for staff it does not.
    pub fn require_power(&self, config: &Config, power: Power) -> Result<Moderator<'_>, Refused> {
        let moderator = self.require_moderator(config)?;
        if moderator.may(power) {
            Ok(moderator)
        } else {
            Err(Refused::NeedsAdmin)
        }
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
    /// Nobody signs in as an admin in their place.
    ImpersonatingAdmin,
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
            Refused::ImpersonatingAdmin => "refused: admins cannot be impersonated",
        })
    }
}

/// Whether `actor` holds `power`: the operator (CLI, bootstrap) holds every power but
/// impersonating admins; a member what their role grants ([`Role::grants`]).
pub fn actor_may(actor: Actor<'_>, power: Power) -> bool {
    match actor {
        Actor::Operator => power != Power::ImpersonateAdmins,
        Actor::Member(member) => member.may(power),
    }
}

/// Whether `actor` may act on someone whose role is `target`: staff manage regular users
/// only (an admin's account is handled by those who may set roles).
pub fn may_manage(actor: Actor<'_>, target: Role) -> bool {
    target == Role::User || actor_may(actor, Power::SetRole)
}

/// Refuses unless `actor` holds `power`.
fn needs(actor: Actor<'_>, power: Power) -> Result<(), Refused> {
    if actor_may(actor, power) {
        Ok(())
    } else {
        Err(Refused::NeedsAdmin)
    }
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
    if change.name.is_some() || change.username.is_some() {
        needs(actor, Power::UpdateUser)?;
    }
    if change.banned.is_some() || change.ban_reason.is_some() || change.ban_expires.is_some() {
        needs(actor, Power::BanUser)?;
    }
    if let Some(role) = change.role {
        if role != user.role {
            needs(actor, Power::SetRole)?;
        }
        user.role = role;
    }
    if let Some(name) = &change.name {
        user.name = name.trim().to_string();
    }
    if let Some(email) = &change.email {
        let email = email.trim().to_lowercase();
        if email != user.email {
            needs(actor, Power::SetEmail)?;
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
/// upstream), for someone holding [`Power::DeleteUser`] over them. Refused for the last
/// admin who can act.
pub async fn delete_user(
    db: &Db,
    integrations: &Registry,
    actor: Actor<'_>,
    origin: &Provenance,
    user_id: &str,
) -> Result<Result<(), Refused>, ServiceError> {
    if let Err(refused) = needs(actor, Power::DeleteUser) {
        return Ok(Err(refused));
    }
    // The user and the roster do not depend on each other: read together.
    let users = db.users();
    let (user, roster) = futures::try_join!(users.get(user_id), users.acting_admins())?;
    let Some(user) = user else {
        return Ok(Err(Refused::NotFound));
    };
    if !may_manage(actor, user.role) {
        return Ok(Err(Refused::NeedsAdmin));
    }
    delete_account(db, integrations, origin, &user, roster.len()).await
}

/// Deletes `user` (read just now, with `acting_admins` admins who can act) and everything
/// theirs, integration accounts first: the rule both a moderator's removal and a user's
/// own deletion end in. A service that fails stops it before anything of the user's is
/// deleted here.
pub async fn delete_account(
    db: &Db,
    integrations: &Registry,
    origin: &Provenance,
    user: &User,
    acting_admins: usize,
) -> Result<Result<(), Refused>, ServiceError> {
    let (user_id, roster_len) = (user.id.as_str(), acting_admins);
    if user.is_acting_admin() && roster_len <= 1 {
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

/// A new account made for someone (BetterAuth's `create-user`).
pub struct NewUser<'a> {
    /// Valid per `model::is_email`; stored lower-cased.
    pub email: &'a str,
    pub name: &'a str,
    /// Valid per `model::username_rule`.
    pub username: Option<&'a str>,
    /// Of a valid length; without one the account has no password until one is set.
    pub password: Option<&'a str>,
    pub role: Role,
    pub email_verified: bool,
}

/// Creates an account for someone, for whoever holds [`Power::CreateUser`] (and
/// [`Power::SetRole`] to give any role but `user`), recorded in the same transaction.
pub async fn create_user(
    db: &Db,
    actor: Actor<'_>,
    origin: &Provenance,
    new: NewUser<'_>,
    at: OffsetDateTime,
) -> Result<Result<User, Refused>, StoreError> {
    if let Err(refused) = needs(actor, Power::CreateUser) {
        return Ok(Err(refused));
    }
    if new.role != Role::User
        && let Err(refused) = needs(actor, Power::SetRole)
    {
        return Ok(Err(refused));
    }
    let hash = match new.password {
        Some(password) => Some(hash_password(password.to_string()).await),
        None => None,
    };
    let mut user = User::new(
        new_id(),
        new.name.trim().to_string(),
        new.email.trim().to_lowercase(),
        new.email_verified,
        new.role,
        &iso(at),
    );
    if let Some(username) = new.username {
        user.username = Some(portal_domain::model::normalize_username(username));
        user.display_username = Some(username.to_string());
    }
    let details = serde_json::json!({ "role": new.role.as_str(), "password": hash.is_some() });
    let event = Event::new(origin, "user.created", Some(&user.id), Some(details), at);
    match db
        .users()
        .create_signed_in(user, hash, None, Some(&event))
        .await
    {
        Ok(user) => Ok(Ok(user)),
        Err(CreateUserError::EmailTaken) => Ok(Err(Refused::EmailTaken)),
        Err(CreateUserError::UsernameTaken) => Ok(Err(Refused::UsernameTaken)),
        Err(CreateUserError::Store(e)) => Err(e),
    }
}

/// Sets someone's password, for whoever holds [`Power::SetPassword`] over them. Every
/// session they had ends in the same write (whoever held one may be why the password is
/// being set), and reset links already sent stop working.
pub async fn set_password(
    db: &Db,
    actor: Actor<'_>,
    origin: &Provenance,
    user_id: &str,
    password: &str,
    at: OffsetDateTime,
) -> Result<Result<User, Refused>, StoreError> {
    if let Err(refused) = needs(actor, Power::SetPassword) {
        return Ok(Err(refused));
    }
    let hash = hash_password(password.to_string()).await;
    let event = Event::new(origin, "user.password_set", Some(user_id), None, at);
    let changed = db
        .users()
        .change_password(
            user_id,
            &hash,
            &iso(at),
            |user| {
                if !may_manage(actor, user.role) {
                    return Err(Refused::NeedsAdmin);
                }
                user.generations.sessions += 1;
                user.generations.reset_tokens += 1;
                Ok(())
            },
            Some(&event),
        )
        .await?;
    match changed {
        None => Ok(Err(Refused::NotFound)),
        Some(Err(refused)) => Ok(Err(refused)),
        Some(Ok(user)) => {
            // The raised generation already stops them; this removes them.
            db.sessions().delete_all_for_user(user_id, None).await?;
            Ok(Ok(user))
        }
    }
}

/// Ends every session of someone at once, for whoever holds [`Power::RevokeSessions`]
/// over them. Returns how many were removed.
pub async fn revoke_sessions_of(
    db: &Db,
    actor: Actor<'_>,
    origin: &Provenance,
    user_id: &str,
    at: OffsetDateTime,
) -> Result<Result<usize, Refused>, StoreError> {
    if let Err(refused) = needs(actor, Power::RevokeSessions) {
        return Ok(Err(refused));
    }
    let Some(user) = db.users().get(user_id).await? else {
        return Ok(Err(Refused::NotFound));
    };
    if !may_manage(actor, user.role) {
        return Ok(Err(Refused::NeedsAdmin));
    }
    let event = Event::new(origin, "sessions.revoked", Some(user_id), None, at);
    if db
        .users()
        .revoke_sessions(user_id, &iso(at), None, Some(&event))
        .await?
        .is_none()
    {
        return Ok(Err(Refused::NotFound));
    }
    Ok(Ok(db.sessions().delete_all_for_user(user_id, None).await?))
}

/// Ends one session of someone, for whoever holds [`Power::RevokeSessions`] over its
/// owner. `Ok(Ok(false))`: there was no such session.
pub async fn revoke_session(
    db: &Db,
    actor: Actor<'_>,
    origin: &Provenance,
    session_id: &str,
) -> Result<Result<bool, Refused>, StoreError> {
    if let Err(refused) = needs(actor, Power::RevokeSessions) {
        return Ok(Err(refused));
    }
    let Some(session) = db.sessions().get(session_id).await? else {
        return Ok(Ok(false));
    };
    if let Some(owner) = db.users().get(&session.user_id).await?
        && !may_manage(actor, owner.role)
    {
        return Ok(Err(Refused::NeedsAdmin));
    }
    Ok(Ok(db.sessions().revoke_read(&session, origin).await?))
}

/// Whether `actor` may sign in as `target` (BetterAuth's impersonation): with
/// [`Power::Impersonate`], never as an admin.
pub fn may_impersonate(actor: Actor<'_>, target: &User) -> Result<(), Refused> {
    needs(actor, Power::Impersonate)?;
    if target.role == Role::Admin && !actor_may(actor, Power::ImpersonateAdmins) {
        return Err(Refused::ImpersonatingAdmin);
    }
    if !may_manage(actor, target.role) {
        return Err(Refused::NeedsAdmin);
    }
    Ok(())
}
