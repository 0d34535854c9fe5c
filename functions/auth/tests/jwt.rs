//! BetterAuth's jwt plugin as Portal enables it: `/jwks` and `/token`, a JWT any service
//! can verify with the published key.

mod common;

use common::{TestAuth, h};
use data_encoding::BASE64URL_NOPAD;
use openssl::pkey::{Id, PKey};
use openssl::sign::Verifier;
use serde_json::{Value, json};

fn part(token: &str, n: usize) -> Value {
    let piece = token.split('.').nth(n).unwrap();
    serde_json::from_slice(&BASE64URL_NOPAD.decode(piece.as_bytes()).unwrap()).unwrap()
}

#[tokio::test]
async fn a_token_verifies_with_the_published_key() {
    let t = TestAuth::new(|_| {}).await;
    let b = t.sign_up("service-user@example.org").await;

    let res = t.send("GET", "/api/auth/jwks", &[], None).await;
    assert_eq!(res.status, 200);
    let keys = res.json()["keys"].clone();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    let key = &keys[0];
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["kty"], "OKP");
    assert!(key.get("d").is_none(), "never the private half");
    let again = t.send("GET", "/api/auth/jwks", &[], None).await.json();
    assert_eq!(again["keys"], keys, "one key, made once");

    let res = t
        .send("GET", "/api/auth/token", &h(&b.headers()), None)
        .await;
    assert_eq!(res.status, 200);
    let token = res.json()["token"].as_str().unwrap().to_string();
    let header = part(&token, 0);
    assert_eq!(header, json!({"alg": "EdDSA", "kid": key["kid"]}));
    let claims = part(&token, 1);
    assert_eq!(claims["sub"], b.user["id"]);
    assert_eq!(claims["email"], "service-user@example.org");
    assert_eq!(claims["iss"], "http://localhost:3000");
    assert_eq!(claims["aud"], "http://localhost:3000");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );

    // Verified as any relying party would: the signature over `header.payload`.
    let x = BASE64URL_NOPAD
        .decode(key["x"].as_str().unwrap().as_bytes())
        .unwrap();
    let public = PKey::public_key_from_raw_bytes(&x, Id::ED25519).unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let signature = BASE64URL_NOPAD.decode(signature.as_bytes()).unwrap();
    let mut verifier = Verifier::new_without_digest(&public).unwrap();
    assert!(
        verifier
            .verify_oneshot(&signature, signed.as_bytes())
            .unwrap()
    );
    let mut tampered = signed.to_string();
    tampered.push('x');
    let mut verifier = Verifier::new_without_digest(&public).unwrap();
    assert!(
        !verifier
            .verify_oneshot(&signature, tampered.as_bytes())
            .unwrap()
    );

    // The private key is kept sealed.
    let dump = t.table_dump().await;
    assert!(dump.contains("JWKS"));
    assert!(!dump.contains("\\\"d\\\""), "no private JWK in the table");

    let res = t.send("GET", "/api/auth/token", &[], None).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["code"], "UNAUTHORIZED");
}
