//! In-process implementations of the storage ports: for tests, and for the Worker until it
//! reaches Turso. Nothing here survives a restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{AuditEntry, ConfigChange, DeclaredConfig, StoredConfig};
use crate::maybe_send::{BoxFuture, boxed};
use crate::ports::{BackupError, BackupObject, BackupStore, CacheStore, ConfigStore, CooldownStore, StoreError};

pub use super::memory_responses::MemoryResponseStore;
pub use super::memory_usage::MemoryUsageSink;

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked mid-update; the data is still usable.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Config kept in memory.
#[derive(Default)]
pub struct MemoryConfigStore {
    state: Mutex<MemoryConfig>,
    /// Set where memory cannot keep management changes (see [`ConfigStore::read_only`]).
    read_only: Option<String>,
}

impl MemoryConfigStore {
    /// A store that refuses management changes with `reason` (it still takes the declared
    /// config, the first admin password and sessions, which every isolate rebuilds on its own).
    pub fn read_only(reason: impl Into<String>) -> Self {
        MemoryConfigStore { state: Mutex::default(), read_only: Some(reason.into()) }
    }
}

#[derive(Default)]
struct MemoryConfig {
    stored: StoredConfig,
    /// Who set each settings document (absent: the API).
    setting_sources: HashMap<String, String>,
    /// Newest last.
    audit: Vec<AuditEntry>,
}

impl ConfigStore for MemoryConfigStore {
    fn load(&self) -> BoxFuture<'_, Result<StoredConfig, StoreError>> {
        let state = lock(&self.state).stored.clone();
        boxed(async move { Ok(state) })
    }

    fn sync_declared(&self, declared: DeclaredConfig) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut guard = lock(&self.state);
        let MemoryConfig { stored: state, setting_sources, .. } = &mut *guard;
        let source = declared.source.clone();
        state.providers.retain(|p| p.source != source && !declared.providers.iter().any(|d| d.id == p.id));
        state.connections.retain(|c| c.source != source && !declared.connections.iter().any(|d| d.id == c.id));
        state.aliases.retain(|a| a.source != source && !declared.aliases.iter().any(|d| d.pattern == a.pattern));
        state.combos.retain(|c| c.source != source && !declared.combos.iter().any(|d| d.name == c.name));
        state.providers.extend(declared.providers);
        state.connections.extend(declared.connections);
        state.aliases.extend(declared.aliases);
        state.combos.extend(declared.combos);
        let gone: Vec<String> = setting_sources
            .iter()
            .filter(|(key, from)| **from == source && !declared.settings.contains_key(*key))
            .map(|(key, _)| key.clone())
            .collect();
        for key in gone {
            state.settings.remove(&key);
            setting_sources.remove(&key);
        }
        for (key, value) in declared.settings {
            setting_sources.insert(key.clone(), source.clone());
            state.settings.insert(key, value);
        }
        if declared.routing.is_some() {
            state.routing = declared.routing;
            state.routing_source = Some(source);
        } else if state.routing_source.as_deref() == Some(source.as_str()) {
            state.routing = None;
            state.routing_source = None;
        }
        state.version += 1;
        boxed(async { Ok(()) })
    }

    fn version(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        let version = lock(&self.state).stored.version;
        boxed(async move { Ok(version) })
    }

    fn apply(&self, changes: Vec<ConfigChange>, audit: Option<AuditEntry>) -> BoxFuture<'_, Result<u64, StoreError>> {
        let mut state = lock(&self.state);
        let bump = !changes.is_empty();
        for change in changes {
            if let ConfigChange::PutSetting { key, .. } | ConfigChange::DeleteSetting(key) = &change {
                state.setting_sources.remove(key);
            }
            change.apply_to(&mut state.stored);
        }
        if let Some(mut entry) = audit {
            entry.id = state.audit.len() as u64 + 1;
            state.audit.push(entry);
        }
        if bump {
            state.stored.version += 1;
        }
        let version = state.stored.version;
        boxed(async move { Ok(version) })
    }

    fn audit_log(&self, limit: usize) -> BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>> {
        let entries: Vec<AuditEntry> = lock(&self.state).audit.iter().rev().take(limit).cloned().collect();
        boxed(async move { Ok(entries) })
    }

    fn read_only(&self) -> Option<String> {
        self.read_only.clone()
    }
}

/// Cooldowns kept in a map; expired ones are dropped when read.
#[derive(Default)]
pub struct MemoryCooldownStore {
    until: Mutex<HashMap<String, u64>>,
}

impl CooldownStore for MemoryCooldownStore {
    fn put(&self, key: &str, until_ms: u64) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut map = lock(&self.until);
        let entry = map.entry(key.to_owned()).or_insert(until_ms);
        *entry = (*entry).max(until_ms);
        boxed(async { Ok(()) })
    }

    fn active(&self, now_ms: u64) -> BoxFuture<'_, Result<Vec<(String, u64)>, StoreError>> {
        let mut map = lock(&self.until);
        map.retain(|_, until| *until > now_ms);
        let mut rows: Vec<(String, u64)> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
        rows.sort();
        boxed(async move { Ok(rows) })
    }

    fn clear(&self, key: Option<&str>) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut map = lock(&self.until);
        match key {
            Some(key) => drop(map.remove(key)),
            None => map.clear(),
        }
        boxed(async { Ok(()) })
    }
}

/// A cache with expiry measured by a caller-supplied clock reading.
pub struct MemoryCacheStore {
    /// Ordered, so that `may_hold` finds a prefix without a scan.
    entries: Mutex<BTreeMap<String, (Bytes, u64)>>,
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

    fn may_hold(&self, prefix: &str) -> bool {
        let entries = lock(&self.entries);
        entries
            .range::<str, _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
            .next()
            .is_some_and(|(key, _)| key.starts_with(prefix))
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

    fn list(&self) -> BoxFuture<'_, Result<Vec<BackupObject>, BackupError>> {
        let mut objects: Vec<BackupObject> = lock(&self.objects)
            .iter()
            .map(|(name, data)| BackupObject { name: name.clone(), size: data.len() as u64, modified_ms: None })
            .collect();
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        boxed(async move { Ok(objects) })
    }

    fn delete(&self, name: &str) -> BoxFuture<'_, Result<(), BackupError>> {
        lock(&self.objects).remove(name);
        boxed(async { Ok(()) })
    }

    fn location(&self) -> String {
        "memory".into()
    }
}

/// A clock that only moves when told to: deterministic tests of breakers, cooldowns and
/// sessions. `sleep` returns at once.
#[derive(Debug)]
pub struct ManualClock {
    now_ms: std::sync::atomic::AtomicU64,
}

impl ManualClock {
    pub fn new(start_unix_ms: u64) -> Self {
        ManualClock { now_ms: std::sync::atomic::AtomicU64::new(start_unix_ms) }
    }

    pub fn advance(&self, ms: u64) {
        self.now_ms.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl crate::ports::Clock for ManualClock {
    fn now_unix_ms(&self) -> u64 {
        self.now_ms.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn monotonic_us(&self) -> u64 {
        self.now_unix_ms() * 1000
    }
    fn sleep(&self, _: std::time::Duration) -> crate::maybe_send::BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AliasRecord, ComboRecord, ComboTarget, ConnectionRecord, ProviderRecord, RoutingSettings};
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
                    selection: Default::default(),
                    sticky_window: None,
                    timeouts: Default::default(),
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
            aliases: ids
                .iter()
                .map(|id| AliasRecord { pattern: format!("{id}-*"), target: format!("{id}/m"), source: source.into() })
                .collect(),
            combos: ids
                .iter()
                .map(|id| ComboRecord {
                    name: format!("c-{id}"),
                    source: source.into(),
                    strategy: Default::default(),
                    targets: vec![ComboTarget { target: format!("{id}/m"), weight: 1 }],
                    settings: Default::default(),
                })
                .collect(),
            routing: None,
            settings: Default::default(),
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
        let patterns: Vec<_> = state.aliases.iter().map(|a| a.pattern.as_str()).collect();
        assert_eq!(patterns, ["kept-*", "two-*"]);
        let combos: Vec<_> = state.combos.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(combos, ["c-kept", "c-two"]);
        assert_eq!(state.version, 3);
    }

    #[test]
    fn routing_settings_go_only_with_the_source_that_set_them() {
        let store = MemoryConfigStore::default();
        let with_routing = |source: &str, max_wait_ms| DeclaredConfig {
            routing: Some(RoutingSettings { max_wait_ms, ..Default::default() }),
            ..declared(source, &[])
        };
        block_on(store.sync_declared(with_routing("config", 5))).unwrap();
        block_on(store.sync_declared(declared("api", &[]))).unwrap();
        assert_eq!(block_on(store.load()).unwrap().routing.unwrap().max_wait_ms, 5, "another source keeps it");
        block_on(store.sync_declared(declared("config", &[]))).unwrap();
        assert_eq!(block_on(store.load()).unwrap().routing, None);
        block_on(store.sync_declared(with_routing("api", 7))).unwrap();
        block_on(store.sync_declared(declared("config", &[]))).unwrap();
        assert_eq!(block_on(store.load()).unwrap().routing.unwrap().max_wait_ms, 7);
    }

    #[test]
    fn declared_settings_go_only_with_the_source_that_set_them() {
        let store = MemoryConfigStore::default();
        let with_cache = |source: &str, ttl: u64| {
            let mut d = declared(source, &[]);
            d.settings.insert("cache".into(), serde_json::json!({ "ttlMs": ttl }));
            d
        };
        block_on(store.sync_declared(with_cache("config", 5))).unwrap();
        assert_eq!(block_on(store.load()).unwrap().settings["cache"]["ttlMs"], 5);
        block_on(store.sync_declared(declared("config", &[]))).unwrap();
        assert!(!block_on(store.load()).unwrap().settings.contains_key("cache"));
        block_on(store.sync_declared(with_cache("config", 6))).unwrap();
        let change = ConfigChange::PutSetting { key: "cache".into(), value: serde_json::json!({ "ttlMs": 7 }) };
        block_on(store.apply(vec![change], None)).unwrap();
        block_on(store.sync_declared(declared("config", &[]))).unwrap();
        assert_eq!(block_on(store.load()).unwrap().settings["cache"]["ttlMs"], 7, "the API's own stays");
    }

    #[test]
    fn cooldowns_keep_the_later_until_and_expire() {
        let store = MemoryCooldownStore::default();
        block_on(store.put("openai:a", 2_000)).unwrap();
        block_on(store.put("openai:a", 1_500)).unwrap();
        block_on(store.put("groq:b", 1_200)).unwrap();
        let active = block_on(store.active(1_000)).unwrap();
        assert_eq!(active, [("groq:b".to_string(), 1_200), ("openai:a".to_string(), 2_000)]);
        assert_eq!(block_on(store.active(1_200)).unwrap(), [("openai:a".to_string(), 2_000)]);
        block_on(store.put("openai:a", 3_000)).unwrap();
        assert_eq!(block_on(store.active(2_500)).unwrap(), [("openai:a".to_string(), 3_000)]);
        assert!(block_on(store.active(3_000)).unwrap().is_empty());
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
