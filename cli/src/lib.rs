//! `portal-admin`: operator commands on the same store the functions use, against the
//! configured table (real DynamoDB, or any endpoint such as `portal-local`'s engine).

use clap::{Parser, Subcommand};
use portal_shared::model::Role;
use portal_shared::store::Db;
use portal_shared::time::{iso, now, parse_iso};
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

/// Runs one command; `password` is read only by `create-admin`. Returns what to print.
pub async fn run(
    cli: &Cli,
    db: &Db,
    password: impl FnOnce() -> Result<String, String>,
) -> Result<String, String> {
    let at = iso(now());
    match &cli.command {
        Command::CreateAdmin { email } => {
            let password = password()?;
            let user = portal_shared::bootstrap::ensure_admin(db, email, &password).await?;
            Ok(format!("admin {} ({})", user.email, user.id))
        }
        Command::SetRole { email, role } => {
            let role =
                Role::parse(role).ok_or_else(|| format!("`{role}` is not user, staff or admin"))?;
            let id = user_id(db, email).await?;
            let user = db
                .users()
                .update(&id, &at, |u| u.role = role)
                .await
                .map_err(|e| e.to_string())?;
            let user = user.ok_or("the account vanished")?;
            Ok(format!("{} is now {}", user.email, user.role.as_str()))
        }
        Command::Ban {
            email,
            reason,
            until,
        } => {
            let until = match until {
                Some(raw) => Some(iso(
                    parse_iso(raw).ok_or_else(|| format!("`{raw}` is not an RFC 3339 time"))?
                )),
                None => None,
            };
            let id = user_id(db, email).await?;
            db.users()
                .update(&id, &at, |u| {
                    u.banned = true;
                    u.ban_reason = reason.clone();
                    u.ban_expires = until.clone();
                })
                .await
                .map_err(|e| e.to_string())?;
            let ended = db
                .sessions()
                .delete_all_for_user(&id, None)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("{email} banned; {ended} session(s) ended"))
        }
        Command::Unban { email } => {
            let id = user_id(db, email).await?;
            db.users()
                .update(&id, &at, |u| {
                    u.banned = false;
                    u.ban_reason = None;
                    u.ban_expires = None;
                })
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("{email} unbanned"))
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
