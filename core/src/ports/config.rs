//! The `ConfigStore` port: the stored configuration (providers, accounts, aliases, combos,
//! routing settings) and its version.
//! The store is the source of truth; declarative sources (file, env) are synced into it and the
//! management API writes through `apply`.

use crate::config::{AuditEntry, ConfigChange, DeclaredConfig, StoredConfig};
use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};

/// A storage failure; the message never contains secrets.
#[derive(Debug, thiserror::Error)]
#[error("config store: {0}")]
pub struct StoreError(pub String);

/// Versioned configuration storage.
pub trait ConfigStore: MaybeSend + MaybeSync {
    /// Everything stored, secrets decrypted, with the current version.
    fn load(&self) -> BoxFuture<'_, Result<StoredConfig, StoreError>>;
    /// Upserts what a declarative source says and removes rows that source had declared
    /// before but no longer does. Rows from other sources (API) are left alone.
    fn sync_declared(&self, declared: DeclaredConfig) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Bumped on every write; cheap, so callers can poll for changes.
    fn version(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// Applies `changes` and appends `audit` (when given) in one transaction, bumping the
    /// version when anything but the audit log changed; all or nothing. Returns the version.
    fn apply(&self, changes: Vec<ConfigChange>, audit: Option<AuditEntry>) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// The newest `limit` audit entries, newest first.
    fn audit_log(&self, limit: usize) -> BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>>;
    /// What kind of store this is, as `/api/monitoring/health` reports it: `"memory"`,
    /// `"libsql-file"`, `"libsql-remote"`.
    fn kind(&self) -> &'static str {
        "memory"
    }
    /// Where the store is, for messages (a file's path, a remote's `scheme://host:port`);
    /// never a secret.
    fn location(&self) -> String {
        self.kind().to_owned()
    }

    /// Why management changes are refused, when this store cannot keep them (a Worker without
    /// a database: its memory is forgotten when the isolate is recycled, and other isolates
    /// never see it). `None`: writable.
    fn read_only(&self) -> Option<String> {
        None
    }
}
