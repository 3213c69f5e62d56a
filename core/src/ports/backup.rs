//! The backup ports: `BackupStore` (put, get, list, delete backup objects: a local folder or an
//! S3-compatible bucket) and `DatabaseArchive` (a consistent copy of the database as one SQLite
//! file, and putting such a file back in place of the live data).

use bytes::Bytes;

use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};

/// Why a backup operation failed. The text never holds a credential (no signed URL, no key).
#[derive(Debug, thiserror::Error)]
#[error("backup store: {0}")]
pub struct BackupError(pub String);

/// One stored backup object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupObject {
    pub name: String,
    pub size: u64,
    /// When the store says it was written (Unix ms), if it says.
    pub modified_ms: Option<u64>,
}

/// Object storage for database snapshots. `put` is all or nothing: an object that `list`
/// returns was written whole (a local file is renamed into place once complete; an S3 object
/// exists only once its upload finished).
pub trait BackupStore: MaybeSend + MaybeSync {
    fn put(&self, name: &str, data: Bytes) -> BoxFuture<'_, Result<(), BackupError>>;
    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<Bytes>, BackupError>>;
    /// Every complete object, sorted by name.
    fn list(&self) -> BoxFuture<'_, Result<Vec<BackupObject>, BackupError>>;
    fn delete(&self, name: &str) -> BoxFuture<'_, Result<(), BackupError>>;
    /// Where the objects go, for people (`local:/srv/data/backups`, `s3://bucket/prefix`).
    fn location(&self) -> String;
}

/// Why an archive could not be taken or put back.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file offered is not one this build can restore (not SQLite, damaged, not our schema,
    /// a newer schema version): nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed; nothing was changed (the swap is one transaction).
    #[error("{0}")]
    Storage(String),
}

/// What a restore put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The schema version the file had before it was migrated forward.
    pub from_version: i64,
    /// Tables whose rows were replaced.
    pub tables: usize,
}

/// The live database, as a whole file.
pub trait DatabaseArchive: MaybeSend + MaybeSync {
    /// A consistent SQLite file of the database as of one committed state, taken while writes
    /// go on (never a raw copy of a file being written).
    fn snapshot(&self) -> BoxFuture<'_, Result<Bytes, ArchiveError>>;
    /// Checks `file` (SQLite, intact, our schema at a known version), migrates it forward if it
    /// is older, and replaces the live rows with its rows in one transaction.
    fn restore(&self, file: Bytes) -> BoxFuture<'_, Result<Restored, ArchiveError>>;
    /// The schema version of the live database.
    fn schema_version(&self) -> BoxFuture<'_, Result<i64, ArchiveError>>;
}
