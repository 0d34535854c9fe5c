//! Who is calling, from the request's headers to the table and back, in reading order:
//!
//! 1. [`credential`]: the signed session cookie, `Authorization: Bearer <session token>`
//!    (signed or bare), `Authorization: Bearer <API key>` or `x-api-key`, in that order,
//!    parsed and verified ONCE into a [`Credential`] kept in the request's extensions.
//! 2. [`token`]: what a session token and an API key look like: the user id each carries
//!    and the id its item is stored under (the table keeps only hashes).
//! 3. [`identity`]: ONE strongly consistent BatchGetItem reads the session (or key) and
//!    its user together; the refusal rules (expired, revoked by a newer generation,
//!    disabled, banned) make an [`Identity`] or a [`Refusal`], also kept in the extensions,
//!    so a guard, a handler and the auth function's limit layer never read twice.
//! 4. [`guards`]: the extractors of every route (`RequireAuth`, `RequireAdmin`,
//!    `RequireAdminOrStaff`): the cross-site check of cookie requests, the caller's rate
//!    count beside the read, and the role rule (`Identity::moderator`).

pub mod credential;
pub mod guards;
pub mod identity;
pub mod token;

pub use credential::{API_KEY_HEADER, Credential};
pub use guards::{RequireAdmin, RequireAdminOrStaff, RequireAuth};
pub use identity::{Outcome, Refusal, identify, record_key_use};
pub use portal_services::moderation::{Identity, Via};
