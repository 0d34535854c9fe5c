fn main() -> Result<(), lambda_http::Error> {
    portal_shared::lambda::block_on(portal_shared::lambda::serve(
        "monitoring",
        portal_monitoring::NEEDS,
        portal_monitoring::router,
    ))
}
