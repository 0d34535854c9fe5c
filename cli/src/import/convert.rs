//! BetterAuth's stored forms (1.5, as Portal configures it) turned into ours: what is
//! kept as it is (scrypt password hashes, API keys' hashes, ids), what is opened with the
//! auth secret and sealed again with our keyring (TOTP secrets; backup codes become keyed
//! hashes), and what each row must satisfy to come over (or it is reported and skipped).

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::HEXLOWER_PERMISSIVE;
use portal_domain::keyring::Keyring;
use portal_domain::model::{
    ApiKey, Generations, Role, Session, User, normalize_username, username_rule,
};
use portal_domain::store::api_keys::id_of_stored_hash;
use portal_domain::store::import::ArrivingFactor;
use portal_domain::store::integration_accounts::Account;
use portal_domain::store::linked_accounts::LinkedAccount;
use portal_domain::store::oauth::{Consent, Grant, RefreshToken, moved_refresh_key_of_stored};
use portal_domain::store::oauth_clients::{
    ClientAbout, OAuthClient, client_id_allowed, redirect_uri_allowed,
};
use portal_domain::store::passkeys::Passkey;
use portal_domain::store::two_factor::stored_code_hash;
use portal_web::caller::token::session_id;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::source::{
    SourceAccount, SourceApiKey, SourceClient, SourceConsent, SourcePasskey, SourceRefresh,
    SourceService, SourceSession, SourceTwoFactor, SourceUser,
};

/// BetterAuth's `symmetricDecrypt`: hex of `nonce (24) || ciphertext || tag` under
/// XChaCha20-Poly1305 keyed by SHA-256 of the secret; with rotated secrets, the same
/// inside a `$ba$<version>$` envelope. Every given secret is tried.
pub fn better_auth_decrypt(secrets: &[String], data: &str) -> Option<String> {
    let hex = match data.strip_prefix("$ba$") {
        Some(rest) => rest.split_once('$')?.1,
        None => data,
    };
    let bytes = HEXLOWER_PERMISSIVE.decode(hex.as_bytes()).ok()?;
    if bytes.len() < 24 + 16 {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(24);
    let nonce = XNonce::try_from(nonce).ok()?;
    secrets.iter().find_map(|secret| {
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let cipher = XChaCha20Poly1305::new(&key.into());
        let plain = cipher.decrypt(&nonce, sealed).ok()?;
        String::from_utf8(plain).ok()
    })
}

/// Why a row does not come over.
pub type Refusal = String;

/// The user ids our secrets can carry (BetterAuth's default `generateId`: 32
/// alphanumerics).
fn carriable_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The admin plugin's role (one role, or a comma list: the highest we know counts).
fn role(raw: Option<&str>) -> Result<Role, Refusal> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(Role::User);
    };
    let roles: Vec<Role> = raw
        .split(',')
        .filter_map(|r| Role::parse(r.trim()))
        .collect();
    [Role::Admin, Role::Staff, Role::User]
        .into_iter()
        .find(|r| roles.contains(r))
        .ok_or_else(|| format!("role {raw:?} is none of user, staff, admin"))
}

pub fn user(row: &SourceUser) -> Result<User, Refusal> {
    if !carriable_id(&row.id) {
        return Err("its id is not 32 letters and digits (BetterAuth's default ids)".into());
    }
    let email = row.email.trim().to_lowercase();
    if !email.contains('@') {
        return Err("its e-mail has no @".into());
    }
    let username = match row.username.as_deref() {
        None => None,
        Some(raw) => {
            let shown = row.display_username.as_deref().unwrap_or(raw);
            username_rule(shown)
                .map_err(|p| format!("its username is refused by Portal's rule ({p:?})"))?;
            Some(normalize_username(shown))
        }
    };
    Ok(User {
        id: row.id.clone(),
        name: row.name.clone(),
        email,
        email_verified: row.email_verified,
        image: row.image.clone(),
        display_username: username.as_ref().map(|_| {
            row.display_username
                .clone()
                .or_else(|| row.username.clone())
                .unwrap_or_default()
        }),
        username,
        two_factor_enabled: row.two_factor_enabled,
        role: role(row.role.as_deref())?,
        banned: row.banned,
        ban_reason: row.ban_reason.clone().filter(|_| row.banned),
        ban_expires: row.ban_expires.clone().filter(|_| row.banned),
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        generations: Generations::default(),
    })
}

/// A live session, its token kept only sealed, stored under the hash of its token (the
/// id our sessions have), so the cookie BetterAuth set keeps working. BetterAuth only
/// makes a session after the second factor when one is on.
pub fn session(keyring: &Keyring, user: &User, row: &SourceSession) -> Session {
    Session {
        id: session_id(&row.token),
        user_id: row.user_id.clone(),
        expires_at: row.expires_at.clone(),
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        ip_address: row.ip_address.clone().unwrap_or_default(),
        user_agent: row.user_agent.clone().unwrap_or_default(),
        remember: true,
        sealed_token: keyring.seal(&row.token),
        impersonated_by: row.impersonated_by.clone(),
        generation: 0,
        two_factor_verified: user.two_factor_enabled,
    }
}

/// An API key as BetterAuth's plugin stored it: the hash kept (base64url SHA-256 of the
/// key, what we check too), stored under an id made from that hash.
pub fn api_key(row: &SourceApiKey) -> Result<ApiKey, Refusal> {
    if row.key.len() != 43
        || !row
            .key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "API key {}: its stored key is not a base64url SHA-256",
            row.id
        ));
    }
    Ok(ApiKey {
        id: id_of_stored_hash(&row.key),
        config_id: row.config_id.clone(),
        name: row.name.clone(),
        start: row.start.clone(),
        prefix: row.prefix.clone(),
        key_hash: row.key.clone(),
        user_id: row.reference_id.clone(),
        enabled: row.enabled,
        rate_limit_enabled: row.rate_limit_enabled,
        rate_limit_time_window: i64::from(row.rate_limit_time_window.unwrap_or(86_400_000)),
        rate_limit_max: i64::from(row.rate_limit_max.unwrap_or(10)),
        request_count: i64::from(row.request_count.unwrap_or(0)),
        remaining: row.remaining.map(i64::from),
        last_request: row.last_request.clone(),
        expires_at: row.expires_at.clone(),
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        metadata: row.metadata.clone(),
        generation: 0,
    })
}

/// The second factor: the TOTP secret opened with the auth secret and sealed with ours;
/// the backup codes (BetterAuth keeps them as plain JSON until one is used, encrypted
/// after) opened and turned into our keyed hashes.
pub fn two_factor(
    keyring: &Keyring,
    secrets: &[String],
    user: &User,
    row: &SourceTwoFactor,
) -> Result<ArrivingFactor, Refusal> {
    let secret = row
        .secret
        .as_deref()
        .ok_or_else(|| format!("two-factor {}: no secret", row.id))?;
    let plain = better_auth_decrypt(secrets, secret).ok_or_else(|| {
        format!(
            "two-factor {}: its secret does not open with BETTER_AUTH_SECRET",
            row.id
        )
    })?;
    let codes: Vec<String> = match row.backup_codes.as_deref() {
        None | Some("") => Vec::new(),
        Some(stored) => {
            let json = if stored.trim_start().starts_with('[') {
                stored.to_string()
            } else {
                better_auth_decrypt(secrets, stored).ok_or_else(|| {
                    format!(
                        "two-factor {}: its backup codes do not open with BETTER_AUTH_SECRET",
                        row.id
                    )
                })?
            };
            serde_json::from_str(&json)
                .map_err(|_| format!("two-factor {}: its backup codes are not a list", row.id))?
        }
    };
    Ok(ArrivingFactor {
        sealed_secret: keyring.seal(&plain),
        verified: user.two_factor_enabled,
        backup_hashes: codes
            .iter()
            .map(|code| stored_code_hash(keyring, &user.id, code))
            .collect(),
    })
}

/// An account at a provider (Discord, Mailcow): its tokens sealed.
pub fn linked(keyring: &Keyring, row: &SourceAccount) -> LinkedAccount {
    let seal = |t: &Option<String>| {
        t.as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| keyring.seal(t))
    };
    LinkedAccount {
        id: row.id.clone(),
        user_id: row.user_id.clone(),
        provider_id: row.provider_id.clone(),
        account_id: row.account_id.clone(),
        access_token_sealed: seal(&row.access_token),
        refresh_token_sealed: seal(&row.refresh_token),
        id_token_sealed: seal(&row.id_token),
        access_token_expires_at: row.access_token_expires_at.clone(),
        refresh_token_expires_at: row.refresh_token_expires_at.clone(),
        scopes: row
            .scope
            .as_deref()
            .unwrap_or_default()
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
    }
}

/// A row of a service table as our integration account (its name as the service compares
/// names, its fields as our integrations keep them).
pub fn service_account(row: &SourceService) -> Result<Account, Refusal> {
    let field = |name: &str| row.fields.get(name).cloned().flatten().unwrap_or_default();
    let (username, data) = match row.integration {
        "xmpp" => {
            let username = field("username");
            (
                username.clone(),
                json!({ "username": username, "jid": field("jid") }),
            )
        }
        "irc" => {
            let port: Option<u64> = field("port").parse().ok();
            (
                field("nick"),
                json!({ "nick": field("nick"), "server": field("server"), "port": port }),
            )
        }
        "mailcow" => (
            field("email"),
            json!({ "email": field("email"), "localPart": field("local_part"), "domain": field("domain") }),
        ),
        "mediawiki" => {
            let user_id: Option<i64> = field("wiki_user_id").parse().ok();
            let mut data = json!({ "username": field("wiki_username") });
            if let Some(id) = user_id {
                data["userId"] = json!(id);
            }
            (field("wiki_username"), data)
        }
        other => return Err(format!("{other} account {}: unknown service", row.id)),
    };
    if username.is_empty() {
        return Err(format!("{} account {}: no name", row.integration, row.id));
    }
    let status = match row.status.as_str() {
        s @ ("active" | "pending" | "suspended" | "deleted") => s.to_string(),
        other => {
            return Err(format!(
                "{} account {}: status {other:?}",
                row.integration, row.id
            ));
        }
    };
    let metadata = row
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .filter(Value::is_object);
    Ok(Account {
        id: row.id.clone(),
        user_id: row.user_id.clone(),
        integration_id: row.integration.to_string(),
        username: normalize_username(&username),
        data,
        status,
        suspended_by_ban: false,
        metadata,
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
    })
}

/// A passkey as BetterAuth's plugin kept it (the COSE public key in base64, the credential
/// id in base64url, the signature counter): turned into the WebAuthn library's record of
/// the credential, under the id our passkeys have (a hash of the credential id), so a
/// sign-in with it verifies as with one registered here.
pub fn passkey(row: &SourcePasskey, fallback_time: &str) -> Result<Passkey, Refusal> {
    use webauthn_rs_core::proto::{
        AttestationFormat, AttestationMetadata, COSEKey, Credential, ParsedAttestation,
        ParsedAttestationData, RegisteredExtensions, UserVerificationPolicy,
    };
    let bad = |what: &str| format!("passkey {}: {what}", row.id);
    let raw_id = data_encoding::BASE64URL_NOPAD
        .decode(row.credential_id.trim_end_matches('=').as_bytes())
        .map_err(|_| bad("its credential id is not base64url"))?;
    let cose = data_encoding::BASE64
        .decode(row.public_key.as_bytes())
        .map_err(|_| bad("its public key is not base64"))?;
    let value: serde_cbor_2::Value =
        serde_cbor_2::from_slice(&cose).map_err(|_| bad("its public key is not CBOR"))?;
    let key = COSEKey::try_from(&value).map_err(|e| {
        bad(&format!(
            "its public key is not a COSE key we verify ({e:?})"
        ))
    })?;
    let backup_eligible = row.device_type == "multiDevice";
    let credential = Credential {
        cred_id: raw_id.clone().into(),
        cred: key,
        counter: u32::try_from(row.counter).unwrap_or(0),
        transports: None,
        user_verified: true,
        backup_eligible,
        backup_state: row.backed_up,
        registration_policy: UserVerificationPolicy::Required,
        extensions: RegisteredExtensions::none(),
        attestation: ParsedAttestation {
            data: ParsedAttestationData::None,
            metadata: AttestationMetadata::None,
        },
        attestation_format: AttestationFormat::None,
    };
    // The library's `Passkey` serializes as `{"cred": <Credential>}` (what a sign-in reads
    // back with `serde_json::from_str::<Passkey>`).
    let record = json!({ "cred": credential }).to_string();
    let created = row
        .created_at
        .clone()
        .unwrap_or_else(|| fallback_time.to_string());
    Ok(Passkey {
        id: Passkey::id_of(&raw_id),
        user_id: row.user_id.clone(),
        name: row.name.clone(),
        credential_id: data_encoding::BASE64URL_NOPAD.encode(&raw_id),
        public_key: row.public_key.clone(),
        counter: i64::from(row.counter),
        device_type: if backup_eligible {
            "multiDevice"
        } else {
            "singleDevice"
        }
        .into(),
        backed_up: row.backed_up,
        transports: row.transports.clone().unwrap_or_default(),
        created_at: created,
        aaguid: row.aaguid.clone(),
        last_used_at: None,
        credential: record,
    })
}

/// An OAuth client: its secret's hash (the plugin's `hashed` storage, base64url SHA-256)
/// re-encoded as ours (hex SHA-256); an encrypted secret (`encrypted` storage) opened and
/// hashed. Its redirect URIs must pass our rule.
pub fn client(
    secrets: &[String],
    row: &SourceClient,
    fallback_time: &str,
) -> Result<OAuthClient, Refusal> {
    let bad = |what: String| format!("OAuth client {}: {what}", row.id);
    let client_secret_hash = match row.client_secret.as_deref().filter(|s| !s.is_empty()) {
        None => String::new(),
        Some(stored) => match data_encoding::BASE64URL_NOPAD.decode(stored.as_bytes()) {
            Ok(digest) if digest.len() == 32 => data_encoding::HEXLOWER.encode(&digest),
            _ => match better_auth_decrypt(secrets, stored) {
                Some(plain) => portal_domain::crypto::sha256_hex(plain.as_bytes()),
                None => {
                    return Err(bad(
                        "its secret is neither hashed nor opens with BETTER_AUTH_SECRET".into(),
                    ));
                }
            },
        },
    };
    if !client_id_allowed(&row.client_id) {
        return Err(bad(format!(
            "client id {:?} is refused by our rule",
            row.client_id
        )));
    }
    let post_logout = row.post_logout_redirect_uris.clone().unwrap_or_default();
    for uri in row.redirect_uris.iter().chain(&post_logout) {
        if !redirect_uri_allowed(uri) {
            return Err(bad(format!("redirect URI {uri:?} is refused by our rule")));
        }
    }
    let metadata = row
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .filter(Value::is_object);
    let id_token_alg = metadata
        .as_ref()
        .and_then(|m| m["id_token_signed_response_alg"].as_str())
        .map(str::to_string);
    let created = row
        .created_at
        .clone()
        .unwrap_or_else(|| fallback_time.to_string());
    Ok(OAuthClient {
        id: row.id.clone(),
        name: row.name.clone().unwrap_or_else(|| row.client_id.clone()),
        client_id: row.client_id.clone(),
        client_secret_hash,
        redirect_uris: row.redirect_uris.clone(),
        disabled: row.disabled,
        updated_at: row.updated_at.clone().unwrap_or_else(|| created.clone()),
        created_at: created,
        scopes: row.scopes.clone().filter(|s| !s.is_empty()),
        skip_consent: row.skip_consent,
        enable_end_session: row.enable_end_session,
        public: row.public,
        token_endpoint_auth_method: row.token_endpoint_auth_method.clone(),
        grant_types: row.grant_types.clone().unwrap_or_default(),
        post_logout_redirect_uris: post_logout,
        require_pkce: None,
        client_type: row.client_type.clone(),
        owner_user_id: row.user_id.clone(),
        id_token_signed_response_alg: id_token_alg,
        client_secret_expires_at: row.client_secret_expires_at.filter(|at| *at > 0),
        about: ClientAbout {
            uri: row.uri.clone(),
            icon: row.icon.clone(),
            contacts: row.contacts.clone().unwrap_or_default(),
            tos: row.tos.as_ref().and_then(|t| t.first().cloned()),
            policy: row.policy.as_ref().and_then(|p| p.first().cloned()),
            software_id: row.software_id.clone(),
            software_version: row.software_version.clone(),
            software_statement: row.software_statement.clone(),
            metadata,
        },
    })
}

/// A live refresh token of the plugin and the grant it stands for (the plugin keeps no
/// grant: the token's own client, user, scopes and life make it), under the key its hash
/// gives (`moved_refresh_key_of_stored`), so the service holding it refreshes after the
/// move. The grant keeps the consent's id when the client asked for consent.
pub fn refresh_grant(
    row: &SourceRefresh,
    client_key: &str,
    consent: Option<&Consent>,
    fallback_time: &str,
) -> Result<(Grant, String, RefreshToken), Refusal> {
    let key = moved_refresh_key_of_stored(&row.token)
        .ok_or_else(|| format!("refresh token {}: not the plugin's hashed form", row.id))?;
    let created = row
        .created_at
        .clone()
        .unwrap_or_else(|| fallback_time.to_string());
    let consent_id = consent.map(|c| c.id.clone());
    let grant = Grant {
        id: row.id.clone(),
        client_id: row.client_id.clone(),
        client_key: client_key.to_string(),
        user_id: row.user_id.clone(),
        session_id: None,
        scopes: row.scopes.clone(),
        consent_id: consent_id.clone(),
        auth_time: None,
        created_at: created.clone(),
        expires_at: row.expires_at.clone(),
        revoked_at: None,
    };
    let token = RefreshToken {
        grant_id: row.id.clone(),
        client_id: row.client_id.clone(),
        client_key: client_key.to_string(),
        consent_id,
        user_id: row.user_id.clone(),
        scopes: row.scopes.clone(),
        created_at: created,
        expires_at: row.expires_at.clone(),
        rotated_at: None,
    };
    Ok((grant, key, token))
}

/// A consent (the plugin keeps its scopes space-separated).
pub fn consent(row: &SourceConsent, fallback_time: &str) -> Consent {
    let scopes = match serde_json::from_str::<Vec<String>>(&row.scopes) {
        Ok(list) => list,
        Err(_) => row
            .scopes
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let created = row
        .created_at
        .clone()
        .unwrap_or_else(|| fallback_time.to_string());
    Consent {
        id: row.id.clone(),
        client_id: row.client_id.clone(),
        user_id: row.user_id.clone(),
        scopes,
        updated_at: row.updated_at.clone().unwrap_or_else(|| created.clone()),
        created_at: created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by BetterAuth 1.5.4's `symmetricEncrypt({ key: "better-auth-secret-0123456789abcdef", data: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" })`.
    const SEALED_BY_BETTER_AUTH: &str =
        include_str!("../../tests/fixtures/better-auth-encrypted.txt");

    #[test]
    fn what_better_auth_encrypted_opens_with_its_secret_only() {
        let sealed = SEALED_BY_BETTER_AUTH.trim();
        let secret = "better-auth-secret-0123456789abcdef".to_string();
        assert_eq!(
            better_auth_decrypt(std::slice::from_ref(&secret), sealed).as_deref(),
            Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        );
        assert_eq!(
            better_auth_decrypt(
                &["another-secret".to_string(), secret.clone()],
                &format!("$ba$2${sealed}")
            )
            .as_deref(),
            Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
            "the rotation envelope, any known secret"
        );
        assert_eq!(
            better_auth_decrypt(&["another-secret".to_string()], sealed),
            None
        );
        assert_eq!(better_auth_decrypt(&[secret], "zz"), None);
    }

    #[test]
    fn the_plugins_hashes_become_ours() {
        use sha2::Digest;
        let secret = "prosody-client-secret";
        let stored = data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(secret));
        let row = SourceClient {
            id: "c1".into(),
            client_id: "prosody".into(),
            client_secret: Some(stored),
            redirect_uris: vec!["https://xmpp.example.org/callback".into()],
            ..SourceClient::default()
        };
        let client = client(&[], &row, "2026-01-01T00:00:00.000Z").unwrap();
        assert_eq!(
            client.client_secret_hash,
            portal_domain::crypto::sha256_hex(secret.as_bytes())
        );
        let refused = SourceClient {
            redirect_uris: vec!["javascript:alert(1)".into()],
            ..row.clone()
        };
        assert!(client_fn_error(&refused).contains("redirect URI"));

        let token = "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEf";
        let refresh = SourceRefresh {
            id: "r1".into(),
            token: data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(token)),
            client_id: "prosody".into(),
            user_id: "u1".into(),
            scopes: vec!["openid".into(), "offline_access".into()],
            created_at: None,
            expires_at: "2027-01-01T00:00:00.000Z".into(),
        };
        let (grant, key, stored) =
            refresh_grant(&refresh, "c1", None, "2026-01-01T00:00:00.000Z").unwrap();
        assert_eq!(
            key,
            portal_domain::store::oauth::moved_refresh_key(token),
            "found by the token a service holds"
        );
        assert_eq!(
            (
                grant.id.as_str(),
                stored.grant_id.as_str(),
                stored.client_key.as_str()
            ),
            ("r1", "r1", "c1")
        );
        let broken = SourceRefresh {
            token: "not-a-hash".into(),
            ..refresh
        };
        assert!(refresh_grant(&broken, "c1", None, "x").is_err());
    }

    fn client_fn_error(row: &SourceClient) -> String {
        client(&[], row, "2026-01-01T00:00:00.000Z").unwrap_err()
    }

    #[test]
    fn service_rows_become_our_accounts_or_are_refused() {
        let row = |integration: &'static str, status: &str, fields: &[(&'static str, &str)]| {
            SourceService {
                integration,
                id: "a1".into(),
                user_id: "u1".into(),
                status: status.into(),
                created_at: "2026-01-01T00:00:00.000Z".into(),
                updated_at: "2026-01-01T00:00:00.000Z".into(),
                metadata: Some(r#"{"note": "founder"}"#.into()),
                fields: fields
                    .iter()
                    .map(|(k, v)| (*k, Some(v.to_string())))
                    .collect(),
            }
        };
        let irc = service_account(&row(
            "irc",
            "active",
            &[
                ("nick", "Dave"),
                ("server", "irc.example.org"),
                ("port", "6697"),
            ],
        ))
        .unwrap();
        assert_eq!(
            (irc.username.as_str(), irc.data["port"].as_u64()),
            ("dave", Some(6697))
        );
        assert_eq!(irc.metadata, Some(json!({"note": "founder"})));
        let wiki = service_account(&row(
            "mediawiki",
            "pending",
            &[("wiki_username", "Dave"), ("wiki_user_id", "42")],
        ))
        .unwrap();
        assert_eq!(
            (wiki.data["username"].as_str(), wiki.data["userId"].as_i64()),
            (Some("Dave"), Some(42))
        );
        let mail = service_account(&row(
            "mailcow",
            "suspended",
            &[
                ("email", "Dave@atl.tools"),
                ("domain", "atl.tools"),
                ("local_part", "dave"),
            ],
        ))
        .unwrap();
        assert_eq!(mail.username, "dave@atl.tools");
        assert!(
            service_account(&row(
                "xmpp",
                "frozen",
                &[("username", "dave"), ("jid", "dave@atl.chat")]
            ))
            .unwrap_err()
            .contains("status")
        );
        assert!(
            service_account(&row("xmpp", "active", &[]))
                .unwrap_err()
                .contains("no name")
        );
    }

    #[test]
    fn roles_and_names_portal_refuses_are_reported() {
        assert_eq!(role(Some("admin,user")), Ok(Role::Admin));
        assert_eq!(role(None), Ok(Role::User));
        assert!(role(Some("superuser")).is_err());
        let row = SourceUser {
            id: "a".repeat(32),
            name: "A".into(),
            email: "A@Example.org".into(),
            email_verified: true,
            image: None,
            username: Some("1abc".into()),
            display_username: None,
            two_factor_enabled: false,
            role: None,
            banned: false,
            ban_reason: None,
            ban_expires: None,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
        };
        assert!(user(&row).unwrap_err().contains("username"));
        let fine = SourceUser {
            username: Some("alice".into()),
            display_username: Some("Alice".into()),
            ..row.clone()
        };
        let made = user(&fine).unwrap();
        assert_eq!(
            (
                made.email.as_str(),
                made.username.as_deref(),
                made.display_username.as_deref()
            ),
            ("a@example.org", Some("alice"), Some("Alice"))
        );
        let uuid = SourceUser {
            id: "0b8c5d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e".into(),
            ..fine
        };
        assert!(user(&uuid).unwrap_err().contains("id"));
    }
}
