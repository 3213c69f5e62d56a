//! Configuration: stored records, the declarative file, env-var providers.
//! Sources (file, env) become a `DeclaredConfig` synced into the store; [`crate::snapshot`] compiles what is stored.

pub mod access_records;
pub mod aliases;
pub mod backup;
pub mod changes;
pub mod database;
pub mod declared;
pub mod discovered;
pub mod file;
pub mod options;
pub mod policy;
pub mod records;
pub mod settings;
pub mod validate;

pub use access_records::{AdminSession, ApiKeyRecord, BudgetPeriod, KeyBudget, KeyRole};
pub use aliases::AliasTable;
pub use backup::{BackupSettings, S3Destination};
pub use changes::{API_SOURCE, AuditEntry, ConfigChange};
pub use database::{RemoteDatabase, remote_database};
pub use declared::{CONFIG_SOURCE, DeclareError, declare};
pub use discovered::{DiscoveredModel, DiscoveredModels};
pub use file::{FileConfig, FileError};
pub use options::GatewayOptions;
pub use records::{
    AliasRecord, BreakerSettings, ComboRecord, ComboSettings, ComboTarget, ConnectionRecord,
    DEFAULT_ACCOUNT_COOLDOWN_MS, DEFAULT_RATE_LIMIT_COOLDOWN_MS, DeclaredConfig, ProviderRecord, RoutingSettings,
    StoredConfig, TimeoutOverrides,
};
pub use validate::{TargetRef, ValidationError, validate_declared, validate_stored};
