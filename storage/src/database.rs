//! Opening the libSQL database (an embedded file, a remote libSQL server such as Turso or
//! sqld, or `:memory:` for tests) with migrations applied.
//!
//! Every store in this crate runs the same statements on a [`crate::sql::Connection`], whether
//! it is a local file (the `libsql` crate, native only) or a remote server spoken to over
//! Hrana/HTTP through core's `HttpClient` (every runtime, the Worker included), so nothing above
//! this module knows which it is.

#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::lock::{Mutex, MutexGuard};

use omniroute_core::ports::{Clock, HttpClient, StoreError};

use crate::migrations;
use crate::sql::{Connection, HranaClient, SqlError, Transaction};

/// How long a request to a remote database may take before it fails (a statement takes
/// milliseconds; an export reads whole tables).
const REMOTE_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A storage failure, described without secrets.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("database: {0}")]
    Sql(#[from] SqlError),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration { version: i64, name: &'static str, source: SqlError },
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

#[cfg(not(target_arch = "wasm32"))]
impl From<libsql::Error> for DatabaseError {
    fn from(e: libsql::Error) -> Self {
        DatabaseError::Sql(e.into())
    }
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
    conn: Connection,
    /// A second connection to the same file, for writes that run on a blocking thread (the
    /// usage flush): a connection carries one transaction at a time, so sharing `conn` across
    /// threads would let a config write join the flush's transaction. For `:memory:` (storage's
    /// unit tests, which write no config during a flush) a second connection would be a
    /// different database, so it is `conn` again.
    background: Connection,
    /// The one connection that config, cooldown and retention writes go through, one writer at a
    /// time. A libSQL connection carries a single transaction: two tasks that each began one on
    /// a shared connection interleaved their statements, committed each other's work or failed
    /// with "cannot start a transaction within a transaction", and acknowledged writes were lost
    /// (issue 14). A statement run outside a transaction on a connection that has one open
    /// joins it, so autocommit writes take their turn here too. Readers use `conn` and so see
    /// only committed rows (WAL).
    writer: Arc<Mutex<Connection>>,
    kind: StorageKind,
    /// Where the database is, safe to log and show: the file's path, or a remote's
    /// `scheme://host:port` (no token, path or query).
    location: Arc<str>,
    /// The database itself, for connections of their own (a backup's `VACUUM INTO`); `None`
    /// for a remote database.
    #[cfg(not(target_arch = "wasm32"))]
    handle: Option<Arc<libsql::Database>>,
    /// The file, or `None` for `:memory:` and a remote database.
    #[cfg(not(target_arch = "wasm32"))]
    path: Option<PathBuf>,
}

/// How long a writer waits for another connection's (or process's) write lock.
#[cfg(not(target_arch = "wasm32"))]
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Database {
    /// Opens (creating if needed) the file at `path` and applies pending migrations.
    #[cfg(not(target_arch = "wasm32"))]
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
            conn: Connection::Local(conn),
            background: Connection::Local(background),
            writer: Arc::new(Mutex::new(Connection::Local(writer))),
            kind: StorageKind::File,
            location: path.display().to_string().into(),
            handle: Some(Arc::new(db)),
            path: Some(path.to_path_buf()),
        })
    }

    /// Connects to a remote libSQL server (`libsql://`, `https://`, `http://`; Turso or sqld)
    /// with `auth_token` (empty: none) through `http`, and applies pending migrations. The
    /// server must answer now: a database that cannot be reached at start is an error (the
    /// caller stops). Every request gets [`REMOTE_REQUEST_TIMEOUT`], timed by `clock`.
    ///
    /// What differs from a file: there are no PRAGMAs to set (sqld refuses `journal_mode`, and
    /// the busy timeout is the server's); a statement outside a transaction is a request of its
    /// own and a transaction its own stream (see `sql::hrana`), so the three roles below are
    /// one client.
    pub async fn open_remote(
        url: &str,
        auth_token: &str,
        http: Arc<dyn HttpClient>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DatabaseError> {
        let location = remote_location(url)?;
        let client = HranaClient::new(http, url, auth_token, location.clone())
            .with_timeout(clock.clone(), REMOTE_REQUEST_TIMEOUT);
        let conn = Connection::Remote(Arc::new(client));
        let unreachable =
            |e: SqlError| DatabaseError::Unreachable { location: location.clone(), reason: e.to_string() };
        // A first round trip, so a wrong URL or token is reported as such before migrations.
        conn.query("SELECT 1", ()).await.map_err(unreachable)?;
        // Migrations again when sqld interrupted one (see `retried`): each is its own
        // transaction and re-checks the version, so a second run applies only the rest.
        let mut tries = 1;
        loop {
            match migrations::apply(&conn).await {
                Err(e) if tries < 3 && e.to_string().contains("SQLITE_INTERRUPT") => {
                    tracing::warn!(error = %e, "the database interrupted a migration; trying again");
                    clock.sleep(Duration::from_millis(50)).await;
                    tries += 1;
                }
                result => break result?,
            }
        }
        Ok(Database {
            background: conn.clone(),
            writer: Arc::new(Mutex::new(conn.clone())),
            conn,
            kind: StorageKind::Remote,
            location: location.into(),
            #[cfg(not(target_arch = "wasm32"))]
            handle: None,
            #[cfg(not(target_arch = "wasm32"))]
            path: None,
        })
    }

    /// A private in-memory database (tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn open_memory() -> Result<Self, DatabaseError> {
        let db = libsql::Builder::new_local(":memory:").build().await?;
        let conn = Connection::Local(Self::init(db.connect()?).await?);
        // A second connection to `:memory:` would be another database: every role shares one.
        Ok(Database {
            background: conn.clone(),
            writer: Arc::new(Mutex::new(conn.clone())),
            conn,
            kind: StorageKind::Memory,
            location: ":memory:".into(),
            handle: Some(Arc::new(db)),
            path: None,
        })
    }

    /// Runs `attempt` again (three tries in all) when a remote database refused the statement
    /// without running it: sqld now and then interrupts a statement on a stream
    /// (`SQLITE_INTERRUPT`, seen under load), and a server that restarted no longer knows a
    /// transaction's stream ("invalid baton"), and one that held the write lock for 5 s while
    /// another writer waited is rolled back (`TRANSACTION_TIMEOUT`). Such a transaction is rolled back whole
    /// (its stream is closed), so running it again on a new one is safe. Other errors are
    /// returned at once. Every store method on the database goes through here.
    pub(crate) async fn retried<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(e)
                    if tries < 3
                        && ["SQLITE_INTERRUPT", "invalid baton", "TRANSACTION_TIMEOUT"]
                            .iter()
                            .any(|m| e.0.contains(m)) =>
                {
                    tracing::warn!(error = %e, "the database dropped our stream; trying again on a new one");
                    tries += 1;
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

    #[cfg(not(target_arch = "wasm32"))]
    async fn init(conn: libsql::Connection) -> Result<libsql::Connection, DatabaseError> {
        // WAL lets usage writes and config reads proceed together; the busy timeout rides out
        // the other connection, or a second process (a backup), holding the write lock briefly.
        // It is set first: a process that just closed the file (a restart) may still be
        // checkpointing its WAL, and without a busy handler opening it then fails at once with
        // "database is locked". journal_mode answers with a row, so it goes through `query`.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mut rows = conn.query("PRAGMA journal_mode=WAL", ()).await?;
        while rows.next().await?.is_some() {}
        migrations::apply(&Connection::Local(conn.clone())).await?;
        Ok(conn)
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The write connection, once the writers before have finished (see the field). Hold the
    /// guard for the whole transaction, commit included.
    pub async fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().await
    }

    /// A new connection of its own to the file (the busy timeout set), or the shared one for
    /// `:memory:`, where a new connection would be another, empty database; `None` for a
    /// remote database.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn own_connection(&self) -> Result<Option<libsql::Connection>, DatabaseError> {
        let Some(handle) = &self.handle else { return Ok(None) };
        if self.path.is_none() {
            return Ok(self.conn.as_local().cloned());
        }
        let conn = handle.connect()?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(Some(conn))
    }

    /// The database file (`None` for `:memory:` and a remote database).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The connection for writes made off the runtime thread (see the field).
    pub fn background_connection(&self) -> &Connection {
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
#[cfg(all(unix, not(target_arch = "wasm32")))]
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

#[cfg(all(not(unix), not(target_arch = "wasm32")))]
fn owner_only(_: &Path) -> Result<(), DatabaseError> {
    Ok(())
}

/// Starts a transaction that takes the write lock at once (see
/// [`Connection::write_transaction`]).
pub(crate) async fn write_transaction(conn: &Connection) -> Result<Transaction, SqlError> {
    conn.write_transaction().await
}
