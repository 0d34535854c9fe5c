//! The admin router on a fresh table, with an admin, a staff member and a regular user.
#![allow(dead_code)]

use portal_domain::model::Role;
#[allow(unused_imports)]
pub use portal_testkit::envelope;
use portal_testkit::{Person, TestApp, person, test_state};

pub struct Admin {
    pub t: TestApp,
    pub admin: Person,
    pub staff: Person,
    pub user: Person,
}

impl std::ops::Deref for Admin {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.t
    }
}

impl Admin {
    pub async fn new() -> Self {
        let state = test_state(|c| c.rate_limits.enabled = false).await;
        let t = TestApp::new(state.clone(), portal_admin_api::router(state.clone()));
        let admin = person(&state, "admin@example.org", Role::Admin).await;
        let staff = person(&state, "staff@example.org", Role::Staff).await;
        let user = person(&state, "user@example.org", Role::User).await;
        Self {
            t,
            admin,
            staff,
            user,
        }
    }
}
