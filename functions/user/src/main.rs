fn main() -> Result<(), lambda_http::Error> {
    portal_web::lambda::block_on(portal_web::lambda::serve(
        "user",
        portal_user::NEEDS,
        portal_user::router,
    ))
}
