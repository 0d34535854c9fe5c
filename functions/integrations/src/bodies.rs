//! The request bodies of the integration routes, read into what the services take: the
//! JSON's shape and Portal's password rule here, each service's own rules for names and
//! passwords in the service.

use portal_domain::crypto::{PasswordLength, check_password_length};
use portal_domain::model::User;
use portal_services::integrations::{AccountChange, Integration, NameRefused, NewAccount};
use portal_web::ApiError;
use portal_web::validation::{Issue, validation_error};
pub use portal_web::validation::{object, optional_string};
use serde_json::{Map, Value};

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

/// A create body: `{<the service's name field>?, password?}`, made into the account
/// `owner` asks for.
pub fn new_account(
    integration: &dyn Integration,
    owner: &User,
    body: &Value,
) -> Result<NewAccount, ApiError> {
    let catalogue = integration.catalogue();
    let map = object(body)?;
    let mut issues = Vec::new();
    let name = optional_string(map, catalogue.name_field, &mut issues);
    if catalogue.name_required && name.is_none() && issues.is_empty() {
        issues.push(Issue::invalid_type("string", "undefined").at(catalogue.name_field));
    }
    let password = optional_password(integration, map, &mut issues);
    if !issues.is_empty() {
        return Err(validation_error(issues));
    }
    integration
        .new_account(owner, name, password)
        .map_err(|refused| match refused {
            NameRefused::Missing(message) => ApiError::bad_request(message),
            NameRefused::Invalid(issue) => validation_error(vec![issue.at(catalogue.name_field)]),
            NameRefused::Upstream(err) => err.into(),
        })
}

/// An update body: `{password?, status?: active|suspended}`, as `integration` takes it.
pub fn account_change(
    integration: &dyn Integration,
    body: &Value,
) -> Result<AccountChange, ApiError> {
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
    Ok(AccountChange {
        password,
        status,
        metadata: None,
    })
}
