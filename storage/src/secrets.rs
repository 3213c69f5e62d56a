//! Secrets at rest: provider API keys are sealed with AES-256-GCM under a key derived from
//! `OMNIROUTE_SECRET` (or a random one generated into the data dir on first local run).

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

const PREFIX: &str = "v1:";
const SECRET_FILE: &str = "secret.key";

/// Why a secret could not be sealed or opened. Never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("stored secret cannot be decrypted: OMNIROUTE_SECRET differs from the one it was written with")]
    WrongKey,
    #[error("stored secret is malformed")]
    Malformed,
    #[error("no randomness available: {0}")]
    Random(String),
    #[error("secret key file {path}: {message}")]
    KeyFile { path: String, message: String },
}

/// Seals and opens secrets.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

/// Where the encryption key came from (the server warns about a generated one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    ExistingFile,
    Generated,
}

impl SecretBox {
    /// Derives the key from any passphrase (SHA-256).
    pub fn from_passphrase(passphrase: &str) -> Self {
        let key = Sha256::digest(passphrase.as_bytes());
        // A 32-byte digest is always a valid AES-256 key.
        let cipher = Aes256Gcm::new(&key);
        SecretBox { cipher }
    }

    /// `OMNIROUTE_SECRET` if given; else `data_dir/secret.key`, created (mode 0600) if absent.
    pub fn load_or_generate(env_secret: Option<&str>, data_dir: &Path) -> Result<(Self, KeySource), SecretError> {
        if let Some(secret) = env_secret.filter(|s| !s.is_empty()) {
            return Ok((Self::from_passphrase(secret), KeySource::Environment));
        }
        let path = data_dir.join(SECRET_FILE);
        let key_file_error = |message: String| SecretError::KeyFile { path: path.display().to_string(), message };
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| key_file_error(e.to_string()))?;
            return Ok((Self::from_passphrase(text.trim()), KeySource::ExistingFile));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::create_dir_all(data_dir).map_err(|e| key_file_error(e.to_string()))?;
        write_private(&path, &secret).map_err(|e| key_file_error(e.to_string()))?;
        Ok((Self::from_passphrase(&secret), KeySource::Generated))
    }

    /// `v1:` + base64(nonce ‖ ciphertext).
    pub fn seal(&self, plaintext: &str) -> Result<String, SecretError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| SecretError::Random(e.to_string()))?;
        let sealed =
            self.cipher.encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes()).map_err(|_| SecretError::Malformed)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let raw = sealed.strip_prefix(PREFIX).ok_or(SecretError::Malformed)?;
        let bytes = B64.decode(raw).map_err(|_| SecretError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(SecretError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| SecretError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SecretError::Malformed)
    }
}

/// Creates `path` (which must not exist) readable by its owner only.
#[cfg(unix)]
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    write_private_bytes(path, text.as_bytes())
}

/// Creates `path` (it must not exist) readable by its owner only, holding `data`.
#[cfg(unix)]
pub fn write_private_bytes(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(data)
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(not(unix))]
pub fn write_private_bytes(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_ciphertext_hides_the_key() {
        let secrets = SecretBox::from_passphrase("pass");
        let sealed = secrets.seal("sk-live-123").unwrap();
        assert!(!sealed.contains("sk-live"));
        assert_ne!(sealed, secrets.seal("sk-live-123").unwrap(), "fresh nonce each time");
        assert_eq!(secrets.open(&sealed).unwrap(), "sk-live-123");
        assert!(matches!(SecretBox::from_passphrase("other").open(&sealed), Err(SecretError::WrongKey)));
        assert!(matches!(secrets.open("garbage"), Err(SecretError::Malformed)));
    }

    #[test]
    fn generated_key_is_reused_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let (first, source) = SecretBox::load_or_generate(None, dir.path()).unwrap();
        assert_eq!(source, KeySource::Generated);
        let sealed = first.seal("k").unwrap();
        let (second, source) = SecretBox::load_or_generate(None, dir.path()).unwrap();
        assert_eq!(source, KeySource::ExistingFile);
        assert_eq!(second.open(&sealed).unwrap(), "k");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
