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
}

impl Database {
    /// Opens (creating if needed) the file at `path` and applies pending migrations.
    pub async fn open_file(path: &Path) -> Result<Self, DatabaseError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| DatabaseError::Io(format!("cannot create {}: {e}", dir.display())))?;
        }
        let db = libsql::Builder::new_local(path).build().await?;
        Self::init(db.connect()?).await
    }

    /// A private in-memory database (tests).
    pub async fn open_memory() -> Result<Self, DatabaseError> {
        let db = libsql::Builder::new_local(":memory:").build().await?;
        Self::init(db.connect()?).await
    }

    async fn init(conn: libsql::Connection) -> Result<Self, DatabaseError> {
        // WAL lets usage writes and config reads proceed together; busy_timeout rides out
        // a second process (a backup) holding the lock briefly.
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA busy_timeout = 5000"] {
            // Both pragmas answer with a row, so they go through `query`.
            let mut rows = conn.query(pragma, ()).await?;
            while rows.next().await?.is_some() {}
        }
        migrations::apply(&conn).await?;
        Ok(Database { conn })
    }

    pub fn connection(&self) -> &libsql::Connection {
        &self.conn
    }
}
