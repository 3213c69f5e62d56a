//! Response cache and idempotency: the pure building blocks, wired into the request path by the
//! pipeline. [`cache_key`] names an answer, [`ResponseCache`] keeps complete answers in memory and
//! in the `CacheStore` port, [`Idempotency`] makes duplicates of a request share one upstream call.

pub mod idempotency;
pub mod key;
pub mod lru;
pub mod tiered;

use serde::Serialize;

pub use idempotency::{
    Begin, Guard, Idempotency, IdempotencyError, IdempotencySettings, IdempotencyStats, IdempotentResult, ReplayBody,
    Waiter, fingerprint,
};
pub use key::{cache_key, readable, writable};
pub use lru::{CachedResponse, LruCache, LruStats};
pub use tiered::{ResponseCache, ResponseCacheSettings, ResponseCacheStats};

/// The body of `GET /api/cache/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStats {
    pub semantic_cache: SemanticCacheStats,
    pub idempotency: IdempotencyStats,
}

/// `semanticCache` of [`CacheStats`]: the response cache (exact match on [`cache_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SemanticCacheStats {
    /// Entries in memory.
    pub memory_size: usize,
    pub memory_max_size: usize,
    /// Entries in the store; `null` when the store cannot tell.
    pub db_size: Option<u64>,
    /// Hits (either tier) over lookups, 0 to 1.
    pub hit_rate: f64,
}

impl CacheStats {
    pub fn new(cache: &ResponseCacheStats, idempotency: IdempotencyStats, db_size: Option<u64>) -> Self {
        CacheStats {
            semantic_cache: SemanticCacheStats {
                memory_size: cache.memory.entries,
                memory_max_size: cache.memory.max_entries,
                db_size,
                hit_rate: cache.hit_rate,
            },
            idempotency,
        }
    }

    /// Reads both; the `CacheStore` port does not count its entries, so `dbSize` is `null`.
    pub fn collect<T: Clone>(cache: &ResponseCache, idempotency: &Idempotency<T>, now_ms: u64) -> Self {
        Self::new(&cache.stats(), idempotency.stats(now_ms), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::memory::MemoryCacheStore;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn stats_have_the_seed_shape() {
        let cache = ResponseCache::new(ResponseCacheSettings::default(), Arc::new(MemoryCacheStore::new(|| 0)));
        let idempotency: Idempotency = Idempotency::new(IdempotencySettings::default());
        let _guard = idempotency.begin("k", "fp", 0);
        let stats = CacheStats::collect(&cache, &idempotency, 0);
        assert_eq!(
            serde_json::to_value(stats).unwrap(),
            json!({
                "semanticCache": { "memorySize": 0, "memoryMaxSize": 500, "dbSize": null, "hitRate": 0.0 },
                "idempotency": { "activeKeys": 1, "windowMs": 5000 }
            })
        );
        let with_db = CacheStats::new(&cache.stats(), idempotency.stats(0), Some(128));
        assert_eq!(serde_json::to_value(with_db).unwrap()["semanticCache"]["dbSize"], 128);
    }
}
