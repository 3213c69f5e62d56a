//! Ports: the traits through which the core reaches the world (network, time, storage, tasks,
//! randomness).
//! Each runtime fills them in; `memory` holds in-process versions for tests and the Worker.

pub mod backup;
pub mod cache;
pub mod clock;
pub mod config;
pub mod cooldown;
pub mod entropy;
pub mod http;
pub mod lifecycle;
pub mod memory;
mod memory_responses;
mod memory_usage;
pub mod response_store;
pub mod s3_backup;
pub mod spawner;
pub mod usage;
pub mod usage_query;

use std::sync::Arc;

pub use backup::{ArchiveError, BackupError, BackupObject, BackupStore, DatabaseArchive, Restored};
pub use cache::CacheStore;
pub use clock::Clock;
pub use config::{ConfigStore, StoreError};
pub use cooldown::CooldownStore;
pub use entropy::{Entropy, EntropyError};

pub use http::{HttpClient, HttpError, OutboundProxy, ProxyError};
pub use lifecycle::{Lifecycle, LifecycleAction};
pub use response_store::{ResponseStore, StoredResponse};
pub use spawner::Spawner;
pub use usage::{LoggedBodies, UsageBacklog, UsageRecord, UsageSink};
pub use usage_query::UsageQuery;

/// Everything the core needs from its runtime.
#[derive(Clone)]
pub struct Ports {
    pub http: Arc<dyn HttpClient>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<dyn ConfigStore>,
    pub usage: Arc<dyn UsageSink>,
    /// Reads the rows back (management API, budget seeding, pruning); never the hot path.
    pub usage_query: Arc<dyn UsageQuery>,
    pub cache: Arc<dyn CacheStore>,
    pub backup: Arc<dyn BackupStore>,
    /// The database as one file (backups, export, import); `None` where there is no SQLite
    /// database to copy (memory stores): the backup endpoints then answer 501.
    pub archive: Option<Arc<dyn DatabaseArchive>>,
    pub spawner: Arc<dyn Spawner>,
    /// Cooldowns shared with other instances on the same store.
    pub cooldowns: Arc<dyn CooldownStore>,
    /// Secure randomness for keys, tokens and salts.
    pub entropy: Arc<dyn Entropy>,
    /// Responses kept for the Responses API (`store`), shared with other instances on the
    /// same store.
    pub responses: Arc<dyn ResponseStore>,
}
