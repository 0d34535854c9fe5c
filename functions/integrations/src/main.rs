fn main() -> Result<(), lambda_http::Error> {
    portal_web::lambda::block_on(portal_web::lambda::serve(
        "integrations",
        portal_integrations::NEEDS,
        portal_integrations::router,
    ))
}
