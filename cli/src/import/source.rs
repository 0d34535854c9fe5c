//! Reading a running Portal's PostgreSQL database: BetterAuth's tables as Portal 2.3
//! configures them (Drizzle, snake_case tables and columns) and Portal's integration
//! tables. Timestamps are read as UTC ISO-8601 text (BetterAuth writes `timestamp` columns
//! without a zone, in UTC), JSON as text.

use std::collections::HashMap;

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres::{Client, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

/// ISO-8601 with milliseconds, as our records keep times.
fn iso(column: &str) -> String {
    format!("to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS {column}")
}

pub struct Source {
    client: Client,
}

#[derive(Debug, Clone)]
pub struct SourceUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub username: Option<String>,
    pub display_username: Option<String>,
    pub two_factor_enabled: bool,
    pub role: Option<String>,
    pub banned: bool,
    pub ban_reason: Option<String>,
    pub ban_expires: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct SourceAccount {
    pub id: String,
    pub account_id: String,
    pub provider_id: String,
    pub user_id: String,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<String>,
    pub refresh_token_expires_at: Option<String>,
    pub scope: Option<String>,
    pub password: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct SourceSession {
    pub id: String,
    pub token: String,
    pub user_id: String,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub impersonated_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SourceApiKey {
    pub id: String,
    pub config_id: String,
    pub name: Option<String>,
    pub start: Option<String>,
    pub prefix: Option<String>,
    pub key: String,
    pub reference_id: String,
    pub enabled: bool,
    pub rate_limit_enabled: bool,
    pub rate_limit_time_window: Option<i32>,
    pub rate_limit_max: Option<i32>,
    pub request_count: Option<i32>,
    pub remaining: Option<i32>,
    pub last_request: Option<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub metadata: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SourceTwoFactor {
    pub id: String,
    pub user_id: String,
    pub secret: Option<String>,
    pub backup_codes: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SourcePasskey {
    pub id: String,
    pub name: Option<String>,
    pub public_key: String,
    pub user_id: String,
    pub credential_id: String,
    pub counter: i32,
    pub device_type: String,
    pub backed_up: bool,
    pub transports: Option<String>,
    pub created_at: Option<String>,
    pub aaguid: Option<String>,
}

/// A row of one of Portal's per-service tables (`xmpp_account`, `irc_account`,
/// `mailcow_account`, `mediawiki_account`), with the service's own columns as text.
#[derive(Debug, Clone)]
pub struct SourceService {
    pub integration: &'static str,
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub metadata: Option<String>,
    pub fields: HashMap<&'static str, Option<String>>,
}

#[derive(Debug, Clone)]
pub struct SourceConsent {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scopes: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SourceClient {
    pub id: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub disabled: bool,
    pub skip_consent: bool,
    pub enable_end_session: bool,
    pub scopes: Option<Vec<String>>,
    pub user_id: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub name: Option<String>,
    pub uri: Option<String>,
    pub icon: Option<String>,
    pub contacts: Option<Vec<String>>,
    pub tos: Option<Vec<String>>,
    pub policy: Option<Vec<String>>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    pub software_statement: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub public: bool,
    pub client_type: Option<String>,
    pub client_secret_expires_at: Option<i64>,
    pub metadata: Option<String>,
}

/// A live refresh token of the oauth-provider plugin (its hash, as the plugin stores it).
#[derive(Debug, Clone)]
pub struct SourceRefresh {
    pub id: String,
    pub token: String,
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub created_at: Option<String>,
    pub expires_at: String,
}

/// Every column the import reads with the types it reads it as (`text` also takes
/// `varchar`; the service tables' own columns and their `status`, `metadata` are read as
/// text whatever their type).
const TEXT: &str = "text|varchar";
const TIME: &str = "timestamp|timestamptz";
const COLUMNS: &[(&str, &str, &str)] = &[
    ("user", "id", TEXT),
    ("user", "name", TEXT),
    ("user", "email", TEXT),
    ("user", "email_verified", "bool"),
    ("user", "image", TEXT),
    ("user", "username", TEXT),
    ("user", "display_username", TEXT),
    ("user", "two_factor_enabled", "bool"),
    ("user", "role", TEXT),
    ("user", "banned", "bool"),
    ("user", "ban_reason", TEXT),
    ("user", "ban_expires", TIME),
    ("user", "created_at", TIME),
    ("user", "updated_at", TIME),
    ("account", "id", TEXT),
    ("account", "account_id", TEXT),
    ("account", "provider_id", TEXT),
    ("account", "user_id", TEXT),
    ("account", "access_token", TEXT),
    ("account", "refresh_token", TEXT),
    ("account", "id_token", TEXT),
    ("account", "access_token_expires_at", TIME),
    ("account", "refresh_token_expires_at", TIME),
    ("account", "scope", TEXT),
    ("account", "password", TEXT),
    ("session", "id", TEXT),
    ("session", "token", TEXT),
    ("session", "user_id", TEXT),
    ("session", "expires_at", TIME),
    ("session", "ip_address", TEXT),
    ("session", "user_agent", TEXT),
    ("session", "impersonated_by", TEXT),
    ("apikey", "id", TEXT),
    ("apikey", "config_id", TEXT),
    ("apikey", "key", TEXT),
    ("apikey", "reference_id", TEXT),
    ("apikey", "enabled", "bool"),
    ("apikey", "rate_limit_enabled", "bool"),
    ("apikey", "rate_limit_time_window", "int4"),
    ("apikey", "rate_limit_max", "int4"),
    ("apikey", "request_count", "int4"),
    ("apikey", "remaining", "int4"),
    ("apikey", "metadata", TEXT),
    ("two_factor", "id", TEXT),
    ("two_factor", "user_id", TEXT),
    ("two_factor", "secret", TEXT),
    ("two_factor", "backup_codes", TEXT),
    ("passkey", "id", TEXT),
    ("passkey", "public_key", TEXT),
    ("passkey", "user_id", TEXT),
    ("passkey", "credential_id", TEXT),
    ("passkey", "counter", "int4"),
    ("passkey", "backed_up", "bool"),
    ("oauth_client", "id", TEXT),
    ("oauth_client", "client_id", TEXT),
    ("oauth_client", "client_secret", TEXT),
    ("oauth_client", "disabled", "bool"),
    ("oauth_client", "skip_consent", "bool"),
    ("oauth_client", "enable_end_session", "bool"),
    ("oauth_client", "public", "bool"),
    ("oauth_client", "scopes", "_text"),
    ("oauth_client", "contacts", "_text"),
    ("oauth_client", "tos", "_text"),
    ("oauth_client", "policy", "_text"),
    ("oauth_client", "redirect_uris", "_text"),
    ("oauth_client", "post_logout_redirect_uris", "_text"),
    ("oauth_client", "grant_types", "_text"),
    ("oauth_client", "user_id", TEXT),
    ("oauth_consent", "id", TEXT),
    ("oauth_consent", "client_id", TEXT),
    ("oauth_consent", "user_id", TEXT),
    ("oauth_consent", "scopes", TEXT),
    ("oauth_refresh_token", "id", TEXT),
    ("oauth_refresh_token", "token", TEXT),
    ("oauth_refresh_token", "client_id", TEXT),
    ("oauth_refresh_token", "user_id", TEXT),
    ("oauth_refresh_token", "scopes", "_text"),
    ("xmpp_account", "id", TEXT),
    ("xmpp_account", "user_id", TEXT),
    ("irc_account", "id", TEXT),
    ("irc_account", "user_id", TEXT),
    ("mailcow_account", "id", TEXT),
    ("mailcow_account", "user_id", TEXT),
    ("mediawiki_account", "id", TEXT),
    ("mediawiki_account", "user_id", TEXT),
];

/// Each service table: our integration id, the table, its own columns.
pub type ServiceTable = (&'static str, &'static str, &'static [&'static str]);

pub const SERVICE_TABLES: [ServiceTable; 4] = [
    ("xmpp", "xmpp_account", &["jid", "username"]),
    ("irc", "irc_account", &["nick", "server", "port"]),
    (
        "mailcow",
        "mailcow_account",
        &["email", "domain", "local_part"],
    ),
    (
        "mediawiki",
        "mediawiki_account",
        &["wiki_username", "wiki_user_id"],
    ),
];

/// Everything of one page of users.
#[derive(Debug, Default)]
pub struct Belongings {
    pub accounts: Vec<SourceAccount>,
    pub sessions: Vec<SourceSession>,
    pub api_keys: Vec<SourceApiKey>,
    pub two_factors: Vec<SourceTwoFactor>,
    pub passkeys: Vec<SourcePasskey>,
    pub services: Vec<SourceService>,
    pub consents: Vec<SourceConsent>,
    pub refresh_tokens: Vec<SourceRefresh>,
}

fn opt_text(row: &Row, i: &str) -> Option<String> {
    row.get::<_, Option<String>>(i)
}

fn text(row: &Row, i: &str) -> String {
    opt_text(row, i).unwrap_or_default()
}

impl Source {
    /// Connects (the connection's task runs in the background until the source is
    /// dropped). TLS whenever the server offers it (`sslmode=prefer`, the default) or as
    /// the URL demands (`sslmode=require`), the server's certificate always verified: the
    /// public roots, plus the CA bundle in `ca_file` (RDS's, a private CA).
    pub async fn connect(url: &str, ca_file: Option<&std::path::Path>) -> Result<Self, String> {
        let tls = tls(ca_file)?;
        let (client, connection) = tokio_postgres::connect(url, tls).await.map_err(|e| {
            let mut why = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(inner) = cause {
                why.push_str(&format!(": {inner}"));
                cause = inner.source();
            }
            let hint = if why.contains("UnknownIssuer") {
                " (its certificate's CA is not trusted: --ca-file)"
            } else {
                ""
            };
            format!("cannot connect to the source database: {why}{hint}")
        })?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                eprintln!("portal-admin: source connection: {err}");
            }
        });
        // One snapshot for the whole read: rows written meanwhile are not half-seen.
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| format!("cannot open a read-only snapshot: {e}"))?;
        Ok(Self { client })
    }

    async fn rows(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>, String> {
        self.client
            .query(sql, params)
            .await
            .map_err(|e| format!("source query failed: {e} ({})", first_line(sql)))
    }

    /// Whether `table` exists (Portal's integration tables came with later versions).
    pub async fn has_table(&self, table: &str) -> Result<bool, String> {
        let rows = self
            .rows(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1",
                &[&table],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Whether the source's tables have every column the import reads, each of a type it
    /// reads (so no row can surprise the reader): the problems, if any, one per column.
    pub async fn schema_problems(&self, tables: &[&str]) -> Result<Vec<String>, String> {
        let rows = self
            .rows(
                "SELECT table_name::text, column_name::text, udt_name::text \
                 FROM information_schema.columns WHERE table_schema = current_schema()",
                &[],
            )
            .await?;
        let found: HashMap<(String, String), String> = rows
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect();
        let mut problems = Vec::new();
        for &(table, column, kind) in COLUMNS.iter().filter(|(t, _, _)| tables.contains(t)) {
            match found.get(&(table.to_string(), column.to_string())) {
                None => problems.push(format!("{table}.{column} is missing")),
                Some(udt) if !kind.split('|').any(|k| k == udt) => problems.push(format!(
                    "{table}.{column} is {udt}, the import reads {kind}"
                )),
                Some(_) => {}
            }
        }
        Ok(problems)
    }

    /// How many users the source has.
    pub async fn user_count(&self) -> Result<i64, String> {
        let rows = self.rows("SELECT count(*) FROM \"user\"", &[]).await?;
        Ok(rows[0].get(0))
    }

    /// Users after `after` in id order (bytewise, `COLLATE "C"`: the order Rust compares
    /// ids in, whatever the database's locale), at most `limit`.
    pub async fn users_after(&self, after: &str, limit: i64) -> Result<Vec<SourceUser>, String> {
        let sql = format!(
            "SELECT id, name, email, coalesce(email_verified, false) AS email_verified, image, \
             username, display_username, \
             coalesce(two_factor_enabled, false) AS two_factor_enabled, role, \
             coalesce(banned, false) AS banned, ban_reason, {}, {}, {} \
             FROM \"user\" WHERE id COLLATE \"C\" > $1 ORDER BY id COLLATE \"C\" LIMIT $2",
            iso("ban_expires"),
            iso("created_at"),
            iso("updated_at")
        );
        let rows = self.rows(&sql, &[&after, &limit]).await?;
        Ok(rows
            .iter()
            .map(|r| SourceUser {
                id: text(r, "id"),
                name: text(r, "name"),
                email: text(r, "email"),
                email_verified: r.get("email_verified"),
                image: opt_text(r, "image"),
                username: opt_text(r, "username"),
                display_username: opt_text(r, "display_username"),
                two_factor_enabled: r.get("two_factor_enabled"),
                role: opt_text(r, "role"),
                banned: r.get("banned"),
                ban_reason: opt_text(r, "ban_reason"),
                ban_expires: opt_text(r, "ban_expires"),
                created_at: text(r, "created_at"),
                updated_at: text(r, "updated_at"),
            })
            .collect())
    }

    /// Everything that belongs to `user_ids` (one query per table, pipelined on the one
    /// connection).
    pub async fn belongings(
        &self,
        user_ids: &[String],
        services: &[ServiceTable],
        consents: bool,
        passkeys: bool,
    ) -> Result<Belongings, String> {
        let ids: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&user_ids];
        let accounts_sql = format!(
            "SELECT id, account_id, provider_id, user_id, access_token, refresh_token, id_token, \
             {}, {}, scope, password, {}, {} FROM account WHERE user_id = ANY($1) ORDER BY id",
            iso("access_token_expires_at"),
            iso("refresh_token_expires_at"),
            iso("created_at"),
            iso("updated_at")
        );
        let sessions_sql = format!(
            "SELECT id, token, user_id, {}, {}, {}, ip_address, user_agent, impersonated_by \
             FROM session WHERE user_id = ANY($1) AND expires_at > (now() AT TIME ZONE 'UTC') \
             ORDER BY user_id, created_at DESC, id",
            iso("expires_at"),
            iso("created_at"),
            iso("updated_at")
        );
        let keys_sql = format!(
            "SELECT id, coalesce(config_id, 'default') AS config_id, name, start, prefix, key, \
             reference_id, coalesce(enabled, true) AS enabled, \
             coalesce(rate_limit_enabled, true) AS rate_limit_enabled, rate_limit_time_window, \
             rate_limit_max, request_count, remaining, {}, {}, {}, {}, metadata \
             FROM apikey WHERE reference_id = ANY($1) ORDER BY id",
            iso("last_request"),
            iso("expires_at"),
            iso("created_at"),
            iso("updated_at")
        );
        let factors_sql = "SELECT id, user_id, secret, backup_codes FROM two_factor WHERE user_id = ANY($1) ORDER BY id";
        let passkeys_sql = format!(
            "SELECT id, name, public_key, user_id, credential_id, coalesce(counter, 0) AS counter, \
             device_type, coalesce(backed_up, false) AS backed_up, \
             transports, {}, aaguid FROM passkey WHERE user_id = ANY($1) ORDER BY id",
            iso("created_at")
        );
        let consents_sql = format!(
            "SELECT id, client_id, user_id, scopes, {}, {} FROM oauth_consent \
             WHERE user_id = ANY($1) ORDER BY id",
            iso("created_at"),
            iso("updated_at")
        );
        let (accounts, sessions, keys, factors) = futures::try_join!(
            self.rows(&accounts_sql, ids),
            self.rows(&sessions_sql, ids),
            self.rows(&keys_sql, ids),
            self.rows(factors_sql, ids),
        )?;
        let passkey_rows = if passkeys {
            self.rows(&passkeys_sql, ids).await?
        } else {
            Vec::new()
        };
        let refresh_sql = format!(
            "SELECT id, token, client_id, user_id, scopes, {}, {} FROM oauth_refresh_token \
             WHERE user_id = ANY($1) AND revoked IS NULL AND expires_at > (now() AT TIME ZONE 'UTC') \
             ORDER BY id",
            iso("created_at"),
            iso("expires_at")
        );
        let (consent_rows, refresh_rows) = if consents {
            futures::try_join!(self.rows(&consents_sql, ids), self.rows(&refresh_sql, ids))?
        } else {
            (Vec::new(), Vec::new())
        };
        let mut found = Belongings {
            accounts: accounts
                .iter()
                .map(|r| SourceAccount {
                    id: text(r, "id"),
                    account_id: text(r, "account_id"),
                    provider_id: text(r, "provider_id"),
                    user_id: text(r, "user_id"),
                    access_token: opt_text(r, "access_token"),
                    refresh_token: opt_text(r, "refresh_token"),
                    id_token: opt_text(r, "id_token"),
                    access_token_expires_at: opt_text(r, "access_token_expires_at"),
                    refresh_token_expires_at: opt_text(r, "refresh_token_expires_at"),
                    scope: opt_text(r, "scope"),
                    password: opt_text(r, "password"),
                    created_at: text(r, "created_at"),
                    updated_at: text(r, "updated_at"),
                })
                .collect(),
            sessions: sessions
                .iter()
                .map(|r| SourceSession {
                    id: text(r, "id"),
                    token: text(r, "token"),
                    user_id: text(r, "user_id"),
                    expires_at: text(r, "expires_at"),
                    created_at: text(r, "created_at"),
                    updated_at: text(r, "updated_at"),
                    ip_address: opt_text(r, "ip_address"),
                    user_agent: opt_text(r, "user_agent"),
                    impersonated_by: opt_text(r, "impersonated_by"),
                })
                .collect(),
            api_keys: keys
                .iter()
                .map(|r| SourceApiKey {
                    id: text(r, "id"),
                    config_id: text(r, "config_id"),
                    name: opt_text(r, "name"),
                    start: opt_text(r, "start"),
                    prefix: opt_text(r, "prefix"),
                    key: text(r, "key"),
                    reference_id: text(r, "reference_id"),
                    enabled: r.get("enabled"),
                    rate_limit_enabled: r.get("rate_limit_enabled"),
                    rate_limit_time_window: r.get("rate_limit_time_window"),
                    rate_limit_max: r.get("rate_limit_max"),
                    request_count: r.get("request_count"),
                    remaining: r.get("remaining"),
                    last_request: opt_text(r, "last_request"),
                    expires_at: opt_text(r, "expires_at"),
                    created_at: text(r, "created_at"),
                    updated_at: text(r, "updated_at"),
                    metadata: opt_text(r, "metadata"),
                })
                .collect(),
            two_factors: factors
                .iter()
                .map(|r| SourceTwoFactor {
                    id: text(r, "id"),
                    user_id: text(r, "user_id"),
                    secret: opt_text(r, "secret"),
                    backup_codes: opt_text(r, "backup_codes"),
                })
                .collect(),
            passkeys: passkey_rows
                .iter()
                .map(|r| SourcePasskey {
                    id: text(r, "id"),
                    name: opt_text(r, "name"),
                    public_key: text(r, "public_key"),
                    user_id: text(r, "user_id"),
                    credential_id: text(r, "credential_id"),
                    counter: r.get("counter"),
                    device_type: text(r, "device_type"),
                    backed_up: r.get("backed_up"),
                    transports: opt_text(r, "transports"),
                    created_at: opt_text(r, "created_at"),
                    aaguid: opt_text(r, "aaguid"),
                })
                .collect(),
            consents: consent_rows
                .iter()
                .map(|r| SourceConsent {
                    id: text(r, "id"),
                    client_id: text(r, "client_id"),
                    user_id: text(r, "user_id"),
                    scopes: text(r, "scopes"),
                    created_at: opt_text(r, "created_at"),
                    updated_at: opt_text(r, "updated_at"),
                })
                .collect(),
            refresh_tokens: refresh_rows
                .iter()
                .map(|r| SourceRefresh {
                    id: text(r, "id"),
                    token: text(r, "token"),
                    client_id: text(r, "client_id"),
                    user_id: text(r, "user_id"),
                    scopes: r
                        .get::<_, Option<Vec<String>>>("scopes")
                        .unwrap_or_default(),
                    created_at: opt_text(r, "created_at"),
                    expires_at: text(r, "expires_at"),
                })
                .collect(),
            services: Vec::new(),
        };
        for &(integration, table, columns) in services {
            let own: Vec<String> = columns
                .iter()
                .map(|c| format!("{c}::text AS {c}"))
                .collect();
            let sql = format!(
                "SELECT id, user_id, status::text AS status, {}, {}, metadata::text AS metadata, {} \
                 FROM {table} WHERE user_id = ANY($1) ORDER BY id",
                iso("created_at"),
                iso("updated_at"),
                own.join(", ")
            );
            for r in self.rows(&sql, ids).await? {
                found.services.push(SourceService {
                    integration,
                    id: text(&r, "id"),
                    user_id: text(&r, "user_id"),
                    status: text(&r, "status"),
                    created_at: text(&r, "created_at"),
                    updated_at: text(&r, "updated_at"),
                    metadata: opt_text(&r, "metadata"),
                    fields: columns.iter().map(|&c| (c, opt_text(&r, c))).collect(),
                });
            }
        }
        Ok(found)
    }

    /// Every OAuth client (the oauth-provider plugin's `oauth_client`).
    pub async fn clients(&self) -> Result<Vec<SourceClient>, String> {
        let sql = format!(
            "SELECT id, client_id, client_secret, coalesce(disabled, false) AS disabled, \
             coalesce(skip_consent, false) AS skip_consent, \
             coalesce(enable_end_session, false) AS enable_end_session, scopes, user_id, {}, {}, \
             name, uri, icon, contacts, tos, policy, software_id, software_version, \
             software_statement, redirect_uris, post_logout_redirect_uris, \
             token_endpoint_auth_method, grant_types, coalesce(public, false) AS public, type, \
             extract(epoch FROM client_secret_expires_at)::bigint AS client_secret_expires_at, \
             metadata::text AS metadata FROM oauth_client ORDER BY id",
            iso("created_at"),
            iso("updated_at")
        );
        Ok(self
            .rows(&sql, &[])
            .await?
            .iter()
            .map(|r| SourceClient {
                id: text(r, "id"),
                client_id: text(r, "client_id"),
                client_secret: opt_text(r, "client_secret"),
                disabled: r.get("disabled"),
                skip_consent: r.get("skip_consent"),
                enable_end_session: r.get("enable_end_session"),
                scopes: r.get("scopes"),
                user_id: opt_text(r, "user_id"),
                created_at: opt_text(r, "created_at"),
                updated_at: opt_text(r, "updated_at"),
                name: opt_text(r, "name"),
                uri: opt_text(r, "uri"),
                icon: opt_text(r, "icon"),
                contacts: r.get("contacts"),
                tos: r.get("tos"),
                policy: r.get("policy"),
                software_id: opt_text(r, "software_id"),
                software_version: opt_text(r, "software_version"),
                software_statement: opt_text(r, "software_statement"),
                redirect_uris: r
                    .get::<_, Option<Vec<String>>>("redirect_uris")
                    .unwrap_or_default(),
                post_logout_redirect_uris: r.get("post_logout_redirect_uris"),
                token_endpoint_auth_method: opt_text(r, "token_endpoint_auth_method"),
                grant_types: r.get("grant_types"),
                public: r.get("public"),
                client_type: opt_text(r, "type"),
                client_secret_expires_at: r.get("client_secret_expires_at"),
                metadata: opt_text(r, "metadata"),
            })
            .collect())
    }

    /// Ids of rows of `sql` (a `SELECT id ...`): what the checks before the import report.
    pub async fn ids(&self, sql: &str) -> Result<Vec<String>, String> {
        Ok(self
            .rows(sql, &[])
            .await?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect())
    }

    /// One number (a `SELECT count(*) ...`).
    pub async fn count(&self, sql: &str) -> Result<i64, String> {
        Ok(self.rows(sql, &[]).await?[0].get(0))
    }
}

/// The TLS of the source connection: rustls, the public roots and the certificates of
/// `ca_file` (PEM) as trust anchors.
fn tls(ca_file: Option<&std::path::Path>) -> Result<MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read --ca-file {}: {e}", path.display()))?;
        let mut added = 0;
        for certificate in certificates {
            let certificate = certificate
                .map_err(|e| format!("--ca-file {}: not PEM certificates ({e})", path.display()))?;
            roots
                .add(certificate)
                .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "--ca-file {}: no certificate in it",
                path.display()
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn first_line(sql: &str) -> &str {
    sql.split_whitespace().take(6).last().unwrap_or(sql)
}
