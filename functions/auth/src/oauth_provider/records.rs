//! What a token is stored under (a hash of the secret, its kind in front) and what the
//! standard claims say about a user: shared by the token endpoint, which issues, and the
//! resource endpoints, which check.

use portal_domain::model::User;
use portal_domain::store::StoreError;
use portal_domain::store::oauth::{OAuth, RefreshToken, moved_refresh_key, secret_key};
use serde_json::{Map, Value, json};

/// The record key of an opaque access token.
pub fn opaque_access_key(token: &str) -> String {
    secret_key("access", token)
}

/// The record key of a JWT access token (its `jti`).
pub fn jwt_access_key(jti: &str) -> String {
    secret_key("jti", jti)
}

pub fn refresh_key(token: &str) -> String {
    secret_key("refresh", token)
}

/// The refresh token `presented` names, with the key it is stored under: ours, or (one
/// read more, only when ours finds nothing) one the oauth-provider plugin issued before the
/// move (`moved_refresh_key`). Every endpoint that takes a refresh token finds it here.
pub async fn find_refresh(
    store: &OAuth<'_>,
    presented: &str,
) -> Result<Option<(String, RefreshToken)>, StoreError> {
    let key = refresh_key(presented);
    if let Some(token) = store.refresh_token(&key).await? {
        return Ok(Some((key, token)));
    }
    let moved = moved_refresh_key(presented);
    Ok(store
        .refresh_token(&moved)
        .await?
        .map(|token| (moved, token)))
}

/// The OpenID Connect standard claims the scopes allow (the plugin's `userNormalClaims`).
pub fn user_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    if scopes.iter().any(|s| s == "profile") {
        claims.insert("name".into(), json!(user.name));
        if let Some(image) = &user.image {
            claims.insert("picture".into(), json!(image));
        }
        let parts: Vec<&str> = user.name.split(' ').filter(|p| !p.is_empty()).collect();
        if parts.len() > 1 {
            claims.insert(
                "given_name".into(),
                json!(parts[..parts.len() - 1].join(" ")),
            );
            claims.insert("family_name".into(), json!(parts[parts.len() - 1]));
        }
    }
    if scopes.iter().any(|s| s == "email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    claims
}
