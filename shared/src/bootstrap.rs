//! Operator actions shared by the local gateway and the admin CLI.

use crate::crypto::{PasswordLength, check_password_length, hash_password, new_id};
use crate::model::{Role, User};
use crate::store::Db;
use crate::store::users::CreateUserError;
use crate::time::{iso, now};

/// Creates the admin `email` with `password`, or, when the account exists, sets its
/// password and makes it an admin. Idempotent.
pub async fn ensure_admin(db: &Db, email: &str, password: &str) -> Result<User, String> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') {
        return Err(format!("`{email}` is not an e-mail address"));
    }
    match check_password_length(password) {
        PasswordLength::Ok => {}
        PasswordLength::TooShort => {
            return Err("the password must have at least 8 characters".into());
        }
        PasswordLength::TooLong => {
            return Err("the password must have at most 128 characters".into());
        }
    }
    let hash = hash_password(password.to_string()).await;
    let at = iso(now());
    let users = db.users();
    if let Some((user, _)) = users
        .find_by_email(&email)
        .await
        .map_err(|e| e.to_string())?
    {
        users
            .set_password(&user.id, &hash, &at)
            .await
            .map_err(|e| e.to_string())?;
        let updated = users
            .update(&user.id, &at, |u| {
                u.role = Role::Admin;
                u.email_verified = true;
            })
            .await
            .map_err(|e| e.to_string())?;
        return updated.ok_or_else(|| "the account vanished while being updated".to_string());
    }
    let user = User {
        id: new_id(),
        name: email.split('@').next().unwrap_or("admin").to_string(),
        email,
        email_verified: true,
        image: None,
        role: Role::Admin,
        banned: false,
        ban_reason: None,
        ban_expires: None,
        created_at: at.clone(),
        updated_at: at,
    };
    match users.create(user, Some(hash)).await {
        Ok(user) => Ok(user),
        Err(CreateUserError::EmailTaken) => {
            Err("the e-mail was claimed concurrently; run again".into())
        }
        Err(CreateUserError::Store(e)) => Err(e.to_string()),
    }
}
