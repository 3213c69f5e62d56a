//! The `BackupStore` port: put, get and list backup objects (S3 or a local folder).

use bytes::Bytes;

use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};

/// Why a backup operation failed.
#[derive(Debug, thiserror::Error)]
#[error("backup store: {0}")]
pub struct BackupError(pub String);

/// Object storage for database snapshots.
pub trait BackupStore: MaybeSend + MaybeSync {
    fn put(&self, name: &str, data: Bytes) -> BoxFuture<'_, Result<(), BackupError>>;
    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<Bytes>, BackupError>>;
    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, BackupError>>;
}
