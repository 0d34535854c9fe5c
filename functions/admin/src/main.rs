fn main() -> Result<(), lambda_http::Error> {
    portal_web::lambda::block_on(portal_web::lambda::serve(
        "admin",
        portal_admin_api::NEEDS,
        portal_admin_api::router,
    ))
}
