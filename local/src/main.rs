use std::net::SocketAddr;

use clap::Parser;
use portal_local::{Args, prepare};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    portal_web::telemetry::init(&portal_domain::config::Runtime::from_env());
    let args = Args::parse();
    let (running, listener) = match prepare(&args).await {
        Ok(ready) => ready,
        Err(err) => {
            eprintln!("portal-local: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "Portal API listening on http://{} (DynamoDB: {})",
        running.addr, running.dynamodb
    );
    let service = running
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    drop(running);
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("portal-local: server failed: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
