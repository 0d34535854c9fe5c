//! The floor of a get-session: a server built like `portal-local` (the same SDK client and
//! timeouts, allocator and release profile) whose ONLY work per request is get-session's
//! one strongly consistent BatchGetItem of the session and its user, turned into JSON. No
//! credential parsing, no guards, no layers: `./scripts/bench` loads it beside
//! `portal-local`, and the ratio of their CPU per request is what Portal's own code costs.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use clap::Parser;
use portal_domain::store::Db;
use portal_domain::store::sessions::Resolved;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    port: u16,
    #[arg(long)]
    dynamodb_endpoint: String,
    #[arg(long, default_value = "portal")]
    table: String,
    /// The session read on every request (its id and its user's).
    #[arg(long)]
    session_id: String,
    #[arg(long)]
    user_id: String,
}

#[derive(Clone)]
struct Floor {
    db: Db,
    session_id: String,
    user_id: String,
}

async fn get_session(State(floor): State<Floor>) -> Json<Value> {
    let read = floor
        .db
        .sessions()
        .resolve(&floor.session_id, &floor.user_id)
        .await;
    Json(match read {
        Ok(Some(Resolved::Session(session, user, _))) => {
            json!({ "session": session, "user": user })
        }
        _ => Value::Null,
    })
}

#[tokio::main]
async fn main() {
    // The same allocator and its options as every Portal binary.
    let _ = portal_web::allocator::options();
    let args = Args::parse();
    let floor = Floor {
        db: Db::local(&args.dynamodb_endpoint, &args.table),
        session_id: args.session_id,
        user_id: args.user_id,
    };
    let app = Router::new()
        .route("/api/auth/get-session", get(get_session))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .expect("the port is free");
    axum::serve(listener, app).await.expect("serves");
}
