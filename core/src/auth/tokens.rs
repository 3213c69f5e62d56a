//! Secrets the gateway mints: API keys, session tokens and ids from the Entropy port; their
//! SHA-256 hashes (what is stored) and a constant-time comparison of hashes.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ports::{Entropy, EntropyError};

/// Every gateway API key starts with this, so leaked keys are recognisable (and scannable).
pub const API_KEY_PREFIX: &str = "sk-omni-";
/// How much of a key lists show: the prefix and a few characters.
pub const SHOWN_PREFIX_LEN: usize = API_KEY_PREFIX.len() + 6;

fn random_hex(entropy: &dyn Entropy, bytes: usize) -> Result<String, EntropyError> {
    let mut buf = vec![0u8; bytes];
    entropy.fill(&mut buf)?;
    Ok(hex::encode(buf))
}

/// A new API key: the prefix and 256 random bits.
pub fn new_api_key(entropy: &dyn Entropy) -> Result<String, EntropyError> {
    Ok(format!("{API_KEY_PREFIX}{}", random_hex(entropy, 32)?))
}

/// A new session token (256 random bits).
pub fn new_session_token(entropy: &dyn Entropy) -> Result<String, EntropyError> {
    random_hex(entropy, 32)
}

/// A new short id with a type prefix (`key_3f9a…`).
pub fn new_id(entropy: &dyn Entropy, prefix: &str) -> Result<String, EntropyError> {
    Ok(format!("{prefix}_{}", random_hex(entropy, 8)?))
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Equal hashes, compared without an early exit.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::ports::entropy::OsEntropy;

    #[test]
    fn keys_are_long_random_and_prefixed() {
        let a = new_api_key(&OsEntropy).unwrap();
        let b = new_api_key(&OsEntropy).unwrap();
        assert!(a.starts_with(API_KEY_PREFIX) && a.len() == API_KEY_PREFIX.len() + 64);
        assert_ne!(a, b);
        assert!(hashes_equal(&sha256_hex(&a), &sha256_hex(&a)));
        assert!(!hashes_equal(&sha256_hex(&a), &sha256_hex(&b)));
        assert!(new_id(&OsEntropy, "key").unwrap().starts_with("key_"));
    }
}
