//! The community services Portal makes accounts on (XMPP, IRC, mail, wiki): their
//! clients, the accounts' lifecycle, and the one rule for what a role may do to a user.

pub mod integrations;
pub mod moderation;
pub mod outbound;
