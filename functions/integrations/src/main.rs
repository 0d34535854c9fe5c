fn main() -> Result<(), lambda_http::Error> {
    portal_shared::lambda::block_on(portal_shared::lambda::serve(
        "integrations",
        portal_integrations::NEEDS,
        portal_integrations::router,
    ))
}
