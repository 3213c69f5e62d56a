//! Opening the libSQL database (an embedded file, or `:memory:` for tests) with migrations applied.

use std::path::Path;

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
        let db = libsql::Builder::new_local(path).build().await?;
        let conn = Self::init(db.connect()?).await?;
        let background = db.connect()?;
        background.busy_timeout(BUSY_TIMEOUT)?;
        Ok(Database { conn, background })
    }

    /// A private in-memory database (tests).
    pub async fn open_memory() -> Result<Self, DatabaseError> {
        let db = libsql::Builder::new_local(":memory:").build().await?;
        let conn = Self::init(db.connect()?).await?;
        Ok(Database { background: conn.clone(), conn })
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

    /// The connection for writes made off the runtime thread (see the field).
    pub fn background_connection(&self) -> &libsql::Connection {
        &self.background
    }
}

/// Starts a transaction that takes the write lock at once. A deferred one that read first
/// and then wrote could fail outright (SQLITE_BUSY, no retry) when the other connection
/// wrote in between; an immediate one waits out the busy timeout instead.
pub(crate) async fn write_transaction(conn: &libsql::Connection) -> Result<libsql::Transaction, libsql::Error> {
    conn.transaction_with_behavior(libsql::TransactionBehavior::Immediate).await
}
