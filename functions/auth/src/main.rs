fn main() -> Result<(), lambda_http::Error> {
    portal_web::lambda::block_on(portal_web::lambda::serve_with(
        "auth",
        portal_auth::NEEDS,
        portal_auth::build,
    ))
}
