//! The request bodies of the integration routes, read into what the services take: the
//! JSON's shape and Portal's password rule here, each service's own rules for names and
//! passwords in the service.

use portal_domain::crypto::{PasswordLength, check_password_length};
use portal_domain::model::User;
use portal_services::integrations::{AccountChange, Integration, NameRefused, NewAccount, Resets};
use portal_web::ApiError;
use portal_web::validation::{Issue, validation_error};
pub use portal_web::validation::{object, optional_string};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// An optional `password` field: 8 to 128 UTF-16 code units, and what `integration`
/// itself refuses.
pub fn optional_password(
    integration: &dyn Integration,
    map: &Map<String, Value>,
    issues: &mut Vec<Issue>,
) -> Option<String> {
    let password = optional_string(map, "password", issues)?;
    let issue = match check_password_length(&password) {
        PasswordLength::Ok => integration.password_issue(&password),
        PasswordLength::TooShort => Some(Issue::too_small("string", 8, false)),
        PasswordLength::TooLong => Some(Issue::too_big("string", 128, false)),
    };
    match issue {
        None => Some(password),
        Some(issue) => {
            issues.push(issue.at("password"));
            None
        }
    }
}

/// A new account: the service's own name field (`username` on XMPP and the wiki, `nick` on
/// IRC, `localPart` on mail; Portal's forms' `wikiUsername` and `local_part` too; without
/// one, the owner's username), and a password (without one, Portal generates one and
/// returns it once). `password2`, when sent (Portal's mailbox form), must repeat it.
#[derive(Default, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewAccountBody {
    /// XMPP: a localpart (letters, digits, `_ - .`) or `localpart@<the XMPP domain>`; the
    /// wiki: its username.
    #[schema(min_length = 1, max_length = 1023)]
    pub username: Option<String>,
    pub nick: Option<String>,
    pub local_part: Option<String>,
    /// Mail, as Portal's mailbox form names it (read when `localPart` is absent).
    #[serde(rename = "local_part")]
    pub local_part_snake: Option<String>,
    /// The wiki, as Portal's form names it (read when `username` is absent).
    pub wiki_username: Option<String>,
    /// 8 to 128 UTF-16 code units, as JavaScript counts (so 4 to 128 characters).
    #[schema(min_length = 4, max_length = 128)]
    pub password: Option<String>,
    /// The password again, when the form asks for it twice: must be equal.
    pub password2: Option<String>,
}

/// A change: a new password, or (staff and admins) `status`.
#[derive(ToSchema)]
pub struct AccountUpdate {
    /// 8 to 128 UTF-16 code units, as JavaScript counts (so 4 to 128 characters).
    #[schema(min_length = 4, max_length = 128)]
    pub password: Option<String>,
    #[schema(pattern = "^(active|suspended)$")]
    pub status: Option<String>,
}

/// `{password?}`: the new password; services that pick one themselves (IRC) take none.
#[derive(ToSchema)]
pub struct PasswordReset {
    /// 8 to 128 UTF-16 code units, as JavaScript counts (so 4 to 128 characters).
    #[schema(min_length = 4, max_length = 128)]
    pub password: Option<String>,
}

impl NewAccountBody {
    /// The slot of name field `field`.
    fn name_mut(&mut self, field: &str) -> &mut Option<String> {
        match field {
            "nick" => &mut self.nick,
            "localPart" => &mut self.local_part,
            "local_part" => &mut self.local_part_snake,
            "wikiUsername" => &mut self.wiki_username,
            _ => &mut self.username,
        }
    }
}

/// A create body, read as `integration` names its accounts; the field that named it.
pub fn new_account_body(
    integration: &dyn Integration,
    body: &Value,
) -> Result<(NewAccountBody, &'static str), ApiError> {
    let catalogue = integration.catalogue();
    let map = object(body)?;
    let mut issues = Vec::new();
    let name_field = std::iter::once(catalogue.name_field)
        .chain(catalogue.name_aliases.iter().copied())
        .find(|field| map.contains_key(*field))
        .unwrap_or(catalogue.name_field);
    let name = optional_string(map, name_field, &mut issues);
    if catalogue.name_required && name.is_none() && issues.is_empty() {
        issues.push(Issue::invalid_type("string", "undefined").at(name_field));
    }
    let mut parsed = NewAccountBody {
        password: optional_password(integration, map, &mut issues),
        password2: optional_string(map, "password2", &mut issues),
        ..NewAccountBody::default()
    };
    *parsed.name_mut(name_field) = name;
    if issues.is_empty() && parsed.password2.is_some() && parsed.password2 != parsed.password {
        issues.push(Issue::custom("Passwords do not match").at("password2"));
    }
    if !issues.is_empty() {
        return Err(validation_error(issues));
    }
    Ok((parsed, name_field))
}

/// A create body, made into the account `owner` asks for; the body field that named it.
pub fn new_account(
    integration: &dyn Integration,
    owner: &User,
    body: &Value,
) -> Result<(NewAccount, &'static str), ApiError> {
    let (mut parsed, field) = new_account_body(integration, body)?;
    let name = parsed.name_mut(field).take();
    let account = integration
        .new_account(owner, name, parsed.password)
        .map_err(|refused| match refused {
            NameRefused::Missing(message) => ApiError::bad_request(message),
            NameRefused::Invalid(issue) => validation_error(vec![issue.at(field)]),
            NameRefused::Upstream(err) => err.into(),
        })?;
    Ok((account, field))
}

/// An update body: `{password?, status?: active|suspended}`, as `integration` takes it.
pub fn account_change(
    integration: &dyn Integration,
    body: &Value,
) -> Result<AccountChange, ApiError> {
    let update = account_update(integration, body)?;
    Ok(AccountChange {
        password: update.password,
        status: update.status,
        metadata: None,
    })
}

fn account_update(integration: &dyn Integration, body: &Value) -> Result<AccountUpdate, ApiError> {
    let map = object(body)?;
    let mut issues = Vec::new();
    let password = optional_password(integration, map, &mut issues);
    let status = optional_string(map, "status", &mut issues);
    if let Some(s) = &status
        && s != "active"
        && s != "suspended"
    {
        issues.push(Issue::invalid_enum(&["active", "suspended"], s).at("status"));
    }
    if !issues.is_empty() {
        return Err(validation_error(issues));
    }
    if password.is_some() && !integration.catalogue().changes_passwords {
        return Err(ApiError::bad_request(
            portal_services::integrations::RESET_NOT_SUPPORTED,
        ));
    }
    Ok(AccountUpdate { password, status })
}

/// A reset body (none at all is `{}`): the password to set, required where the service
/// cannot pick one.
pub fn password_reset(
    integration: &dyn Integration,
    body: Option<&Value>,
) -> Result<PasswordReset, ApiError> {
    let empty = Value::Object(Map::new());
    let map = object(body.unwrap_or(&empty))?;
    let mut issues = Vec::new();
    let password = optional_password(integration, map, &mut issues);
    if password.is_none()
        && issues.is_empty()
        && integration.resets_passwords() == Resets::GivenPassword
    {
        issues.push(Issue::invalid_type("string", "undefined").at("password"));
    }
    if !issues.is_empty() {
        return Err(validation_error(issues));
    }
    Ok(PasswordReset { password })
}
