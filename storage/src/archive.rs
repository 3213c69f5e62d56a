//! `LibsqlArchive`: the `DatabaseArchive` port on the libSQL file: consistent snapshots with
//! `VACUUM INTO`, and restores that check a file and swap its rows in within one transaction.
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

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{ArchiveError, DatabaseArchive, Restored};

use crate::database::{Database, DatabaseError, write_transaction};
use crate::migrations::{self, MIGRATIONS};
use crate::sql::{Connection, SqlError, Value};

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

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
        if data.len() < 100 || !data.starts_with(SQLITE_MAGIC) {
            return Err(ArchiveError::Invalid("the file is not a SQLite database".into()));
        }
        let file = ScratchFile::new(&self.scratch, "restore");
        crate::secrets::write_private_bytes(&file.path, &data).map_err(|e| ArchiveError::Storage(e.to_string()))?;
        let from_version = prepare(&file).await?;
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

/// Opens the file on its own, checks it is an intact omniroute database at a version this
/// build knows, and migrates it forward. Returns the version it had.
async fn prepare(file: &ScratchFile) -> Result<i64, ArchiveError> {
    let invalid = |what: &str, e: &dyn std::fmt::Display| ArchiveError::Invalid(format!("{what}: {e}"));
    let db = libsql::Builder::new_local(&file.path)
        .build()
        .await
        .map_err(|e| invalid("the file cannot be opened as a database", &e))?;
    let conn = Connection::Local(db.connect().map_err(|e| invalid("the file cannot be opened as a database", &e))?);
    let check =
        first_text(&conn, "PRAGMA integrity_check").await.map_err(|e| invalid("not a readable database", &e))?;
    if check.as_deref() != Some("ok") {
        return Err(ArchiveError::Invalid(format!(
            "the database is damaged (integrity_check: {})",
            check.unwrap_or_default()
        )));
    }
    let has_versions =
        first_text(&conn, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
            .await
            .map_err(|e| invalid("not a readable database", &e))?;
    if has_versions.is_none() {
        return Err(ArchiveError::Invalid("not an omniroute database (it has no schema version)".into()));
    }
    let found = migrations::current_version(&conn).await.map_err(|e| invalid("cannot read its schema version", &e))?;
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if found > known {
        return Err(ArchiveError::Invalid(format!(
            "the database is at schema version {found}, newer than this build knows ({known})"
        )));
    }
    if found < 1 {
        return Err(ArchiveError::Invalid("not an omniroute database (schema version 0)".into()));
    }
    migrations::apply(&conn).await.map_err(|e| invalid("the database could not be migrated forward", &e))?;
    // Fold a WAL the file came with (or migration wrote) into the file before it is attached.
    first_text(&conn, "PRAGMA wal_checkpoint(TRUNCATE)").await.map_err(|e| invalid("checkpoint", &e))?;
    Ok(found)
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

async fn first_text(conn: &Connection, sql: &str) -> Result<Option<String>, SqlError> {
    let mut rows = conn.query(sql, ()).await?;
    match rows.next().await? {
        Some(row) => Ok(Some(row.get::<Option<String>>(0).ok().flatten().unwrap_or_default())),
        None => Ok(None),
    }
}

async fn first_i64(conn: &Connection, sql: &str) -> Result<Option<i64>, SqlError> {
    let mut rows = conn.query(sql, ()).await?;
    match rows.next().await? {
        Some(row) => Ok(Some(row.get::<i64>(0)?)),
        None => Ok(None),
    }
}

async fn names(conn: &Connection, sql: &str) -> Result<Vec<String>, SqlError> {
    let mut rows = conn.query(sql, ()).await?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await? {
        out.push(row.get::<String>(0)?);
    }
    Ok(out)
}

/// A temporary database file beside the live one, removed (with its `-wal`, `-shm` and
/// `-journal`) when dropped.
struct ScratchFile {
    path: PathBuf,
}

impl ScratchFile {
    fn new(dir: &Path, what: &str) -> ScratchFile {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // Unguessable too: the name is never one another process could have made first.
        let mut random = [0u8; 8];
        let _ = getrandom::fill(&mut random);
        let tag = u64::from_le_bytes(random);
        let path = dir.join(format!(".omniroute-{what}-{}-{tag:016x}-{n}.sqlite", std::process::id()));
        ScratchFile { path }
    }

    fn path_str(&self) -> Result<String, ArchiveError> {
        self.path
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| ArchiveError::Storage("the data directory's path is not UTF-8".into()))
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = self.path.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    }
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
