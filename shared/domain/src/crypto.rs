//! Secrets: random tokens, hashes of stored secrets, and password hashing (what is signed
//! or sealed with the auth secret goes through [`crate::keyring`]).
//!
//! Passwords are argon2id with OWASP's minimum (m = 19 MiB, t = 2, p = 1), hashed on the
//! blocking pool. Hashes made by BetterAuth's Node server (`<salt hex>:<scrypt key hex>`)
//! still verify; the caller rehashes them with argon2id on the next successful sign-in.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Params, Version};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER, HEXLOWER_PERMISSIVE};
use hmac::KeyInit;
use hmac::{Hmac, Mac};
use rand::RngExt;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

type HmacSha256 = Hmac<Sha256>;

/// Shortest and longest accepted password, in UTF-16 code units as BetterAuth counts.
pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 128;

/// `n` random characters from `[A-Za-z0-9]`.
pub fn random_alphanumeric(n: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// `n` random ASCII letters (BetterAuth's API key alphabet).
pub fn random_letters(n: usize) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| LETTERS[rng.random_range(0..LETTERS.len())] as char)
        .collect()
}

/// `n` random decimal digits (e-mailed codes).
pub fn random_digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A new 32-character id (users, accounts, ...).
pub fn new_id() -> String {
    random_alphanumeric(32)
}

/// Lower-case hex SHA-256: the form in which secrets are stored and looked up.
pub fn sha256_hex(data: &[u8]) -> String {
    HEXLOWER.encode(&Sha256::digest(data))
}

/// base64url (no padding) SHA-256, as BetterAuth's api-key plugin stores `key`.
pub fn sha256_b64url(data: &[u8]) -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(data))
}

pub(crate) fn hmac(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Length as JavaScript counts it (UTF-16 code units), which is what BetterAuth checks.
pub fn js_length(s: &str) -> usize {
    s.encode_utf16().count()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordLength {
    Ok,
    TooShort,
    TooLong,
}

/// Checked before any hashing, so a megabyte "password" costs nothing.
pub fn check_password_length(password: &str) -> PasswordLength {
    match js_length(password) {
        n if n < MIN_PASSWORD_LEN => PasswordLength::TooShort,
        n if n > MAX_PASSWORD_LEN => PasswordLength::TooLong,
        _ => PasswordLength::Ok,
    }
}

fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("OWASP parameters are valid"),
    )
}

/// What verifying a stored hash found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Wrong password (or an unreadable hash).
    No,
    /// Right password, hash is current.
    Yes,
    /// Right password, hash is a legacy one: store a new argon2id hash.
    YesRehash,
}

/// argon2id PHC string. Blocking, and allocates its own 19 MiB: requests go through
/// [`hash_password`] (a hashing thread's reused memory); this is for tools and tests.
pub fn hash_password_blocking(password: &str) -> String {
    hash_with(password, &mut crate::hashing::Memory::new())
}

/// `memory` grown to what `hasher`'s parameters need (kept at that size for the next hash).
fn blocks_for<'m>(
    hasher: &Argon2<'_>,
    memory: &'m mut crate::hashing::Memory,
) -> &'m mut [argon2::Block] {
    let needed = hasher.params().block_count();
    if memory.len() < needed {
        memory.resize(needed, argon2::Block::default());
    }
    &mut memory[..needed]
}

/// argon2id PHC string, computed in `memory`.
fn hash_with(password: &str, memory: &mut crate::hashing::Memory) -> String {
    let hasher = argon2();
    let salt = Salt::generate();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hasher
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut out,
            blocks_for(&hasher, memory),
        )
        .expect("argon2 hashing with valid parameters cannot fail");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(hasher.params()).expect("the parameters format"),
        salt: Some(salt),
        hash: Some(Output::new(&out).expect("a 32-byte output")),
    }
    .to_string()
}

/// Verifies against an argon2 PHC string or a BetterAuth scrypt `salt:key`. Blocking; see
/// [`hash_password_blocking`].
pub fn verify_password_blocking(password: &str, stored: &str) -> Verified {
    verify_with(password, stored, &mut crate::hashing::Memory::new())
}

/// [`verify_password_blocking`], computing an argon2 hash in `memory`.
fn verify_with(password: &str, stored: &str, memory: &mut crate::hashing::Memory) -> Verified {
    if stored.starts_with("$argon2") {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verified::No;
        };
        let (Ok(algorithm), Ok(params), Some(expected), Some(salt)) = (
            Algorithm::try_from(parsed.algorithm.as_str()),
            Params::try_from(&parsed),
            parsed.hash,
            parsed.salt,
        ) else {
            return Verified::No;
        };
        let version = parsed
            .version
            .and_then(|v| Version::try_from(v).ok())
            .unwrap_or_default();
        let hasher = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        if hasher
            .hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                &mut out,
                blocks_for(&hasher, memory),
            )
            .is_err()
            || !bool::from(out.as_slice().ct_eq(expected.as_bytes()))
        {
            return Verified::No;
        }
        let current = parsed.algorithm.as_str() == "argon2id"
            && parsed.params.get_decimal("m") == Some(19 * 1024)
            && parsed.params.get_decimal("t") == Some(2);
        return if current {
            Verified::Yes
        } else {
            Verified::YesRehash
        };
    }
    if verify_legacy_scrypt(password, stored) {
        Verified::YesRehash
    } else {
        Verified::No
    }
}

/// BetterAuth's format: salt = 32 lowercase hex chars, used as its UTF-8 bytes; key =
/// scrypt(NFKC(password), salt, N=16384, r=16, p=1, 64 bytes) as 128 hex chars.
fn verify_legacy_scrypt(password: &str, stored: &str) -> bool {
    let Some((salt, key_hex)) = stored.split_once(':') else {
        return false;
    };
    let Ok(expected) = HEXLOWER_PERMISSIVE.decode(key_hex.as_bytes()) else {
        return false;
    };
    if expected.len() != 64 {
        return false;
    }
    let Ok(params) = scrypt::Params::new(14, 16, 1) else {
        return false;
    };
    let normalized: String = password.nfkc().collect();
    let mut derived = [0u8; 64];
    if scrypt::scrypt(
        normalized.as_bytes(),
        salt.as_bytes(),
        &params,
        &mut derived,
    )
    .is_err()
    {
        return false;
    }
    derived.ct_eq(&expected).into()
}

/// A hash that no password matches, verified for unknown accounts so that the answer
/// takes as long as for a known one.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password_blocking(&random_alphanumeric(32)))
}

/// Hashes on a password-hashing thread, in its reused memory ([`crate::hashing`]).
pub async fn hash_password(password: String) -> String {
    crate::hashing::run(move |memory| hash_with(&password, memory)).await
}

/// Verifies on a password-hashing thread. `stored = None` verifies the dummy hash (and
/// fails).
pub async fn verify_password(password: String, stored: Option<String>) -> Verified {
    crate::hashing::run(move |memory| match stored {
        Some(hash) => verify_with(&password, &hash, memory),
        None => {
            let _ = verify_with(&password, dummy_hash(), memory);
            Verified::No
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::Keyring;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_made_in_reused_memory_match_the_reference_implementation() {
        let mut memory = crate::hashing::Memory::new();
        let ours = hash_with("correct horse", &mut memory);
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2().verify_password(b"correct horse", &parsed).is_ok());
        assert!(argon2().verify_password(b"correct horsf", &parsed).is_err());
        let theirs = argon2()
            .hash_password(b"battery staple")
            .unwrap()
            .to_string();
        assert_eq!(
            verify_with("battery staple", &theirs, &mut memory),
            Verified::Yes
        );
        assert_eq!(
            verify_with("battery stapler", &theirs, &mut memory),
            Verified::No
        );
        // Weaker parameters verify in the same memory and ask for a new hash.
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"weak-but-right")
        .unwrap()
        .to_string();
        assert_eq!(
            verify_with("weak-but-right", &weak, &mut memory),
            Verified::YesRehash
        );
        assert_eq!(
            verify_with("weak-but-wrong", &weak, &mut memory),
            Verified::No
        );
        // The area stays at the largest size asked for, for the next hash.
        assert_eq!(memory.len(), 19 * 1024);
    }

    /// Made by the previous RustCrypto generation (argon2 0.5, chacha20poly1305 0.10,
    /// hmac 0.12): what is stored today keeps verifying, opening and matching.
    #[test]
    fn values_made_by_the_previous_crypto_generation_still_verify() {
        let stored = "$argon2id$v=19$m=19456,t=2,p=1$LOdJQJZHfYEzlNnDugrxpQ$sXw0eEmJ5pp8OQQCEY7VfVrXxXHgqzXfsytqv9A2aDQ";
        assert_eq!(
            verify_password_blocking("correct horse battery staple", stored),
            Verified::Yes
        );
        assert_eq!(
            verify_password_blocking("correct horse battery stapler", stored),
            Verified::No
        );
        let sealed = "BwcHBwcHBwcHBwcHmzPabVwsJwCjz5JhROtLgQQiHqux03UTLUMuXaa0BaUuY60j";
        assert_eq!(
            Keyring::new("vector-secret", None).open(sealed).as_deref(),
            Some("token-sealed-by-0.10")
        );
        let signature = "bQZOmKyhgla4x93tRXNCBDTWGx/PUhieO7kvwbCcRgI=";
        assert_eq!(
            Keyring::new("vector-secret", None).sign("session-token-value"),
            signature
        );
        assert!(Keyring::new("vector-secret", None).verify("session-token-value", signature));
        if std::env::var_os("PORTAL_PRINT_CRYPTO_VECTORS").is_some() {
            println!(
                "hash: {}",
                hash_password_blocking("made by the new generation")
            );
            println!(
                "sealed: {}",
                Keyring::new("vector-secret", None).seal("token-sealed-by-0.11")
            );
        }
    }

    #[test]
    fn argon2id_round_trip_with_owasp_parameters() {
        let hash = hash_password_blocking("correct horse battery");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            verify_password_blocking("correct horse battery", &hash),
            Verified::Yes
        );
        assert_eq!(
            verify_password_blocking("wrong horse battery", &hash),
            Verified::No
        );
    }

    #[test]
    fn weaker_argon2_hashes_verify_and_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password(b"password123")
        .unwrap()
        .to_string();
        assert_eq!(
            verify_password_blocking("password123", &weak),
            Verified::YesRehash
        );
    }

    #[test]
    fn password_length_is_counted_in_utf16_units() {
        assert_eq!(check_password_length("1234567"), PasswordLength::TooShort);
        assert_eq!(check_password_length("12345678"), PasswordLength::Ok);
        assert_eq!(check_password_length(&"a".repeat(128)), PasswordLength::Ok);
        assert_eq!(
            check_password_length(&"a".repeat(129)),
            PasswordLength::TooLong
        );
        // 4 emoji are 8 UTF-16 units: long enough for BetterAuth, so for us.
        assert_eq!(check_password_length("😀😀😀😀"), PasswordLength::Ok);
    }

    #[test]
    fn after_a_rotation_old_sealed_values_open_and_new_ones_use_the_new_secret() {
        let old = Keyring::new("secret-a", None);
        let sealed_before = old.seal("token-1");
        let rotated = Keyring::new("secret-b", Some("secret-a"));
        assert_eq!(rotated.open(&sealed_before).as_deref(), Some("token-1"));
        let sealed_after = rotated.seal("token-2");
        assert_eq!(old.open(&sealed_after), None);
        assert_eq!(
            Keyring::new("secret-b", None)
                .open(&sealed_after)
                .as_deref(),
            Some("token-2")
        );
        // The grace period over (no previous secret): the old value no longer opens.
        assert_eq!(Keyring::new("secret-b", None).open(&sealed_before), None);
    }

    #[test]
    fn sealed_tokens_open_only_with_the_same_secret() {
        let a = Keyring::new("secret-a", None);
        let sealed = a.seal("tok123");
        assert_ne!(sealed, a.seal("tok123"), "a fresh nonce each time");
        assert_eq!(a.open(&sealed).as_deref(), Some("tok123"));
        assert_eq!(Keyring::new("secret-b", None).open(&sealed), None);
        assert_eq!(a.open("garbage"), None);
    }

    #[test]
    fn random_tokens_have_the_documented_alphabets() {
        let t = random_alphanumeric(32);
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric()));
        let k = random_letters(64);
        assert!(k.chars().all(|c| c.is_ascii_alphabetic()));
    }
}
