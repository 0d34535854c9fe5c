//! Local infrastructure and test helpers. The embedded DynamoDB engine lives here so that
//! the local gateway and every test start it the same way; production Lambdas never link
//! this crate.

pub mod engine;
pub mod http;
pub mod people;
pub mod prosody;
pub mod upstream;

pub use engine::{
    CallCounter, EmbeddedDynamo, Storage, counted_state, fresh_db, shared_engine, test_state,
};
pub use http::{TestResponse, call, event_request, fixture, get, post_as, post_bytes, request};
pub use people::{
    BROWSER_ORIGIN, FIXTURE_TOKEN, FIXTURE_USER_ID, Person, api_key_for, fixture_person, person,
    session_for, unsaved_api_key,
};
pub use prosody::{FakeProsody, Mode, PROSODY_TOKEN};
pub use upstream::{FakeUpstream, Recorded, Reply};
