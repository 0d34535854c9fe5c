//! Test helpers: a fresh table per test on the embedded engine (`portal-engine`, which the
//! local gateway starts the same way), signed-in people, fake upstream servers speaking
//! their services' wire protocols, and API Gateway events. Production Lambdas never link it.

pub mod app;
pub mod atheme;
pub mod authenticator;
pub mod engine;
pub mod faults;
pub mod http;
pub mod iam;
pub mod mailcow;
pub mod mediawiki;
pub mod oauth_provider;
pub mod people;
pub mod prosody;
pub mod sections;
pub mod upstream;

pub use app::{TestApp, envelope};
pub use atheme::{ATHEME_OPER, ATHEME_OPER_PASSWORD, AthemeMode, FakeAtheme};
pub use engine::{
    CallCounter, EmbeddedDynamo, Storage, counted_state, fresh_db, shared_engine, test_state,
};
pub use faults::{Fault, FaultyDynamo, faulty_state};
pub use http::{TestResponse, call, event_request, fixture, get, post_as, post_bytes, request};
pub use mailcow::{FakeMailcow, MAILCOW_KEY, MailcowMode};
pub use mediawiki::{FakeMediaWiki, WIKI_BOT, WIKI_BOT_PASSWORD, WikiMode};
pub use oauth_provider::{FakeOAuthProvider, Wire};
pub use people::{
    BROWSER_ORIGIN, FIXTURE_TOKEN, FIXTURE_USER_ID, Person, api_key_for, fixture_person, person,
    person_with_username, session_for, unsaved_api_key, with_second_factor,
};
pub use prosody::{FakeProsody, Mode, PROSODY_TOKEN};
pub use sections::Sections;
pub use upstream::{FakeUpstream, Recorded, Reply, closed_port};
