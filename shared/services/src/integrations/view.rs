//! A service account as the API shows it, to its owner and to moderators (never a
//! password, never Portal's bookkeeping of claims).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use portal_domain::store::integration_accounts::Account;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub user_id: String,
    pub integration_id: String,
    /// What the service knows the account by (xmpp: `{username, jid}`; irc: `{nick,
    /// server, port}`; mail: `{email, localPart, domain, quotaMb}`; wiki: `{username}`).
    #[schema(value_type = Object)]
    pub data: Value,
    /// The same, at the top level, under the names Portal's web app reads.
    #[serde(flatten)]
    pub fields: ServiceFields,
    /// `pending`, `active`, `suspended` or `deleted`.
    pub status: String,
    /// Suspended by its owner's ban: lifting the ban reactivates it.
    pub suspended_by_ban: bool,
    /// Moderators' notes (an object), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
    /// The password Portal generated for a new account, shown once, on the account itself
    /// (where Portal's web app opens its password dialog).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

/// A service's own fields, as Portal's web app and its admin tables read them at the top
/// level of an account. Only the account's own service's fields are present.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceFields {
    /// XMPP: the full address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    /// XMPP: the localpart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// IRC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// IRC: the server's host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// IRC: the server's TLS port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u64>,
    /// Mail: the mailbox's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_part: Option<String>,
    /// The wiki.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wiki_username: Option<String>,
    /// The wiki: its user id, when known (null until then).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub wiki_user_id: Option<Value>,
}

impl ServiceFields {
    /// The fields of `account`'s service, from what Portal keeps of it (`data`).
    pub fn of(account: &Account) -> Self {
        let data = &account.data;
        let text = |key: &str| data[key].as_str().map(str::to_string);
        match account.integration_id.as_str() {
            "xmpp" => Self {
                jid: text("jid"),
                username: text("username"),
                ..Self::default()
            },
            "irc" => Self {
                nick: text("nick"),
                server: text("server"),
                port: data["port"].as_u64(),
                ..Self::default()
            },
            "mailcow" => Self {
                email: text("email"),
                domain: text("domain"),
                local_part: text("localPart"),
                ..Self::default()
            },
            "mediawiki" => Self {
                wiki_username: text("username"),
                wiki_user_id: Some(data.get("userId").cloned().unwrap_or(Value::Null)),
                ..Self::default()
            },
            _ => Self::default(),
        }
    }
}

impl AccountView {
    /// The account as its owner sees it: the moderators' notes are theirs alone.
    pub fn for_owner(account: &Account) -> Self {
        Self {
            metadata: None,
            ..Self::from(account)
        }
    }
}

impl From<&Account> for AccountView {
    fn from(account: &Account) -> Self {
        Self {
            id: account.id.clone(),
            user_id: account.user_id.clone(),
            integration_id: account.integration_id.clone(),
            data: account.data.clone(),
            fields: ServiceFields::of(account),
            status: account.status.clone(),
            suspended_by_ban: account.suspended_by_ban,
            metadata: account.metadata.clone(),
            created_at: account.created_at.clone(),
            updated_at: account.updated_at.clone(),
            temporary_password: None,
        }
    }
}
