//! In-process implementations of the storage ports: for tests, and for the Worker until it
//! reaches Turso. Nothing here survives a restart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{DeclaredConfig, StoredConfig};
use crate::maybe_send::{BoxFuture, boxed};
use crate::ports::{BackupError, BackupStore, CacheStore, ConfigStore, StoreError, UsageRecord, UsageSink};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked mid-update; the data is still usable.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Config kept in memory.
#[derive(Default)]
pub struct MemoryConfigStore {
    state: Mutex<StoredConfig>,
}

impl ConfigStore for MemoryConfigStore {
    fn load(&self) -> BoxFuture<'_, Result<StoredConfig, StoreError>> {
        let state = lock(&self.state).clone();
        boxed(async move { Ok(state) })
    }

    fn sync_declared(&self, declared: DeclaredConfig) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut state = lock(&self.state);
        let source = declared.source.clone();
        state.providers.retain(|p| p.source != source && !declared.providers.iter().any(|d| d.id == p.id));
        state.connections.retain(|c| c.source != source && !declared.connections.iter().any(|d| d.id == c.id));
        state.providers.extend(declared.providers);
        state.connections.extend(declared.connections);
        state.version += 1;
        boxed(async { Ok(()) })
    }

    fn version(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        let version = lock(&self.state).version;
        boxed(async move { Ok(version) })
    }
}

/// Usage rows kept in a vector (tests read them back).
#[derive(Default)]
pub struct MemoryUsageSink {
    rows: Mutex<Vec<UsageRecord>>,
}

impl MemoryUsageSink {
    pub fn rows(&self) -> Vec<UsageRecord> {
        lock(&self.rows).clone()
    }
}

impl UsageSink for MemoryUsageSink {
    fn record(&self, record: UsageRecord) {
        lock(&self.rows).push(record);
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        boxed(async {})
    }
}

/// A cache with expiry measured by a caller-supplied clock reading.
pub struct MemoryCacheStore {
    entries: Mutex<HashMap<String, (Bytes, u64)>>,
    now_ms: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl MemoryCacheStore {
    pub fn new(now_ms: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self { entries: Mutex::default(), now_ms: Box::new(now_ms) }
    }
}

impl CacheStore for MemoryCacheStore {
    fn get(&self, key: &str) -> BoxFuture<'_, Option<Bytes>> {
        let now = (self.now_ms)();
        let mut entries = lock(&self.entries);
        let hit = match entries.get(key) {
            Some((value, expires)) if *expires > now => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        };
        boxed(async move { hit })
    }

    fn put(&self, key: &str, value: Bytes, ttl: Duration) -> BoxFuture<'_, ()> {
        let expires = (self.now_ms)().saturating_add(ttl.as_millis() as u64);
        lock(&self.entries).insert(key.to_owned(), (value, expires));
        boxed(async {})
    }
}

/// Backups kept in memory.
#[derive(Default)]
pub struct MemoryBackupStore {
    objects: Mutex<HashMap<String, Bytes>>,
}

impl BackupStore for MemoryBackupStore {
    fn put(&self, name: &str, data: Bytes) -> BoxFuture<'_, Result<(), BackupError>> {
        lock(&self.objects).insert(name.to_owned(), data);
        boxed(async { Ok(()) })
    }

    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<Bytes>, BackupError>> {
        let value = lock(&self.objects).get(name).cloned();
        boxed(async move { Ok(value) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, BackupError>> {
        let mut names: Vec<String> = lock(&self.objects).keys().cloned().collect();
        names.sort();
        boxed(async move { Ok(names) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConnectionRecord, ProviderRecord};
    use futures_executor::block_on;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn declared(source: &str, ids: &[&str]) -> DeclaredConfig {
        DeclaredConfig {
            source: source.into(),
            providers: ids
                .iter()
                .map(|id| ProviderRecord {
                    id: (*id).into(),
                    source: source.into(),
                    catalog_id: None,
                    name: None,
                    format: None,
                    base_url: Some("http://x".into()),
                    auth: None,
                    headers: Default::default(),
                    chat_path: None,
                    api_version: None,
                    models: vec![],
                    enabled: true,
                })
                .collect(),
            connections: ids
                .iter()
                .map(|id| ConnectionRecord {
                    id: format!("{id}:a"),
                    provider_id: (*id).into(),
                    source: source.into(),
                    name: "a".into(),
                    api_key: None,
                    priority: 0,
                    enabled: true,
                })
                .collect(),
        }
    }

    #[test]
    fn sync_replaces_only_its_own_source() {
        let store = MemoryConfigStore::default();
        block_on(store.sync_declared(declared("api", &["kept"]))).unwrap();
        block_on(store.sync_declared(declared("config", &["one", "two"]))).unwrap();
        block_on(store.sync_declared(declared("config", &["two"]))).unwrap();
        let state = block_on(store.load()).unwrap();
        let ids: Vec<_> = state.providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["kept", "two"]);
        assert_eq!(state.connections.len(), 2);
        assert_eq!(state.version, 3);
    }

    #[test]
    fn cache_entries_expire() {
        let now = Arc::new(AtomicU64::new(1_000));
        let clock = now.clone();
        let cache = MemoryCacheStore::new(move || clock.load(Ordering::SeqCst));
        block_on(cache.put("k", Bytes::from_static(b"v"), Duration::from_millis(10)));
        assert_eq!(block_on(cache.get("k")), Some(Bytes::from_static(b"v")));
        now.store(1_011, Ordering::SeqCst);
        assert_eq!(block_on(cache.get("k")), None);
    }
}
