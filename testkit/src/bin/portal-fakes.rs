//! `portal-fakes`: the test servers for Prosody, Atheme, Mailcow (its API and its OAuth
//! server) and MediaWiki, and a fake Discord, for running `portal-local` against real HTTP
//! services on one machine (the smoke run, the e2e, a front-end developer's afternoon):
//! "Sign in with Discord" and "Sign in with Mailcow" consent at once as a fixed person. Prints the environment `portal-local` needs, one `NAME=value`
//! per line, then `READY`, and serves until stopped.

use std::io::Write;

use portal_testkit::oauth_provider::{CLIENT_ID, CLIENT_SECRET};
use portal_testkit::{
    ATHEME_OPER, ATHEME_OPER_PASSWORD, FakeAtheme, FakeMailcow, FakeMediaWiki, FakeOAuthProvider,
    FakeProsody, MAILCOW_KEY, PROSODY_TOKEN, WIKI_BOT, WIKI_BOT_PASSWORD, Wire,
};

#[tokio::main]
async fn main() {
    let prosody = FakeProsody::start().await;
    let atheme = FakeAtheme::start().await;
    let mailcow = FakeMailcow::start().await;
    let wiki = FakeMediaWiki::start().await;
    let discord = FakeOAuthProvider::start(Wire::Discord).await;
    discord.sign_in_as(
        "100000000000000001",
        "discord-user@example.org",
        true,
        "Discord User",
    );
    mailcow.oauth().sign_in_as(
        "mailbox@mail.localhost",
        "mailbox@mail.localhost",
        true,
        "Mailbox User",
    );
    let env = [
        ("PROSODY_REST_URL", prosody.url()),
        ("PROSODY_REST_TOKEN", PROSODY_TOKEN.to_string()),
        ("XMPP_DOMAIN", "chat.localhost".to_string()),
        ("IRC_ATHEME_JSONRPC_URL", atheme.url()),
        ("IRC_ATHEME_OPER_ACCOUNT", ATHEME_OPER.to_string()),
        ("IRC_ATHEME_OPER_PASSWORD", ATHEME_OPER_PASSWORD.to_string()),
        ("IRC_SERVER", "irc.localhost".to_string()),
        ("MAILCOW_API_URL", mailcow.url()),
        ("MAILCOW_API_KEY", MAILCOW_KEY.to_string()),
        ("MAILCOW_DOMAIN", "mail.localhost".to_string()),
        ("MEDIAWIKI_API_URL", wiki.url()),
        ("MEDIAWIKI_BOT_USERNAME", WIKI_BOT.to_string()),
        ("MEDIAWIKI_BOT_PASSWORD", WIKI_BOT_PASSWORD.to_string()),
        ("DISCORD_CLIENT_ID", CLIENT_ID.to_string()),
        ("DISCORD_CLIENT_SECRET", CLIENT_SECRET.to_string()),
        ("PORTAL_DISCORD_BASE_URL", discord.url()),
        ("MAILCOW_OAUTH_CLIENT_ID", CLIENT_ID.to_string()),
        ("MAILCOW_OAUTH_CLIENT_SECRET", CLIENT_SECRET.to_string()),
    ];
    let mut out = std::io::stdout().lock();
    for (name, value) in env {
        let _ = writeln!(out, "{name}={value}");
    }
    let _ = writeln!(out, "READY");
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
}
