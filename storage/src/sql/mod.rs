//! The SQL connection every store runs its statements on: an embedded libSQL file (native
//! only, through the `libsql` crate) or a remote libSQL server (Turso, sqld) spoken to over
//! Hrana-over-HTTP through core's `HttpClient` port, which works on every runtime (the server,
//! Lambda and the wasm32 Worker alike).
//!
//! Why a small facade of our own instead of the `libsql` crate's remote client: that client
//! does not build for the Worker (its `cloudflare` feature does not build with worker 0.8), so
//! the Worker needed a Hrana client anyway, and one remote client for all three runtimes is one
//! code path to test (the storage conformance suite runs it against a real sqld). The facade
//! keeps the crate's method names (`execute`, `query`, `next`, `get::<T>`) so store code reads
//! the same for a file and a server.

mod hrana;
#[cfg(not(target_arch = "wasm32"))]
mod local;
mod value;

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::Arc;

pub use hrana::{HranaClient, HranaStream};
pub use value::{FromValue, IntoParams, Value};

/// Facade values as the `libsql` crate's (a file's prepared statements).
#[cfg(not(target_arch = "wasm32"))]
pub fn local_params(values: Vec<Value>) -> Vec<libsql::Value> {
    local::params(values)
}

/// A statement failed, or the server could not be reached; the message never holds a secret
/// (the database is named by `scheme://host:port` at most).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SqlError(pub String);

#[cfg(not(target_arch = "wasm32"))]
impl From<libsql::Error> for SqlError {
    fn from(e: libsql::Error) -> Self {
        SqlError(e.to_string())
    }
}

/// Where statements go: a file's connection, a remote server (each statement on its own,
/// autocommitted), or the stream of an open remote transaction.
#[derive(Clone)]
pub enum Connection {
    #[cfg(not(target_arch = "wasm32"))]
    Local(libsql::Connection),
    Remote(Arc<HranaClient>),
    RemoteStream(Arc<HranaStream>),
}

impl Connection {
    /// Runs one statement; the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: impl IntoParams) -> Result<u64, SqlError> {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Connection::Local(conn) => Ok(conn.execute(sql, local::params(params.into_params())).await?),
            Connection::Remote(client) => Ok(client.execute(sql, params.into_params()).await?.affected),
            Connection::RemoteStream(stream) => Ok(stream.execute(sql, params.into_params()).await?.affected),
        }
    }

    /// Runs one statement and returns its rows.
    pub async fn query(&self, sql: &str, params: impl IntoParams) -> Result<Rows, SqlError> {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Connection::Local(conn) => Ok(Rows::Local(conn.query(sql, local::params(params.into_params())).await?)),
            Connection::Remote(client) => Ok(Rows::Remote(client.execute(sql, params.into_params()).await?.rows)),
            Connection::RemoteStream(stream) => Ok(Rows::Remote(stream.execute(sql, params.into_params()).await?.rows)),
        }
    }

    /// Runs several `;`-separated statements without parameters (a migration file).
    pub async fn execute_batch(&self, sql: &str) -> Result<(), SqlError> {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Connection::Local(conn) => {
                conn.execute_batch(sql).await?;
                Ok(())
            }
            Connection::Remote(client) => client.sequence(sql).await,
            Connection::RemoteStream(stream) => stream.sequence(sql).await,
        }
    }

    /// Begins a transaction that takes the write lock at once (`BEGIN IMMEDIATE`): a deferred
    /// one that read first and then wrote could fail outright (SQLITE_BUSY, no retry) when
    /// another connection wrote in between; an immediate one waits for the lock instead. A
    /// transaction dropped without `commit` is rolled back.
    pub async fn write_transaction(&self) -> Result<Transaction, SqlError> {
        self.begin(true).await
    }

    /// Begins a read transaction (`BEGIN`, deferred): every query through it sees the one
    /// committed state its first read found (a snapshot, under WAL) while writers go on. On a
    /// remote database it is a stream of its own. Roll it back when done.
    pub async fn read_transaction(&self) -> Result<Transaction, SqlError> {
        self.begin(false).await
    }

    async fn begin(&self, write: bool) -> Result<Transaction, SqlError> {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Connection::Local(conn) => {
                let behavior =
                    if write { libsql::TransactionBehavior::Immediate } else { libsql::TransactionBehavior::Deferred };
                let tx = conn.transaction_with_behavior(behavior).await?;
                let conn = Connection::Local((*tx).clone());
                Ok(Transaction { conn, inner: TxInner::Local(tx) })
            }
            Connection::Remote(client) => {
                let stream = Arc::new(client.open_stream());
                stream.execute(if write { "BEGIN IMMEDIATE" } else { "BEGIN" }, Vec::new()).await?;
                Ok(Transaction { conn: Connection::RemoteStream(stream.clone()), inner: TxInner::Remote(stream) })
            }
            Connection::RemoteStream(_) => Err(SqlError("a transaction is already open on this stream".into())),
        }
    }

    /// Runs `statements` in order, stopping at the first that fails. On a remote stream they
    /// travel in one request (one round trip, not one each; see `HranaStream::execute_each`).
    pub async fn execute_each(&self, statements: Vec<(String, Vec<Value>)>) -> Result<(), SqlError> {
        match self {
            Connection::RemoteStream(stream) => stream.execute_each(statements).await,
            _ => {
                for (sql, params) in statements {
                    self.execute(&sql, params).await?;
                }
                Ok(())
            }
        }
    }

    /// The libSQL connection of a file (what only a file can do: PRAGMAs, prepared statements,
    /// `VACUUM INTO`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn as_local(&self) -> Option<&libsql::Connection> {
        match self {
            Connection::Local(conn) => Some(conn),
            _ => None,
        }
    }
}

/// An open write transaction; statements run through it (it derefs to its [`Connection`]).
pub struct Transaction {
    conn: Connection,
    inner: TxInner,
}

enum TxInner {
    #[cfg(not(target_arch = "wasm32"))]
    Local(libsql::Transaction),
    Remote(Arc<HranaStream>),
}

impl Deref for Transaction {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Transaction {
    pub async fn commit(self) -> Result<(), SqlError> {
        match self.inner {
            #[cfg(not(target_arch = "wasm32"))]
            TxInner::Local(tx) => Ok(tx.commit().await?),
            TxInner::Remote(stream) => stream.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), SqlError> {
        match self.inner {
            #[cfg(not(target_arch = "wasm32"))]
            TxInner::Local(tx) => Ok(tx.rollback().await?),
            TxInner::Remote(stream) => stream.close().await,
        }
    }
}

/// The rows of a query, read with `next`.
pub enum Rows {
    #[cfg(not(target_arch = "wasm32"))]
    Local(libsql::Rows),
    Remote(VecDeque<Vec<Value>>),
}

impl Rows {
    pub async fn next(&mut self) -> Result<Option<Row>, SqlError> {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Rows::Local(rows) => Ok(rows.next().await?.map(Row::Local)),
            Rows::Remote(rows) => Ok(rows.pop_front().map(Row::Remote)),
        }
    }
}

/// One row; columns by position from 0.
pub enum Row {
    #[cfg(not(target_arch = "wasm32"))]
    Local(libsql::Row),
    Remote(Vec<Value>),
}

impl Row {
    pub fn get_value(&self, index: i32) -> Result<Value, SqlError> {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Row::Local(row) => Ok(local::value(row.get_value(index)?)),
            Row::Remote(values) => usize::try_from(index)
                .ok()
                .and_then(|i| values.get(i))
                .cloned()
                .ok_or_else(|| SqlError(format!("no column {index} in the row"))),
        }
    }

    pub fn get<T: FromValue>(&self, index: i32) -> Result<T, SqlError> {
        T::from_value(self.get_value(index)?).map_err(|want| SqlError(format!("column {index}: {want}")))
    }
}
