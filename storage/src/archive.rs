//! The `DatabaseArchive` port on libSQL. `LibsqlArchive` (here) is the embedded file's:
//! consistent snapshots with `VACUUM INTO`, and restores that check a file and swap its rows in
//! within one transaction. `RemoteArchive` (`remote`) does the same for a remote database
//! (Turso, sqld) over Hrana; both check a file the same way (`checks`), and the remote one
//! moves rows in pages (`copy`). A snapshot of either restores into the other.
//!
//! **Snapshots.** `VACUUM INTO` runs on a connection of its own inside one read transaction:
//! under WAL it sees exactly the last committed state when it began, while writers go on
//! (they append to the WAL; the snapshot never reads a half-written page). A raw copy of the
//! file would miss what sits in the WAL and could catch a checkpoint mid-way.
//!
//! **Restores.** The server holds three connections to one file (`conn` for reads, `background`
//! for the usage flush on a blocking thread, `writer` for config writes one at a time) and the
//! runtime's snapshot of the config in memory. Closing them and renaming a file over the live
//! database would pull the file out from under in-flight reads and the usage flush, and a
//! write acknowledged between the close and the reopen would land in the replaced file and be
//! lost. Instead the file is checked and migrated forward on a copy, then attached to the
//! `writer` connection (taken from its lock, so config writes queue behind the restore) and
//! every table's rows (the audit log's excepted: history stays) are replaced in one
//! `BEGIN IMMEDIATE` transaction: readers see the old
//! state or the new one, never a mix; a usage flush waits on SQLite's write lock (busy
//! timeout) and lands after the swap; a failure anywhere rolls the whole swap back. The
//! config version moves past both the live and the restored one, so every instance reloads
//! its snapshot.

mod checks;
mod copy;
mod remote;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{ArchiveError, DatabaseArchive, Restored};

use crate::database::{Database, DatabaseError, write_transaction};
use crate::migrations;
use crate::sql::{Connection, SqlError, Value};
use checks::{ScratchFile, checked_copy, first_i64, names};

pub use remote::RemoteArchive;

/// Tables a restore leaves as they are: the audit log is history, not state; a restore never
/// erases it, and it records the restore itself.
const KEPT: &[&str] = &["audit_log"];

/// The schema name the file being restored is attached as.
const SOURCE: &str = "restore_src";

/// Snapshots and restores of one database.
pub struct LibsqlArchive {
    db: Database,
    /// Where temporary files go: beside the database (same filesystem, same privacy).
    scratch: PathBuf,
}

impl LibsqlArchive {
    pub fn new(db: Database) -> Self {
        let scratch = db.path().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
        LibsqlArchive { db, scratch }
    }

    async fn snapshot_inner(&self) -> Result<Bytes, ArchiveError> {
        let file = ScratchFile::new(&self.scratch, "snapshot");
        let conn = self
            .db
            .own_connection()
            .map_err(storage)?
            .ok_or_else(|| ArchiveError::Storage("a remote database has no file to copy".into()))?;
        conn.execute("VACUUM INTO ?1", [file.path_str()?]).await.map_err(|e| storage(e.into()))?;
        let bytes = tokio::fs::read(&file.path).await.map_err(|e| ArchiveError::Storage(e.to_string()))?;
        Ok(Bytes::from(bytes))
    }

    async fn restore_inner(&self, data: Bytes) -> Result<Restored, ArchiveError> {
        let (file, from_version) = checked_copy(&self.scratch, &data).await?;
        let writer = self.db.writer().await;
        // A detach that failed after an earlier restore would make this attach fail.
        let _ = writer.execute(&format!("DETACH DATABASE {SOURCE}"), ()).await;
        writer
            .execute(&format!("ATTACH DATABASE ?1 AS {SOURCE}"), [Value::Text(file.path_str()?)])
            .await
            .map_err(|e| ArchiveError::Invalid(format!("the file cannot be opened as a database: {e}")))?;
        let swapped = swap(&writer).await;
        if let Err(e) = writer.execute(&format!("DETACH DATABASE {SOURCE}"), ()).await {
            tracing::warn!(error = %e, "could not detach the restored file");
        }
        let tables = swapped?;
        Ok(Restored { from_version, tables })
    }
}

impl DatabaseArchive for LibsqlArchive {
    fn snapshot(&self) -> BoxFuture<'_, Result<Bytes, ArchiveError>> {
        boxed(self.snapshot_inner())
    }

    fn restore(&self, file: Bytes) -> BoxFuture<'_, Result<Restored, ArchiveError>> {
        boxed(self.restore_inner(file))
    }

    fn schema_version(&self) -> BoxFuture<'_, Result<i64, ArchiveError>> {
        boxed(async move { migrations::current_version(self.db.connection()).await.map_err(storage) })
    }
}

fn storage(e: DatabaseError) -> ArchiveError {
    ArchiveError::Storage(e.to_string())
}

/// Replaces the rows of every table of the live database with the attached file's, in one
/// transaction; returns how many tables.
async fn swap(writer: &Connection) -> Result<usize, ArchiveError> {
    let fail = |e: SqlError| ArchiveError::Storage(format!("the restore was rolled back: {e}"));
    let tx = write_transaction(writer).await.map_err(fail)?;
    let live_version = first_i64(&tx, "SELECT version FROM main.config_version WHERE id = 1").await.map_err(fail)?;
    let restored_version =
        first_i64(&tx, &format!("SELECT version FROM {SOURCE}.config_version WHERE id = 1")).await.map_err(fail)?;
    let tables = names(&tx, "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .await
        .map_err(fail)?;
    let source_tables =
        names(&tx, &format!("SELECT name FROM {SOURCE}.sqlite_master WHERE type = 'table'")).await.map_err(fail)?;
    for table in tables.iter().filter(|t| !KEPT.contains(&t.as_str())) {
        if !source_tables.contains(table) {
            // Dropping the transaction rolls it back.
            return Err(ArchiveError::Invalid(format!("not an omniroute database (no table `{table}`)")));
        }
        let columns =
            names(&tx, &format!("SELECT name FROM pragma_table_info('{table}', 'main')")).await.map_err(fail)?;
        let columns = columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        tx.execute(&format!("DELETE FROM main.\"{table}\""), ()).await.map_err(fail)?;
        tx.execute(&format!("INSERT INTO main.\"{table}\" ({columns}) SELECT {columns} FROM {SOURCE}.\"{table}\""), ())
            .await
            .map_err(fail)?;
    }
    if source_tables.iter().any(|t| t == "sqlite_sequence") {
        tx.execute("DELETE FROM main.sqlite_sequence", ()).await.map_err(fail)?;
        tx.execute(
            &format!("INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM {SOURCE}.sqlite_sequence"),
            (),
        )
        .await
        .map_err(fail)?;
    }
    // Past both, so every instance sees the version move and reloads.
    let version = live_version.unwrap_or(0).max(restored_version.unwrap_or(0)) + 1;
    tx.execute("UPDATE main.config_version SET version = ?1 WHERE id = 1", [Value::Integer(version)])
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    Ok(tables.iter().filter(|t| !KEPT.contains(&t.as_str())).count())
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
