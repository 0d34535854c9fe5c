//! Every service Portal knows, registered once, and what is done to all of a user's
//! accounts at once.

use std::sync::Arc;

use portal_domain::config::Config;

use super::service::{Integration, ServiceError};
use super::{irc, mailcow, mediawiki, xmpp};

/// Every integration Portal knows, enabled or not.
#[derive(Clone)]
pub struct Registry {
    integrations: Arc<Vec<Arc<dyn Integration>>>,
    /// The two services with routes of their own (Mailcow's aliases, the wiki's e-mail).
    mailcow: Arc<mailcow::Mailcow>,
    mediawiki: Arc<mediawiki::MediaWiki>,
    /// Days a freed name stays with its former owner (`PORTAL_NAME_COOLING_DAYS`).
    cooling_days: i64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<_> = self.integrations.iter().map(|i| i.id()).collect();
        f.debug_struct("Registry")
            .field("integrations", &ids)
            .finish()
    }
}

impl Registry {
    /// The one place integrations are registered.
    pub fn from_config(config: &Config) -> Self {
        let services = config.services.as_ref();
        let mailcow = Arc::new(mailcow::Mailcow::from_config(services.map(|s| &s.mailcow)));
        let mediawiki = Arc::new(mediawiki::MediaWiki::from_config(
            services.map(|s| &s.mediawiki),
        ));
        Self {
            integrations: Arc::new(vec![
                Arc::new(xmpp::Xmpp::from_config(services.map(|s| &s.prosody))),
                Arc::new(irc::Irc::from_config(services.map(|s| &s.irc))),
                mailcow.clone(),
                mediawiki.clone(),
            ]),
            mailcow,
            mediawiki,
            cooling_days: services.map_or(0, |s| s.name_cooling_days),
        }
    }

    /// Until when (unix seconds) a name freed now stays with its former owner; `None`
    /// when names are handed on at once.
    pub fn cools_until(&self) -> Option<i64> {
        (self.cooling_days > 0)
            .then(|| portal_domain::time::now().unix_timestamp() + self.cooling_days * 86_400)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Integration>> {
        self.integrations.iter()
    }

    /// An enabled integration by id.
    pub fn enabled(&self, id: &str) -> Result<Arc<dyn Integration>, ServiceError> {
        let found = self
            .integrations
            .iter()
            .find(|i| i.id() == id)
            .ok_or(ServiceError::UnknownIntegration)?;
        if found.enabled() {
            Ok(found.clone())
        } else {
            Err(ServiceError::Disabled)
        }
    }

    /// Mailcow, enabled or not.
    pub fn mailcow(&self) -> &mailcow::Mailcow {
        &self.mailcow
    }

    /// The wiki, enabled or not.
    pub fn mediawiki(&self) -> &mediawiki::MediaWiki {
        &self.mediawiki
    }

    /// Any integration by id, enabled or not (deprovisioning on user deletion).
    pub fn get(&self, id: &str) -> Option<Arc<dyn Integration>> {
        self.integrations.iter().find(|i| i.id() == id).cloned()
    }
}

/// Removes every integration account of a user, upstream first: a failure upstream stops
/// here with a 502 and leaves the rest in place (nothing half-removed).
pub async fn remove_accounts_of_user(
    registry: &Registry,
    db: &portal_domain::store::Db,
    user_id: &str,
) -> Result<usize, ServiceError> {
    let accounts = db.integration_accounts().all_of_user(user_id).await?;
    for account in &accounts {
        if let Some(integration) = registry.get(&account.integration_id)
            && integration.enabled()
            && account.is_live()
        {
            integration.deprovision(account).await?;
        }
        // Recorded with the user's deletion, which follows.
        db.integration_accounts()
            .release(account, registry.cools_until(), None)
            .await?;
    }
    Ok(accounts.len())
}
