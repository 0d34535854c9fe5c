fn main() -> Result<(), lambda_http::Error> {
    portal_shared::lambda::block_on(portal_shared::lambda::serve(
        "user",
        portal_user::NEEDS,
        portal_user::router,
    ))
}
