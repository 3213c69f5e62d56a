//! Configuration: stored records, the declarative file, env-var providers and the runtime snapshot.
//! Sources (file, env) become a `DeclaredConfig` synced into the store; the store builds snapshots.

pub mod declared;
pub mod file;
pub mod records;
pub mod snapshot;

pub use declared::{DeclareError, declare};
pub use file::{FileConfig, FileError};
pub use records::{ConnectionRecord, DeclaredConfig, ProviderRecord, StoredConfig};
pub use snapshot::{ConfigSnapshot, ResolvedConnection, ResolvedProvider};
