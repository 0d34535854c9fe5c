fn main() -> Result<(), lambda_http::Error> {
    portal_shared::lambda::block_on(portal_shared::lambda::serve_with(
        "auth",
        portal_auth::NEEDS,
        portal_auth::build,
    ))
}
