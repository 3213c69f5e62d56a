//! `LibsqlUsageSink`: usage rows buffered in memory and written in one transaction per flush.
//! The buffer is bounded; rows beyond it are counted and logged, never silently lost.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use libsql::Value;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::{UsageBacklog, UsageRecord, UsageSink};

use crate::config_writes::opt;
use crate::database::Database;
use crate::usage_query::{COLUMNS, record_of};

/// Batching usage writer.
pub struct LibsqlUsageSink {
    db: Database,
    buffer: Mutex<Vec<UsageRecord>>,
    capacity: usize,
    dropped: AtomicU64,
    // Serialises flushes so rows are written in order and never twice.
    flushing: tokio::sync::Mutex<()>,
}

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
        }
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
        if let Err(e) = self.write(&rows).await {
            tracing::error!(error = %e, rows = rows.len(), "usage rows could not be written; keeping them for the next flush");
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
    }

    async fn write(&self, rows: &[UsageRecord]) -> Result<(), libsql::Error> {
        let tx = self.db.connection().transaction().await?;
        // Parsed once per flush, not once per row: SQL parsing was most of a flush's time, and
        // a flush runs on the runtime between requests.
        let insert = tx
            .prepare(
                "INSERT INTO usage_log (request_id, ts_ms, provider, connection_id, requested_model, upstream_model, client_format,
                   upstream_format, status, stream, input_tokens, output_tokens, latency_ms, error,
                   cached_tokens, reasoning_tokens, ttft_ms, cost_usd, api_key_id, combo, estimated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            )
            .await?;
        for r in rows {
            insert
                .execute(vec![
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
                ])
                .await?;
            insert.reset();
            if let Some(bodies) = &r.bodies {
                tx.execute(
                    "INSERT INTO usage_bodies (usage_id, request_id, ts_ms, request_body, response_body)
                     VALUES (last_insert_rowid(), ?1, ?2, ?3, ?4)",
                    vec![
                        Value::Text(r.request_id.clone()),
                        Value::Integer(r.timestamp_ms as i64),
                        Value::Text(bodies.request.clone()),
                        Value::Text(bodies.response.clone()),
                    ],
                )
                .await?;
            }
        }
        drop(insert);
        tx.commit().await
    }

    /// Reads every row back, oldest first, bodies left out (tests).
    pub async fn read_all(&self) -> Result<Vec<UsageRecord>, libsql::Error> {
        let mut rows =
            self.db.connection().query(&format!("SELECT {COLUMNS} FROM usage_log u ORDER BY u.id"), ()).await?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await? {
            out.push(record_of(&row, 0)?);
        }
        Ok(out)
    }
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
}
