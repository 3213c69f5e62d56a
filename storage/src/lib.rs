//! omniroute-storage: the native storage ports. libSQL (an embedded file, or Turso/sqld) behind
//! ConfigStore, CooldownStore, UsageSink, UsageQuery and ResponseStore, migrations, secrets
//! encrypted at rest, local-folder backups and consistent snapshots/restores of the file.

// On wasm32 the HttpClient port (and so the remote connection holding it) is not Send: the
// Worker is single-threaded, and Arc stays correct there (the same as in core).
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

mod access_rows;
#[cfg(not(target_arch = "wasm32"))]
pub mod archive;
#[cfg(not(target_arch = "wasm32"))]
pub mod backup;
pub mod config_store;
mod config_writes;
pub mod cooldown_store;
pub mod database;
pub mod migrations;
pub mod response_store;
mod routing_rows;
mod sealed_fields;
pub mod secrets;
pub mod sql;
mod stores;
pub mod usage_query;
pub mod usage_sink;

#[cfg(not(target_arch = "wasm32"))]
pub use archive::{LibsqlArchive, RemoteArchive};
#[cfg(not(target_arch = "wasm32"))]
pub use backup::LocalDirBackupStore;
pub use config_store::LibsqlConfigStore;
pub use cooldown_store::LibsqlCooldownStore;
pub use database::{Database, DatabaseError, StorageKind};
pub use response_store::LibsqlResponseStore;
pub use secrets::{SecretBox, SecretError};
pub use stores::LibsqlStores;
pub use usage_query::LibsqlUsageQuery;
pub use usage_sink::LibsqlUsageSink;
