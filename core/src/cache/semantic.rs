//! The semantic cache index: the embeddings of requests whose answers are in the response
//! cache, grouped by [`semantic_scope`](super::key::semantic_scope), so a request asking the
//! same thing in other words finds that answer. Bounded by entries, least recently used out.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;

/// Longest embedding kept: larger models' vectors are refused (memory stays bounded).
pub const MAX_DIMENSIONS: usize = 8192;

/// The answer a request was found similar to.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticMatch {
    /// The response cache key of the answer.
    pub key: String,
    /// Cosine similarity of the two requests' embeddings.
    pub similarity: f64,
}

/// Counters of the index (`semanticCache.semantic` in `/api/cache/stats`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SemanticStats {
    /// An embedding model is configured.
    pub enabled: bool,
    pub entries: usize,
    pub max_entries: usize,
    /// Memory the stored embeddings take.
    pub bytes: usize,
    /// Requests compared by meaning (their embedding came back).
    pub lookups: u64,
    /// Of those, answered from a similar request's answer.
    pub hits: u64,
    pub hit_rate: f64,
    /// Embedding calls that failed or timed out (those requests went on as misses).
    pub embedding_failures: u64,
}

struct Entry {
    scope: String,
    /// Unit length, so a dot product is the cosine similarity.
    vector: Vec<f32>,
    expires_at_ms: u64,
    tick: u64,
}

#[derive(Default)]
struct Inner {
    /// The embedding model the vectors came from; another model's vectors do not compare.
    model: Option<String>,
    max_entries: usize,
    /// By answer key.
    entries: HashMap<String, Entry>,
    by_scope: HashMap<String, HashSet<String>>,
    /// Recency: tick → answer key, oldest first.
    order: BTreeMap<u64, String>,
    next_tick: u64,
    floats: usize,
}

/// Embeddings of cached requests, shared through `&self`.
pub struct SemanticIndex {
    inner: Mutex<Inner>,
    lookups: AtomicU64,
    hits: AtomicU64,
    failures: AtomicU64,
}

impl SemanticIndex {
    /// An empty index, off until [`SemanticIndex::configure`] names an embedding model.
    pub fn new(max_entries: usize) -> Self {
        SemanticIndex {
            inner: Mutex::new(Inner { max_entries, ..Default::default() }),
            lookups: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// Applies settings: a new embedding model empties the index (its vectors live in
    /// another space); fewer entries evict the least recently used.
    pub fn configure(&self, model: Option<&str>, max_entries: usize) {
        let mut inner = self.lock();
        if inner.model.as_deref() != model {
            inner.clear();
            inner.model = model.map(str::to_owned);
        }
        inner.max_entries = max_entries;
        while inner.entries.len() > max_entries && inner.evict_oldest() {}
    }

    /// Remembers that the answer under `key` answered a request embedded as `vector`, until
    /// `expires_at_ms`. Returns whether it was kept (a vector of no length, too many
    /// dimensions or non-finite values is not).
    pub fn insert(&self, scope: &str, key: &str, vector: &[f32], expires_at_ms: u64) -> bool {
        let Some(vector) = unit(vector) else { return false };
        let mut inner = self.lock();
        if inner.model.is_none() || inner.max_entries == 0 {
            return false;
        }
        inner.remove(key);
        while inner.entries.len() >= inner.max_entries && inner.evict_oldest() {}
        let tick = inner.bump();
        inner.floats += vector.len();
        inner.order.insert(tick, key.to_owned());
        inner.by_scope.entry(scope.to_owned()).or_default().insert(key.to_owned());
        inner.entries.insert(key.to_owned(), Entry { scope: scope.to_owned(), vector, expires_at_ms, tick });
        true
    }

    /// The most similar live answer of `scope` at or above `threshold`, now the most recently
    /// used. Counts a lookup, and a hit when found.
    pub fn search(&self, scope: &str, vector: &[f32], threshold: f64, now_ms: u64) -> Option<SemanticMatch> {
        let query = unit(vector)?;
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        let mut expired = Vec::new();
        let mut best: Option<SemanticMatch> = None;
        for key in inner.by_scope.get(scope).into_iter().flatten() {
            let Some(entry) = inner.entries.get(key) else { continue };
            if entry.expires_at_ms <= now_ms {
                expired.push(key.clone());
                continue;
            }
            if entry.vector.len() != query.len() {
                continue;
            }
            let similarity: f64 = entry.vector.iter().zip(&query).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            if similarity >= threshold && best.as_ref().is_none_or(|b| similarity > b.similarity) {
                best = Some(SemanticMatch { key: key.clone(), similarity });
            }
        }
        for key in expired {
            inner.remove(&key);
        }
        let found = best?;
        inner.touch(&found.key);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(found)
    }

    /// Forgets the entry of `key` (its answer is gone from the cache).
    pub fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    /// A search found an entry whose answer had gone: it was no hit after all.
    pub fn unhit(&self, key: &str) {
        self.remove(key);
        self.hits.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// An embedding call failed or timed out.
    pub fn note_failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> SemanticStats {
        let inner = self.lock();
        let lookups = self.lookups.load(Ordering::Relaxed);
        let hits = self.hits.load(Ordering::Relaxed);
        SemanticStats {
            enabled: inner.model.is_some(),
            entries: inner.entries.len(),
            max_entries: inner.max_entries,
            bytes: inner.floats * std::mem::size_of::<f32>(),
            lookups,
            hits,
            hit_rate: if lookups == 0 { 0.0 } else { hits as f64 / lookups as f64 },
            embedding_failures: self.failures.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn bump(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }

    fn touch(&mut self, key: &str) {
        let tick = self.bump();
        if let Some(entry) = self.entries.get_mut(key) {
            self.order.remove(&entry.tick);
            entry.tick = tick;
            self.order.insert(tick, key.to_owned());
        }
    }

    fn remove(&mut self, key: &str) -> bool {
        let Some(entry) = self.entries.remove(key) else { return false };
        self.order.remove(&entry.tick);
        self.floats -= entry.vector.len();
        if let Some(keys) = self.by_scope.get_mut(&entry.scope) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_scope.remove(&entry.scope);
            }
        }
        true
    }

    fn evict_oldest(&mut self) -> bool {
        match self.order.first_key_value().map(|(_, key)| key.clone()) {
            Some(key) => self.remove(&key),
            None => false,
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.by_scope.clear();
        self.order.clear();
        self.floats = 0;
    }
}

/// `vector` scaled to length 1; `None` when it has no direction or cannot be kept.
fn unit(vector: &[f32]) -> Option<Vec<f32>> {
    if vector.is_empty() || vector.len() > MAX_DIMENSIONS || !vector.iter().all(|x| x.is_finite()) {
        return None;
    }
    let norm = vector.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return None;
    }
    Some(vector.iter().map(|x| (f64::from(*x) / norm) as f32).collect())
}

#[cfg(test)]
#[path = "semantic_tests.rs"]
mod tests;
