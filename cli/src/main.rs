use std::io::BufRead;

use clap::Parser;
use portal_admin::{Cli, db, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let db = db(&cli).await;
    let password = || match std::env::var("PORTAL_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
            Ok(line.trim_end_matches(['\r', '\n']).to_string())
        }
    };
    let config = match portal_admin::config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("portal-admin: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match run(&cli, &db, &config, password).await {
        Ok(out) => {
            println!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("portal-admin: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
