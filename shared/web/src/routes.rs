//! One route list per function, read two ways: documented (the OpenAPI document is generated
//! from it) and served (the same handlers on the same paths and methods, with no
//! documentation built: what a function mounts during its cold start). Written once with
//! [`route_list!`](crate::route_list), so the two cannot drift apart.

use axum::Router;
use axum::routing::MethodRouter;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt as _};

/// What [`route_list!`](crate::route_list) makes: the routes, both ways. Each way is its own
/// method of a type of the function's, so a binary that only serves links none of the
/// documentation (no operation, no schema builder).
pub trait RouteList<S: Clone + Send + Sync + 'static> {
    /// Each path's `utoipa_axum::routes!` reading: handlers, operations and schemas.
    fn each_documented(&self) -> Vec<UtoipaMethodRouter<S>>;

    /// Each path and its handlers on their methods, nothing else.
    fn each_served(&self) -> Vec<(String, MethodRouter<S>)>;

    /// The routes with their documentation (for the OpenAPI document), every path's method
    /// router wrapped in `each` (a fallback for a wrong method; `std::convert::identity`).
    fn documented(&self, each: fn(MethodRouter<S>) -> MethodRouter<S>) -> OpenApiRouter<S> {
        self.each_documented()
            .into_iter()
            .fold(OpenApiRouter::new(), |router, route| {
                router.routes(route.map(each))
            })
    }

    /// The same routes, served.
    fn served(&self, each: fn(MethodRouter<S>) -> MethodRouter<S>) -> Router<S> {
        self.each_served()
            .into_iter()
            .fold(Router::new(), |router, (path, handlers)| {
                let path = if path.is_empty() { "/" } else { &path };
                router.route(path, each(handlers))
            })
    }
}

/// A [`RouteList`] for state `$state`: one `[...]` per path, naming its `#[utoipa::path]`
/// handlers (as `utoipa_axum::routes!` takes them). The calling crate depends on `axum`,
/// `utoipa` and `utoipa-axum` (the handlers' annotations need them anyway).
#[macro_export]
macro_rules! route_list {
    ( $state:ty; $( [ $( $($segment:ident)::+ ),+ $(,)? ] ),* $(,)? ) => {{
        struct Listed;
        impl $crate::routes::RouteList<$state> for Listed {
            fn each_documented(&self) -> Vec<::utoipa_axum::router::UtoipaMethodRouter<$state>> {
                vec![ $( ::utoipa_axum::routes!( $( $($segment)::+ ),+ ) ),* ]
            }

            fn each_served(&self) -> Vec<(String, ::axum::routing::MethodRouter<$state>)> {
                vec![ $( {
                    let mut handlers = ::axum::routing::MethodRouter::new();
                    let mut path: Option<String> = None;
                    $(
                        // The path and methods `#[utoipa::path]` gave the handler (its
                        // `__path_*` type, found as `utoipa_axum::routes!` finds it).
                        path.get_or_insert_with(|| {
                            ::utoipa_axum::routes!(@path [path()] of $($segment)::+)
                        });
                        for method in ::utoipa_axum::routes!(@path [methods()] of $($segment)::+) {
                            handlers = handlers.on(
                                ::utoipa_axum::PathItemExt::to_method_filter(&method),
                                $($segment)::+,
                            );
                        }
                    )+
                    (path.unwrap_or_default(), handlers)
                } ),* ]
            }
        }
        Listed
    }};
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::MethodRouter;
    use tower::ServiceExt as _;

    use super::RouteList as _;

    mod things {
        #[utoipa::path(get, path = "/things", responses((status = 200, body = String)))]
        pub async fn list() -> &'static str {
            "list"
        }

        #[utoipa::path(post, path = "/things", responses((status = 200, body = String)))]
        pub async fn create() -> &'static str {
            "create"
        }

        #[utoipa::path(delete, path = "/things/{id}", params(("id" = String, Path)),
            responses((status = 200, body = String)))]
        pub async fn remove(axum::extract::Path(id): axum::extract::Path<String>) -> String {
            format!("removed {id}")
        }
    }

    #[utoipa::path(put, path = "", responses((status = 200, body = String)))]
    async fn root() -> &'static str {
        "root"
    }

    async fn answer(router: axum::Router, method: &str, path: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn served_and_documented_route_the_same() {
        let list = crate::route_list![();
            [things::list, things::create],
            [things::remove],
            [root],
        ];
        let teapot = |handlers: MethodRouter| handlers.fallback(async || StatusCode::IM_A_TEAPOT);
        let (documented, doc) = list.documented(teapot).split_for_parts();
        let paths: Vec<_> = doc.paths.paths.keys().cloned().collect();
        assert_eq!(paths, ["/things", "/things/{id}", ""]);
        for router in [documented, list.served(teapot)] {
            let cases = [
                ("GET", "/things", StatusCode::OK, "list"),
                ("POST", "/things", StatusCode::OK, "create"),
                ("DELETE", "/things/7", StatusCode::OK, "removed 7"),
                ("PUT", "/", StatusCode::OK, "root"),
                ("PATCH", "/things", StatusCode::IM_A_TEAPOT, ""),
                ("GET", "/other", StatusCode::NOT_FOUND, ""),
            ];
            for (method, path, status, body) in cases {
                assert_eq!(
                    answer(router.clone(), method, path).await,
                    (status, body.to_string()),
                    "{method} {path}"
                );
            }
        }
    }
}
