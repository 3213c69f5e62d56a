//! Opening the libSQL database (an embedded file, or `:memory:` for tests) with migrations applied.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use crate::migrations;

/// A storage failure, described without secrets.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("database: {0}")]
    Libsql(#[from] libsql::Error),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration { version: i64, name: &'static str, source: libsql::Error },
    #[error("database schema is at version {found}, newer than this build knows ({known}); upgrade omniroute")]
    TooNew { found: i64, known: i64 },
    #[error("{0}")]
    Io(String),
}

/// An open database with the schema up to date.
#[derive(Clone)]
pub struct Database {
    conn: libsql::Connection,
    /// A second connection to the same file, for writes that run on a blocking thread (the
    /// usage flush): a connection carries one transaction at a time, so sharing `conn` across
    /// threads would let a config write join the flush's transaction. For `:memory:` (storage's
    /// unit tests, which write no config during a flush) a second connection would be a
    /// different database, so it is `conn` again.
    background: libsql::Connection,
    /// The one connection that config, cooldown and retention writes go through, one writer at a
    /// time. A libSQL connection carries a single transaction: two tasks that each began one on
    /// a shared connection interleaved their statements, committed each other's work or failed
    /// with "cannot start a transaction within a transaction", and acknowledged writes were lost
    /// (issue 14). A statement run outside a transaction on a connection that has one open
    /// joins it, so autocommit writes take their turn here too. Readers use `conn` and so see
    /// only committed rows (WAL).
    writer: Arc<Mutex<libsql::Connection>>,
    /// The database itself, for connections of their own (a backup's `VACUUM INTO`).
    handle: Arc<libsql::Database>,
    /// The file, or `None` for `:memory:`.
    path: Option<PathBuf>,
}

/// How long a writer waits for another connection's (or process's) write lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Database {
    /// Opens (creating if needed) the file at `path` and applies pending migrations.
    pub async fn open_file(path: &Path) -> Result<Self, DatabaseError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| DatabaseError::Io(format!("cannot create {}: {e}", dir.display())))?;
        }
        // Made private before anything is written to it (SQLite gives its `-wal` and `-shm`
        // the database file's mode), and files an older version left readable are fixed.
        owner_only(path)?;
        let db = libsql::Builder::new_local(path).build().await?;
        let conn = Self::init(db.connect()?).await?;
        let background = db.connect()?;
        background.busy_timeout(BUSY_TIMEOUT)?;
        let writer = db.connect()?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        Ok(Database {
            conn,
            background,
            writer: Arc::new(Mutex::new(writer)),
            handle: Arc::new(db),
            path: Some(path.to_path_buf()),
        })
    }

    /// A private in-memory database (tests).
    pub async fn open_memory() -> Result<Self, DatabaseError> {
        let db = libsql::Builder::new_local(":memory:").build().await?;
        let conn = Self::init(db.connect()?).await?;
        // A second connection to `:memory:` would be another database: every role shares one.
        Ok(Database {
            background: conn.clone(),
            writer: Arc::new(Mutex::new(conn.clone())),
            conn,
            handle: Arc::new(db),
            path: None,
        })
    }

    async fn init(conn: libsql::Connection) -> Result<libsql::Connection, DatabaseError> {
        // WAL lets usage writes and config reads proceed together; the busy timeout rides out
        // the other connection, or a second process (a backup), holding the write lock briefly.
        // journal_mode answers with a row, so it goes through `query`.
        let mut rows = conn.query("PRAGMA journal_mode=WAL", ()).await?;
        while rows.next().await?.is_some() {}
        conn.busy_timeout(BUSY_TIMEOUT)?;
        migrations::apply(&conn).await?;
        Ok(conn)
    }

    pub fn connection(&self) -> &libsql::Connection {
        &self.conn
    }

    /// The write connection, once the writers before have finished (see the field). Hold the
    /// guard for the whole transaction, commit included.
    pub async fn writer(&self) -> MutexGuard<'_, libsql::Connection> {
        self.writer.lock().await
    }

    /// A new connection of its own (the busy timeout set), or `conn` for `:memory:`, where a
    /// new connection would be another, empty database.
    pub fn own_connection(&self) -> Result<libsql::Connection, DatabaseError> {
        if self.path.is_none() {
            return Ok(self.conn.clone());
        }
        let conn = self.handle.connect()?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(conn)
    }

    /// The database file (`None` for `:memory:`).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The connection for writes made off the runtime thread (see the field).
    pub fn background_connection(&self) -> &libsql::Connection {
        &self.background
    }
}

/// The database holds provider keys (sealed), key hashes and the audit log: only its owner may
/// read it. SQLite creates the `-wal` and `-shm` files with the database file's mode, so they
/// follow; the ones already there are set too.
#[cfg(unix)]
fn owner_only(path: &Path) -> Result<(), DatabaseError> {
    use std::os::unix::fs::PermissionsExt;
    if !path.exists() {
        // An empty file is a new database to SQLite.
        crate::secrets::write_private(path, "")
            .map_err(|e| DatabaseError::Io(format!("cannot create {}: {e}", path.display())))?;
    }
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(name.into());
    }
    for file in files.iter().filter(|f| f.exists()) {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| DatabaseError::Io(format!("cannot make {} private: {e}", file.display())))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_: &Path) -> Result<(), DatabaseError> {
    Ok(())
}

/// Starts a transaction that takes the write lock at once. A deferred one that read first
/// and then wrote could fail outright (SQLITE_BUSY, no retry) when the other connection
/// wrote in between; an immediate one waits out the busy timeout instead.
pub(crate) async fn write_transaction(conn: &libsql::Connection) -> Result<libsql::Transaction, libsql::Error> {
    conn.transaction_with_behavior(libsql::TransactionBehavior::Immediate).await
}
