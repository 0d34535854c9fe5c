//! `/api/admin/users`: list (role, banned, search, offset or cursor), get, update (role
//! rules, bans that end every session), delete (admin only, with everything theirs).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use portal_domain::model::{
    MAX_USERNAME_CHARS, MIN_USERNAME_CHARS, Power, Role, User, UsernameProblem, is_email,
    username_rule,
};
use portal_domain::store::integration_accounts::Account;
use portal_domain::store::users::UserFilter;
use portal_domain::time::{now, parse_iso};
use portal_services::integrations::lifecycle::Outcome;
use portal_services::integrations::view::AccountView;
use portal_services::moderation::{Actor, UserChange, change_user, delete_user};
use portal_web::caller::RequireAdminOrStaff;
use portal_web::error::USER_NOT_FOUND;
use portal_web::http::RequestProvenance;
use portal_web::openapi::{ErrorEnvelope, Id};
use portal_web::validation::{
    FromQuery, Issue, Paging, PathId, QueryReader, Rules, ValidJson, ValidQuery, Validate, present,
};
use portal_web::views::{DONE, Done, PasskeyView, next_cursor};
use portal_web::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// A user as staff and admins see them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub image: Option<String>,
    /// Lower-cased; `null` until chosen.
    pub username: Option<String>,
    pub display_username: Option<String>,
    /// `user`, `staff` or `admin`.
    pub role: &'static str,
    /// Banned now (a ban whose `banExpires` has passed no longer counts).
    pub banned: bool,
    pub ban_reason: Option<String>,
    pub ban_expires: Option<String>,
    pub email_verified: bool,
    /// Sign-in asks for a second factor.
    pub two_factor_enabled: bool,
    pub created_at: String,
    pub updated_at: String,
    /// With `expand=integrations`: the account on each service by id (`null` where they
    /// have none; deleted accounts left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrations: Option<AccountsByService>,
    /// In a list with `expand=integrations`: each service's account at the top level of
    /// the row, as Portal's admin table reads it.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(inline)]
    pub accounts: Option<ServiceAccounts>,
}

/// A user's account on each service under the key Portal's admin pages read (`null` where
/// they have none; deleted accounts left out).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccounts {
    pub xmpp_account: Option<AccountView>,
    pub irc_account: Option<AccountView>,
    pub mailcow_account: Option<AccountView>,
    pub mediawiki_account: Option<AccountView>,
}

impl ServiceAccounts {
    /// The live account of each service among `held`.
    pub fn of(held: &[Account]) -> Self {
        let live = |integration: &str| Account::live_on(held, integration).map(AccountView::from);
        Self {
            xmpp_account: live("xmpp"),
            irc_account: live("irc"),
            mailcow_account: live("mailcow"),
            mediawiki_account: live("mediawiki"),
        }
    }
}

/// `{ user, xmppAccount, ircAccount, mailcowAccount, mediawikiAccount }`: one user with
/// their account on each service (Portal's user sheet).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUserDetail {
    pub user: AdminUser,
    #[serde(flatten)]
    pub accounts: ServiceAccounts,
    /// The user's passkeys, oldest first.
    pub passkeys: Vec<PasskeyView>,
}

/// Each service's account of a user by service id, `null` where they have none.
#[derive(Serialize)]
pub struct AccountsByService(pub BTreeMap<&'static str, Option<AccountView>>);

impl utoipa::PartialSchema for AccountsByService {
    fn schema() -> RefOr<Schema> {
        let account_or_null = OneOfBuilder::new()
            .item(Ref::from_schema_name(AccountView::name()))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build();
        ObjectBuilder::new()
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::OneOf(
                account_or_null,
            )))))
            .into()
    }
}

impl ToSchema for AccountsByService {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((AccountView::name().into(), AccountView::schema()));
        <AccountView as ToSchema>::schemas(schemas);
    }
}

impl From<&User> for AdminUser {
    fn from(user: &User) -> Self {
        AdminUser {
            id: user.id.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            image: user.image.clone(),
            username: user.username.clone(),
            display_username: user.display_username.clone(),
            role: user.role.as_str(),
            banned: user.is_banned_at(now()),
            ban_reason: user.ban_reason.clone(),
            ban_expires: user.ban_expires.clone(),
            email_verified: user.email_verified,
            two_factor_enabled: user.two_factor_enabled,
            created_at: user.created_at.clone(),
            updated_at: user.updated_at.clone(),
            integrations: None,
            accounts: None,
        }
    }
}

/// `{ "user": {...}, serviceAccounts? }`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUserBody {
    pub user: AdminUser,
    /// After a ban or its lifting: what it did to each of the user's service accounts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<Outcome>,
}

/// `{ users, pagination, nextCursor? }`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    pub users: Vec<AdminUser>,
    pub pagination: Pagination,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Where this page sits in the filtered set.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub total: u64,
    pub limit: u32,
    pub offset: u32,
    pub has_more: bool,
}

pub struct UserQuery {
    filter: UserFilter,
    paging: Paging,
    /// `expand=integrations`.
    integrations: bool,
}

impl FromQuery for UserQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        let role = q
            .one_of("role", &["user", "staff", "admin"])
            .and_then(|r| Role::parse(&r));
        Self {
            filter: UserFilter {
                role,
                banned: q.bool("banned"),
                search: q.string("search", 100),
            },
            paging: Paging::read(q, 50),
            integrations: q.one_of("expand", &["integrations"]).is_some(),
        }
    }
}

/// Users, newest first, filtered by role, ban and a prefix of their e-mail or name.
#[utoipa::path(
    get,
    path = "/api/admin/users",
    security(("signedIn" = [])),
    params(
        ("role" = Option<String>, Query, pattern = "^(user|staff|admin)$", description = "`user`, `staff` or `admin`"),
        ("banned" = Option<bool>, Query),
        ("search" = Option<String>, Query, max_length = 100, description = "Case-insensitive prefix of the e-mail, the name or the username"),
        ("expand" = Option<String>, Query, pattern = "^integrations$", description = "`integrations`: each row carries `xmppAccount`, `ircAccount`, `mailcowAccount` and `mediawikiAccount`"),
        portal_web::openapi::Paging,
    ),
    responses((status = 200, description = "A page of users", body = UserList))
)]
pub async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<UserQuery>,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
) -> ApiResult<Json<UserList>> {
    actor.require_power(&state.config, Power::ListUsers)?;
    let (limit, offset) = (query.paging.limit, query.paging.offset);
    let request = query.paging.request(&state.keyring)?;
    let found = state.db.users().list(&query.filter, &request).await?;
    let mut users: Vec<AdminUser> = found.users.iter().map(AdminUser::from).collect();
    if query.integrations {
        // Each row's accounts: one Query per user, all at once.
        let accounts = state.db.integration_accounts();
        let held = futures::future::try_join_all(
            found
                .users
                .iter()
                .map(|user| accounts.all_of_user(&user.id)),
        )
        .await?;
        for (row, held) in users.iter_mut().zip(held) {
            row.accounts = Some(ServiceAccounts::of(&held));
        }
    }
    Ok(Json(UserList {
        users,
        pagination: Pagination {
            total: u64::try_from(found.total).unwrap_or_default(),
            limit,
            offset,
            has_more: found.has_more,
        },
        next_cursor: next_cursor(&state.keyring, found.next.as_ref()),
    }))
}

/// `?expand=integrations`.
pub struct ShowQuery {
    integrations: bool,
}

impl FromQuery for ShowQuery {
    fn from_query(q: &mut QueryReader) -> Self {
        Self {
            integrations: q.one_of("expand", &["integrations"]).is_some(),
        }
    }
}

/// One user; with `expand=integrations`, their account on each service (`null` where
/// they have none; deleted accounts left out).
#[utoipa::path(
    get,
    path = "/api/admin/users/{id}",
    security(("signedIn" = [])),
    params(
        Id,
        ("expand" = Option<String>, Query, pattern = "^integrations$", description = "`integrations`: add `user.integrations`"),
    ),
    responses(
        (status = 200, description = "The user and their account on each service", body = AdminUserDetail),
        (status = 404, description = "`User not found`", body = ErrorEnvelope),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    id: PathId,
    ValidQuery(query): ValidQuery<ShowQuery>,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
) -> ApiResult<Json<AdminUserDetail>> {
    actor.require_power(&state.config, Power::GetUser)?;
    // The user, their accounts and their passkeys do not depend on each other: read
    // together.
    let (users, accounts, passkeys) = (
        state.db.users(),
        state.db.integration_accounts(),
        state.db.passkeys(),
    );
    let (user, held, keys) = futures::try_join!(
        users.get(id.as_str()),
        accounts.all_of_user(id.as_str()),
        passkeys.of_user(id.as_str())
    )?;
    let user = user.ok_or_else(|| ApiError::not_found(USER_NOT_FOUND))?;
    let mut user = AdminUser::from(&user);
    if query.integrations {
        user.integrations = Some(AccountsByService(
            state
                .integrations
                .all()
                .map(|integration| {
                    let account = Account::live_on(&held, integration.id());
                    (integration.id(), account.map(AccountView::from))
                })
                .collect(),
        ));
    }
    Ok(Json(AdminUserDetail {
        user,
        accounts: ServiceAccounts::of(&held),
        passkeys: keys.iter().map(PasskeyView::from).collect(),
    }))
}

/// A change to a user; absent fields stay as they are. Staff may not touch admins or give
/// the admin and staff roles.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUpdate {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// A new e-mail address (admins only: it can reset the password). It is stored
    /// lower-cased and unverified, and reset links sent to the old address stop working;
    /// 409 `Email is already in use` when somebody else has it.
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    /// A new username (3 to 30 characters: a letter, then letters, digits, `_` or `-`;
    /// stored lower-cased): 409 when somebody else holds it. Users cannot change theirs.
    #[serde(default)]
    #[schema(min_length = 3, max_length = 30, pattern = "^[a-zA-Z][a-zA-Z0-9_-]*$")]
    username: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(user|staff|admin)$")]
    role: Option<Role>,
    /// Banning ends every session and API key of the user at once.
    #[serde(default)]
    banned: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    ban_reason: Option<Option<String>>,
    /// When the ban ends (ISO 8601); `null`: never.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    ban_expires: Option<Option<String>>,
}

impl Validate for AdminUpdate {
    fn validate(&self) -> Result<(), Vec<Issue>> {
        let mut rules = Rules::default();
        if let Some(name) = &self.name {
            rules.length("name", name.trim(), 1, 100);
        }
        if let Some(email) = &self.email
            && (email.trim().len() > 254 || !is_email(email.trim()))
        {
            rules.broken("email", "email", Some("Invalid email"));
        }
        if let Some(username) = &self.username {
            match username_rule(username) {
                Ok(()) => {}
                Err(UsernameProblem::Invalid) => rules.broken(
                    "username",
                    "username",
                    Some("A letter, then letters, digits, _ or -"),
                ),
                Err(_) => rules.length(
                    "username",
                    username,
                    MIN_USERNAME_CHARS as u64,
                    MAX_USERNAME_CHARS as u64,
                ),
            }
        }
        if let Some(Some(reason)) = &self.ban_reason {
            rules.length("banReason", reason, 0, 500);
        }
        if let Some(Some(until)) = &self.ban_expires
            && parse_iso(until).is_none()
        {
            rules.broken("banExpires", "datetime", Some("Invalid datetime"));
        }
        rules.finish()
    }
}

/// Renames, changes the role of, bans or unbans a user.
#[utoipa::path(
    patch,
    path = "/api/admin/users/{id}",
    security(("signedIn" = [])),
    params(Id),
    request_body = AdminUpdate,
    responses(
        (status = 200, description = "The changed user", body = AdminUserBody),
        (status = 404, description = "`User not found`", body = ErrorEnvelope),
        (status = 409, description = "`Username is already taken`, `Email is already in use`", body = ErrorEnvelope),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
    RequestProvenance(origin): RequestProvenance,
    ValidJson(body): ValidJson<AdminUpdate>,
) -> ApiResult<Json<AdminUserBody>> {
    let change = UserChange {
        name: body.name,
        email: body.email,
        username: body.username,
        role: body.role,
        banned: body.banned,
        ban_reason: body.ban_reason,
        ban_expires: body
            .ban_expires
            .map(|until| until.as_deref().and_then(parse_iso)),
    };
    let moderator = actor.require_moderator(&state.config)?;
    let changed = change_user(
        &state.db,
        &state.integrations,
        Actor::Member(moderator),
        &origin.as_user(&actor.user.id),
        id.as_str(),
        &change,
        now(),
    )
    .await??;
    Ok(Json(AdminUserBody {
        user: AdminUser::from(&changed.user),
        service_accounts: changed.service_accounts,
    }))
}

/// Deletes a user with everything theirs (admin only): sessions, keys, credentials and
/// service accounts (removed upstream first).
#[utoipa::path(
    delete,
    path = "/api/admin/users/{id}",
    security(("signedIn" = [])),
    params(Id),
    responses(
        (status = 200, description = "Deleted", body = portal_web::views::Done),
        (status = 404, description = "`User not found`", body = ErrorEnvelope),
        (status = 502, description = "A service could not remove the user's account", body = ErrorEnvelope),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    id: PathId,
    RequireAdminOrStaff(actor): RequireAdminOrStaff,
    RequestProvenance(origin): RequestProvenance,
) -> ApiResult<Json<Done>> {
    let moderator = actor.require_moderator(&state.config)?;
    let origin = origin.as_user(&actor.user.id);
    delete_user(
        &state.db,
        &state.integrations,
        Actor::Member(moderator),
        &origin,
        id.as_str(),
    )
    .await??;
    Ok(Json(DONE))
}
