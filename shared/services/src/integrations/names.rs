//! Names on the services that nobody takes through Portal, and how long a freed name waits
//! for its former owner.
//!
//! Reserved: RFC 2142's role mailboxes, the addresses certificate authorities write to when
//! they validate a domain, names the services give power to (an XMPP `admin`, IRC services
//! such as `nickserv`), the local part of the address Portal mails from, and the operator's
//! own list (`PORTAL_RESERVED_NAMES`). One list guards mail local parts and aliases, XMPP
//! localparts, IRC nicks and wiki users, compared without case.

use portal_domain::config::Config;
use portal_domain::issue::Issue;

/// RFC 2142 (section 3-5), the CA/B Forum's domain-validation addresses, and what the
/// services or common software treat as privileged.
const BUILT_IN: &[&str] = &[
    // RFC 2142
    "info",
    "marketing",
    "sales",
    "support",
    "abuse",
    "noc",
    "security",
    "postmaster",
    "hostmaster",
    "usenet",
    "news",
    "webmaster",
    "www",
    "uucp",
    "ftp",
    // Domain validation (CA/B Forum Baseline Requirements 3.2.2.4.4)
    "admin",
    "administrator",
    // Privileged on the services, or impersonating the system
    "root",
    "operator",
    "oper",
    "sysop",
    "system",
    "mailer-daemon",
    "nobody",
    "no-reply",
    "noreply",
    "portal",
    "nickserv",
    "chanserv",
    "memoserv",
    "operserv",
    "botserv",
    "hostserv",
    "helpserv",
    "saslserv",
    "groupserv",
    "infoserv",
    "statserv",
    "global",
    "services",
];

pub const RESERVED: &str = "This name is reserved";

/// Whether `name` (a local part, localpart, nick or wiki user; compared lower-cased) is
/// reserved under `config`.
pub fn is_reserved(config: &Config, name: &str) -> bool {
    let name = name.trim().to_lowercase();
    BUILT_IN.contains(&name.as_str())
        || config
            .services
            .as_ref()
            .is_some_and(|s| s.reserved_names.contains(&name))
}

/// [`is_reserved`] as the issue a create body gets.
pub fn check(config: &Config, name: &str) -> Result<(), Issue> {
    if is_reserved(config, name) {
        Err(Issue::custom(RESERVED))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_and_the_operators_list_are_reserved_beside_the_built_in_names() {
        let mut config = Config::for_tests("t");
        config.services.as_mut().unwrap().reserved_names = vec!["board".into()];
        for name in [
            "Postmaster",
            "admin",
            "NickServ",
            "hostmaster",
            "board",
            " abuse ",
        ] {
            assert!(is_reserved(&config, name), "{name}");
        }
        for name in ["ada", "postmasters", "admin2"] {
            assert!(!is_reserved(&config, name), "{name}");
        }
    }

    #[test]
    fn the_configuration_reads_the_operators_list_and_the_sender() {
        let config = Config::from_lookup(|name| match name {
            "PORTAL_ENV" => Some("test".into()),
            "PORTAL_RESERVED_NAMES" => Some(" Board, ,team ".into()),
            "PORTAL_MAIL_FROM" => Some("Portal <hello@portal.example.org>".into()),
            "PORTAL_NAME_COOLING_DAYS" => Some("7".into()),
            _ => None,
        })
        .unwrap();
        let services = config.services.as_ref().unwrap();
        assert_eq!(services.reserved_names, ["board", "team", "hello"]);
        assert_eq!(services.name_cooling_days, 7);
        assert!(is_reserved(&config, "Hello"));
    }
}
