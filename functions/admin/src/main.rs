fn main() -> Result<(), lambda_http::Error> {
    portal_shared::lambda::block_on(portal_shared::lambda::serve(
        "admin",
        portal_admin_api::NEEDS,
        portal_admin_api::router,
    ))
}
