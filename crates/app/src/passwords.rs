//! Passwords (argon2id) and secret tokens: how they are made, hashed and checked. Used by
//! the web login, the admin's pages, provisioning and the CLI alike.

use crate::error::{Error, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2: {e}")))
}

/// Hashing takes ~50 ms of CPU: off the async threads.
pub async fn hash_password_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| Error::Internal(format!("password hashing task: {e}")))?
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the user does not exist, so both cases cost the same time.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("kein-benutzer-vorhanden").unwrap_or_default())
}

/// The password rules of `domain::user`, as an input error on the field `password`.
pub fn check_password_rules(password: &str, username: &str) -> Result<()> {
    domain::user::check_password(password, username).map_err(|m| Error::invalid("password", m))
}

/// 32 random bytes, URL-safe: session tokens, API tokens, one-time passwords.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How tokens are stored: only their SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("richtig-langes-passwort").expect("hash");
        let b = hash_password("richtig-langes-passwort").expect("hash");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("richtig-langes-passwort", &a));
        assert!(!verify_password("falsch", &a));
        assert!(!verify_password("x", "kein hash"));
        assert_eq!(token_hash("abc").len(), 64);
        assert_ne!(new_token(), new_token());
    }
}
