//! The floor: the smallest `lambda_http` function (answers every event with a fixed JSON
//! body), built with the same profile as the real functions. `./scripts/bench` runs it beside
//! them so their init time, CPU per invocation and memory have something to be compared with.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

async fn hello(_request: Request) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"ok":true}"#))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(hello)).await
}
