//! The `Entropy` port: cryptographically secure random bytes (API keys, session tokens,
//! password salts). Natively the OS generator; the Worker supplies the isolate's `crypto`.

use crate::maybe_send::{MaybeSend, MaybeSync};

/// The generator failed; nothing secret may be made without it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no secure random source: {0}")]
pub struct EntropyError(pub String);

/// A source of secure random bytes.
pub trait Entropy: MaybeSend + MaybeSync {
    fn fill(&self, buf: &mut [u8]) -> Result<(), EntropyError>;
}

/// The operating system's generator (every native runtime).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

#[cfg(not(target_arch = "wasm32"))]
impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::fill(buf).map_err(|e| EntropyError(e.to_string()))
    }
}
