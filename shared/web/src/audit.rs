//! The audit log as the API shows it: one view and one query for both listings
//! (`GET /api/admin/audit-log`, every event; `GET /api/user/security-events`, the caller's).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::validation::{FromQuery, Paging, QueryReader};
use crate::{ApiResult, AppState};
use portal_domain::store::audit::{Event, EventFilter};

/// One event: who did what to whom, when, from where; `changes` holds the fields that
/// changed (`{field: {before, after}}`) or other detail, never a secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: String,
    pub at: String,
    /// A user id, `operator`, or null.
    pub actor: Option<String>,
    /// The user it is about, if any.
    pub target: Option<String>,
    /// E.g. `sign_in.succeeded`, `sign_in.failed`, `user.banned`, `two_factor.enabled`.
    pub action: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// `{ events, nextCursor? }`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    pub events: Vec<EventView>,
    /// Give it back as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Who reads the log.
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    /// Staff and admins: everything.
    Moderator,
    /// The user the events are about: where someone else acted (a moderator, the
    /// operator), who they were and where they acted from stay blank.
    Subject(&'a str),
}

pub fn view(event: &Event, reader: Reader<'_>) -> EventView {
    let someone_else = match reader {
        Reader::Moderator => false,
        Reader::Subject(me) => event.actor.as_deref().is_some_and(|a| a != me),
    };
    if someone_else {
        return EventView {
            actor: None,
            ip: None,
            user_agent: None,
            ..view(event, Reader::Moderator)
        };
    }
    EventView {
        id: event.id.clone(),
        at: event.at.clone(),
        actor: event.actor.clone(),
        target: event.target.clone(),
        action: event.action.clone(),
        ip: event.ip.clone(),
        user_agent: event.user_agent.clone(),
        details: event.details_json(),
    }
}

/// `actor`, `target`, `action`, `since`, `until` (ISO 8601) and paging.
pub struct EventQuery {
    pub filter: EventFilter,
    pub paging: Paging,
}

impl FromQuery for EventQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        let since = q.datetime("since");
        let until = q.datetime("until");
        if let (Some(since), Some(until)) = (&since, &until)
            && since > until
        {
            q.push_issue(
                crate::validation::Issue::custom("until must not be before since").at("until"),
            );
        }
        Self {
            filter: EventFilter {
                actor: q.string("actor", crate::validation::MAX_ID_LEN),
                target: q.string("target", crate::validation::MAX_ID_LEN),
                action: q.string("action", 64),
                since,
                until,
            },
            paging: Paging::read(q, 50),
        }
    }
}

/// The page `filter` and `paging` ask for, as the API answers it to `reader`.
pub async fn list(
    state: &AppState,
    filter: &EventFilter,
    paging: &Paging,
    reader: Reader<'_>,
) -> ApiResult<EventList> {
    let page = state
        .db
        .audit()
        .list(filter, &paging.request(&state.keyring)?)
        .await?;
    Ok(EventList {
        events: page.items.iter().map(|event| view(event, reader)).collect(),
        next_cursor: crate::views::next_cursor(&state.keyring, page.next.as_ref()),
    })
}
