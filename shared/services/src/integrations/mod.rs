//! The integration registry: community services where a Portal user can hold an account
//! (XMPP on Prosody, IRC on Atheme, mail on Mailcow, the wiki on MediaWiki). Adding one
//! means a module implementing [`Integration`] (`service`) and one line in
//! [`Registry::from_config`] (`registry`). Each service applies its own naming rule and
//! shapes its own account `data`; the store keeps accounts unique per user and per
//! username, and never half-written (see `store::integration_accounts`).

pub mod irc;
pub mod lifecycle;
pub mod mailcow;
pub mod mediawiki;
pub mod names;
pub mod reconcile;
pub mod registry;
pub mod service;
pub mod view;
pub mod xmpp;

pub use registry::*;
pub use service::*;
