//! `RemoteArchive`: the `DatabaseArchive` port on a remote database (Turso, sqld) over Hrana.
//!
//! **Snapshots.** `VACUUM INTO` would write the file on the database server's disk, so the
//! copy is made here instead: one read transaction on one Hrana stream (`BEGIN`, then every
//! read) sees the one committed state of its first read while other instances go on writing,
//! and its schema (`sqlite_master`, in creation order) and rows, page by page, are written into
//! a fresh local SQLite file: tables, then rows, then `sqlite_sequence`, then indexes and
//! triggers (built once over the rows, and no trigger fires on a copy). The stream is rolled
//! back, and the file's bytes are the snapshot: the same kind of file the embedded database's
//! `VACUUM INTO` makes, so either archive restores the other's.
//!
//! **Restores.** The file is checked and migrated forward on a local copy exactly as for the
//! embedded file (`checks`); then one `BEGIN IMMEDIATE` transaction on one stream, taken with
//! this instance's writer lock held (its config writes queue behind it), deletes every
//! table's rows (the audit log's excepted: history stays) and inserts the file's in batches,
//! replaces `sqlite_sequence`, moves the config version past both, and commits. Other
//! instances' writes wait on the server's write lock; their readers see the old state or the
//! new one, and reload on the version change. A failure anywhere rolls the stream back whole.
//!
//! sqld now and then interrupts a statement on a stream (see `Database::retried`), and takes
//! the write lock away from a transaction that has held it for 5 s while another writer waits
//! (`TRANSACTION_TIMEOUT`; the stream then goes on in autocommit). The first statement after
//! such a cut fails, nothing runs on the stream after a failure but its close, and batches of
//! INSERTs stop at their first failed step (`HranaStream::execute_each`), so a cut restore
//! writes nothing. A snapshot or restore that was cut (rolled back whole) is taken again,
//! three tries in all.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{ArchiveError, DatabaseArchive, Restored};

use super::KEPT;
use super::checks::{ScratchFile, checked_copy, first_i64, names};
use super::copy::{OURS, SchemaObject, columns, copy_rows, ident, schema};
use crate::database::Database;
use crate::migrations;
use crate::sql::{Connection, SqlError, Transaction, Value};

/// Snapshots and restores of a remote database.
pub struct RemoteArchive {
    db: Database,
    /// Where the local copies are made (the data dir: private, and on local disk).
    scratch: PathBuf,
}

/// A step failed: what it was, and whether the server dropped our stream (worth a new try).
fn failed(what: &str, e: &SqlError) -> ArchiveError {
    ArchiveError::Storage(format!("{what}: {e}"))
}

/// The server dropped or cut our stream, and rolled back what it held: worth a new try.
/// `TRANSACTION_TIMEOUT` is sqld taking the write lock from a transaction that held it for 5 s
/// while another writer waited (a long restore on a busy database).
fn dropped_stream(e: &ArchiveError) -> bool {
    matches!(e, ArchiveError::Storage(m)
        if ["SQLITE_INTERRUPT", "invalid baton", "TRANSACTION_TIMEOUT"].iter().any(|s| m.contains(s)))
}

impl RemoteArchive {
    /// An archive of `db`, which is remote; scratch files go in `scratch`.
    pub fn new(db: Database, scratch: PathBuf) -> Self {
        RemoteArchive { db, scratch }
    }

    async fn snapshot_inner(&self) -> Result<Bytes, ArchiveError> {
        let mut tries = 1;
        loop {
            match self.snapshot_once().await {
                Err(e) if tries < 3 && dropped_stream(&e) => {
                    tracing::warn!(error = %e, "the database dropped the snapshot's stream; taking it again");
                    tries += 1;
                }
                result => return result,
            }
        }
    }

    /// The scratch folder, made if it is not there yet (with a remote database the data dir
    /// may hold nothing else).
    fn scratch_dir(&self) -> Result<&Path, ArchiveError> {
        std::fs::create_dir_all(&self.scratch)
            .map_err(|e| ArchiveError::Storage(format!("cannot create {}: {e}", self.scratch.display())))?;
        Ok(&self.scratch)
    }

    async fn snapshot_once(&self) -> Result<Bytes, ArchiveError> {
        let file = ScratchFile::new(self.scratch_dir()?, "snapshot");
        // Private before SQLite writes to it: it will hold what the database holds.
        crate::secrets::write_private_bytes(&file.path, &[]).map_err(|e| ArchiveError::Storage(e.to_string()))?;
        let local = libsql::Builder::new_local(&file.path)
            .build()
            .await
            .map_err(|e| ArchiveError::Storage(format!("cannot create the snapshot file: {e}")))?;
        let out = Connection::Local(
            local.connect().map_err(|e| ArchiveError::Storage(format!("cannot open the snapshot file: {e}")))?,
        );
        let fail = |e: SqlError| failed("the snapshot of the remote database failed", &e);
        let remote = self.db.connection().read_transaction().await.map_err(fail)?;
        let copied = copy_database(&remote, &out).await;
        // An explicit ROLLBACK fails when no transaction is open: a snapshot whose transaction
        // the server ended on the way (its later reads would have been autocommit, each of
        // its own state) is refused rather than kept.
        let ended = match &copied {
            Ok(()) => remote.execute("ROLLBACK", ()).await.map(drop),
            Err(_) => Ok(()),
        };
        if let Err(e) = remote.rollback().await {
            tracing::debug!(error = %e, "closing the snapshot's stream");
        }
        copied.map_err(fail)?;
        ended.map_err(|e| failed("the snapshot's read transaction ended before the copy did", &e))?;
        drop(out);
        drop(local);
        let bytes = tokio::fs::read(&file.path).await.map_err(|e| ArchiveError::Storage(e.to_string()))?;
        Ok(Bytes::from(bytes))
    }

    async fn restore_inner(&self, data: Bytes) -> Result<Restored, ArchiveError> {
        let (file, from_version) = checked_copy(self.scratch_dir()?, &data).await?;
        let source = libsql::Builder::new_local(&file.path)
            .build()
            .await
            .map_err(|e| ArchiveError::Invalid(format!("the file cannot be opened as a database: {e}")))?;
        let source = Connection::Local(
            source
                .connect()
                .map_err(|e| ArchiveError::Invalid(format!("the file cannot be opened as a database: {e}")))?,
        );
        let mut tries = 1;
        loop {
            match self.restore_once(&source).await {
                Err(e) if tries < 3 && dropped_stream(&e) => {
                    tracing::warn!(error = %e, "the database dropped the restore's stream (rolled back); trying again");
                    tries += 1;
                }
                result => return result.map(|tables| Restored { from_version, tables }),
            }
        }
    }

    async fn restore_once(&self, source: &Connection) -> Result<usize, ArchiveError> {
        let fail = |e: SqlError| failed("the restore was rolled back", &e);
        let writer = self.db.writer().await;
        let tx = writer.write_transaction().await.map_err(fail)?;
        match swap(&tx, source).await {
            Ok(tables) => {
                tx.commit().await.map_err(fail)?;
                Ok(tables)
            }
            Err(e) => {
                // At once, rather than when the next request closes the dropped stream: the
                // write lock is held until then.
                if let Err(e) = tx.rollback().await {
                    tracing::debug!(error = %e, "rolling back the restore's stream");
                }
                Err(e)
            }
        }
    }
}

/// Writes `from`'s schema and rows into the empty file `out`, in one transaction there.
async fn copy_database(from: &Connection, out: &Connection) -> Result<(), SqlError> {
    let objects = schema(from).await?;
    let (tables, rest): (Vec<&SchemaObject>, Vec<&SchemaObject>) = objects.iter().partition(|o| o.kind == "table");
    let tx = out.write_transaction().await?;
    for table in &tables {
        tx.execute(&table.sql, ()).await?;
    }
    for table in &tables {
        let columns = columns(from, &table.name).await?;
        copy_rows(from, &tx, table, &columns).await?;
    }
    // Where each AUTOINCREMENT counter stood (the inserts above moved them only to the largest
    // id left; the live one may be past a deleted row's).
    if has_sequence(from).await? {
        tx.execute("DELETE FROM sqlite_sequence", ()).await?;
        copy_sequence(from, &tx).await?;
    }
    for object in rest {
        tx.execute(&object.sql, ()).await?;
    }
    tx.commit().await
}

async fn has_sequence(conn: &Connection) -> Result<bool, SqlError> {
    let found = names(conn, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").await?;
    Ok(!found.is_empty())
}

/// `sqlite_sequence`'s rows from `from` into `to` (whose table exists and is empty).
async fn copy_sequence(from: &Connection, to: &Connection) -> Result<(), SqlError> {
    let mut rows = from.query("SELECT name, seq FROM sqlite_sequence", ()).await?;
    let mut statements = Vec::new();
    while let Some(row) = rows.next().await? {
        statements.push((
            "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)".to_owned(),
            vec![row.get_value(0)?, row.get_value(1)?],
        ));
    }
    to.execute_each(statements).await
}

/// Replaces the rows of every table of the live database (`tx`, a write transaction on it)
/// with `source`'s; returns how many tables. The caller commits, or rolls back on an error.
async fn swap(tx: &Transaction, source: &Connection) -> Result<usize, ArchiveError> {
    let fail = |e: SqlError| failed("the restore was rolled back", &e);
    let live_version = first_i64(tx, "SELECT version FROM config_version WHERE id = 1").await.map_err(fail)?;
    let restored_version = first_i64(source, "SELECT version FROM config_version WHERE id = 1").await.map_err(fail)?;
    let live = schema(tx).await.map_err(fail)?;
    let source_tables = names(source, &format!("SELECT name FROM sqlite_master WHERE type = 'table' AND {OURS}"))
        .await
        .map_err(fail)?;
    let mut replaced = 0;
    for table in live.iter().filter(|o| o.kind == "table" && !KEPT.contains(&o.name.as_str())) {
        if !source_tables.contains(&table.name) {
            return Err(ArchiveError::Invalid(format!("not an omniroute database (no table `{}`)", table.name)));
        }
        // The live table's columns: the file was migrated to the same schema, and a column
        // it lacked would fail the read (and so the restore) rather than be left empty.
        let columns = columns(tx, &table.name).await.map_err(fail)?;
        tx.execute(&format!("DELETE FROM {}", ident(&table.name)), ()).await.map_err(fail)?;
        copy_rows(source, tx, table, &columns).await.map_err(fail)?;
        replaced += 1;
    }
    if has_sequence(source).await.map_err(fail)? && has_sequence(tx).await.map_err(fail)? {
        tx.execute("DELETE FROM sqlite_sequence", ()).await.map_err(fail)?;
        copy_sequence(source, tx).await.map_err(fail)?;
    }
    // Past both, so every instance sees the version move and reloads.
    let version = live_version.unwrap_or(0).max(restored_version.unwrap_or(0)) + 1;
    tx.execute("UPDATE config_version SET version = ?1 WHERE id = 1", [Value::Integer(version)]).await.map_err(fail)?;
    Ok(replaced)
}

impl DatabaseArchive for RemoteArchive {
    fn snapshot(&self) -> BoxFuture<'_, Result<Bytes, ArchiveError>> {
        boxed(self.snapshot_inner())
    }

    fn restore(&self, file: Bytes) -> BoxFuture<'_, Result<Restored, ArchiveError>> {
        boxed(self.restore_inner(file))
    }

    fn schema_version(&self) -> BoxFuture<'_, Result<i64, ArchiveError>> {
        boxed(async move {
            migrations::current_version(self.db.connection()).await.map_err(|e| ArchiveError::Storage(e.to_string()))
        })
    }
}
