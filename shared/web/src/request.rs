//! What is known about the request being served, shared by the layers that serve it
//! (`http`, `metrics`, `reporting`) and the code that learns it (`auth`): marks on requests and
//! responses, and the caller's id on the request's log span. It depends on nothing of ours.

use axum::extract::MatchedPath;

/// The id of the request being served (API Gateway's when there is one).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Marks a response whose body must go out exactly as built, even with an error status
/// (BetterAuth's empty 404s, an upstream's answer relayed verbatim).
#[derive(Debug, Clone, Copy)]
pub struct VerbatimBody;

/// On a response: the route template that answered it (absent when no route matched).
#[derive(Debug, Clone)]
pub struct MatchedRoute(pub MatchedPath);

/// On a 500 answer that a panic made: the panic's message.
#[derive(Debug, Clone)]
pub struct Panicked(pub String);

/// Names the signed-in user on the request's span, so every later log line of the request
/// carries `user_id` (an id, never a name or an address).
pub fn identified(user_id: &str) {
    tracing::Span::current().record("user_id", user_id);
}
