//! The response cache: the in-memory LRU in front of the `CacheStore` port (shared, with TTL).
//! Reads try memory, then the store (promoting a hit into memory); writes go to both.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::lru::{CachedResponse, LruCache, LruStats};
use crate::config::settings::CacheSettings;
use crate::hub::ChatResponse;
use crate::ports::CacheStore;

/// Prefix of response entries in the shared store (idempotency results may live there too).
const STORE_PREFIX: &str = "cache:response:";

/// How the response cache behaves: the `cache` settings document, as the cache applies it
/// ([`ResponseCache::configure`] swaps it in without a restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResponseCacheSettings {
    pub enabled: bool,
    /// How long an answer is served, in both tiers.
    pub ttl_ms: u64,
    /// Entries in memory.
    pub max_entries: usize,
    /// Total JSON size of the responses in memory.
    pub max_bytes: usize,
}

impl Default for ResponseCacheSettings {
    fn default() -> Self {
        ResponseCacheSettings::from(&CacheSettings::default())
    }
}

impl From<&CacheSettings> for ResponseCacheSettings {
    fn from(settings: &CacheSettings) -> Self {
        ResponseCacheSettings {
            enabled: settings.enabled,
            ttl_ms: settings.ttl_ms,
            max_entries: usize::try_from(settings.max_entries).unwrap_or(usize::MAX),
            max_bytes: usize::try_from(settings.max_bytes).unwrap_or(usize::MAX),
        }
    }
}

/// Counters of a [`ResponseCache`]. `hits` counts both tiers; `hit_rate` is `hits / lookups`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct ResponseCacheStats {
    pub enabled: bool,
    pub memory: LruStats,
    pub lookups: u64,
    pub hits: u64,
    pub store_hits: u64,
    pub hit_rate: f64,
}

/// What the store holds under a key: the response and when it was stored and expires, so a
/// promotion into memory keeps the remaining lifetime and [`ResponseCache::clear`] can hide it.
#[derive(Serialize)]
struct EnvelopeOut<'a> {
    stored_at_ms: u64,
    expires_at_ms: u64,
    response: &'a ChatResponse,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    stored_at_ms: u64,
    expires_at_ms: u64,
    response: ChatResponse,
}

/// Two-tier cache of complete responses by [`cache_key`](super::cache_key).
pub struct ResponseCache {
    settings: Mutex<ResponseCacheSettings>,
    memory: Mutex<LruCache>,
    store: Arc<dyn CacheStore>,
    lookups: AtomicU64,
    hits: AtomicU64,
    store_hits: AtomicU64,
    /// Store entries written at or before this instant are ignored (0: never cleared).
    cleared_at_ms: AtomicU64,
}

impl ResponseCache {
    pub fn new(settings: ResponseCacheSettings, store: Arc<dyn CacheStore>) -> Self {
        ResponseCache {
            settings: Mutex::new(settings),
            memory: Mutex::new(LruCache::new(settings.max_entries, settings.max_bytes)),
            store,
            lookups: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            store_hits: AtomicU64::new(0),
            cleared_at_ms: AtomicU64::new(0),
        }
    }

    pub fn settings(&self) -> ResponseCacheSettings {
        *self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies new settings to the running cache: the memory bounds (evicting the least
    /// recently used entries past them), the TTL of answers stored from now on, on/off (off
    /// empties memory; the store's entries expire by their TTL).
    pub fn configure(&self, settings: ResponseCacheSettings) {
        *self.settings.lock().unwrap_or_else(PoisonError::into_inner) = settings;
        let mut memory = self.memory();
        memory.set_bounds(settings.max_entries, settings.max_bytes);
        if !settings.enabled {
            memory.clear();
        }
    }

    /// The live answer stored under `key`: from memory, else from the store (then kept in
    /// memory for the rest of its lifetime). Always `None` when disabled.
    pub async fn get(&self, key: &str, now_ms: u64) -> Option<ChatResponse> {
        if !self.settings().enabled {
            return None;
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let found = self.read(key, now_ms).await;
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Counts a lookup that missed without a key being computed, when nothing is stored that
    /// could answer it (neither memory nor the store holds an answer). Returns whether it did.
    pub fn miss_if_empty(&self) -> bool {
        let empty = self.memory().is_empty() && !self.store.may_hold(STORE_PREFIX);
        if empty {
            self.lookups.fetch_add(1, Ordering::Relaxed);
        }
        empty
    }

    /// Like [`ResponseCache::get`], without counting a lookup: the answer a semantic match
    /// points at (its lookup was counted as the exact miss before it).
    pub async fn fetch(&self, key: &str, now_ms: u64) -> Option<ChatResponse> {
        if !self.settings().enabled {
            return None;
        }
        self.read(key, now_ms).await
    }

    async fn read(&self, key: &str, now_ms: u64) -> Option<ChatResponse> {
        let in_memory = self.memory().get(key, now_ms);
        if let Some(hit) = in_memory {
            return Some(ChatResponse::clone(&hit.response));
        }
        let bytes = self.store.get(&store_key(key)).await?;
        let envelope = match serde_json::from_slice::<EnvelopeIn>(&bytes) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::debug!(%error, "unreadable response cache entry; treated as a miss");
                return None;
            }
        };
        if envelope.expires_at_ms <= now_ms || envelope.stored_at_ms <= self.cleared_at_ms.load(Ordering::Relaxed) {
            return None;
        }
        let response = Arc::new(envelope.response);
        let cached = CachedResponse { response: response.clone(), size: bytes.len() };
        self.memory().put(key.to_owned(), cached, now_ms, envelope.expires_at_ms - now_ms);
        self.store_hits.fetch_add(1, Ordering::Relaxed);
        Some(ChatResponse::clone(&response))
    }

    /// Stores `response` under `key` for the configured TTL in both tiers (memory skips one
    /// larger than its byte bound). The caller decides what may be stored: a
    /// [`writable`](super::writable) request and a successful, complete response. Returns
    /// whether it was stored (not when off, nor when a clear came after `now_ms`).
    pub async fn put(&self, key: &str, response: ChatResponse, now_ms: u64) -> bool {
        let settings = self.settings();
        let ttl_ms = settings.ttl_ms;
        // An answer from before a clear (its write raced the clear) is not kept.
        if !settings.enabled || ttl_ms == 0 || now_ms <= self.cleared_at_ms.load(Ordering::Relaxed) {
            return false;
        }
        let expires_at_ms = now_ms.saturating_add(ttl_ms);
        let envelope = EnvelopeOut { stored_at_ms: now_ms, expires_at_ms, response: &response };
        let bytes = match serde_json::to_vec(&envelope) {
            Ok(bytes) => Bytes::from(bytes),
            Err(error) => {
                tracing::warn!(%error, "response not cached: it does not encode");
                return false;
            }
        };
        let cached = CachedResponse { response: Arc::new(response), size: bytes.len() };
        self.memory().put(key.to_owned(), cached, now_ms, ttl_ms);
        self.store.put(&store_key(key), bytes, Duration::from_millis(ttl_ms)).await;
        true
    }

    /// Empties memory and hides what this instance finds in the store from before `now_ms`
    /// (the port cannot delete; those entries expire by their TTL). Other instances sharing the
    /// store keep serving them until they are cleared too.
    pub fn clear(&self, now_ms: u64) {
        self.memory().clear();
        self.cleared_at_ms.fetch_max(now_ms, Ordering::Relaxed);
    }

    pub fn stats(&self) -> ResponseCacheStats {
        let lookups = self.lookups.load(Ordering::Relaxed);
        let hits = self.hits.load(Ordering::Relaxed);
        ResponseCacheStats {
            enabled: self.settings().enabled,
            memory: self.memory().stats(),
            lookups,
            hits,
            store_hits: self.store_hits.load(Ordering::Relaxed),
            hit_rate: if lookups == 0 { 0.0 } else { hits as f64 / lookups as f64 },
        }
    }

    fn memory(&self) -> MutexGuard<'_, LruCache> {
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn store_key(key: &str) -> String {
    format!("{STORE_PREFIX}{key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{ContentBlock, FinishReason};
    use crate::ports::memory::MemoryCacheStore;
    use futures_executor::block_on;

    struct Fixture {
        now: Arc<AtomicU64>,
        store: Arc<MemoryCacheStore>,
    }

    impl Fixture {
        fn new() -> Self {
            let now = Arc::new(AtomicU64::new(1_000));
            let clock = now.clone();
            Fixture { now, store: Arc::new(MemoryCacheStore::new(move || clock.load(Ordering::SeqCst))) }
        }

        fn cache(&self, settings: ResponseCacheSettings) -> ResponseCache {
            ResponseCache::new(settings, self.store.clone())
        }

        fn at(&self, ms: u64) -> u64 {
            self.now.store(ms, Ordering::SeqCst);
            ms
        }
    }

    fn settings() -> ResponseCacheSettings {
        ResponseCacheSettings { ttl_ms: 1_000, ..Default::default() }
    }

    fn answer(text: &str) -> ChatResponse {
        ChatResponse {
            id: "chatcmpl-1".into(),
            model: "gpt-4o-mini".into(),
            content: vec![ContentBlock::Text { text: text.into() }],
            finish_reason: Some(FinishReason::Stop),
            ..Default::default()
        }
    }

    #[test]
    fn an_empty_cache_misses_without_a_key_and_a_stored_answer_ends_that() {
        let f = Fixture::new();
        let cache = f.cache(settings());
        // Other entries of the shared store (idempotency results) do not count.
        block_on(f.store.put("idempotency:x", Bytes::from_static(b"{}"), Duration::from_secs(60)));
        assert!(cache.miss_if_empty());
        assert_eq!(cache.stats().lookups, 1, "the skipped lookup is counted as one");
        block_on(cache.put("k", answer("4"), 1_000));
        assert!(!cache.miss_if_empty());
        // Another instance on the same store: its memory is empty, the store is not.
        assert!(!f.cache(settings()).miss_if_empty());
        assert_eq!(cache.stats().lookups, 1);
    }

    #[test]
    fn memory_then_store_with_promotion() {
        let f = Fixture::new();
        let cache = f.cache(settings());
        assert_eq!(block_on(cache.get("k", f.at(1_000))), None);
        block_on(cache.put("k", answer("4"), 1_000));
        assert_eq!(block_on(cache.get("k", f.at(1_100))), Some(answer("4")));
        let stats = cache.stats();
        assert_eq!((stats.lookups, stats.hits, stats.store_hits, stats.memory.entries), (2, 1, 0, 1));
        assert_eq!(stats.hit_rate, 0.5);

        // A fresh instance (a restart, another replica) finds it in the store and keeps it in memory.
        let other = f.cache(settings());
        assert_eq!(block_on(other.get("k", f.at(1_500))), Some(answer("4")));
        assert_eq!(other.stats().store_hits, 1);
        assert_eq!(other.stats().memory.entries, 1);
        assert_eq!(block_on(other.get("k", f.at(1_900))), Some(answer("4")));
        assert_eq!(other.stats().store_hits, 1, "the second read came from memory");
        // The promoted entry keeps the original expiry, not a fresh TTL.
        assert_eq!(block_on(other.get("k", f.at(2_000))), None);
    }

    #[test]
    fn entries_expire_in_both_tiers() {
        let f = Fixture::new();
        let cache = f.cache(settings());
        block_on(cache.put("k", answer("4"), f.at(1_000)));
        assert_eq!(block_on(cache.get("k", f.at(1_999))), Some(answer("4")));
        assert_eq!(block_on(cache.get("k", f.at(2_000))), None);
        assert_eq!(block_on(f.cache(settings()).get("k", 2_000)), None);
    }

    #[test]
    fn clear_hides_older_store_entries() {
        let f = Fixture::new();
        let cache = f.cache(settings());
        block_on(cache.put("old", answer("a"), f.at(1_000)));
        cache.clear(f.at(1_100));
        assert_eq!(cache.stats().memory.entries, 0);
        assert_eq!(block_on(cache.get("old", 1_200)), None);
        block_on(cache.put("late", answer("c"), 1_050));
        assert_eq!(cache.stats().memory.entries, 0, "written before the clear, arriving after: dropped");
        block_on(cache.put("new", answer("b"), f.at(1_200)));
        cache.clear(1_150);
        assert_eq!(block_on(cache.get("new", 1_300)), Some(answer("b")), "written after the clear");
    }

    #[test]
    fn disabled_cache_neither_reads_nor_writes() {
        let f = Fixture::new();
        let off = f.cache(ResponseCacheSettings { enabled: false, ..settings() });
        block_on(off.put("k", answer("4"), 1_000));
        assert_eq!(block_on(f.store.get(&store_key("k"))), None);
        assert_eq!(block_on(off.get("k", 1_000)), None);
        assert_eq!(off.stats().lookups, 0);
    }

    #[test]
    fn oversized_answers_skip_memory_but_reach_the_store() {
        let f = Fixture::new();
        let cache = f.cache(ResponseCacheSettings { max_bytes: 10, ..settings() });
        block_on(cache.put("k", answer("a long answer"), f.at(1_000)));
        assert_eq!(cache.stats().memory.entries, 0);
        assert_eq!(block_on(cache.get("k", 1_001)), Some(answer("a long answer")));
        assert_eq!(cache.stats().store_hits, 1);
    }

    #[test]
    fn settings_apply_to_the_running_cache() {
        let f = Fixture::new();
        let cache = f.cache(ResponseCacheSettings { max_entries: 10, ..settings() });
        for key in ["a", "b", "c"] {
            block_on(cache.put(key, answer(key), f.at(1_000)));
        }
        // Fewer entries: the oldest go from memory (the store still has them).
        cache.configure(ResponseCacheSettings { max_entries: 1, ..settings() });
        assert_eq!(cache.stats().memory.entries, 1);
        assert_eq!(cache.stats().memory.max_entries, 1);
        // A longer TTL applies to answers stored from now on.
        cache.configure(ResponseCacheSettings { ttl_ms: 5_000, ..settings() });
        block_on(cache.put("long", answer("l"), f.at(1_000)));
        assert_eq!(block_on(cache.get("a", f.at(2_500))), None, "stored with the old TTL");
        assert_eq!(block_on(cache.get("long", f.at(2_500))), Some(answer("l")));
        // Off: nothing is read or written, memory is emptied.
        cache.configure(ResponseCacheSettings { enabled: false, ttl_ms: 5_000, ..settings() });
        assert_eq!(cache.stats().memory.entries, 0);
        assert_eq!(block_on(cache.get("long", f.at(2_600))), None);
        block_on(cache.put("off", answer("o"), 2_600));
        assert_eq!(block_on(f.store.get(&store_key("off"))), None);
        // On again: the store's live entries serve again.
        cache.configure(ResponseCacheSettings { ttl_ms: 5_000, ..settings() });
        assert_eq!(block_on(cache.get("long", f.at(2_700))), Some(answer("l")));
    }

    #[test]
    fn fetch_reads_without_counting_a_lookup() {
        let f = Fixture::new();
        let cache = f.cache(settings());
        block_on(cache.put("k", answer("4"), f.at(1_000)));
        assert_eq!(block_on(cache.fetch("k", 1_001)), Some(answer("4")));
        assert_eq!(block_on(cache.fetch("nope", 1_001)), None);
        assert_eq!((cache.stats().lookups, cache.stats().hits), (0, 0));
    }

    #[test]
    fn its_futures_are_send() {
        fn send<T: Send>(_: T) {}
        let f = Fixture::new();
        let cache = f.cache(settings());
        send(cache.get("k", 0));
        send(cache.put("k", answer("4"), 0));
    }

    #[test]
    fn unreadable_store_entries_are_misses() {
        let f = Fixture::new();
        let cache = f.cache(settings());
        block_on(f.store.put(&store_key("k"), Bytes::from_static(b"not json"), Duration::from_secs(60)));
        assert_eq!(block_on(cache.get("k", 1_000)), None);
        assert_eq!(cache.stats().hits, 0);
    }
}
