//! `LibsqlUsageSink`: usage rows buffered in memory and written in one transaction per flush.
//! The buffer is bounded; rows beyond it are counted and logged, never silently lost. Under
//! load a flush is due as soon as a batch is ready, so one flush never holds the runtime long.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sql::Value;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{UsageBacklog, UsageRecord, UsageSink};

use crate::config_writes::opt;
use crate::database::{Database, write_transaction};
use crate::usage_query::{COLUMNS, record_of};

/// Batching usage writer.
pub struct LibsqlUsageSink {
    db: Database,
    buffer: Mutex<Vec<UsageRecord>>,
    capacity: usize,
    dropped: AtomicU64,
    // Serialises flushes so rows are written in order and never twice.
    flushing: tokio::sync::Mutex<()>,
    /// Woken when the buffer reaches `BATCH_READY_ROWS`.
    batch_ready: tokio::sync::Notify,
}

/// Rows after which a flush is due without waiting for the timer: small batches keep each
/// write short (≈ 5 µs a row), so on a one-core machine the write shares the core in short
/// turns instead of taking it for ~100 ms once a second at 20,000 requests/s.
pub const BATCH_READY_ROWS: usize = 256;

fn opt_u64(value: Option<u64>) -> Value {
    value.map(|v| Value::Integer(v as i64)).unwrap_or(Value::Null)
}

impl LibsqlUsageSink {
    pub fn new(db: Database, capacity: usize) -> Self {
        LibsqlUsageSink {
            db,
            buffer: Mutex::new(Vec::new()),
            capacity,
            dropped: AtomicU64::new(0),
            flushing: tokio::sync::Mutex::new(()),
            batch_ready: tokio::sync::Notify::new(),
        }
    }

    /// Resolves once `BATCH_READY_ROWS` rows are waiting (at once if they reached it since the
    /// last call): the flush loop's cue to write before its timer.
    pub async fn batch_ready(&self) {
        self.batch_ready.notified().await;
    }

    fn buffer(&self) -> std::sync::MutexGuard<'_, Vec<UsageRecord>> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rows refused because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Rows waiting to be written.
    pub fn pending(&self) -> usize {
        self.buffer().len()
    }

    async fn flush_inner(&self) {
        let _guard = self.flushing.lock().await;
        let rows = std::mem::take(&mut *self.buffer());
        if rows.is_empty() {
            return;
        }
        let count = rows.len();
        let conn = self.db.background_connection().clone();
        #[cfg(not(target_arch = "wasm32"))]
        let written = if self.db.kind() == crate::database::StorageKind::Remote {
            write_remote(conn, rows).await
        } else {
            write_local(conn, rows).await
        };
        // The Worker has no file: its database is always remote.
        #[cfg(target_arch = "wasm32")]
        let written = write_remote(conn, rows).await;
        let rows = match written {
            Ok((_, Ok(()))) => return,
            Ok((rows, Err(e))) => {
                tracing::error!(error = %e, rows = count, "usage rows could not be written; keeping them for the next flush");
                rows
            }
            Err(e) => {
                self.dropped.fetch_add(count as u64, Ordering::Relaxed);
                tracing::error!(error = %e, lost = count, "usage flush task failed: rows dropped");
                return;
            }
        };
        let mut buffer = self.buffer();
        let room = self.capacity.saturating_sub(buffer.len());
        let lost = rows.len().saturating_sub(room);
        if lost > 0 {
            self.dropped.fetch_add(lost as u64, Ordering::Relaxed);
            tracing::error!(lost, "usage buffer full: rows dropped");
        }
        let keep: Vec<UsageRecord> = rows.into_iter().take(room).collect();
        buffer.splice(0..0, keep);
    }

    /// Reads every row back, oldest first, bodies left out (tests).
    pub async fn read_all(&self) -> Result<Vec<UsageRecord>, crate::sql::SqlError> {
        let mut rows =
            self.db.connection().query(&format!("SELECT {COLUMNS} FROM usage_log u ORDER BY u.id"), ()).await?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await? {
            out.push(record_of(&row, 0)?);
        }
        Ok(out)
    }
}

/// The usage_log columns a row fills, in the order of [`row_values`].
const INSERT_COLUMNS: &str =
    "request_id, ts_ms, provider, connection_id, requested_model, upstream_model, client_format,
   upstream_format, status, stream, input_tokens, output_tokens, latency_ms, error,
   cached_tokens, reasoning_tokens, ttft_ms, cost_usd, api_key_id, combo, estimated";
const INSERT_PARAMS: usize = 21;

/// Rows per multi-row INSERT on a remote database (21 parameters a row, far below SQLite's
/// limit of 32,766): fewer, larger statements to parse and send.
pub const REMOTE_BATCH_ROWS: usize = 40;

/// Rows whose statements go to a remote database in one request (a Hrana batch that stops at
/// the first failure; the transaction then rolls back whole).
pub const REMOTE_REQUEST_ROWS: usize = 1_000;

fn row_values(r: &UsageRecord) -> Vec<Value> {
    vec![
        Value::Text(r.request_id.clone()),
        Value::Integer(r.timestamp_ms as i64),
        Value::Text(r.provider.clone()),
        Value::Text(r.connection_id.clone()),
        Value::Text(r.requested_model.clone()),
        Value::Text(r.upstream_model.clone()),
        Value::Text(r.client_format.clone()),
        Value::Text(r.upstream_format.clone()),
        Value::Integer(i64::from(r.status)),
        Value::Integer(i64::from(r.stream)),
        opt_u64(r.input_tokens),
        opt_u64(r.output_tokens),
        Value::Integer(r.latency_ms as i64),
        opt(r.error.clone()),
        opt_u64(r.cached_tokens),
        opt_u64(r.reasoning_tokens),
        opt_u64(r.ttft_ms),
        r.cost_usd.map(Value::Real).unwrap_or(Value::Null),
        opt(r.api_key_id.clone()),
        opt(r.combo.clone()),
        Value::Integer(i64::from(r.estimated)),
    ]
}

/// The logged bodies of the row just inserted (it names it by `last_insert_rowid()`).
const INSERT_BODIES: &str = "INSERT INTO usage_bodies (usage_id, request_id, ts_ms, request_body, response_body)
     VALUES (last_insert_rowid(), ?1, ?2, ?3, ?4)";

fn body_values(r: &UsageRecord, bodies: &omniroute_core::ports::LoggedBodies) -> Vec<Value> {
    vec![
        Value::Text(r.request_id.clone()),
        Value::Integer(r.timestamp_ms as i64),
        Value::Text(bodies.request.clone()),
        Value::Text(bodies.response.clone()),
    ]
}

/// Writes rows to the file on a blocking thread, on the background connection: SQLite is
/// synchronous, and on the runtime a flush held every request behind it (≈ 5 µs a row). Gives the
/// rows back with the result, to keep them when the write failed.
#[cfg(not(target_arch = "wasm32"))]
async fn write_local(
    conn: crate::sql::Connection,
    rows: Vec<UsageRecord>,
) -> Result<(Vec<UsageRecord>, Result<(), crate::sql::SqlError>), String> {
    let Some(conn) = conn.as_local().cloned() else {
        return Ok((rows, Err(crate::sql::SqlError("the usage connection is not a file's".into()))));
    };
    tokio::task::spawn_blocking(move || {
        let result = tokio::runtime::Handle::current().block_on(write(&conn, &rows)).map_err(Into::into);
        (rows, result)
    })
    .await
    .map_err(|e| e.to_string())
}

/// Writes rows to a remote database, on a blocking thread natively: encoding a large flush (a
/// JSON value for each of 21 columns a row) is milliseconds of CPU that would hold a runtime
/// worker, and the requests queued behind it, as a file write did. On the Worker (one thread,
/// `waitUntil`) it runs in place.
async fn write_remote(
    conn: crate::sql::Connection,
    rows: Vec<UsageRecord>,
) -> Result<(Vec<UsageRecord>, Result<(), crate::sql::SqlError>), String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        tokio::task::spawn_blocking(move || {
            let result = tokio::runtime::Handle::current().block_on(write_batched(&conn, &rows));
            (rows, result)
        })
        .await
        .map_err(|e| e.to_string())
    }
    #[cfg(target_arch = "wasm32")]
    {
        let result = write_batched(&conn, &rows).await;
        Ok((rows, result))
    }
}

/// Writes rows (and their bodies) to the file in one transaction.
#[cfg(not(target_arch = "wasm32"))]
async fn write(conn: &libsql::Connection, rows: &[UsageRecord]) -> Result<(), libsql::Error> {
    let tx = conn.transaction_with_behavior(libsql::TransactionBehavior::Immediate).await?;
    // Parsed once per flush, not once per row: SQL parsing was most of a flush's time.
    let placeholders: Vec<String> = (1..=INSERT_PARAMS).map(|i| format!("?{i}")).collect();
    let insert =
        tx.prepare(&format!("INSERT INTO usage_log ({INSERT_COLUMNS}) VALUES ({})", placeholders.join(", "))).await?;
    for r in rows {
        insert.execute(crate::sql::local_params(row_values(r))).await?;
        insert.reset();
        if let Some(bodies) = &r.bodies {
            tx.execute(INSERT_BODIES, crate::sql::local_params(body_values(r, bodies))).await?;
        }
    }
    drop(insert);
    tx.commit().await
}

/// [`write`] for a remote database, where a request is a round trip: rows without logged
/// bodies go [`REMOTE_BATCH_ROWS`] to one multi-row INSERT, a row with bodies alone (its bodies
/// name it by `last_insert_rowid()`), and the statements of up to [`REMOTE_REQUEST_ROWS`] rows
/// travel in one request. Rows keep their order, so their ids too.
async fn write_batched(conn: &crate::sql::Connection, rows: &[UsageRecord]) -> Result<(), crate::sql::SqlError> {
    let tx = write_transaction(conn).await?;
    let mut statements = Vec::new();
    let mut in_request = 0;
    let mut next = 0;
    while next < rows.len() {
        let plain = rows[next..].iter().take(REMOTE_BATCH_ROWS).take_while(|r| r.bodies.is_none()).count().max(1);
        let chunk = &rows[next..next + plain];
        let groups: Vec<String> = (0..chunk.len())
            .map(|row| {
                let params: Vec<String> =
                    (1..=INSERT_PARAMS).map(|i| format!("?{}", row * INSERT_PARAMS + i)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let values: Vec<Value> = chunk.iter().flat_map(row_values).collect();
        statements.push((format!("INSERT INTO usage_log ({INSERT_COLUMNS}) VALUES {}", groups.join(", ")), values));
        if let [one @ UsageRecord { bodies: Some(bodies), .. }] = chunk {
            statements.push((INSERT_BODIES.to_owned(), body_values(one, bodies)));
        }
        next += plain;
        in_request += plain;
        // Statements travel together, one round trip per `REMOTE_REQUEST_ROWS` rows: a flush
        // after an outage (up to the buffer's bound) goes in requests of a sane size.
        if in_request >= REMOTE_REQUEST_ROWS {
            tx.execute_each(std::mem::take(&mut statements)).await?;
            in_request = 0;
        }
    }
    if !statements.is_empty() {
        tx.execute_each(statements).await?;
    }
    tx.commit().await
}

impl UsageSink for LibsqlUsageSink {
    fn record(&self, record: UsageRecord) {
        let mut buffer = self.buffer();
        if buffer.len() >= self.capacity {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(dropped, "usage buffer full: row dropped");
            return;
        }
        buffer.push(record);
        if buffer.len() == BATCH_READY_ROWS {
            self.batch_ready.notify_one();
        }
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        boxed(self.flush_inner())
    }

    fn backlog(&self) -> Option<UsageBacklog> {
        Some(UsageBacklog { pending: self.pending() as u64, dropped: self.dropped() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u64) -> UsageRecord {
        UsageRecord {
            request_id: format!("r{n}"),
            input_tokens: Some(n),
            latency_ms: n,
            status: 200,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn rows_are_written_on_flush_and_bounded_before() {
        let sink = LibsqlUsageSink::new(Database::open_memory().await.unwrap(), 3);
        for n in 0..5 {
            sink.record(row(n));
        }
        assert_eq!((sink.pending(), sink.dropped()), (3, 2));
        assert_eq!(sink.backlog(), Some(UsageBacklog { pending: 3, dropped: 2 }), "what /metrics reads");
        sink.flush().await;
        assert_eq!(sink.pending(), 0);
        assert_eq!(sink.backlog(), Some(UsageBacklog { pending: 0, dropped: 2 }));
        let stored = sink.read_all().await.unwrap();
        assert_eq!(stored, vec![row(0), row(1), row(2)]);
    }

    #[tokio::test]
    async fn rows_keep_arrival_order_and_bodies_stay_with_their_row() {
        use crate::usage_query::LibsqlUsageQuery;
        use omniroute_core::ports::{LoggedBodies, UsageQuery};
        let db = Database::open_memory().await.unwrap();
        let sink = LibsqlUsageSink::new(db.clone(), 1000);
        // 70 rows, some with bodies, in between and at the end.
        let with_bodies = [5u64, 40, 41, 69];
        let rows: Vec<UsageRecord> = (0..70)
            .map(|n| UsageRecord {
                bodies: with_bodies
                    .contains(&n)
                    .then(|| LoggedBodies { request: format!("req {n}"), response: format!("resp {n}") }),
                cost_usd: Some(n as f64 / 4.0),
                error: (n % 3 == 0).then(|| format!("e{n}")),
                ..row(n)
            })
            .collect();
        for r in &rows {
            sink.record(r.clone());
        }
        sink.flush().await;
        let without_bodies: Vec<UsageRecord> =
            rows.iter().cloned().map(|r| UsageRecord { bodies: None, ..r }).collect();
        assert_eq!(sink.read_all().await.unwrap(), without_bodies);
        let ids: Vec<String> = rows.iter().map(|r| r.request_id.clone()).collect();
        let stored = LibsqlUsageQuery::new(db).attempts(ids).await.unwrap();
        let stored: Vec<UsageRecord> = stored.into_iter().map(|s| s.record).collect();
        assert_eq!(stored, rows, "each body row is linked to its own usage row");
    }

    #[tokio::test]
    async fn a_full_batch_calls_for_a_flush_before_the_timer() {
        let sink = LibsqlUsageSink::new(Database::open_memory().await.unwrap(), 10 * BATCH_READY_ROWS);
        let ready = || tokio::time::timeout(std::time::Duration::from_millis(50), sink.batch_ready());
        for n in 0..BATCH_READY_ROWS as u64 - 1 {
            sink.record(row(n));
        }
        assert!(ready().await.is_err(), "one row short of a batch: not yet");
        sink.record(row(999));
        assert!(ready().await.is_ok(), "a full batch wakes the flush loop, even if it was not waiting yet");
        sink.flush().await;
        assert!(ready().await.is_err(), "the cue was used up");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn config_writes_succeed_while_a_flush_writes_on_its_thread() {
        use crate::LibsqlConfigStore;
        use crate::secrets::SecretBox;
        use omniroute_core::ports::ConfigStore;
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_file(&dir.path().join("db.sqlite")).await.unwrap();
        let sink = LibsqlUsageSink::new(db.clone(), 50_000);
        let store = LibsqlConfigStore::new(db, SecretBox::from_passphrase("pw"));
        let before = store.load().await.unwrap().version;
        for batch in 0..4u64 {
            for n in 0..5_000 {
                sink.record(row(batch * 5_000 + n));
            }
            // The flush waits on its blocking thread while the config writes run here.
            let writes = async {
                for _ in 0..5 {
                    let declared = omniroute_core::config::declare(None, &|_| None).unwrap();
                    store.sync_declared(declared).await.expect("a config write beside a flush");
                }
            };
            tokio::join!(sink.flush(), writes);
        }
        assert_eq!(store.load().await.unwrap().version, before + 20, "every config write committed");
        assert_eq!((sink.read_all().await.unwrap().len(), sink.dropped()), (20_000, 0), "every usage row written");
    }
}
