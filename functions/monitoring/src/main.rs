fn main() -> Result<(), lambda_http::Error> {
    portal_web::lambda::block_on(portal_web::lambda::serve(
        "monitoring",
        portal_monitoring::NEEDS,
        portal_monitoring::router,
    ))
}
