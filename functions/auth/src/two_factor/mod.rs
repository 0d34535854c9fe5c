//! BetterAuth's `twoFactor` plugin (TOTP, e-mailed codes, backup codes) on the wire, with
//! the store's stronger rules (`portal_domain::store::two_factor`): sealed secret, hashed
//! single-use backup codes, codes accepted once, failures counted per user, and turning
//! two-factor on or off ends the user's other sessions.
//!
//! Sign-in: a user with two-factor on gets `{twoFactorRedirect: true, twoFactorMethods}` and
//! a signed `two_factor` cookie (10 minutes) instead of a session, unless the request carries
//! a live `trust_device` cookie of theirs; a `/two-factor/verify-*` call with that cookie
//! then creates the session.
//!
//! The folder: [`challenge`] (the pending sign-in and what passing a second factor does),
//! [`totp`] (authenticator apps: the algorithm and its routes), [`otp`] (e-mailed codes),
//! [`backup_codes`], `switch` (turning it on and off), `common` (what they share). The store's
//! repository is `portal_domain::store::two_factor`.

mod backup_codes;
mod challenge;
mod common;
mod otp;
mod switch;
pub mod totp;

// The routes, with the documentation `#[utoipa::path]` made beside each (`__path_*`).
pub use backup_codes::{
    __path_generate_backup_codes, __path_verify_backup_code, generate_backup_codes,
    verify_backup_code,
};
pub use challenge::challenge_sign_in;
pub use otp::{__path_send_otp, __path_verify_otp, send_otp, verify_otp};
pub use switch::{__path_disable, __path_enable, disable, enable};
pub use totp::{__path_get_totp_uri, __path_verify_totp, get_totp_uri, verify_totp};
