//! `portal-admin`: operator commands on the same store the functions use, against the
//! configured table (real DynamoDB, or any endpoint such as `portal-local`'s engine).

pub mod import;

use clap::{Parser, Subcommand};
use portal_domain::Config;
use portal_domain::model::Role;
use portal_domain::store::Db;
use portal_domain::store::audit::Provenance;
use portal_domain::time::{now, parse_iso};
use portal_services::integrations::Registry;
use portal_services::integrations::reconcile::reconcile;
use portal_services::moderation::{Actor, Changed, UserChange, change_user, ensure_admin};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(name = "portal-admin", about = "Portal operator commands")]
pub struct Cli {
    /// The single table.
    #[arg(long, env = "TABLE_NAME", default_value = "portal", global = true)]
    pub table: String,
    /// A DynamoDB-compatible endpoint (e.g. portal-local's engine); else AWS as configured.
    #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB", global = true)]
    pub dynamodb_endpoint: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an admin, or make an existing account admin with a new password. The
    /// password comes from PORTAL_ADMIN_PASSWORD or the first line of stdin, never argv.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Set the role (user, staff, admin) of an account.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
    },
    /// Ban an account (ending all its sessions), optionally until a time (RFC 3339).
    Ban {
        #[arg(long)]
        email: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        until: Option<String>,
    },
    /// Lift a ban.
    Unban {
        #[arg(long)]
        email: String,
    },
    /// Print the dashboard numbers as JSON.
    Stats,
    /// Register an OAuth client of Portal's OpenID Connect provider, as upstream's
    /// create-prosody-oauth-client script does (its defaults are that script's: Prosody,
    /// scopes `openid xmpp`, no consent screen, secret sent in the body). Prints the client
    /// id and secret (the secret only now). A client of that name already there is shown
    /// and left as it is.
    CreateOauthClient {
        #[arg(long, default_value = "Prosody XMPP Server")]
        name: String,
        /// The client id (letters, digits, `-`, `_`, `.`); random when absent.
        #[arg(long)]
        client_id: Option<String>,
        /// Space-separated scopes among `openid profile email offline_access xmpp irc`.
        #[arg(long, default_value = "openid xmpp")]
        scopes: String,
        /// A redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// `client_secret_post`, `client_secret_basic`, or `none` (a public client).
        #[arg(long, default_value = "client_secret_post")]
        auth_method: String,
        /// Comma-separated among `authorization_code`, `refresh_token`, `client_credentials`.
        #[arg(long, default_value = "authorization_code,refresh_token")]
        grant_types: String,
        /// Show the consent screen (first-party clients skip it by default).
        #[arg(long)]
        ask_consent: bool,
        /// Let it end the user's session (RP-initiated logout).
        #[arg(long)]
        end_session: bool,
        /// `EdDSA` (the default) or `RS256`.
        #[arg(long)]
        id_token_alg: Option<String>,
    },
    /// Stop the JWT signing keys in use (they stay published two days, so every token
    /// they signed still verifies); the next token is signed with a new key.
    RotateSigningKeys,
    /// Bring a running Portal's PostgreSQL database over (BetterAuth's tables as Portal
    /// configures them, and Portal's service tables): people with their passwords,
    /// sessions, API keys, two-factor, passkeys, linked and service accounts and consents,
    /// nobody signed out. BETTER_AUTH_SECRET must be the source's. Idempotent; prints a
    /// JSON summary (with the verification pass and a digest of the table).
    Import {
        /// postgres://user:password@host:port/database (or PORTAL_IMPORT_FROM, which keeps
        /// the password out of the process list).
        #[arg(long, env = "PORTAL_IMPORT_FROM", hide_env_values = true)]
        from: String,
        /// Read and convert everything, report, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Start after the last page an earlier run finished.
        #[arg(long)]
        resume: bool,
        /// Users read per page.
        #[arg(long, default_value_t = 100)]
        page: i64,
        /// People written at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Create the table first when it does not exist (a local engine; on AWS the
        /// template makes it).
        #[arg(long)]
        create_table: bool,
        /// Trust anchors (PEM) for the database's TLS certificate besides the public
        /// roots: RDS's CA bundle, a private CA. Add `sslmode=require` to the URL to refuse
        /// a connection without TLS.
        #[arg(long)]
        ca_file: Option<std::path::PathBuf>,
    },
    /// Compare Portal's accounts on one service with the service's own, and print the
    /// drift as JSON lines; with --fix, repair what can be repaired.
    Reconcile {
        #[arg(long)]
        integration: String,
        #[arg(long)]
        fix: bool,
    },
}

/// The deployment's configuration as the environment gives it: the core (the audit log's
/// retention) and the community services (the functions' variables: `PROSODY_*`,
/// `IRC_ATHEME_*`, ...).
pub fn config() -> Result<Config, String> {
    let needs = portal_domain::config::Needs {
        auth: false,
        mail: false,
        tunnel: false,
        services: true,
    };
    Config::from_env_for(needs).map_err(|e| e.to_string())
}

pub async fn db(cli: &Cli) -> Db {
    match &cli.dynamodb_endpoint {
        Some(endpoint) => Db::local(endpoint, &cli.table),
        None => Db::from_env(&cli.table).await,
    }
}

async fn user_id(db: &Db, email: &str) -> Result<String, String> {
    db.users()
        .find_by_email(&email.trim().to_lowercase())
        .await
        .map_err(|e| e.to_string())?
        .map(|(u, _)| u.id)
        .ok_or_else(|| format!("no account with e-mail {email}"))
}

/// Runs a role or ban change under the shared moderation rules, as the operator.
async fn change(
    db: &Db,
    services: &Registry,
    operator: &Provenance,
    email: &str,
    change: UserChange,
) -> Result<Changed, String> {
    let id = user_id(db, email).await?;
    change_user(db, services, Actor::Operator, operator, &id, &change, now())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|refused| refused.to_string())
}

/// What a ban or unban did to the user's service accounts, for the operator.
fn service_outcomes(done: &Changed) -> String {
    done.service_accounts
        .iter()
        .map(|o| match &o.error {
            None => format!("; {} account {}", o.integration, o.status),
            Some(err) => format!("; {} account still {} ({err})", o.integration, o.status),
        })
        .collect()
}

/// Runs one command; `password` is read only by `create-admin`. Returns what to print.
pub async fn run(
    cli: &Cli,
    db: &Db,
    config: &Config,
    password: impl FnOnce() -> Result<String, String>,
) -> Result<String, String> {
    let services = &Registry::from_config(config);
    // The operator, as the audit log records them: kept as long as the deployment says.
    let operator = &Provenance::operator(config.audit_retention_days);
    match &cli.command {
        Command::CreateAdmin { email } => {
            let password = password()?;
            let done = ensure_admin(db, operator, email, &password, now()).await?;
            let user = &done.user;
            Ok(if done.took_over {
                format!(
                    "admin {} ({}): the existing account was taken over; {} session(s) ended and {} API key(s) deleted first",
                    user.email, user.id, done.sessions_ended, done.api_keys_deleted
                )
            } else {
                format!("admin {} ({}) created", user.email, user.id)
            })
        }
        Command::SetRole { email, role } => {
            let role =
                Role::parse(role).ok_or_else(|| format!("`{role}` is not user, staff or admin"))?;
            let user = change(
                db,
                services,
                operator,
                email,
                UserChange {
                    role: Some(role),
                    ..UserChange::default()
                },
            )
            .await?
            .user;
            Ok(format!("{} is now {}", user.email, user.role.as_str()))
        }
        Command::Ban {
            email,
            reason,
            until,
        } => {
            let until = match until {
                Some(raw) => {
                    Some(parse_iso(raw).ok_or_else(|| format!("`{raw}` is not an RFC 3339 time"))?)
                }
                None => None,
            };
            let done = change(
                db,
                services,
                operator,
                email,
                UserChange {
                    banned: Some(true),
                    ban_reason: Some(reason.clone()),
                    ban_expires: Some(until),
                    ..UserChange::default()
                },
            )
            .await?;
            Ok(format!(
                "{email} banned; {} session(s) ended{}",
                done.sessions_ended,
                service_outcomes(&done)
            ))
        }
        Command::Unban { email } => {
            let done = change(
                db,
                services,
                operator,
                email,
                UserChange {
                    banned: Some(false),
                    ..UserChange::default()
                },
            )
            .await?;
            Ok(format!("{email} unbanned{}", service_outcomes(&done)))
        }
        Command::Reconcile { integration, fix } => {
            let service = services
                .get(integration)
                .ok_or_else(|| format!("no integration `{integration}`"))?;
            let drift = reconcile(db, service.as_ref(), operator, *fix, services.cools_until())
                .await
                .map_err(|e| e.to_string())?;
            let mut out: Vec<String> = drift
                .iter()
                .map(|d| serde_json::to_string(d).unwrap_or_default())
                .collect();
            let unfixed = drift.iter().filter(|d| !d.fixed).count();
            out.push(format!(
                "{integration}: {} drift(s), {} fixed, {unfixed} left",
                drift.len(),
                drift.len() - unfixed
            ));
            Ok(out.join("\n"))
        }
        Command::CreateOauthClient {
            name,
            client_id,
            scopes,
            redirect_uris,
            auth_method,
            grant_types,
            ask_consent,
            end_session,
            id_token_alg,
        } => {
            let ask = ClientAsk {
                name,
                client_id: client_id.as_deref(),
                scopes,
                redirect_uris,
                auth_method,
                grant_types,
                skip_consent: !ask_consent,
                end_session: *end_session,
                id_token_alg: id_token_alg.as_deref(),
            };
            create_oauth_client(db, operator, &ask).await
        }
        Command::RotateSigningKeys => {
            let retired = db
                .signing_keys()
                .rotate()
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "{retired} signing key(s) retired (published two more days); the next token is signed with a new key"
            ))
        }
        Command::Import {
            from,
            dry_run,
            resume,
            page,
            concurrency,
            create_table,
            ca_file,
        } => {
            let with_auth = portal_domain::config::Needs {
                auth: true,
                mail: false,
                tunnel: false,
                services: false,
            };
            let config = Config::from_env_for(with_auth).map_err(|e| e.to_string())?;
            let secrets = import::Secrets::from_config(&config)?;
            let options = import::Options {
                from: from.clone(),
                dry_run: *dry_run,
                resume: *resume,
                page: (*page).clamp(1, 1000),
                concurrency: *concurrency,
                create_table: *create_table,
                ca_file: ca_file.clone(),
            };
            import::run(db, &secrets, &options).await
        }
        Command::Stats => {
            let s = db.stats().read(now()).await.map_err(|e| e.to_string())?;
            Ok(json!({
                "users": {"total": s.users, "admins": s.admins, "staff": s.staff, "banned": s.banned, "regular": s.users - s.admins - s.staff},
                "sessions": {"total": s.sessions_total, "active": s.sessions_active},
                "apiKeys": {"total": s.api_keys, "enabled": s.api_keys_enabled},
                "oauthClients": {"total": s.oauth_clients, "disabled": s.oauth_disabled},
            })
            .to_string())
        }
    }
}

/// What `create-oauth-client` was asked.
struct ClientAsk<'a> {
    name: &'a str,
    client_id: Option<&'a str>,
    scopes: &'a str,
    redirect_uris: &'a [String],
    auth_method: &'a str,
    grant_types: &'a str,
    skip_consent: bool,
    end_session: bool,
    id_token_alg: Option<&'a str>,
}

async fn create_oauth_client(
    db: &Db,
    operator: &Provenance,
    ask: &ClientAsk<'_>,
) -> Result<String, String> {
    use portal_domain::crypto::{new_id, random_alphanumeric, sha256_hex};
    use portal_domain::store::oauth_clients::{
        GRANT_TYPES, OAuthClient, SCOPES, client_id_allowed, redirect_uri_allowed,
    };
    let name = ask.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("--name: 1 to 100 characters".into());
    }
    let clients = db.oauth_clients();
    if let Some(held) = clients.by_name(name).await.map_err(|e| e.to_string())? {
        return Ok(format!(
            "OAuth client \"{name}\" exists already (nothing changed)\nclient_id={}\nclient_secret=(set; not shown: rotate it to get a new one)\ndisabled={}",
            held.client_id, held.disabled
        ));
    }
    let scopes: Vec<String> = ask.scopes.split_whitespace().map(str::to_string).collect();
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(format!(
            "--scopes: `{bad}` is not one of {}",
            SCOPES.join(" ")
        ));
    }
    let grant_types: Vec<String> = ask
        .grant_types
        .split([',', ' '])
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect();
    if grant_types.is_empty()
        || grant_types
            .iter()
            .any(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(format!("--grant-types: among {}", GRANT_TYPES.join(",")));
    }
    if let Some(bad) = ask.redirect_uris.iter().find(|u| !redirect_uri_allowed(u)) {
        return Err(format!(
            "--redirect-uri {bad}: https (http only on localhost) or an app's own scheme, no fragment"
        ));
    }
    if !matches!(
        ask.auth_method,
        "client_secret_post" | "client_secret_basic" | "none"
    ) {
        return Err("--auth-method: client_secret_post, client_secret_basic or none".into());
    }
    if let Some(alg) = ask.id_token_alg
        && !matches!(alg, "EdDSA" | "RS256")
    {
        return Err("--id-token-alg: EdDSA or RS256".into());
    }
    let client_id = match ask.client_id {
        Some(id) if client_id_allowed(id) => id.to_string(),
        Some(_) => return Err("--client-id: 1 to 128 letters, digits, `-`, `_`, `.`".into()),
        None => random_alphanumeric(32),
    };
    let public = ask.auth_method == "none";
    let secret = (!public).then(|| random_alphanumeric(64));
    let at = portal_domain::time::iso(now());
    let client = OAuthClient {
        id: new_id(),
        name: name.to_string(),
        client_id,
        client_secret_hash: secret
            .as_deref()
            .map(|s| sha256_hex(s.as_bytes()))
            .unwrap_or_default(),
        redirect_uris: ask.redirect_uris.to_vec(),
        created_at: at.clone(),
        updated_at: at,
        scopes: Some(scopes),
        skip_consent: ask.skip_consent,
        enable_end_session: ask.end_session,
        public,
        token_endpoint_auth_method: Some(ask.auth_method.to_string()),
        grant_types,
        id_token_signed_response_alg: ask.id_token_alg.map(str::to_string),
        ..OAuthClient::default()
    };
    let details = json!({ "oauthClientId": client.id, "clientId": client.client_id, "name": client.name, "redirectUris": client.redirect_uris });
    let event = portal_domain::store::audit::Event::now(
        operator,
        "oauth_client.created",
        None,
        Some(details),
    );
    let client = clients
        .create(client, Some(&event))
        .await
        .map_err(|e| e.to_string())?;
    let mut out = format!(
        "OAuth client \"{}\" created\nclient_id={}",
        client.name, client.client_id
    );
    match secret {
        Some(secret) => out.push_str(&format!(
            "\nclient_secret={secret}\n(the secret is shown only now: keep it in the service's configuration)"
        )),
        None => out.push_str("\n(a public client: no secret, PKCE)"),
    }
    if client.redirect_uris.is_empty() {
        out.push_str("\nnote: no --redirect-uri: the authorization code flow needs one");
    }
    Ok(out)
}
