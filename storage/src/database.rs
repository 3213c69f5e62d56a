//! Opening the libSQL database (an embedded file, a remote libSQL server such as Turso or
//! sqld, or `:memory:` for tests) with migrations applied.
//!
//! Why the `libsql` crate for both: one SQL code path. Every store in this crate runs the same
//! statements on a `libsql::Connection`, whether it is backed by a local file or by Hrana over
//! HTTP to a remote server (`remote` feature), so nothing above this module knows which it is.
//! The Worker (wasm32) cannot use the crate's remote client (its `cloudflare` feature does not
//! build with worker 0.8) and will speak the same Hrana protocol over `fetch` itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use omniroute_core::ports::StoreError;

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
    /// A remote database could not be reached or refused us. Names the database by its
    /// scheme, host and port only (never the token, the path or a query).
    #[error("database {location} is unreachable or refused the connection: {reason}")]
    Unreachable { location: String, reason: String },
    #[error("database URL {0}")]
    BadUrl(String),
}

/// Which kind of database a [`Database`] is (`/api/monitoring/health` reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// An embedded libSQL file.
    File,
    /// A remote libSQL server (Turso, sqld) over Hrana/HTTP.
    Remote,
    /// `:memory:` (storage's own tests).
    Memory,
}

impl StorageKind {
    /// `"libsql-file"`, `"libsql-remote"`, `"libsql-memory"`.
    pub fn name(self) -> &'static str {
        match self {
            StorageKind::File => "libsql-file",
            StorageKind::Remote => "libsql-remote",
            StorageKind::Memory => "libsql-memory",
        }
    }
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
    kind: StorageKind,
    /// Where the database is, safe to log and show: the file's path, or a remote's
    /// `scheme://host:port` (no token, path or query).
    location: Arc<str>,
    /// The database itself, for connections of their own (a backup's `VACUUM INTO`).
    handle: Arc<libsql::Database>,
    /// The file, or `None` for `:memory:` and a remote database.
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
            kind: StorageKind::File,
            location: path.display().to_string().into(),
            handle: Arc::new(db),
            path: Some(path.to_path_buf()),
        })
    }

    /// Connects to a remote libSQL server (`libsql://`, `https://`, `http://`; Turso or sqld)
    /// with `auth_token` (empty: none) and applies pending migrations. The server must answer
    /// now: a database that cannot be reached at start is an error (the caller stops).
    ///
    /// What differs from a file: there are no PRAGMAs to set (sqld refuses `journal_mode`, and
    /// the busy timeout is the server's), each `db.connect()` is its own Hrana stream and each
    /// transaction its own stream holding a baton, so the three roles keep separate
    /// connections as they do on a file. The crate turns `libsql://` into `https://`.
    pub async fn open_remote(url: &str, auth_token: &str) -> Result<Self, DatabaseError> {
        let location = remote_location(url)?;
        let db = libsql::Builder::new_remote(url.to_owned(), auth_token.to_owned()).build().await?;
        let unreachable =
            |e: libsql::Error| DatabaseError::Unreachable { location: location.clone(), reason: e.to_string() };
        let conn = db.connect().map_err(unreachable)?;
        // A first round trip, so a wrong URL or token is reported as such before migrations.
        conn.query("SELECT 1", ()).await.map_err(unreachable)?;
        // Migrations again on a new stream when sqld interrupted one (see `retried`): each is
        // its own transaction and re-checks the version, so a second run applies only the rest.
        let mut tries = 1;
        loop {
            match migrations::apply(&conn).await {
                Err(e) if tries < 3 && e.to_string().contains("SQLITE_INTERRUPT") => {
                    tracing::warn!(error = %e, "the database interrupted a migration; trying again on a new stream");
                    conn.reset().await;
                    tries += 1;
                }
                result => break result?,
            }
        }
        let background = db.connect().map_err(unreachable)?;
        let writer = db.connect().map_err(unreachable)?;
        Ok(Database {
            conn,
            background,
            writer: Arc::new(Mutex::new(writer)),
            kind: StorageKind::Remote,
            location: location.into(),
            handle: Arc::new(db),
            path: None,
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
            kind: StorageKind::Memory,
            location: ":memory:".into(),
            handle: Arc::new(db),
            path: None,
        })
    }

    /// On a remote database, drops the Hrana streams of the three shared connections, so the
    /// next statement on each opens a new one. A stream the server no longer knows (it
    /// restarted: "invalid baton") or has interrupted fails every statement sent on it after.
    /// Does nothing on a file (there `reset` would clear the connection's state).
    pub async fn reset_streams(&self) {
        if self.kind == StorageKind::Remote {
            self.conn.reset().await;
            self.background.reset().await;
            self.writer.lock().await.reset().await;
        }
    }

    /// Runs `attempt` again (three tries in all) when a remote database refused the statement
    /// without running it: sqld now and then interrupts a statement on a Hrana stream
    /// (`SQLITE_INTERRUPT`, seen under load), and a server
    /// that restarted no longer knows the stream ("invalid baton"); either way every later
    /// statement on that stream fails too, so the streams are dropped (`reset_streams`) first. An
    /// interrupted transaction is rolled back whole, so running it again is safe. Other errors are
    /// returned at once. Every store method on the database goes through here.
    pub(crate) async fn retried<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(e) if tries < 3 && (e.0.contains("SQLITE_INTERRUPT") || e.0.contains("invalid baton")) => {
                    tracing::warn!(error = %e, "the database dropped our stream; trying again on a new one");
                    self.reset_streams().await;
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
                }
                result => return result,
            }
        }
    }

    /// File, remote or memory.
    pub fn kind(&self) -> StorageKind {
        self.kind
    }

    /// The file's path or the remote's `scheme://host:port`; never a secret.
    pub fn location(&self) -> &str {
        &self.location
    }

    async fn init(conn: libsql::Connection) -> Result<libsql::Connection, DatabaseError> {
        // WAL lets usage writes and config reads proceed together; the busy timeout rides out
        // the other connection, or a second process (a backup), holding the write lock briefly.
        // It is set first: a process that just closed the file (a restart) may still be
        // checkpointing its WAL, and without a busy handler opening it then fails at once with
        // "database is locked". journal_mode answers with a row, so it goes through `query`.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mut rows = conn.query("PRAGMA journal_mode=WAL", ()).await?;
        while rows.next().await?.is_some() {}
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

/// `scheme://host[:port]` of a remote database URL, for messages: the path, query (a token may
/// ride there) and any user info are left out.
pub fn remote_location(url: &str) -> Result<String, DatabaseError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(DatabaseError::BadUrl("must start with libsql://, https:// or http://".into()));
    };
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "libsql" | "https" | "http") {
        return Err(DatabaseError::BadUrl(format!("scheme {scheme}:// is not libsql://, https:// or http://")));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if host.is_empty() {
        return Err(DatabaseError::BadUrl(format!("{scheme}:// names no host")));
    }
    Ok(format!("{scheme}://{host}"))
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
