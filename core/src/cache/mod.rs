//! Response cache and idempotency: the pure building blocks, wired into the request path by the
//! pipeline. [`cache_key`] names an answer, [`ResponseCache`] keeps complete answers in memory and
//! in the `CacheStore` port, [`Idempotency`] makes duplicates of a request share one upstream call.

pub mod idempotency;
pub mod key;
pub mod lru;
pub mod semantic;
pub mod tiered;

use serde::Serialize;

pub use idempotency::{
    Begin, Guard, Idempotency, IdempotencyError, IdempotencySettings, IdempotencyStats, IdempotentResult, ReplayBody,
    Waiter, fingerprint,
};
pub use key::{cache_key, readable, semantic_scope, semantic_text, writable};
pub use lru::{CachedResponse, LruCache, LruStats};
pub use semantic::{SemanticIndex, SemanticMatch, SemanticStats};
pub use tiered::{ResponseCache, ResponseCacheSettings, ResponseCacheStats};

/// The body of `GET /api/cache/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CacheStats {
    pub semantic_cache: SemanticCacheStats,
    pub idempotency: IdempotencyStats,
}

/// `semanticCache` of [`CacheStats`] (the seed's name for the whole response cache): the exact
/// cache on [`cache_key`] and, in `semantic`, the match by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SemanticCacheStats {
    /// Entries in memory.
    pub memory_size: usize,
    pub memory_max_size: usize,
    /// Entries in the store; `null` when the store cannot tell.
    pub db_size: Option<u64>,
    /// Hits (exact in either tier, and semantic) over lookups, 0 to 1.
    pub hit_rate: f64,
    /// The cache is on (the `cache` settings).
    pub enabled: bool,
    /// JSON size of the answers in memory, and its bound.
    pub memory_bytes: usize,
    pub memory_max_bytes: usize,
    pub ttl_ms: u64,
    /// Cacheable requests looked up.
    pub lookups: u64,
    /// Answered by an exact match (memory or store).
    pub hits: u64,
    /// Of those, read from the store.
    pub store_hits: u64,
    /// Answered by a semantic match.
    pub semantic_hits: u64,
    pub semantic: SemanticStats,
}

impl CacheStats {
    pub fn new(
        cache: &ResponseCacheStats,
        settings: ResponseCacheSettings,
        semantic: SemanticStats,
        idempotency: IdempotencyStats,
        db_size: Option<u64>,
    ) -> Self {
        let hits = cache.hits + semantic.hits;
        CacheStats {
            semantic_cache: SemanticCacheStats {
                memory_size: cache.memory.entries,
                memory_max_size: cache.memory.max_entries,
                db_size,
                hit_rate: if cache.lookups == 0 { 0.0 } else { (hits as f64 / cache.lookups as f64).min(1.0) },
                enabled: cache.enabled,
                memory_bytes: cache.memory.bytes,
                memory_max_bytes: cache.memory.max_bytes,
                ttl_ms: settings.ttl_ms,
                lookups: cache.lookups,
                hits: cache.hits,
                store_hits: cache.store_hits,
                semantic_hits: semantic.hits,
                semantic,
            },
            idempotency,
        }
    }

    /// Reads all three; the `CacheStore` port does not count its entries, so `dbSize` is `null`.
    pub fn collect<T: Clone>(
        cache: &ResponseCache,
        semantic: &SemanticIndex,
        idempotency: &Idempotency<T>,
        now_ms: u64,
    ) -> Self {
        Self::new(&cache.stats(), cache.settings(), semantic.stats(), idempotency.stats(now_ms), None)
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
        let semantic = SemanticIndex::new(1000);
        let idempotency: Idempotency = Idempotency::new(IdempotencySettings::default());
        let _guard = idempotency.begin("k", "fp", 0);
        let stats = CacheStats::collect(&cache, &semantic, &idempotency, 0);
        assert_eq!(
            serde_json::to_value(stats).unwrap(),
            json!({
                "semanticCache": {
                    "memorySize": 0, "memoryMaxSize": 500, "dbSize": null, "hitRate": 0.0,
                    "enabled": true, "memoryBytes": 0, "memoryMaxBytes": 67108864, "ttlMs": 3600000,
                    "lookups": 0, "hits": 0, "storeHits": 0, "semanticHits": 0,
                    "semantic": {
                        "enabled": false, "entries": 0, "maxEntries": 1000, "bytes": 0, "lookups": 0,
                        "hits": 0, "hitRate": 0.0, "embeddingFailures": 0
                    }
                },
                "idempotency": { "activeKeys": 1, "windowMs": 5000 }
            })
        );
        let with_db =
            CacheStats::new(&cache.stats(), cache.settings(), semantic.stats(), idempotency.stats(0), Some(128));
        assert_eq!(serde_json::to_value(with_db).unwrap()["semanticCache"]["dbSize"], 128);
    }

    #[test]
    fn the_hit_rate_counts_semantic_hits() {
        let cache = ResponseCache::new(ResponseCacheSettings::default(), Arc::new(MemoryCacheStore::new(|| 0)));
        let semantic = SemanticIndex::new(10);
        semantic.configure(Some("p/embed"), 10);
        let _ = futures_executor::block_on(cache.get("missing", 0));
        let _ = futures_executor::block_on(cache.get("missing", 0));
        semantic.insert("scope", "k", &[1.0, 0.0], 100);
        assert!(semantic.search("scope", &[1.0, 0.0], 0.9, 0).is_some());
        let idempotency: Idempotency = Idempotency::new(IdempotencySettings::default());
        let stats = CacheStats::collect(&cache, &semantic, &idempotency, 0).semantic_cache;
        assert_eq!((stats.lookups, stats.hits, stats.semantic_hits), (2, 0, 1));
        assert_eq!(stats.hit_rate, 0.5);
    }
}
