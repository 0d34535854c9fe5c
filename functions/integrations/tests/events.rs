//! The Lambda path: `events/integrations-create.v2.json` (POST with the fixture cookie).

use portal_domain::model::Role;
use portal_testkit::Sections;
use portal_testkit::{
    FakeProsody, PROSODY_TOKEN, call, event_request, fixture, fixture_person, test_state,
};
use portal_web::http;

#[tokio::test]
async fn the_create_fixture_provisions_an_xmpp_account() {
    let prosody = FakeProsody::start().await;
    let state = test_state(|c| {
        c.services_mut().prosody.rest_url = Some(url::Url::parse(&prosody.url()).unwrap());
        c.services_mut().prosody.rest_token = Some(PROSODY_TOKEN.into());
        c.services_mut().prosody.xmpp_domain = Some("chat.example.org".into());
    })
    .await;
    let app = http::finish(portal_integrations::router(state.clone()), &state.config);
    fixture_person(&state, Role::User).await;
    let res = call(&app, event_request(&fixture("integrations-create.v2.json"))).await;
    assert_eq!(res.status, 201);
    assert_eq!(
        res.json()["account"]["data"]["jid"],
        "fixture@chat.example.org"
    );
    assert!(res.json()["temporaryPassword"].is_string());
    assert!(prosody.users().contains_key("fixture"));
}
