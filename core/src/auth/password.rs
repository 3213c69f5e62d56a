//! The admin password: Argon2id (the crate's defaults: m=19 MiB, t=2, p=1) in PHC string form,
//! salted from the Entropy port.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::ports::Entropy;

/// Shortest password accepted when one is set.
pub const MIN_PASSWORD_LEN: usize = 8;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PasswordError {
    #[error("{0}")]
    Entropy(#[from] crate::ports::EntropyError),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// The PHC string (`$argon2id$v=19$...`) of `password`.
pub fn hash_password(password: &str, entropy: &dyn Entropy) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    entropy.fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (false for an unreadable one).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::ports::entropy::OsEntropy;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = hash_password("correct horse", &OsEntropy).unwrap();
        let b = hash_password("correct horse", &OsEntropy).unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong horse", &a));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
