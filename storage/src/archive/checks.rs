//! What every archive does to a file offered for a restore before any live row is touched
//! (SQLite magic, `integrity_check`, our `schema_migrations`, a version this build knows,
//! migrated forward on a private scratch copy), the scratch files themselves, and the small
//! one-value queries the archives read.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use omniroute_core::ports::ArchiveError;

use crate::migrations::{self, MIGRATIONS};
use crate::sql::{Connection, SqlError};

/// The first 16 bytes of every SQLite 3 database file.
pub(crate) const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Writes `data` to a private scratch file in `dir` and checks it there (see [`prepare`]): the
/// checked, migrated copy and the schema version the file had. A file that is not ours, is
/// damaged or is newer than this build is `ArchiveError::Invalid`.
pub(crate) async fn checked_copy(dir: &Path, data: &[u8]) -> Result<(ScratchFile, i64), ArchiveError> {
    if data.len() < 100 || !data.starts_with(SQLITE_MAGIC) {
        return Err(ArchiveError::Invalid("the file is not a SQLite database".into()));
    }
    let file = ScratchFile::new(dir, "restore");
    crate::secrets::write_private_bytes(&file.path, data).map_err(|e| ArchiveError::Storage(e.to_string()))?;
    let from_version = prepare(&file).await?;
    Ok((file, from_version))
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
    // Fold a WAL the file came with (or migration wrote) into the file before it is read.
    first_text(&conn, "PRAGMA wal_checkpoint(TRUNCATE)").await.map_err(|e| invalid("checkpoint", &e))?;
    Ok(found)
}

pub(crate) async fn first_text(conn: &Connection, sql: &str) -> Result<Option<String>, SqlError> {
    let mut rows = conn.query(sql, ()).await?;
    match rows.next().await? {
        Some(row) => Ok(Some(row.get::<Option<String>>(0).ok().flatten().unwrap_or_default())),
        None => Ok(None),
    }
}

pub(crate) async fn first_i64(conn: &Connection, sql: &str) -> Result<Option<i64>, SqlError> {
    let mut rows = conn.query(sql, ()).await?;
    match rows.next().await? {
        Some(row) => Ok(Some(row.get::<i64>(0)?)),
        None => Ok(None),
    }
}

pub(crate) async fn names(conn: &Connection, sql: &str) -> Result<Vec<String>, SqlError> {
    let mut rows = conn.query(sql, ()).await?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await? {
        out.push(row.get::<String>(0)?);
    }
    Ok(out)
}

/// A temporary database file beside the live one (or in the temp dir), removed (with its
/// `-wal`, `-shm` and `-journal`) when dropped.
pub(crate) struct ScratchFile {
    pub(crate) path: PathBuf,
}

impl ScratchFile {
    pub(crate) fn new(dir: &Path, what: &str) -> ScratchFile {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // Unguessable too: the name is never one another process could have made first.
        let mut random = [0u8; 8];
        let _ = getrandom::fill(&mut random);
        let tag = u64::from_le_bytes(random);
        let path = dir.join(format!(".omniroute-{what}-{}-{tag:016x}-{n}.sqlite", std::process::id()));
        ScratchFile { path }
    }

    pub(crate) fn path_str(&self) -> Result<String, ArchiveError> {
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
