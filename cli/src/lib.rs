//! `portal-admin`: operator commands on the same store the functions use, against the
//! configured table (real DynamoDB, or any endpoint such as `portal-local`'s engine).

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
