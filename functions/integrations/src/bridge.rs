//! `GET /api/bridge/identity`: the chat bridge asks who is behind an IRC nick, an XMPP JID
//! or a Discord id, and gets the Portal user with their accounts on the other networks.
//! With `BRIDGE_SERVICE_TOKEN` set, only `Authorization: Bearer <that token>` (compared in
//! constant time); without it, a signed-in admin or staff member (never any user: the map
//! of who is who across networks is not public). Look-ups are GetItems on the services'
//! name claims, never scans; rate-limited per caller.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use portal_domain::config::ExposeSecret;
use portal_domain::crypto::constant_time_eq;
use portal_domain::store::integration_accounts::Account;
use portal_domain::store::keys;
use portal_web::caller::RequireAdminOrStaff;
use portal_web::error::USER_NOT_FOUND;
use portal_web::openapi::ErrorEnvelope;
use portal_web::rate_limit::{self, Bucket};
use portal_web::validation::{FromQuery, QueryReader, ValidQuery};
use portal_web::{ApiError, ApiResult, AppState};
use serde::Serialize;
use utoipa::ToSchema;

pub const EXACTLY_ONE: &str = "Give exactly one of discordId, ircNick, xmppJid";
pub const SERVER_WITHOUT_NICK: &str = "ircServer goes with ircNick";
pub const IRC_NOT_FOUND: &str = "IRC account not found";
pub const XMPP_NOT_FOUND: &str = "XMPP account not found";
pub const DISCORD_NOT_LINKED: &str = "Discord account not linked";

/// Who is behind a name, across the networks, in the chat bridge's own shape (snake_case,
/// as atl.chat's bridge reads it).
#[derive(Serialize, ToSchema)]
pub struct Identity {
    user_id: String,
    username: Option<String>,
    /// The Discord account linked to the user (by signing in with Discord), if any.
    discord_id: Option<String>,
    irc_nick: Option<String>,
    irc_status: Option<String>,
    xmpp_jid: Option<String>,
    xmpp_username: Option<String>,
    xmpp_status: Option<String>,
    avatar_url: Option<String>,
}

/// `{ ok: true, identity }`.
#[derive(Serialize, ToSchema)]
pub struct IdentityBody {
    pub ok: bool,
    pub identity: Identity,
}

/// What is looked up.
pub enum Lookup {
    Discord(String),
    IrcNick(String),
    XmppJid(String),
    Invalid,
    ServerWithoutNick,
}

impl FromQuery for Lookup {
    fn from_query(q: &mut QueryReader) -> Self {
        // The bridge names the IRC network it saw the nick on; Portal serves one IRC
        // server, so the name does not narrow the look-up (as in Portal), but it is read
        // (bounded) and only beside a nick.
        let server = q.string("ircServer", 253);
        let given = [
            q.string("discordId", 64).map(Lookup::Discord),
            q.string("ircNick", 64).map(Lookup::IrcNick),
            q.string("xmppJid", 320).map(Lookup::XmppJid),
        ];
        let mut given = given.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(Lookup::IrcNick(nick)), None) => Lookup::IrcNick(nick),
            (Some(_), None) if server.is_some() => Lookup::ServerWithoutNick,
            (Some(one), None) => one,
            (None, None) if server.is_some() => Lookup::ServerWithoutNick,
            _ => Lookup::Invalid,
        }
    }
}

/// The bridge's token when one is configured (401 otherwise), else an admin or staff
/// session; the caller's rate-limit subject.
async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    staff: Result<RequireAdminOrStaff, ApiError>,
) -> ApiResult<String> {
    match state
        .config
        .services
        .as_ref()
        .and_then(|s| s.bridge_token.as_ref())
    {
        Some(token) => {
            let given = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if constant_time_eq(given, token.expose_secret()) {
                Ok("service".into())
            } else {
                Err(ApiError::Unauthorized)
            }
        }
        None => staff.map(|RequireAdminOrStaff(me)| me.user.id),
    }
}

/// Finds the Portal user behind a nick, a JID or a Discord id.
#[utoipa::path(
    get,
    path = "/api/bridge/identity",
    security(("bridgeToken" = []), ("signedIn" = [])),
    params(
        ("discordId" = Option<String>, Query, max_length = 64),
        ("ircNick" = Option<String>, Query, max_length = 64),
        ("ircServer" = Option<String>, Query, max_length = 253, description = "The IRC network the nick was seen on (beside `ircNick` only; Portal serves one)"),
        ("xmppJid" = Option<String>, Query, max_length = 320),
    ),
    responses(
        (status = 200, description = "Found", body = IdentityBody),
        (status = 400, description = "Not exactly one look-up, or `ircServer` without `ircNick`", body = ErrorEnvelope),
        (status = 401, description = "Not the bridge's token (or, without one configured, not signed in)", body = ErrorEnvelope),
        (status = 403, description = "Without a token configured: signed in, but not staff or admin", body = ErrorEnvelope),
        (status = 404, description = "Nobody has that name", body = ErrorEnvelope),
        (status = 429, description = "Too many look-ups", body = ErrorEnvelope),
    )
)]
pub async fn identity(
    State(state): State<AppState>,
    headers: HeaderMap,
    staff: Result<RequireAdminOrStaff, ApiError>,
    ValidQuery(lookup): ValidQuery<Lookup>,
) -> ApiResult<Json<IdentityBody>> {
    let subject = caller(&state, &headers, staff).await?;
    let bucket = Bucket::new(
        keys::rate_bucket_bridge(&subject),
        state.config.rate_limits.bridge,
    );
    let accounts = state.db.integration_accounts();
    let linked = state.db.linked_accounts();
    let (name, missing) = match lookup {
        Lookup::Invalid => return Err(ApiError::bad_request(EXACTLY_ONE)),
        Lookup::ServerWithoutNick => return Err(ApiError::bad_request(SERVER_WITHOUT_NICK)),
        // The Discord account linked by signing in with Discord: one GetItem on its claim.
        Lookup::Discord(id) => (("discord", id), DISCORD_NOT_LINKED),
        Lookup::IrcNick(nick) => (("irc", nick.to_lowercase()), IRC_NOT_FOUND),
        Lookup::XmppJid(jid) => {
            let jid = jid.to_lowercase();
            let (local, domain) = jid.split_once('@').unwrap_or((&jid, ""));
            let ours = state
                .config
                .services
                .as_ref()
                .and_then(|s| s.prosody.xmpp_domain.as_deref())
                .unwrap_or_default();
            if !domain.is_empty() && domain != ours {
                rate_limit::enforce(&state, bucket).await?;
                return Err(ApiError::not_found(XMPP_NOT_FOUND));
            }
            (("xmpp", local.to_string()), XMPP_NOT_FOUND)
        }
    };
    // Counting the look-up and reading the name's claim do not depend on each other.
    let (_, owner) = futures::try_join!(rate_limit::enforce(&state, bucket), async {
        if name.0 == "discord" {
            return Ok(linked.get("discord", &name.1).await?.map(|a| a.user_id));
        }
        accounts
            .owner_of_username(name.0, &name.1)
            .await
            .map_err(ApiError::from)
    })?;
    let owner = owner.ok_or_else(|| ApiError::not_found(missing))?;
    // The user and their accounts do not depend on each other: read together.
    let users = state.db.users();
    let (user, held, providers) = futures::try_join!(
        users.get(&owner),
        accounts.all_of_user(&owner),
        linked.of_user(&owner)
    )?;
    let user = user.ok_or_else(|| ApiError::not_found(USER_NOT_FOUND))?;
    let (irc, xmpp) = (
        Account::live_on(&held, "irc"),
        Account::live_on(&held, "xmpp"),
    );
    let text = |a: Option<&Account>, field: &str| {
        a.and_then(|a| a.data[field].as_str().map(str::to_string))
    };
    let identity = Identity {
        user_id: user.id.clone(),
        username: user.username.clone(),
        discord_id: providers
            .iter()
            .find(|a| a.provider_id == "discord")
            .map(|a| a.account_id.clone()),
        irc_nick: text(irc, "nick"),
        irc_status: irc.map(|a| a.status.clone()),
        xmpp_jid: text(xmpp, "jid"),
        xmpp_username: text(xmpp, "username"),
        xmpp_status: xmpp.map(|a| a.status.clone()),
        avatar_url: user.image.clone(),
    };
    Ok(Json(IdentityBody { ok: true, identity }))
}
