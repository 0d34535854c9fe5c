//! The `main` of every function: build the state once, warm the table connection during
//! init, then serve events with `lambda_http` (several at once where Lambda allows it).

use std::convert::Infallible;

use axum::Router;

use crate::state::AppState;
use crate::telemetry;
use portal_domain::config::{Config, Needs, Runtime};
use portal_domain::store::Db;

/// Runs a function's `serve` future on the runtime its environment calls for: one thread
/// when Lambda sends one invocation at a time (no wake-ups across threads: the CPU of a
/// trivial invocation fell from 0.87 to ... ms), a thread per vCPU when
/// AWS_LAMBDA_MAX_CONCURRENCY > 1. (Password hashes run on their own threads either way.)
pub fn block_on(
    serve: impl std::future::Future<Output = Result<(), lambda_http::Error>>,
) -> Result<(), lambda_http::Error> {
    let mut runtime = if Runtime::from_env().max_concurrency > 1 {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    runtime.enable_all().build()?.block_on(serve)
}

/// Runs a function whose routes `build` makes, with the configuration sections it `needs`
/// (it is given no others, and is not refused for their absence). Configuration errors
/// stop the cold start.
pub async fn serve(
    function: &'static str,
    needs: Needs,
    build: fn(AppState) -> Router,
) -> Result<(), lambda_http::Error> {
    serve_with(function, needs, |state| std::future::ready(build(state))).await
}

/// Like [`serve`], for functions whose routes need async set-up (an SDK client).
pub async fn serve_with<F, Fut>(
    function: &'static str,
    needs: Needs,
    build: F,
) -> Result<(), lambda_http::Error>
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = Router>,
{
    telemetry::init(&Runtime::from_env());
    let config = Config::from_env_for(needs).inspect_err(|err| {
        tracing::error!(function, error = %err, "configuration refused; not starting");
    })?;
    let db = Db::from_env(&config.table_name).await;
    // The table's first connection is opened beside the rest of the start and the first
    // poll for an event: the init does not wait for it, the first request finds it ready
    // (or, on a cold start that came with a request, takes it over as soon as it is).
    let warm = db.clone();
    tokio::spawn(async move {
        if let Err(err) = warm.ping().await {
            // Not fatal: the table may come back; /api/health reports it meanwhile.
            tracing::warn!(function, error = %err, "table did not answer during init");
        }
    });
    let built = build(AppState::new(config.clone(), db)).await;
    let router = crate::http::finish(built, &config);
    tracing::info!(function, "ready");
    // One invocation at a time, as Lambda runs functions by default; where Lambda sets
    // AWS_LAMBDA_MAX_CONCURRENCY > 1 (Lambda Managed Instances), that many at once in this
    // process. Nothing of a request lives outside its task (see `observe`, `request`).
    // (The concurrent runner wants a `Sync` response: the body is read out here, as the
    // sequential runner does anyway.)
    let service = tower::ServiceBuilder::new()
        .map_future(|answer: Pending| async move {
            let response = answer.await?;
            Ok::<_, Infallible>(lambda_http::IntoResponse::into_response(response).await)
        })
        .service(router);
    lambda_http::run_concurrent(service).await
}

type Pending = <Router as tower::Service<lambda_http::Request>>::Future;
