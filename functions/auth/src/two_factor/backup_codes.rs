use super::challenge::*;
use super::common::*;
use super::totp::*;

/// The keyed hashes a code (backup or e-mailed) of `user_id` is looked up as (the shared
/// rule, `store::two_factor::code_hashes`).
pub(super) fn code_hashes(state: &AuthState, user_id: &str, code: &str) -> Vec<String> {
    portal_domain::store::two_factor::code_hashes(&state.app.keyring, user_id, code)
}

/// The hash a code is stored as (under the current secret).
pub(super) fn stored_hash(state: &AuthState, user_id: &str, code: &str) -> String {
    portal_domain::store::two_factor::stored_code_hash(&state.app.keyring, user_id, code)
}

/// Ten backup codes (`xxxxx-xxxxx`) and their keyed hashes.
pub(super) fn backup_codes(state: &AuthState, user_id: &str) -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..BACKUP_CODES)
        .map(|_| {
            let raw = random_alphanumeric(10);
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    let hashes = codes
        .iter()
        .map(|c| stored_hash(state, user_id, c))
        .collect();
    (codes, hashes)
}

#[utoipa::path(
    post, path = "/two-factor/verify-backup-code",
    request_body = crate::wire::VerifyBackupCode,
    responses(
        (status = 200, description = "Passed (the code is used up): a pending sign-in gets its session cookie", body = crate::wire::Signed),
        (status = 401, description = "`INVALID_BACKUP_CODE`, `INVALID_TWO_FACTOR_COOKIE`", body = portal_web::openapi::AuthErrorBody),
        (status = 400, description = "`BACKUP_CODES_NOT_ENABLED`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn verify_backup_code(
    State(state): State<AuthState>,
    session: Option<SessionUser>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    body: Body,
) -> AuthResult<Response> {
    let (answer, trust, disable_session) = code_fields(&body.json_only()?)?;
    let prover = prover(&state, session, &headers).await?;
    let user = prover.user().clone();
    let store = state.app.db.two_factor();
    second_factor(&state, &prover, "BACKUP_CODES_NOT_ENABLED", |_| true).await?;
    let hashes = code_hashes(&state, &user.id, answer.trim());
    if !store.use_backup_code(&user.id, &hashes).await? {
        return Err(failed(&state, &user, "INVALID_BACKUP_CODE").await);
    }
    if disable_session && let Prover::SignIn { .. } = prover {
        return Ok(json_response(&Signed::new(None, &user)));
    }
    passed(&state, prover, &client, ("backup_code", trust), None).await
}

#[utoipa::path(
    post, path = "/two-factor/generate-backup-codes", security(("signedIn" = [])),
    request_body = crate::wire::PasswordOnly,
    responses(
        (status = 200, description = "New codes; the old ones stop working", body = crate::wire::BackupCodes),
        (status = 400, description = "`TWO_FACTOR_NOT_ENABLED`, `INVALID_PASSWORD`", body = portal_web::openapi::AuthErrorBody),
    )
)]
pub async fn generate_backup_codes(
    State(state): State<AuthState>,
    me: SessionUser,
    body: Body,
) -> AuthResult<Response> {
    let password = password_field(&body.json_only()?)?;
    if !me.user.two_factor_enabled {
        return Err(code(StatusCode::BAD_REQUEST, "TWO_FACTOR_NOT_ENABLED"));
    }
    check_current_password(&state, &me.user.id, password).await?;
    let (codes, hashes) = backup_codes(&state, &me.user.id);
    if !state
        .app
        .db
        .two_factor()
        .replace_backup_codes(&me.user.id, hashes)
        .await?
    {
        return Err(code(StatusCode::BAD_REQUEST, "TWO_FACTOR_NOT_ENABLED"));
    }
    Ok(json_response(&BackupCodes {
        status: true,
        backup_codes: codes,
    }))
}
