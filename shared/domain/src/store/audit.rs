//! The audit log: one item per security-relevant event, written in the SAME transaction as
//! the change it records (the store methods that make those changes take the event), so
//! there is no change without its record and no record of a change that did not happen.
//! Failures (a wrong password) change nothing and are appended on their own.
//!
//! Item: `AUDIT#<id>` / `AUDIT`, found newest first by target user (GSI1
//! `USER#<id>#AUDIT`), by everyone's (GSI2 `AUDIT`), by actor (GSI3 `AUDITBY#<actor>`) and by
//! action (GSI4 `AUDITACTION#<action>`), each sorted by `<at>#<id>`; `ttl` ends it after the
//! retention (`PORTAL_AUDIT_RETENTION_DAYS`, default 365). No secret is ever put in one:
//! `changes` holds only the fields that changed among role, ban, name, username, e-mail
//! verification and two-factor state, never a password, token, key or code.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::db::{Db, StoreError};
use super::item::{from_item, to_item};
use super::keys;
use super::keys::ItemKeys;
use super::listing::{Page, PageRequest};
use super::schema::{self, Gsi};
use super::table::is_new;
use crate::crypto::new_id;
use crate::model::User;

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    /// Someone with access to the table (the CLI, the bootstrap admin).
    Operator,
    /// Nobody signed in (a failed sign-in, a reset link).
    Nobody,
}

impl Actor {
    fn stored(&self) -> Option<String> {
        match self {
            Actor::User(id) => Some(id.clone()),
            Actor::Operator => Some("operator".into()),
            Actor::Nobody => None,
        }
    }
}

/// The provenance of what is recorded: who acted (the actor), from which client, and how
/// long it is remembered. ("Origin" is kept for what the web means by it: a scheme, host
/// and port.)
#[derive(Debug, Clone)]
pub struct Provenance {
    pub actor: Actor,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub retention_days: i64,
}

impl Provenance {
    /// The operator (CLI, bootstrap); what they do is kept `retention_days`.
    pub fn operator(retention_days: i64) -> Self {
        Self {
            actor: Actor::Operator,
            ip: None,
            user_agent: None,
            retention_days,
        }
    }

    /// A request from `client`, nobody signed in yet.
    pub fn request(config: &crate::Config, client: &crate::model::Client) -> Self {
        Self {
            actor: Actor::Nobody,
            ip: Some(client.ip.clone()),
            user_agent: Some(client.user_agent.clone()),
            retention_days: config.audit_retention_days,
        }
    }

    /// The same request, acting as `user` (once they are known: a sign-in, a sign-up).
    pub fn as_user(&self, user_id: &str) -> Self {
        Self {
            actor: Actor::User(user_id.to_string()),
            ..self.clone()
        }
    }
}

/// One event as stored and as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(flatten)]
    keys: ItemKeys,
    pub id: String,
    pub at: String,
    /// A user id, `operator`, or none.
    pub actor: Option<String>,
    /// The user the event is about, if any.
    pub target: Option<String>,
    pub action: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `{field: {before, after}}` of what changed, as JSON text; or other non-secret
    /// detail (`{"via": "username"}`).
    pub details: Option<String>,
    ttl: i64,
}

/// What the listing is about: the most selective index answers, the other filters apply
/// to its partition.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<String>,
    /// ISO timestamps, inclusive.
    pub since: Option<String>,
    pub until: Option<String>,
}

/// Before/after of the user fields an audit record may show (never a secret).
pub fn user_changes(before: &User, after: &User) -> Option<Value> {
    let mut changes = serde_json::Map::new();
    let mut field = |name: &str, old: Value, new: Value| {
        if old != new {
            changes.insert(
                name.to_string(),
                serde_json::json!({ "before": old, "after": new }),
            );
        }
    };
    field(
        "role",
        before.role.as_str().into(),
        after.role.as_str().into(),
    );
    field("banned", before.banned.into(), after.banned.into());
    field(
        "banReason",
        before.ban_reason.clone().into(),
        after.ban_reason.clone().into(),
    );
    field(
        "banExpires",
        before.ban_expires.clone().into(),
        after.ban_expires.clone().into(),
    );
    field(
        "name",
        before.name.clone().into(),
        after.name.clone().into(),
    );
    field(
        "email",
        before.email.clone().into(),
        after.email.clone().into(),
    );
    field(
        "username",
        before.username.clone().into(),
        after.username.clone().into(),
    );
    field(
        "emailVerified",
        before.email_verified.into(),
        after.email_verified.into(),
    );
    field(
        "twoFactorEnabled",
        before.two_factor_enabled.into(),
        after.two_factor_enabled.into(),
    );
    (!changes.is_empty()).then_some(Value::Object(changes))
}

impl Event {
    /// An API key's creation or deletion: its id, name and first characters, never the key.
    pub fn of_key(origin: &Provenance, action: &str, key: &crate::model::ApiKey) -> Self {
        let details = serde_json::json!({ "keyId": key.id, "name": key.name, "start": key.start });
        Self::now(origin, action, Some(&key.user_id), Some(details))
    }

    /// [`Event::new`] now.
    pub fn now(
        origin: &Provenance,
        action: &str,
        target: Option<&str>,
        details: Option<Value>,
    ) -> Self {
        Self::new(origin, action, target, details, crate::time::now())
    }

    /// A new event of `action` about `target`, from `origin`, at `at`.
    pub fn new(
        origin: &Provenance,
        action: &str,
        target: Option<&str>,
        details: Option<Value>,
        at: time::OffsetDateTime,
    ) -> Self {
        let retention_days = origin.retention_days;
        let id = new_id();
        let at_iso = crate::time::iso(at);
        let actor = origin.actor.stored();
        Self {
            keys: keys::audit_item(&id, &at_iso, actor.as_deref(), target, action),
            id,
            at: at_iso,
            actor,
            target: target.map(str::to_string),
            action: action.to_string(),
            ip: origin.ip.clone().filter(|ip| !ip.is_empty()),
            user_agent: origin.user_agent.clone().filter(|ua| !ua.is_empty()),
            details: details.map(|d| d.to_string()),
            ttl: at.unix_timestamp() + retention_days * 86_400,
        }
    }

    /// The detail as JSON.
    pub fn details_json(&self) -> Option<Value> {
        self.details
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
    }
}

pub struct AuditLog<'a> {
    db: &'a Db,
}

impl Db {
    pub fn audit(&self) -> AuditLog<'_> {
        AuditLog { db: self }
    }

    /// The write that records `event`, for the transaction of the change it records.
    pub(crate) fn audit_write(&self, event: &Event) -> Result<TransactWriteItem, StoreError> {
        self.put(to_item(event)?, Some(is_new()))
    }
}

impl AuditLog<'_> {
    /// Appends an event that records no change (a failed sign-in).
    pub async fn append(&self, event: &Event) -> Result<(), StoreError> {
        self.db.put_item(to_item(event)?).await
    }

    /// Events newest first, through the index that fits the most selective filter.
    pub async fn list(
        &self,
        filter: &EventFilter,
        request: &PageRequest,
    ) -> Result<Page<Event>, StoreError> {
        use super::table::Expression;
        let (gsi, partition): (Gsi, String) = if let Some(target) = &filter.target {
            (schema::GSI1, keys::audit_of(target))
        } else if let Some(actor) = &filter.actor {
            (schema::GSI3, keys::audit_by(actor))
        } else if let Some(action) = &filter.action {
            (schema::GSI4, keys::audit_action(action))
        } else {
            (schema::GSI2, keys::AUDIT.to_string())
        };
        // The filters the partition does not answer.
        let mut rest: Option<Expression> = None;
        let mut add = |e: Expression| {
            rest = Some(match rest.take() {
                Some(r) => r.and(e),
                None => e,
            });
        };
        if filter.target.is_some()
            && let Some(actor) = &filter.actor
        {
            add(Expression::new("#actor = :actor")
                .name("#actor", "actor")
                .value(":actor", super::item::s(actor)));
        }
        if (filter.target.is_some() || filter.actor.is_some())
            && let Some(action) = &filter.action
        {
            add(Expression::new("#action = :action")
                .name("#action", "action")
                .value(":action", super::item::s(action)));
        }
        // The time range is a range of the sort key (`<at>#<id>`).
        let range = (
            filter.since.clone(),
            filter.until.as_ref().map(|u| format!("{u}#~")),
        );
        self.db
            .list_page_in(gsi, &partition, range, rest.as_ref(), request, from_item)
            .await
    }
}
