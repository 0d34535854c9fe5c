#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::lambda::serve_with("auth", portal_auth::NEEDS, portal_auth::build).await
}
