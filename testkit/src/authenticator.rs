//! A software passkey authenticator (P-256, attestation "none"), standing in for a
//! browser and its platform authenticator: it answers the JSON options the passkey
//! endpoints give with the JSON `@simplewebauthn/browser` would send, signed for real.
//! Everything a test may want to get wrong is a field: the origin the "browser" reports,
//! the relying party it hashes, the signature counter, whether the user was verified.

use data_encoding::BASE64URL_NOPAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One credential on one authenticator.
#[derive(Clone)]
pub struct SoftAuthenticator {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// The user handle the relying party gave at registration.
    pub user_handle: Vec<u8>,
    /// The signature counter it reports next (then increments).
    pub counter: u32,
    /// The relying party id it hashes into its data (normally the options' `rp.id`).
    pub rp_id: String,
    /// Whether it says it verified the user (UV flag).
    pub verifies_user: bool,
}

fn b64(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    BASE64URL_NOPAD
        .decode(text.trim_end_matches('=').as_bytes())
        .expect("base64url from the server")
}

/// `n` (at most 32) random bytes.
fn random(n: usize) -> Vec<u8> {
    Sha256::digest(portal_domain::crypto::random_alphanumeric(43).as_bytes())[..n].to_vec()
}

impl SoftAuthenticator {
    /// A new credential for relying party `rp_id` (not registered anywhere yet).
    pub fn new(rp_id: &str) -> Self {
        let key = loop {
            if let Ok(key) = SigningKey::from_slice(&random(32)) {
                break key;
            }
        };
        Self {
            key,
            credential_id: random(32),
            user_handle: Vec::new(),
            counter: 1,
            rp_id: rp_id.to_string(),
            verifies_user: true,
        }
    }

    /// The credential id as browsers send it (base64url).
    pub fn id(&self) -> String {
        b64(&self.credential_id)
    }

    fn client_data(kind: &str, options: &Value, origin: &str) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": options["challenge"].as_str().expect("a challenge"),
            "origin": origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn auth_data(&mut self, attested: bool) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        // UP, UV, backup eligible and backed up (a synced passkey), AT when attested.
        let mut flags = 0x01 | 0x08 | 0x10;
        if self.verifies_user {
            flags |= 0x04;
        }
        if attested {
            flags |= 0x40;
        }
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        self.counter += 1;
        if attested {
            data.extend([0u8; 16]);
            data.extend((self.credential_id.len() as u16).to_be_bytes());
            data.extend(&self.credential_id);
            data.extend(self.cose_key());
        }
        data
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut map = BTreeMap::new();
        map.insert(Cbor::Integer(1), Cbor::Integer(2));
        map.insert(Cbor::Integer(3), Cbor::Integer(-7));
        map.insert(Cbor::Integer(-1), Cbor::Integer(1));
        map.insert(
            Cbor::Integer(-2),
            Cbor::Bytes(point.x().expect("x").to_vec()),
        );
        map.insert(
            Cbor::Integer(-3),
            Cbor::Bytes(point.y().expect("y").to_vec()),
        );
        serde_cbor_2::to_vec(&Cbor::Map(map)).expect("CBOR")
    }

    /// What `navigator.credentials.create()` answers to these creation options, from a
    /// page at `origin` (the RegistrationResponseJSON the client posts).
    pub fn register(&mut self, options: &Value, origin: &str) -> Value {
        self.user_handle = unb64(options["user"]["id"].as_str().expect("a user handle"));
        let client_data = Self::client_data("webauthn.create", options, origin);
        let auth_data = self.auth_data(true);
        let mut attestation = BTreeMap::new();
        attestation.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
        attestation.insert(Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new()));
        attestation.insert(
            Cbor::Text("authData".into()),
            Cbor::Bytes(auth_data.clone()),
        );
        let attestation = serde_cbor_2::to_vec(&Cbor::Map(attestation)).expect("CBOR");
        let spki = p256::PublicKey::from(self.key.verifying_key())
            .to_public_key_der()
            .expect("SPKI");
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&attestation),
                "authenticatorData": b64(&auth_data),
                "transports": ["internal", "hybrid"],
                "publicKey": b64(spki.as_bytes()),
                "publicKeyAlgorithm": -7,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }

    /// What `navigator.credentials.get()` answers to these request options, from a page
    /// at `origin` (the AuthenticationResponseJSON the client posts).
    pub fn authenticate(&mut self, options: &Value, origin: &str) -> Value {
        let client_data = Self::client_data("webauthn.get", options, origin);
        let auth_data = self.auth_data(false);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }
}
