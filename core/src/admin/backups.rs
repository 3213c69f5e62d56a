//! Backups of the database: take one (into the `BackupStore`), list them, restore one (after a
//! safety backup of the current state), keep the newest N. Shared by the `/api/db-backups*`
//! handlers and the runtimes' schedulers.
//!
//! A backup is one object named `omniroute-<UTC time to the ms>-<kind>.sqlite`: names sort by
//! time, and the kind (`manual`, `scheduled`, `pre-restore`, `pre-import`) says why it was
//! taken. Other objects in the destination are never listed, restored or deleted.

use bytes::Bytes;
use serde::Serialize;

use crate::admin::json::timestamp;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::ports::{ArchiveError, BackupObject, DatabaseArchive, Restored};

const PREFIX: &str = "omniroute-";
const SUFFIX: &str = ".sqlite";

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupKind {
    Manual,
    Scheduled,
    PreRestore,
    PreImport,
}

impl BackupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Manual => "manual",
            BackupKind::Scheduled => "scheduled",
            BackupKind::PreRestore => "pre-restore",
            BackupKind::PreImport => "pre-import",
        }
    }
}

/// One backup as the API lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BackupInfo {
    /// The name to restore it by (`POST /api/db-backups {"name"}`).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// When it was taken (RFC 3339).
    pub created_at: String,
    /// `manual`, `scheduled`, `pre-restore` or `pre-import`.
    pub kind: String,
    /// The destination: `local:<folder>` or `s3://<bucket>/<prefix>`.
    #[serde(rename = "where")]
    pub location: String,
}

/// The database archive, or a 501 where the runtime has none (the Worker: its stores are
/// memory, or a remote database whose archive is native only so far).
pub fn archive(gateway: &Gateway) -> Result<&dyn DatabaseArchive, GatewayError> {
    gateway
        .ports
        .archive
        .as_deref()
        .ok_or_else(|| GatewayError::Unsupported("backups are not available on this runtime: the Worker keeps no database file to copy (backups of a remote database are taken by the server or Lambda)".into()))
}

fn store_error(e: impl std::fmt::Display) -> GatewayError {
    // The store's own text (an S3 error code, an I/O error) names no credential.
    GatewayError::UpstreamUnavailable(format!("the backup destination failed: {e}"))
}

pub fn archive_error(e: ArchiveError) -> GatewayError {
    match e {
        ArchiveError::Invalid(message) => GatewayError::InvalidRequest(message),
        ArchiveError::Storage(message) => GatewayError::internal("the database archive failed", message),
    }
}

/// `omniroute-20261207T221530.123Z-manual.sqlite`.
fn object_name(now_ms: u64, kind: BackupKind) -> String {
    let time = chrono::DateTime::from_timestamp_millis(i64::try_from(now_ms).unwrap_or(i64::MAX))
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%S%.3fZ");
    format!("{PREFIX}{time}-{}{SUFFIX}", kind.as_str())
}

/// The time and kind a name of ours carries.
fn parse_name(name: &str) -> Option<(u64, &str)> {
    let rest = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (time, kind) = rest.split_once('-')?;
    let parsed = chrono::NaiveDateTime::parse_from_str(time, "%Y%m%dT%H%M%S%.3fZ").ok()?;
    let ms = u64::try_from(parsed.and_utc().timestamp_millis()).ok()?;
    Some((ms, kind))
}

fn info(object: &BackupObject, location: &str) -> Option<BackupInfo> {
    let (ms, kind) = parse_name(&object.name)?;
    Some(BackupInfo {
        name: object.name.clone(),
        size: object.size,
        created_at: timestamp(ms),
        kind: kind.to_owned(),
        location: location.to_owned(),
    })
}

/// Every backup of ours in the destination, oldest first.
pub async fn list(gateway: &Gateway) -> Result<Vec<BackupInfo>, GatewayError> {
    let location = gateway.ports.backup.location();
    let objects = gateway.ports.backup.list().await.map_err(store_error)?;
    let mut backups: Vec<BackupInfo> = objects.iter().filter_map(|o| info(o, &location)).collect();
    backups.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(backups)
}

/// Takes a consistent snapshot and stores it; returns what was stored.
pub async fn create(gateway: &Gateway, kind: BackupKind) -> Result<BackupInfo, GatewayError> {
    let data = archive(gateway)?.snapshot().await.map_err(archive_error)?;
    let mut name = object_name(gateway.ports.clock.now_unix_ms(), kind);
    // Two backups within one millisecond (a restore's safety backup right after a manual one)
    // must not overwrite each other.
    let existing = gateway.ports.backup.list().await.map_err(store_error)?;
    let mut ms = gateway.ports.clock.now_unix_ms();
    while existing.iter().any(|o| o.name == name) {
        ms += 1;
        name = object_name(ms, kind);
    }
    let size = data.len() as u64;
    gateway.ports.backup.put(&name, data).await.map_err(store_error)?;
    let location = gateway.ports.backup.location();
    let object = BackupObject { name, size, modified_ms: None };
    info(&object, &location).ok_or_else(|| GatewayError::internal("backup name", "unparseable"))
}

/// The bytes of the backup `name`, or 404.
pub async fn fetch(gateway: &Gateway, name: &str) -> Result<Bytes, GatewayError> {
    if parse_name(name).is_none() {
        return Err(GatewayError::NotFound(format!("backup '{name}'")));
    }
    match gateway.ports.backup.get(name).await.map_err(store_error)? {
        Some(data) => Ok(data),
        None => Err(GatewayError::NotFound(format!("backup '{name}'"))),
    }
}

/// Puts `file` in place of the live data after a safety backup (of `safety` kind) of the
/// current state, then reloads the snapshot. Nothing changes when the file is refused: the
/// swap is one transaction, and the safety backup taken for it is deleted again.
pub async fn restore_file(
    gateway: &Gateway,
    file: Bytes,
    safety: BackupKind,
) -> Result<(Restored, BackupInfo), GatewayError> {
    let archive = archive(gateway)?;
    let safety = create(gateway, safety).await?;
    let restored = match archive.restore(file).await {
        Ok(restored) => restored,
        Err(e) => {
            if let Err(cleanup) = gateway.ports.backup.delete(&safety.name).await {
                tracing::warn!(error = %cleanup, name = %safety.name, "could not delete the unused safety backup");
            }
            return Err(archive_error(e));
        }
    };
    if let Err(e) = gateway.refresh().await {
        tracing::warn!(error = %e, "restored, but the snapshot could not be reloaded yet");
    }
    // Spend per key comes from the usage rows, which were replaced too.
    if let Err(e) = gateway.load_usage_state().await {
        tracing::warn!(error = %e, "restored, but per-key spend could not be re-read yet");
    }
    Ok((restored, safety))
}

/// Deletes the oldest backups of ours until `keep` are left; returns how many went.
pub async fn prune(gateway: &Gateway, keep: usize) -> Result<usize, GatewayError> {
    let backups = list(gateway).await?;
    let excess = backups.len().saturating_sub(keep);
    for backup in &backups[..excess] {
        gateway.ports.backup.delete(&backup.name).await.map_err(store_error)?;
    }
    Ok(excess)
}

/// A scheduled run: a backup, then the newest `keep` kept.
pub async fn scheduled(gateway: &Gateway, keep: Option<usize>) -> Result<BackupInfo, GatewayError> {
    let backup = create(gateway, BackupKind::Scheduled).await?;
    if let Some(keep) = keep {
        let pruned = prune(gateway, keep).await?;
        if pruned > 0 {
            tracing::info!(pruned, keep, "old backups deleted");
        }
    }
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_time_and_kind_and_sort_by_time() {
        let a = object_name(1_765_146_930_123, BackupKind::Manual);
        assert_eq!(a, "omniroute-20251207T223530.123Z-manual.sqlite");
        assert_eq!(parse_name(&a), Some((1_765_146_930_123, "manual")));
        let b = object_name(1_765_146_930_124, BackupKind::PreRestore);
        assert_eq!(parse_name(&b), Some((1_765_146_930_124, "pre-restore")));
        assert!(a < b);
        assert_eq!(parse_name("notes.txt"), None);
        assert_eq!(parse_name("omniroute-garbage-manual.sqlite"), None);
    }
}
