//! The auth secret as ONE keyring: what signs (cookies, links), seals (tokens the protocol
//! must hand back, cursors) and keys hashes (codes, refused identifiers) uses the current
//! secret; what verifies and opens accepts the current one and, during a rotation
//! (`BETTER_AUTH_SECRET_PREVIOUS`), the one before it. Nothing signs or seals with the
//! previous secret.

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{Config, ExposeSecret};
use crate::crypto::{hmac, random_alphanumeric};

/// Cheap to clone (one reference count).
#[derive(Clone)]
pub struct Keyring(Arc<Keys>);

struct Keys {
    /// Current first, then the previous one.
    secrets: Vec<Secret>,
}

struct Secret {
    raw: String,
    cipher: ChaCha20Poly1305,
}

impl Secret {
    fn new(raw: &str) -> Self {
        let key = hkdf::Hkdf::<Sha256>::new(Some(b"portal-seal-v1"), raw.as_bytes());
        let mut okm = [0u8; 32];
        key.expand(b"sealed tokens", &mut okm)
            .expect("32 bytes is a valid HKDF length");
        Self {
            raw: raw.to_string(),
            cipher: ChaCha20Poly1305::new(&Key::from(okm)),
        }
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring({} secrets)", self.0.secrets.len())
    }
}

impl Keyring {
    /// Signs and seals with `secret`; verifies and opens what `secret` or `previous` made.
    pub fn new(secret: &str, previous: Option<&str>) -> Self {
        let secrets = std::iter::once(secret)
            .chain(previous)
            .map(Secret::new)
            .collect();
        Self(Arc::new(Keys { secrets }))
    }

    /// The configured auth secret (and its predecessor); for a function that authenticates
    /// nobody, a secret of this process only, so nothing it could sign would be accepted
    /// anywhere else.
    pub fn from_config(config: &Config) -> Self {
        match &config.auth {
            Some(auth) => Self::new(
                auth.secret.expose_secret(),
                auth.previous_secret
                    .as_ref()
                    .map(ExposeSecret::expose_secret),
            ),
            None => Self::new(&random_alphanumeric(48), None),
        }
    }

    fn current(&self) -> &Secret {
        &self.0.secrets[0]
    }

    /// base64 (standard, padded) HMAC-SHA-256 of `value`: BetterAuth's cookie signature.
    pub fn sign(&self, value: &str) -> String {
        BASE64.encode(&hmac(self.current().raw.as_bytes(), value.as_bytes()))
    }

    /// Whether `signature` is [`Keyring::sign`] of `value` under an accepted secret
    /// (constant time).
    pub fn verify(&self, value: &str, signature: &str) -> bool {
        if signature.len() != 44 || !signature.ends_with('=') {
            return false;
        }
        let Ok(given) = BASE64.decode(signature.as_bytes()) else {
            return false;
        };
        self.0.secrets.iter().any(|secret| {
            let expected = hmac(secret.raw.as_bytes(), value.as_bytes());
            bool::from(given.ct_eq(&expected))
        })
    }

    /// base64url (no padding) HMAC-SHA-256 of `message` under the current secret (HS256
    /// links, keyed hashes of identifiers).
    pub fn mac(&self, message: &str) -> String {
        self.macs(message).next().unwrap_or_default()
    }

    /// [`Keyring::mac`] under each accepted secret, current first.
    pub fn macs<'a>(&'a self, message: &'a str) -> impl Iterator<Item = String> + 'a {
        self.0.secrets.iter().map(move |secret| {
            BASE64URL_NOPAD.encode(&hmac(secret.raw.as_bytes(), message.as_bytes()))
        })
    }

    /// The keyed hashes of `message` under a key derived for `purpose` from each accepted
    /// secret, current first: what is stored is the first; what is looked up, any.
    pub fn derived_macs(&self, purpose: &str, message: &str) -> Vec<String> {
        self.macs(purpose)
            .map(|key| BASE64URL_NOPAD.encode(&hmac(key.as_bytes(), message.as_bytes())))
            .collect()
    }

    /// `base64url(nonce || ciphertext)` (ChaCha20-Poly1305) under the current secret, so a
    /// dump of the table alone yields no usable credential.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let sealed = self
            .current()
            .cipher
            .encrypt(&Nonce::from(nonce_bytes), plaintext.as_bytes())
            .expect("encryption of a short token cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend(sealed);
        BASE64URL_NOPAD.encode(&out)
    }

    /// What [`Keyring::seal`] made under an accepted secret.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = BASE64URL_NOPAD.decode(sealed.as_bytes()).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce = Nonce::try_from(nonce).ok()?;
        let plain = self
            .0
            .secrets
            .iter()
            .find_map(|secret| secret.cipher.decrypt(&nonce, ciphertext).ok())?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_keeps_what_the_previous_secret_made_and_makes_nothing_with_it() {
        let old = Keyring::new("secret-a", None);
        let rotated = Keyring::new("secret-b", Some("secret-a"));
        // Signatures: the old one verifies, new ones are the new secret's alone.
        let signature = old.sign("token");
        assert!(rotated.verify("token", &signature));
        assert!(!old.verify("token", &rotated.sign("token")));
        assert_eq!(
            rotated.sign("token"),
            Keyring::new("secret-b", None).sign("token")
        );
        // Keyed hashes: stored under the new secret, the old one still found.
        let hashes = rotated.derived_macs("codes", "u1:123456");
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[1], old.derived_macs("codes", "u1:123456")[0]);
        assert_eq!(rotated.mac("x"), Keyring::new("secret-b", None).mac("x"));
        // After the grace period the old signature no longer verifies.
        assert!(!Keyring::new("secret-b", None).verify("token", &signature));
    }

    #[test]
    fn a_function_without_the_auth_section_signs_with_a_secret_of_its_own() {
        let mut config = Config::for_tests("t");
        config.auth = None;
        let a = Keyring::from_config(&config);
        let b = Keyring::from_config(&config);
        assert!(!b.verify("token", &a.sign("token")));
        assert!(
            !Keyring::new(crate::config::DEVELOPMENT_SECRET, None)
                .verify("token", &a.sign("token"))
        );
    }
}
