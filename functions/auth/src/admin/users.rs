//! The plugin's user endpoints: list, get, create, update, set-role, set-user-password,
//! ban, unban, remove.

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use portal_domain::model::{Power, Role, User, is_email};
use portal_domain::store::listing::PageRequest;
use portal_domain::store::users::UserFilter;
use portal_domain::time::{now, parse_iso};
use portal_services::moderation::{
    Actor, NewUser, UserChange, change_user, create_user, delete_user, set_password,
};
use portal_web::http::RequestClient;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{DEFAULT_BAN_REASON, DEFAULT_BAN_SECONDS, SignedIn, refusal, user_id_field};
use crate::error::{AuthError, AuthResult};
use crate::input::{Body, Fields, query_object};
use crate::sign::password_error;
use crate::state::AuthState;
use crate::views::json_response;
use crate::wire::{AuthUser, Success};
use portal_domain::store::audit::Provenance;

/// `{user}`.
#[derive(Serialize, ToSchema)]
pub struct UserBody {
    pub user: AuthUser,
}

/// `{users, total, limit?, offset?}`.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<AuthUser>,
    pub total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// `{status: true}` (set-user-password).
#[derive(Serialize, ToSchema)]
pub struct PasswordSet {
    pub status: bool,
}

fn origin(
    state: &AuthState,
    client: &portal_domain::model::Client,
    caller: &SignedIn,
) -> Provenance {
    Provenance::request(&state.app.config, client).as_user(caller.user_id())
}

fn user_body(user: &User) -> Response {
    json_response(&UserBody {
        user: AuthUser::from(user),
    })
}

/// The most users one page holds, and the most a filtered listing reads.
const MAX_PAGE: u32 = 200;
const MAX_WALK: usize = 10_000;

/// The query of `list-users`, checked.
struct ListQuery {
    search: Option<(String, String, String)>,
    filter: Option<(String, String, Value)>,
    sort: Option<(String, bool)>,
    limit: Option<u32>,
    offset: Option<u32>,
}

fn read_list_query(query: &HashMap<String, String>) -> AuthResult<ListQuery> {
    let object = query_object(query);
    let mut f = Fields::of("query", &object, true);
    let search_field = f.one_of("searchField", &["email", "name"]);
    let search_operator = f.one_of("searchOperator", &["contains", "starts_with", "ends_with"]);
    let sort_direction = f.one_of("sortDirection", &["asc", "desc"]);
    let filter_operator = f.one_of(
        "filterOperator",
        &[
            "eq",
            "ne",
            "lt",
            "lte",
            "gt",
            "gte",
            "in",
            "not_in",
            "contains",
            "starts_with",
            "ends_with",
        ],
    );
    f.finish()?;
    // BetterAuth's `Number(x) || undefined`: anything not a positive number is no limit.
    let number = |name: &str| {
        query
            .get(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 1.0)
            .map(|n| n.min(f64::from(u32::MAX)) as u32)
    };
    let search = query.get("searchValue").filter(|v| !v.is_empty()).map(|v| {
        (
            search_field.unwrap_or_else(|| "email".into()),
            search_operator.unwrap_or_else(|| "contains".into()),
            v.clone(),
        )
    });
    let filter = query.get("filterValue").map(|v| {
        (
            query
                .get("filterField")
                .cloned()
                .unwrap_or_else(|| "email".into()),
            filter_operator.unwrap_or_else(|| "eq".into()),
            Value::String(v.clone()),
        )
    });
    let sort = query
        .get("sortBy")
        .filter(|v| !v.is_empty())
        .map(|field| (field.clone(), sort_direction.as_deref() == Some("desc")));
    Ok(ListQuery {
        search,
        filter,
        sort,
        limit: number("limit"),
        offset: number("offset"),
    })
}

/// A filter the store's indexes answer: `role` or `banned` equal to a value.
fn indexed_filter(filter: &Option<(String, String, Value)>) -> Option<UserFilter> {
    let Some((field, operator, value)) = filter else {
        return Some(UserFilter::default());
    };
    let value = value.as_str()?;
    match (field.as_str(), operator.as_str()) {
        ("role", "eq") => Some(UserFilter {
            role: Some(Role::parse(value)?),
            ..UserFilter::default()
        }),
        ("banned", "eq") => Some(UserFilter {
            banned: Some(value.parse().ok()?),
            ..UserFilter::default()
        }),
        _ => None,
    }
}

/// `value` (a query string) read as the kind of `like` (a field of a user).
fn as_kind_of(value: &str, like: &Value) -> Value {
    match like {
        Value::Bool(_) => value.parse().map_or(Value::Null, Value::Bool),
        Value::Number(_) => value
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        _ => Value::String(value.to_string()),
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// Whether `field` of `user` (as shown) stands in `operator` to `value`, as BetterAuth's
/// adapters compare (text case-insensitively).
fn matches(user: &Map<String, Value>, field: &str, operator: &str, value: &str) -> bool {
    let Some(actual) = user.get(field) else {
        return false;
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    };
    let wanted = value.to_lowercase();
    let expected = as_kind_of(value, actual);
    match operator {
        "eq" => actual == &expected,
        "ne" => actual != &expected,
        "lt" => compare(actual, &expected) == Some(Ordering::Less),
        "lte" => matches!(
            compare(actual, &expected),
            Some(Ordering::Less | Ordering::Equal)
        ),
        "gt" => compare(actual, &expected) == Some(Ordering::Greater),
        "gte" => matches!(
            compare(actual, &expected),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        "in" | "not_in" => {
            let listed = value
                .split(',')
                .any(|one| actual == &as_kind_of(one.trim(), actual));
            listed == (operator == "in")
        }
        "contains" => text(actual).contains(&wanted),
        "starts_with" => text(actual).starts_with(&wanted),
        "ends_with" => text(actual).ends_with(&wanted),
        _ => false,
    }
}

/// `GET /admin/list-users`: users, searched, filtered, sorted and paged as the plugin's
/// query says. A listing the indexes answer (no search, no order, at most a `role` or
/// `banned` filter) costs O(page) and counts from the counters; any other reads the users
/// index whole (up to 10,000 users; see DECISIONS). A field users do not have matches
/// nobody (BetterAuth's adapter error, answered as an empty list).
#[utoipa::path(
    get, path = "/admin/list-users", security(("signedIn" = [])),
    params(
        ("searchValue" = Option<String>, Query),
        ("searchField" = Option<String>, Query, pattern = "^(email|name)$"),
        ("searchOperator" = Option<String>, Query, pattern = "^(contains|starts_with|ends_with)$"),
        ("limit" = Option<String>, Query, description = "At most 200"),
        ("offset" = Option<String>, Query),
        ("sortBy" = Option<String>, Query, description = "A field of the user"),
        ("sortDirection" = Option<String>, Query, pattern = "^(asc|desc)$"),
        ("filterField" = Option<String>, Query),
        ("filterValue" = Option<String>, Query, description = "For `in` and `not_in`: values separated by commas"),
        ("filterOperator" = Option<String>, Query, pattern = "^(eq|ne|lt|lte|gt|gte|in|not_in|contains|starts_with|ends_with)$"),
    ),
    responses(
        (status = 200, description = "A page of users", body = UserPage),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_LIST_USERS`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn list(
    State(state): State<AuthState>,
    caller: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    caller.holding(
        &state.app,
        Power::ListUsers,
        "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS",
    )?;
    let query = read_list_query(&query)?;
    let limit = query.limit.map(|l| l.min(MAX_PAGE));
    let offset = query.offset.unwrap_or(0);
    let page_size = limit.unwrap_or(MAX_PAGE) as usize;
    let indexed =
        indexed_filter(&query.filter).filter(|_| query.search.is_none() && query.sort.is_none());
    let (users, total) = match indexed {
        Some(filter) => {
            let request = PageRequest {
                limit: page_size as u32,
                offset,
                cursor: None,
            };
            let found = state.app.db.users().list(&filter, &request).await?;
            let users: Vec<AuthUser> = found.users.iter().map(AuthUser::from).collect();
            (users, u64::try_from(found.total).unwrap_or_default())
        }
        None => {
            let (everyone, more) = state.app.db.users().all(MAX_WALK).await?;
            if more {
                tracing::warn!(cap = MAX_WALK, "list-users read only the newest users");
            }
            let mut shown: Vec<Map<String, Value>> = everyone
                .iter()
                .filter_map(|u| match serde_json::to_value(AuthUser::from(u)) {
                    Ok(Value::Object(map)) => Some(map),
                    _ => None,
                })
                .filter(|u| {
                    query
                        .search
                        .as_ref()
                        .is_none_or(|(field, op, value)| matches(u, field, op, value))
                })
                .filter(|u| {
                    query.filter.as_ref().is_none_or(|(field, op, value)| {
                        matches(u, field, op, value.as_str().unwrap_or_default())
                    })
                })
                .collect();
            if let Some((field, descending)) = &query.sort {
                shown.sort_by(|a, b| {
                    let order = match (a.get(field), b.get(field)) {
                        (Some(x), Some(y)) => compare(x, y).unwrap_or(Ordering::Equal),
                        _ => Ordering::Equal,
                    };
                    if *descending { order.reverse() } else { order }
                });
            }
            let total = shown.len() as u64;
            let ids: Vec<String> = shown
                .into_iter()
                .skip(offset as usize)
                .take(page_size)
                .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_string))
                .collect();
            let by_id: HashMap<&str, &User> = everyone.iter().map(|u| (u.id.as_str(), u)).collect();
            let users = ids
                .iter()
                .filter_map(|id| by_id.get(id.as_str()))
                .map(|u| AuthUser::from(*u))
                .collect();
            (users, total)
        }
    };
    Ok(json_response(&UserPage {
        users,
        total,
        limit,
        offset: query.offset,
    }))
}

/// `GET /admin/get-user?id=`: the user itself (not wrapped).
#[utoipa::path(
    get, path = "/admin/get-user", security(("signedIn" = [])),
    params(("id" = String, Query)),
    responses(
        (status = 200, description = "The user", body = AuthUser),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_GET_USER`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn get(
    State(state): State<AuthState>,
    caller: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    let Some(id) = query.get("id") else {
        return Err(AuthError::validation(
            "[query.id] Invalid input: expected string, received undefined".into(),
        ));
    };
    caller.holding(
        &state.app,
        Power::GetUser,
        "YOU_ARE_NOT_ALLOWED_TO_GET_USER",
    )?;
    let user = state
        .app
        .db
        .users()
        .get(id)
        .await?
        .ok_or_else(|| AuthError::code(StatusCode::NOT_FOUND, "USER_NOT_FOUND"))?;
    Ok(json_response(&AuthUser::from(&user)))
}

/// A role as the plugin takes it (a name, or a list of names), for Portal's one role per
/// user: 400 `INVALID_ROLE_TYPE` for what is not a name, 400
/// `YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE` for an unknown one.
fn role_of(value: &Value) -> AuthResult<Role> {
    let names: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut roles = Vec::new();
    for name in names {
        let Value::String(name) = name else {
            return Err(AuthError::code(
                StatusCode::BAD_REQUEST,
                "INVALID_ROLE_TYPE",
            ));
        };
        let role = Role::parse(name).ok_or_else(|| {
            AuthError::code(
                StatusCode::BAD_REQUEST,
                "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE",
            )
        })?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    match roles.as_slice() {
        [role] => Ok(*role),
        _ => Err(AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "INVALID_ROLE_TYPE",
            "A user holds exactly one role: user, staff or admin",
        )),
    }
}

/// `POST /admin/set-role {userId, role}`
#[utoipa::path(
    post, path = "/admin/set-role", security(("signedIn" = [])),
    request_body(content = Object, description = "`{userId, role}`: `role` is `user`, `staff` or `admin` (or a list of one)"),
    responses(
        (status = 200, description = "The user with the new role", body = UserBody),
        (status = 400, description = "`YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE`, `INVALID_ROLE_TYPE`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE`, `LAST_ADMIN`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn set_role(
    State(state): State<AuthState>,
    caller: SignedIn,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let user_id = user_id_field(&mut f, "userId");
    if !f.has("role") {
        f.string("role");
    }
    f.finish()?;
    let (Some(user_id), Some(role)) = (user_id, body.value.get("role")) else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    const NOT_ALLOWED: &str = "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE";
    let actor = caller.holding(&state.app, Power::SetRole, NOT_ALLOWED)?;
    let role = role_of(role)?;
    let change = UserChange {
        role: Some(role),
        ..UserChange::default()
    };
    let changed = apply(
        &state,
        actor,
        &caller,
        &client,
        &user_id,
        &change,
        now(),
        NOT_ALLOWED,
    )
    .await?;
    Ok(user_body(&changed))
}

/// Applies `change` to `user_id` for `actor` by moderation's rules, recorded as the
/// caller's; a refusal in the plugin's words (`not_allowed`: the endpoint's code).
#[allow(clippy::too_many_arguments)]
async fn apply(
    state: &AuthState,
    actor: Actor<'_>,
    caller: &SignedIn,
    client: &portal_domain::model::Client,
    user_id: &str,
    change: &UserChange,
    at: time::OffsetDateTime,
    not_allowed: &'static str,
) -> AuthResult<User> {
    let origin = origin(state, client, caller);
    let changed = change_user(
        &state.app.db,
        &state.app.integrations,
        actor,
        &origin,
        user_id,
        change,
        at,
    )
    .await?
    .map_err(|r| refusal(r, not_allowed))?;
    Ok(changed.user)
}

/// The fields of `data` a user may be created or updated with here.
const DATA_FIELDS: [&str; 9] = [
    "name",
    "email",
    "username",
    "displayUsername",
    "role",
    "banned",
    "banReason",
    "banExpires",
    "emailVerified",
];

/// 400 `FIELD_NOT_ALLOWED` for a field of `data` Portal's users do not have or that is
/// set elsewhere (`password`: `set-user-password`).
fn check_data_fields(data: &Map<String, Value>, allowed: &[&str]) -> AuthResult<()> {
    if data.contains_key("password") {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER",
        ));
    }
    match data.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(AuthError::with_message(
            StatusCode::BAD_REQUEST,
            "FIELD_NOT_ALLOWED",
            format!("{key} is not allowed to be set"),
        )),
        None => Ok(()),
    }
}

/// `POST /admin/create-user {email, password?, name, role?, data?}`: an account made for
/// someone; `data` may carry `username`, `displayUsername`, `emailVerified` and `role`.
#[utoipa::path(
    post, path = "/admin/create-user", security(("signedIn" = [])),
    request_body(content = Object, description = "`{email, password?, name, role?, data?: {username?, displayUsername?, emailVerified?, role?}}`"),
    responses(
        (status = 200, description = "The new user", body = UserBody),
        (status = 400, description = "`INVALID_EMAIL`, `USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL`, `PASSWORD_TOO_SHORT`, `PASSWORD_TOO_LONG`, `USERNAME_IS_ALREADY_TAKEN`, `FIELD_NOT_ALLOWED`, `VALIDATION_ERROR`", body = portal_web::openapi::AuthErrorBody),
        (status = 401, description = "`UNAUTHORIZED`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS`, `YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn create(
    State(state): State<AuthState>,
    caller: SignedIn,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let email = f.string("email");
    let password = f.optional_string("password");
    let name = f.string("name");
    let data = match f.raw("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            f.issue("data", "Invalid input: expected record");
            Map::new()
        }
    };
    let data_value = Value::Object(data.clone());
    let mut d = Fields::of("body", &data_value, true);
    let username = d.optional_string("username");
    let display = d.optional_string("displayUsername");
    let verified = d.optional_bool("emailVerified");
    f.finish()?;
    d.finish()?;
    let (Some(email), Some(name)) = (email, name) else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    let actor = caller.holding(
        &state.app,
        Power::CreateUser,
        "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS",
    )?;
    check_data_fields(
        &data,
        &["username", "displayUsername", "emailVerified", "role"],
    )?;
    let role = match body.value.get("role").or_else(|| data.get("role")) {
        Some(role) => {
            caller.holding(
                &state.app,
                Power::SetRole,
                "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
            )?;
            role_of(role)?
        }
        None => Role::User,
    };
    let email = email.trim().to_lowercase();
    if !is_email(&email) || email.len() > 254 {
        return Err(AuthError::code(StatusCode::BAD_REQUEST, "INVALID_EMAIL"));
    }
    let mut check = Fields::of("body", &body.value, false);
    crate::profile::check_profile(&mut check, Some(&name), None);
    check.finish()?;
    if let Some(problem) = password.as_deref().and_then(password_error) {
        return Err(problem);
    }
    let handle = crate::username::requested(username.as_deref(), display.as_deref())?;
    let origin = origin(&state, &client, &caller);
    let created = create_user(
        &state.app.db,
        actor,
        &origin,
        NewUser {
            email: &email,
            name: &name,
            username: handle.as_ref().map(|h| h.display.as_str()),
            password: password.as_deref(),
            role,
            email_verified: verified.unwrap_or(false),
        },
        now(),
    )
    .await?
    .map_err(|r| refusal(r, "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS"))?;
    Ok(user_body(&created))
}

/// `POST /admin/update-user {userId, data}`: the user itself (not wrapped). `data` may set
/// `name`, `username`/`displayUsername`, `role` (set-role's power), `banned`/`banReason`/
/// `banExpires` (ban's power) and `email` (set-email's power; the new address is
/// unverified).
#[utoipa::path(
    post, path = "/admin/update-user", security(("signedIn" = [])),
    request_body(content = Object, description = "`{userId, data: {name?, username?, displayUsername?, role?, banned?, banReason?, banExpires?, email?}}`"),
    responses(
        (status = 200, description = "The changed user", body = AuthUser),
        (status = 400, description = "`NO_DATA_TO_UPDATE`, `PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER`, `FIELD_NOT_ALLOWED`, `INVALID_EMAIL`, `USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL`, `YOU_CANNOT_BAN_YOURSELF`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS` (or the power the field needs)", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn update(
    State(state): State<AuthState>,
    caller: SignedIn,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let user_id = user_id_field(&mut f, "userId");
    let data = match f.raw("data") {
        Some(Value::Object(map)) => Some(map.clone()),
        _ => {
            f.issue("data", "Invalid input: expected record");
            None
        }
    };
    f.finish()?;
    let (Some(user_id), Some(data)) = (user_id, data) else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    const NOT_ALLOWED: &str = "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS";
    let actor = caller.holding(&state.app, Power::UpdateUser, NOT_ALLOWED)?;
    if data.is_empty() {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "NO_DATA_TO_UPDATE",
        ));
    }
    check_data_fields(&data, &DATA_FIELDS)?;
    let data = Value::Object(data);
    let mut d = Fields::of("body", &data, false);
    let name = d.optional_string("name");
    let email = d.optional_string("email");
    let username = d.optional_string("username");
    let display = d.optional_string("displayUsername");
    let banned = d.optional_bool("banned");
    let ban_reason = d.nullable_string("banReason");
    let ban_expires = d.nullable_string("banExpires");
    let verified = d.optional_bool("emailVerified");
    crate::profile::check_profile(&mut d, name.as_deref(), None);
    d.finish()?;
    let mut change = UserChange {
        name,
        ..UserChange::default()
    };
    if let Some(role) = data.get("role") {
        caller.holding(
            &state.app,
            Power::SetRole,
            "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
        )?;
        change.role = Some(role_of(role)?);
    }
    if banned.is_some() || ban_reason.is_some() || ban_expires.is_some() {
        caller.holding(
            &state.app,
            Power::BanUser,
            "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS",
        )?;
        if banned == Some(true) && user_id == caller.user_id() {
            return Err(AuthError::code(
                StatusCode::BAD_REQUEST,
                "YOU_CANNOT_BAN_YOURSELF",
            ));
        }
        change.banned = banned;
        change.ban_reason = ban_reason;
        change.ban_expires = match ban_expires {
            Some(Some(raw)) => Some(Some(parse_iso(&raw).ok_or_else(|| {
                AuthError::validation("[body.data.banExpires] Invalid date".into())
            })?)),
            Some(None) => Some(None),
            None => None,
        };
    }
    if email.is_some() || verified.is_some() {
        caller.holding(
            &state.app,
            Power::SetEmail,
            "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_EMAIL",
        )?;
        if verified.is_some() {
            return Err(AuthError::with_message(
                StatusCode::BAD_REQUEST,
                "FIELD_NOT_ALLOWED",
                "emailVerified is not allowed to be set",
            ));
        }
        let email = email.unwrap_or_default().trim().to_lowercase();
        if !is_email(&email) || email.len() > 254 {
            return Err(AuthError::code(StatusCode::BAD_REQUEST, "INVALID_EMAIL"));
        }
        change.email = Some(email);
    }
    if let Some(handle) = crate::username::requested(username.as_deref(), display.as_deref())? {
        change.username = Some(handle.display);
    }
    let changed = apply(
        &state,
        actor,
        &caller,
        &client,
        &user_id,
        &change,
        now(),
        NOT_ALLOWED,
    )
    .await?;
    Ok(json_response(&AuthUser::from(&changed)))
}

/// `POST /admin/ban-user {userId, banReason?, banExpiresIn?}`: the user's sessions end at
/// once and their service accounts are suspended. Without a reason, Portal's ("Violation
/// of terms of service"); without a length, Portal's week.
#[utoipa::path(
    post, path = "/admin/ban-user", security(("signedIn" = [])),
    request_body(content = Object, description = "`{userId, banReason?, banExpiresIn?}` (`banExpiresIn` in seconds)"),
    responses(
        (status = 200, description = "The banned user", body = UserBody),
        (status = 400, description = "`YOU_CANNOT_BAN_YOURSELF`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_BAN_USERS`, `LAST_ADMIN`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn ban(
    State(state): State<AuthState>,
    caller: SignedIn,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let user_id = user_id_field(&mut f, "userId");
    let reason = f.optional_string("banReason");
    let expires_in = f.optional_number("banExpiresIn").flatten();
    if reason.as_deref().is_some_and(|r| r.chars().count() > 500) {
        f.issue(
            "banReason",
            "Too big: expected string to have <=500 characters",
        );
    }
    if expires_in.is_some_and(|s| !(1.0..=3_153_600_000.0).contains(&s)) {
        f.issue(
            "banExpiresIn",
            "Too big or too small: expected 1 second to 100 years",
        );
    }
    f.finish()?;
    let Some(user_id) = user_id else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    const NOT_ALLOWED: &str = "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS";
    let actor = caller.holding(&state.app, Power::BanUser, NOT_ALLOWED)?;
    if user_id == caller.user_id() {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "YOU_CANNOT_BAN_YOURSELF",
        ));
    }
    let at = now();
    let seconds = expires_in.map_or(DEFAULT_BAN_SECONDS, |s| s as i64);
    let change = UserChange {
        banned: Some(true),
        ban_reason: Some(Some(
            reason
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| DEFAULT_BAN_REASON.into()),
        )),
        ban_expires: Some(Some(at + time::Duration::seconds(seconds))),
        ..UserChange::default()
    };
    let changed = apply(
        &state,
        actor,
        &caller,
        &client,
        &user_id,
        &change,
        at,
        NOT_ALLOWED,
    )
    .await?;
    Ok(user_body(&changed))
}

/// `POST /admin/unban-user {userId}`: the service accounts the ban suspended come back.
#[utoipa::path(
    post, path = "/admin/unban-user", security(("signedIn" = [])),
    request_body(content = Object, description = "`{userId}`"),
    responses(
        (status = 200, description = "The user, no longer banned", body = UserBody),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_BAN_USERS`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn unban(
    State(state): State<AuthState>,
    caller: SignedIn,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let user_id = user_id_of(body)?;
    const NOT_ALLOWED: &str = "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS";
    let actor = caller.holding(&state.app, Power::BanUser, NOT_ALLOWED)?;
    let change = UserChange {
        banned: Some(false),
        ..UserChange::default()
    };
    let changed = apply(
        &state,
        actor,
        &caller,
        &client,
        &user_id,
        &change,
        now(),
        NOT_ALLOWED,
    )
    .await?;
    Ok(user_body(&changed))
}

/// A body's one field, `userId`.
pub fn user_id_of(body: Body) -> AuthResult<String> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let user_id = user_id_field(&mut f, "userId");
    f.finish()?;
    user_id.ok_or_else(|| AuthError::validation("[body] Invalid input".into()))
}

/// `POST /admin/set-user-password {newPassword, userId}`: every session of the user ends.
#[utoipa::path(
    post, path = "/admin/set-user-password", security(("signedIn" = [])),
    request_body(content = Object, description = "`{newPassword, userId}`"),
    responses(
        (status = 200, description = "Set", body = PasswordSet),
        (status = 400, description = "`PASSWORD_TOO_SHORT`, `PASSWORD_TOO_LONG`, `VALIDATION_ERROR`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn set_user_password(
    State(state): State<AuthState>,
    caller: SignedIn,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let password = f.string("newPassword");
    let user_id = user_id_field(&mut f, "userId");
    if password.as_deref() == Some("") {
        f.issue("newPassword", "newPassword cannot be empty");
    }
    if user_id.as_deref() == Some("") {
        f.issue("userId", "userId cannot be empty");
    }
    f.finish()?;
    let (Some(password), Some(user_id)) = (password, user_id) else {
        return Err(AuthError::validation("[body] Invalid input".into()));
    };
    const NOT_ALLOWED: &str = "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD";
    let actor = caller.holding(&state.app, Power::SetPassword, NOT_ALLOWED)?;
    if let Some(problem) = password_error(&password) {
        return Err(problem);
    }
    let origin = origin(&state, &client, &caller);
    set_password(&state.app.db, actor, &origin, &user_id, &password, now())
        .await?
        .map_err(|r| refusal(r, NOT_ALLOWED))?;
    Ok(json_response(&PasswordSet { status: true }))
}

/// `POST /admin/remove-user {userId}`: the user and everything theirs; their service
/// accounts are removed on the services first (502 when one cannot, nothing deleted here).
#[utoipa::path(
    post, path = "/admin/remove-user", security(("signedIn" = [])),
    request_body(content = Object, description = "`{userId}`"),
    responses(
        (status = 200, description = "Removed", body = Success),
        (status = 400, description = "`YOU_CANNOT_REMOVE_YOURSELF`", body = portal_web::openapi::AuthErrorBody),
        (status = 403, description = "`YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS`, `LAST_ADMIN`", body = portal_web::openapi::AuthErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`", body = portal_web::openapi::AuthErrorBody),
        (status = 502, description = "A service could not remove the user's account", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn remove(
    State(state): State<AuthState>,
    caller: SignedIn,
    RequestClient(client): RequestClient,
    body: Body,
) -> AuthResult<Response> {
    let user_id = user_id_of(body)?;
    const NOT_ALLOWED_TO_DELETE: &str = "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS";
    let actor = caller.holding(&state.app, Power::DeleteUser, NOT_ALLOWED_TO_DELETE)?;
    if user_id == caller.user_id() {
        return Err(AuthError::code(
            StatusCode::BAD_REQUEST,
            "YOU_CANNOT_REMOVE_YOURSELF",
        ));
    }
    let origin = origin(&state, &client, &caller);
    delete_user(
        &state.app.db,
        &state.app.integrations,
        actor,
        &origin,
        &user_id,
    )
    .await?
    .map_err(|r| refusal(r, NOT_ALLOWED_TO_DELETE))?;
    Ok(json_response(&Success { success: true }))
}
