//! Configuration: stored records, the declarative file, env-var providers and the runtime snapshot.
//! Sources (file, env) become a `DeclaredConfig` synced into the store; the store builds snapshots.

pub mod access;
pub mod aliases;
pub mod changes;
pub mod declared;
pub mod file;
pub mod records;
pub mod settings;
pub mod snapshot;
pub mod validate;

pub use access::{AdminSession, ApiKeyRecord, BudgetPeriod, KeyBudget, KeyRole};
pub use aliases::AliasTable;
pub use changes::{API_SOURCE, AuditEntry, ConfigChange};
pub use declared::{CONFIG_SOURCE, DeclareError, declare};
pub use file::{FileConfig, FileError};
pub use records::{
    AliasRecord, BreakerSettings, ComboRecord, ComboSettings, ComboTarget, ConnectionRecord, DeclaredConfig,
    ProviderRecord, RoutingSettings, StoredConfig, TimeoutOverrides,
};
pub use snapshot::{ConfigSnapshot, ResolvedCombo, ResolvedComboTarget, ResolvedConnection, ResolvedProvider};
pub use validate::{TargetRef, ValidationError, validate_declared, validate_stored};
