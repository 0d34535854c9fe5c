//! Every key string of the table is built here. Item types, one per line:
//!
//! | item | PK | SK | GSI1PK / GSI1SK | GSI2PK / GSI2SK | ttl |
//! |---|---|---|---|---|---|
//! | user | `USER#<userId>` | `USER` | `USERS` / `<createdAt>#<userId>` | `USER_EMAIL` / `<email>#<userId>` | |
//! | credential (password) | `USER#<userId>` | `CREDENTIAL` | | | |
//! | e-mail claim (uniqueness) | `EMAIL#<email>` | `EMAIL` | | | |
//! | session | `SESSION#<sessionId>` | `SESSION` | `USER#<userId>#SESSIONS` / `<createdAt>#<sessionId>` | `SESSIONS` / `<createdAt>#<sessionId>` | expiresAt |
//! | API key | `APIKEY#<keyId>` | `APIKEY` | `USER#<userId>#APIKEYS` / `<createdAt>#<keyId>` | `APIKEYS` / `<createdAt>#<keyId>` | expiresAt (+1 day) |
//! | one-time token (reset) | `TOKEN#<sha256(token)>` | `TOKEN` | | | expiresAt |
//! | rate-limit counter | `RATE#<bucket>` | `RATE` | | | window end |
//!
//! `sessionId` and `keyId` are the first 32 hex characters of SHA-256 of the secret, so the
//! secret is found by a strongly consistent GetItem on its hash, never through an index.
//! Tokens and keys embed their user's id, so the session (or key) and its user come back
//! in ONE BatchGetItem.

pub fn user(user_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), "USER".into())
}

pub fn credential(user_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), "CREDENTIAL".into())
}

pub fn email_claim(email: &str) -> (String, String) {
    (format!("EMAIL#{email}"), "EMAIL".into())
}

pub fn session(session_id: &str) -> (String, String) {
    (format!("SESSION#{session_id}"), "SESSION".into())
}

pub fn api_key(key_id: &str) -> (String, String) {
    (format!("APIKEY#{key_id}"), "APIKEY".into())
}

pub fn one_time_token(token_hash: &str) -> (String, String) {
    (format!("TOKEN#{token_hash}"), "TOKEN".into())
}

pub fn rate_counter(bucket: &str) -> (String, String) {
    (format!("RATE#{bucket}"), "RATE".into())
}

pub const USERS: &str = "USERS";
pub const USER_EMAIL: &str = "USER_EMAIL";
pub const SESSIONS: &str = "SESSIONS";
pub const APIKEYS: &str = "APIKEYS";

pub fn sessions_of(user_id: &str) -> String {
    format!("USER#{user_id}#SESSIONS")
}

pub fn api_keys_of(user_id: &str) -> String {
    format!("USER#{user_id}#APIKEYS")
}

/// Sort key of "newest first" listings.
pub fn by_creation(created_at: &str, id: &str) -> String {
    format!("{created_at}#{id}")
}
