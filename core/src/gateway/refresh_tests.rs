//! Two refreshes that overlap (the background poll and a management write's own reload) never
//! leave the older snapshot in place: a session or key just written stayed missing until the
//! next poll when a slow refresh that read the store before the write stored its snapshot last
//! (an admin got 401 right after logging in).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_executor::block_on;
use futures_util::lock::Mutex;

use crate::config::{AuditEntry, ConfigChange, DeclaredConfig, StoredConfig};
use crate::maybe_send::{BoxFuture, boxed};
use crate::pipeline::test_support::memory_gateway;
use crate::ports::memory::MemoryConfigStore;
use crate::ports::{ConfigStore, StoreError};

/// A store whose first `load` reads the rows at once but answers only when the gate opens.
struct SlowFirstLoad {
    inner: Arc<MemoryConfigStore>,
    gate: Arc<Mutex<()>>,
    first: AtomicBool,
}

impl ConfigStore for SlowFirstLoad {
    fn load(&self) -> BoxFuture<'_, Result<StoredConfig, StoreError>> {
        let slow = self.first.swap(false, Ordering::SeqCst);
        boxed(async move {
            let stored = self.inner.load().await;
            if slow {
                drop(self.gate.lock().await);
            }
            stored
        })
    }
    fn sync_declared(&self, declared: DeclaredConfig) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.sync_declared(declared)
    }
    fn version(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.inner.version()
    }
    fn apply(&self, changes: Vec<ConfigChange>, audit: Option<AuditEntry>) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.inner.apply(changes, audit)
    }
    fn audit_log(&self, limit: usize) -> BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>> {
        self.inner.audit_log(limit)
    }
}

fn setting(n: u64) -> ConfigChange {
    ConfigChange::PutSetting { key: format!("test-{n}"), value: serde_json::json!(n) }
}

#[test]
fn a_slow_refresh_never_stores_its_older_snapshot_over_a_newer_one() {
    let (mut gateway, ports) = memory_gateway(1_000);
    let gate = Arc::new(Mutex::new(()));
    gateway.ports.config =
        Arc::new(SlowFirstLoad { inner: ports.config.clone(), gate: gate.clone(), first: AtomicBool::new(true) });
    block_on(async {
        let closed = gate.lock().await;
        ports.config.apply(vec![setting(1)], None).await.unwrap();
        // The poll: reads the version and the rows of the first change, then waits.
        let poll = gateway.refresh();
        // Meanwhile a management write lands and reloads; then the poll finishes.
        let write = async {
            let newest = ports.config.apply(vec![setting(2)], None).await.unwrap();
            drop(closed);
            gateway.refresh().await.unwrap();
            newest
        };
        let (_, newest) = futures_util::future::join(poll, write).await;
        assert_eq!(gateway.snapshot().version, newest, "the newest snapshot stays");
    });
}
