//! The in-memory tier of the response cache: least recently used first out, bounded by entry
//! count and by the encoded size of the responses, each entry with an expiry.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::hub::ChatResponse;

/// A cached answer: the hub response (replayed in any client format, streamed or not, by the
/// codecs) and the length of its JSON encoding, which is what the byte bound counts.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedResponse {
    pub response: Arc<ChatResponse>,
    pub size: usize,
}

impl CachedResponse {
    /// Measures `response` by encoding it.
    pub fn new(response: ChatResponse) -> Result<Self, serde_json::Error> {
        let size = serde_json::to_vec(&response)?.len();
        Ok(CachedResponse { response: Arc::new(response), size })
    }

    /// Decodes a response stored as JSON; its size is the length of `json`.
    pub fn from_json(json: &[u8]) -> Result<Self, serde_json::Error> {
        let response = serde_json::from_slice(json)?;
        Ok(CachedResponse { response: Arc::new(response), size: json.len() })
    }
}

/// Counters and bounds of an [`LruCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LruStats {
    pub entries: usize,
    pub bytes: usize,
    pub max_entries: usize,
    pub max_bytes: usize,
    pub hits: u64,
    pub misses: u64,
}

struct Entry {
    value: CachedResponse,
    expires_at_ms: u64,
    /// Position in `order`; larger is more recent.
    tick: u64,
}

/// Responses by key, least recently used evicted first. Not synchronised: wrap it in a mutex.
pub struct LruCache {
    entries: HashMap<String, Entry>,
    /// Recency: tick → key, oldest first.
    order: BTreeMap<u64, String>,
    next_tick: u64,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    hits: u64,
    misses: u64,
}

impl LruCache {
    /// A cache holding at most `max_entries` responses of at most `max_bytes` in total.
    /// Either bound at 0 disables storing.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        LruCache {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next_tick: 0,
            bytes: 0,
            max_entries,
            max_bytes,
            hits: 0,
            misses: 0,
        }
    }

    /// The live entry under `key`, now the most recently used. An expired entry is dropped
    /// and counts as a miss.
    pub fn get(&mut self, key: &str, now_ms: u64) -> Option<CachedResponse> {
        let expired = match self.entries.get(key) {
            None => {
                self.misses += 1;
                return None;
            }
            Some(entry) => entry.expires_at_ms <= now_ms,
        };
        if expired {
            self.remove(key);
            self.misses += 1;
            return None;
        }
        let tick = self.bump();
        let entry = self.entries.get_mut(key)?;
        self.order.remove(&entry.tick);
        entry.tick = tick;
        self.order.insert(tick, key.to_owned());
        self.hits += 1;
        Some(entry.value.clone())
    }

    /// Stores `value` until `now_ms + ttl_ms`, replacing any entry under `key` and evicting the
    /// least recently used entries until both bounds hold. Returns whether it was stored: an
    /// entry larger than the byte bound (or a zero TTL or bound) is not.
    pub fn put(&mut self, key: String, value: CachedResponse, now_ms: u64, ttl_ms: u64) -> bool {
        self.remove(&key);
        if ttl_ms == 0 || self.max_entries == 0 || self.max_bytes == 0 || value.size > self.max_bytes {
            return false;
        }
        while self.entries.len() >= self.max_entries || self.bytes + value.size > self.max_bytes {
            if !self.evict_oldest() {
                break;
            }
        }
        let tick = self.bump();
        self.bytes += value.size;
        self.order.insert(tick, key.clone());
        self.entries.insert(key, Entry { value, expires_at_ms: now_ms.saturating_add(ttl_ms), tick });
        true
    }

    /// New bounds; the least recently used entries go until both hold.
    pub fn set_bounds(&mut self, max_entries: usize, max_bytes: usize) {
        self.max_entries = max_entries;
        self.max_bytes = max_bytes;
        while self.entries.len() > max_entries || self.bytes > max_bytes {
            if !self.evict_oldest() {
                break;
            }
        }
    }

    /// Drops the entry under `key`; returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.entries.remove(key) {
            Some(entry) => {
                self.order.remove(&entry.tick);
                self.bytes -= entry.value.size;
                true
            }
            None => false,
        }
    }

    /// Drops every expired entry (they are otherwise dropped when read or evicted).
    pub fn purge_expired(&mut self, now_ms: u64) {
        let expired: Vec<String> =
            self.entries.iter().filter(|(_, e)| e.expires_at_ms <= now_ms).map(|(k, _)| k.clone()).collect();
        for key in expired {
            self.remove(&key);
        }
    }

    /// Drops every entry; the hit and miss counters stay.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn stats(&self) -> LruStats {
        LruStats {
            entries: self.entries.len(),
            bytes: self.bytes,
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
            hits: self.hits,
            misses: self.misses,
        }
    }

    fn bump(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }

    fn evict_oldest(&mut self) -> bool {
        match self.order.pop_first() {
            Some((_, key)) => {
                if let Some(entry) = self.entries.remove(&key) {
                    self.bytes -= entry.value.size;
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(size: usize) -> CachedResponse {
        CachedResponse { response: Arc::new(ChatResponse { id: format!("r{size}"), ..Default::default() }), size }
    }

    fn keys(cache: &LruCache) -> Vec<String> {
        let mut keys: Vec<String> = cache.entries.keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn evicts_the_least_recently_used_by_count() {
        let mut cache = LruCache::new(3, 1_000);
        for key in ["a", "b", "c"] {
            assert!(cache.put(key.into(), response(10), 0, 100));
        }
        assert!(cache.get("a", 1).is_some(), "a becomes the most recent");
        cache.put("d".into(), response(10), 2, 100);
        assert_eq!(keys(&cache), ["a", "c", "d"]);
        cache.put("e".into(), response(10), 3, 100);
        assert_eq!(keys(&cache), ["a", "d", "e"]);
        assert_eq!(cache.stats().bytes, 30);
    }

    #[test]
    fn evicts_the_least_recently_used_by_bytes() {
        let mut cache = LruCache::new(100, 100);
        cache.put("a".into(), response(40), 0, 100);
        cache.put("b".into(), response(40), 0, 100);
        assert!(cache.get("a", 1).is_some());
        cache.put("c".into(), response(30), 2, 100);
        assert_eq!(keys(&cache), ["a", "c"]);
        assert_eq!(cache.stats().bytes, 70);
        cache.put("d".into(), response(100), 3, 100);
        assert_eq!(keys(&cache), ["d"], "a full-size entry pushes out everything else");
        assert_eq!(cache.stats().bytes, 100);
    }

    #[test]
    fn an_entry_larger_than_the_byte_bound_is_not_stored() {
        let mut cache = LruCache::new(10, 100);
        cache.put("small".into(), response(10), 0, 100);
        assert!(!cache.put("big".into(), response(101), 0, 100));
        assert_eq!(keys(&cache), ["small"], "nothing was evicted for it");
        assert!(!cache.put("small".into(), response(101), 0, 100));
        assert!(cache.is_empty(), "an oversized replacement removes the old value");
        assert_eq!(cache.stats().bytes, 0);
    }

    #[test]
    fn shrinking_the_bounds_evicts_the_least_recently_used() {
        let mut cache = LruCache::new(10, 1_000);
        for key in ["a", "b", "c", "d"] {
            cache.put(key.into(), response(30), 0, 100);
        }
        assert!(cache.get("a", 1).is_some());
        cache.set_bounds(3, 1_000);
        assert_eq!(keys(&cache), ["a", "c", "d"]);
        cache.set_bounds(3, 60);
        assert_eq!(keys(&cache), ["a", "d"], "b and c were the oldest");
        assert_eq!(cache.stats().bytes, 60);
        cache.set_bounds(10, 1_000);
        cache.put("e".into(), response(30), 2, 100);
        assert_eq!(cache.stats().max_entries, 10);
        assert_eq!(keys(&cache), ["a", "d", "e"], "growing evicts nothing");
    }

    #[test]
    fn entries_expire() {
        let mut cache = LruCache::new(10, 1_000);
        cache.put("a".into(), response(10), 1_000, 50);
        cache.put("b".into(), response(10), 1_000, 500);
        assert!(cache.get("a", 1_049).is_some());
        assert!(cache.get("a", 1_050).is_none());
        assert_eq!(cache.len(), 1);
        cache.purge_expired(1_500);
        assert!(cache.is_empty());
        assert_eq!(cache.stats().bytes, 0);
        assert!(!cache.put("c".into(), response(10), 0, 0), "a zero TTL is not stored");
    }

    #[test]
    fn counts_hits_and_misses() {
        let mut cache = LruCache::new(10, 1_000);
        assert!(cache.get("a", 0).is_none());
        cache.put("a".into(), response(10), 0, 100);
        assert_eq!(cache.get("a", 1).map(|c| c.response.id.clone()), Some("r10".into()));
        assert!(cache.get("a", 2).is_some());
        assert!(cache.get("a", 200).is_none(), "expired");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (2, 2));
        assert_eq!((stats.entries, stats.max_entries, stats.max_bytes), (0, 10, 1_000));
        cache.put("b".into(), response(10), 0, 100);
        assert!(cache.remove("b") && !cache.remove("b"));
        cache.put("c".into(), response(10), 0, 100);
        cache.clear();
        assert_eq!(
            cache.stats(),
            LruStats { max_entries: 10, max_bytes: 1_000, hits: 2, misses: 2, ..Default::default() }
        );
    }

    #[test]
    fn measures_and_decodes_responses() {
        let response = ChatResponse { id: "x".into(), model: "m".into(), ..Default::default() };
        let json = serde_json::to_vec(&response).unwrap();
        let measured = CachedResponse::new(response.clone()).unwrap();
        assert_eq!(measured.size, json.len());
        let decoded = CachedResponse::from_json(&json).unwrap();
        assert_eq!(decoded, measured);
    }
}
