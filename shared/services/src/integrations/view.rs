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
    /// server, port}`).
    #[schema(value_type = Object)]
    pub data: Value,
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
            status: account.status.clone(),
            suspended_by_ban: account.suspended_by_ban,
            metadata: account.metadata.clone(),
            created_at: account.created_at.clone(),
            updated_at: account.updated_at.clone(),
        }
    }
}
