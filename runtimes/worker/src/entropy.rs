//! `CryptoEntropy`: the isolate's `crypto.getRandomValues`, through getrandom's `wasm_js` backend.

use omniroute_core::ports::{Entropy, EntropyError};

/// Secure random bytes from the Workers runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct CryptoEntropy;

impl Entropy for CryptoEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::fill(buf).map_err(|e| EntropyError(e.to_string()))
    }
}
