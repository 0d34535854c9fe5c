//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1, 6 digits, 30 s)
//! as BetterAuth's two-factor plugin makes them: the key is the bytes of a 32-character
//! random secret, and the `otpauth://` URI carries it in unpadded base32.
//! Here too: the routes of an authenticator app (its URI, verifying its codes).

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::challenge::*;
use super::common::*;

pub const DIGITS: u32 = 6;
pub const PERIOD_SECS: i64 = 30;
/// Steps accepted either side of now (clock drift), as the plugin's default.
pub const WINDOW: i64 = 1;

/// The HOTP code of `counter`.
pub fn hotp(key: &[u8], counter: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let truncated = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        truncated % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The time step `unix_secs` falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(PERIOD_SECS)
}

/// The step whose code `code` is, within the window around `unix_secs`, if any. Every
/// candidate is computed and compared in constant time.
pub fn matching_step(key: &[u8], code: &str, unix_secs: i64) -> Option<i64> {
    let now = step_at(unix_secs);
    let mut found = None;
    for step in (now - WINDOW)..=(now + WINDOW) {
        let Ok(counter) = u64::try_from(step) else {
            continue;
        };
        let expected = hotp(key, counter);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// `otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&digits=6&period=30`,
/// the plugin's URI.
pub fn uri(issuer: &str, account: &str, key: &[u8]) -> String {
    let label = |s: &str| portal_web::cookies::percent_encode(s);
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("secret", &data_encoding::BASE32_NOPAD.encode(key))
        .append_pair("issuer", issuer)
        .append_pair("digits", &DIGITS.to_string())
        .append_pair("period", &PERIOD_SECS.to_string())
        .finish();
    format!(
        "otpauth://totp/{}:{}?{query}",
        label(issuer),
        label(account)
    )
}

pub(super) fn totp_uri(
    state: &AuthState,
    user: &User,
    secret: &str,
    issuer: Option<&str>,
) -> String {
    let issuer = issuer.unwrap_or(&state.auth.two_factor_issuer);
    uri(issuer, &user.email, secret.as_bytes())
}

#[utoipa::path(
    post, path = "/two-factor/get-totp-uri", security(("signedIn" = [])),
    request_body = crate::wire::PasswordOnly,
    responses(
        (status = 200, description = "The authenticator URI", body = crate::wire::TotpUri),
        (status = 400, description = "`TOTP_NOT_ENABLED`, `INVALID_PASSWORD`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn get_totp_uri(
    State(state): State<AuthState>,
    me: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let password = password_field(&body.json_only()?)?;
    // The secret and the password check do not depend on each other: they go out together.
    let store = state.app.db.two_factor();
    let (two_factor, checked) = tokio::join!(
        store.get(&me.user.id),
        check_current_password(&state, &me.user.id, password)
    );
    let two_factor = two_factor?
        .filter(TwoFactor::has_secret)
        .ok_or_else(|| code(StatusCode::BAD_REQUEST, "TOTP_NOT_ENABLED"))?;
    checked?;
    let secret = state
        .app
        .keyring
        .open(&two_factor.secret)
        .ok_or_else(|| AuthError::internal("the TOTP secret does not open"))?;
    Ok(json_response(&TotpUri {
        totp_uri: totp_uri(&state, &me.user, &secret, None),
    }))
}

/// `{code, trustDevice?}` of the verify endpoints.
pub(super) fn code_fields(body: &Body) -> AuthResult<(String, bool, bool)> {
    let mut f = Fields::of("body", &body.value, false);
    let code = f.string("code");
    let trust = f.optional_bool("trustDevice").unwrap_or(false);
    let disable_session = f.optional_bool("disableSession").unwrap_or(false);
    f.finish()?;
    let code = code.ok_or_else(|| AuthError::validation("[body] Invalid input".into()))?;
    Ok((code, trust, disable_session))
}

#[utoipa::path(
    post, path = "/two-factor/verify-totp",
    request_body = crate::wire::VerifyCode,
    responses(
        (status = 200, description = "Passed: a pending sign-in gets its session cookie", body = crate::wire::Signed),
        (status = 401, description = "`INVALID_CODE`, `INVALID_TWO_FACTOR_COOKIE`", body = portal_web::openapi::AuthErrorBody),
        (status = 400, description = "`TOTP_NOT_ENABLED`, `TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`", body = portal_web::openapi::AuthErrorBody),
        (status = 429, description = "`ACCOUNT_TEMPORARILY_LOCKED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn verify_totp(
    State(state): State<AuthState>,
    session: Option<SessionUser>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let (answer, trust, _) = code_fields(&body.json_only()?)?;
    let prover = prover(&state, session, &headers).await?;
    let user = prover.user().clone();
    let store = state.app.db.two_factor();
    // Setting up (signed in), an unverified secret is the one being proven.
    let setting_up = matches!(prover, Prover::Session(_));
    let two_factor = second_factor(&state, &prover, "TOTP_NOT_ENABLED", |t| {
        t.verified || setting_up
    })
    .await?;
    let secret = state
        .app
        .keyring
        .open(&two_factor.secret)
        .ok_or_else(|| AuthError::internal("the TOTP secret does not open"))?;
    let step = matching_step(secret.as_bytes(), answer.trim(), unix_now());
    // A code is accepted once: its step must be later than the last one used.
    let fresh = match step {
        Some(step) => store.use_step(&user.id, step).await?,
        None => false,
    };
    if !fresh {
        return Err(failed(&state, &user, "INVALID_CODE").await);
    }
    let mut changed = None;
    if let Prover::Session(me) = &prover
        && (!two_factor.verified || !me.user.two_factor_enabled)
    {
        changed = Some(turn_on(&state, me, &client, "totp").await?);
    }
    passed(&state, prover, &client, ("totp", trust), changed).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors_truncated_to_six_digits() {
        // RFC 6238 appendix B (8 digits; the last six are the 6-digit code).
        let key = b"12345678901234567890";
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let step = u64::try_from(step_at(time)).unwrap();
            assert_eq!(hotp(key, step), eight[2..], "t={time}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let key = b"12345678901234567890";
        let code = hotp(key, 1000);
        assert_eq!(matching_step(key, &code, 1000 * 30 + 5), Some(1000));
        assert_eq!(matching_step(key, &code, 1001 * 30 + 5), Some(1000));
        assert_eq!(matching_step(key, &code, 999 * 30), Some(1000));
        assert_eq!(matching_step(key, &code, 1002 * 30), None);
        assert_eq!(matching_step(key, "000000x", 1000 * 30), None);
    }

    #[test]
    fn the_uri_carries_the_key_in_base32() {
        let uri = uri("Portal", "ada@example.org", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Portal:ada%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Portal&digits=6&period=30"
        );
    }
}
