//! `LibsqlUsageQuery`: the UsageQuery port over `usage_log` (and `usage_bodies`) in SQL:
//! filters become a WHERE clause, aggregates a GROUP BY over hour/day buckets, pruning
//! batched deletes so the usage sink's writes never wait long.

use crate::sql::Value;
use omniroute_core::maybe_send::{BoxFuture, boxed};
use omniroute_core::ports::usage_query::{
    AggregateQuery, GroupBy, Page, StatusFilter, StoredUsage, UsageBucket, UsageFilter, UsageQuery, UsageTotals,
};
use omniroute_core::ports::{LoggedBodies, StoreError, UsageRecord};

use crate::database::Database;

/// The columns `record_of` reads, in its order (table alias `u`).
pub(crate) const COLUMNS: &str = "u.request_id, u.ts_ms, u.provider, u.connection_id, u.requested_model,
   u.upstream_model, u.client_format, u.upstream_format, u.status, u.stream, u.input_tokens, u.output_tokens,
   u.latency_ms, u.error, u.cached_tokens, u.reasoning_tokens, u.ttft_ms, u.cost_usd, u.api_key_id, u.combo,
   u.estimated";

/// SQL for "served": a 2xx with no error (see `UsageRecord::is_error`).
const SERVED: &str = "(u.status BETWEEN 200 AND 299 AND u.error IS NULL)";

/// Rows deleted per statement when pruning.
const PRUNE_BATCH: u64 = 5_000;

/// A row of `COLUMNS` (starting at column `at`) as a record.
pub(crate) fn record_of(row: &crate::sql::Row, at: i32) -> Result<UsageRecord, crate::sql::SqlError> {
    Ok(UsageRecord {
        request_id: row.get(at)?,
        timestamp_ms: row.get(at + 1)?,
        provider: row.get(at + 2)?,
        connection_id: row.get(at + 3)?,
        requested_model: row.get(at + 4)?,
        upstream_model: row.get(at + 5)?,
        client_format: row.get(at + 6)?,
        upstream_format: row.get(at + 7)?,
        status: row.get::<u32>(at + 8)? as u16,
        stream: row.get::<i64>(at + 9)? != 0,
        input_tokens: row.get(at + 10)?,
        output_tokens: row.get(at + 11)?,
        latency_ms: row.get(at + 12)?,
        error: row.get(at + 13)?,
        cached_tokens: row.get(at + 14)?,
        reasoning_tokens: row.get(at + 15)?,
        ttft_ms: row.get(at + 16)?,
        cost_usd: row.get(at + 17)?,
        api_key_id: row.get(at + 18)?,
        combo: row.get(at + 19)?,
        estimated: row.get::<i64>(at + 20)? != 0,
        bodies: None,
    })
}

/// A number as SQLite returned it (SUM gives an integer or a real depending on its inputs;
/// libsql's typed getters panic on the other kind).
fn real(value: Value) -> f64 {
    match value {
        Value::Real(f) => f,
        Value::Integer(i) => i as f64,
        _ => 0.0,
    }
}

fn count(value: Value) -> u64 {
    match value {
        Value::Integer(i) => i.max(0) as u64,
        Value::Real(f) if f > 0.0 => f as u64,
        _ => 0,
    }
}

/// Reads over the usage table.
pub struct LibsqlUsageQuery {
    db: Database,
}

fn failed(e: crate::sql::SqlError) -> StoreError {
    StoreError(format!("usage rows: {e}"))
}

/// `WHERE ...` for `filter`, its values appended to `params`.
fn where_clause(filter: &UsageFilter, params: &mut Vec<Value>) -> String {
    let mut conditions: Vec<String> = vec!["1 = 1".into()];
    let bind = |params: &mut Vec<Value>, value: Value| {
        params.push(value);
        format!("?{}", params.len())
    };
    if let Some(since) = filter.since_ms {
        conditions.push(format!("u.ts_ms >= {}", bind(params, Value::Integer(since as i64))));
    }
    if let Some(until) = filter.until_ms {
        conditions.push(format!("u.ts_ms < {}", bind(params, Value::Integer(until as i64))));
    }
    if let Some(provider) = &filter.provider {
        conditions.push(format!("u.provider = {}", bind(params, Value::Text(provider.clone()))));
    }
    if let Some(model) = &filter.model {
        let at = bind(params, Value::Text(model.clone()));
        conditions.push(format!("(u.requested_model = {at} OR u.upstream_model = {at})"));
    }
    if let Some(key) = &filter.key_id {
        conditions.push(format!("u.api_key_id = {}", bind(params, Value::Text(key.clone()))));
    }
    if let Some(connection) = &filter.connection_id {
        conditions.push(format!("u.connection_id = {}", bind(params, Value::Text(connection.clone()))));
    }
    match filter.status {
        None => {}
        Some(StatusFilter::Code(code)) => {
            conditions.push(format!("u.status = {}", bind(params, Value::Integer(i64::from(code)))))
        }
        Some(StatusFilter::Ok) => conditions.push(SERVED.into()),
        Some(StatusFilter::Error) => conditions.push(format!("NOT {SERVED}")),
    }
    format!("WHERE {}", conditions.join(" AND "))
}

impl LibsqlUsageQuery {
    pub fn new(db: Database) -> Self {
        LibsqlUsageQuery { db }
    }

    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<crate::sql::Rows, crate::sql::SqlError> {
        self.db.connection().query(sql, params).await
    }

    async fn count(&self, sql: &str, params: Vec<Value>) -> Result<u64, crate::sql::SqlError> {
        let mut rows = self.query(sql, params).await?;
        Ok(match rows.next().await? {
            Some(row) => count(row.get_value(0)?),
            None => 0,
        })
    }

    async fn aggregate_rows(&self, query: &AggregateQuery) -> Result<Vec<UsageBucket>, crate::sql::SqlError> {
        let mut params = Vec::new();
        let condition = where_clause(&query.filter, &mut params);
        let bucket = match query.bucket {
            Some(bucket) => format!("(u.ts_ms / {0}) * {0}", bucket.millis()),
            None => "NULL".into(),
        };
        let group = match query.group_by {
            Some(GroupBy::Provider) => "u.provider",
            Some(GroupBy::Model) => "u.provider || '/' || u.upstream_model",
            Some(GroupBy::Key) => "u.api_key_id",
            None => "NULL",
        };
        let sql = format!(
            "SELECT {bucket}, {group}, COUNT(*), SUM(CASE WHEN {SERVED} THEN 0 ELSE 1 END),
               COALESCE(SUM(u.input_tokens), 0), COALESCE(SUM(u.output_tokens), 0), COALESCE(SUM(u.cached_tokens), 0),
               COALESCE(SUM(u.reasoning_tokens), 0), COALESCE(SUM(u.cost_usd), 0.0), SUM(u.estimated)
             FROM usage_log u {condition} GROUP BY 1, 2 ORDER BY 1, 2"
        );
        let mut rows = self.query(&sql, params).await?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await? {
            out.push(UsageBucket {
                start_ms: row.get::<Option<u64>>(0)?,
                group: row.get::<Option<String>>(1)?,
                totals: UsageTotals {
                    requests: count(row.get_value(2)?),
                    errors: count(row.get_value(3)?),
                    tokens_in: count(row.get_value(4)?),
                    tokens_out: count(row.get_value(5)?),
                    cached_tokens: count(row.get_value(6)?),
                    reasoning_tokens: count(row.get_value(7)?),
                    cost_usd: real(row.get_value(8)?),
                    estimated: count(row.get_value(9)?),
                },
            });
        }
        Ok(out)
    }

    /// One page: how many rows `count_sql` counts, and the rows of `rows_sql` read with `read`.
    async fn page<T>(
        &self,
        count_sql: &str,
        rows_sql: &str,
        params: Vec<Value>,
        read: fn(&crate::sql::Row) -> Result<T, crate::sql::SqlError>,
    ) -> Result<Page<T>, crate::sql::SqlError> {
        let total = self.count(count_sql, params.clone()).await?;
        let mut rows = self.query(rows_sql, params).await?;
        let mut items = Vec::new();
        while let Some(row) = rows.next().await? {
            items.push(read(&row)?);
        }
        Ok(Page { items, total })
    }

    async fn page_of_rows(
        &self,
        filter: &UsageFilter,
        limit: u64,
        offset: u64,
    ) -> Result<Page<StoredUsage>, crate::sql::SqlError> {
        let mut params = Vec::new();
        let condition = where_clause(filter, &mut params);
        let count = format!("SELECT COUNT(*) FROM usage_log u {condition}");
        let rows = format!(
            "SELECT u.id, {COLUMNS} FROM usage_log u {condition} ORDER BY u.ts_ms DESC, u.id DESC LIMIT {limit} OFFSET {offset}"
        );
        self.page(&count, &rows, params, |row| Ok(StoredUsage { id: row.get(0)?, record: record_of(row, 1)? })).await
    }

    async fn page_of_requests(
        &self,
        filter: &UsageFilter,
        limit: u64,
        offset: u64,
    ) -> Result<Page<String>, crate::sql::SqlError> {
        let mut params = Vec::new();
        let condition = where_clause(filter, &mut params);
        let count = format!("SELECT COUNT(DISTINCT u.request_id) FROM usage_log u {condition}");
        let rows = format!(
            "SELECT u.request_id FROM usage_log u {condition} GROUP BY u.request_id
             ORDER BY MAX(u.ts_ms) DESC, MAX(u.id) DESC LIMIT {limit} OFFSET {offset}"
        );
        self.page(&count, &rows, params, |row| row.get(0)).await
    }

    async fn attempts_of(&self, request_ids: &[String]) -> Result<Vec<StoredUsage>, crate::sql::SqlError> {
        if request_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=request_ids.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "SELECT u.id, {COLUMNS}, b.request_body, b.response_body FROM usage_log u
             LEFT JOIN usage_bodies b ON b.usage_id = u.id
             WHERE u.request_id IN ({}) ORDER BY u.id",
            marks.join(", ")
        );
        let params: Vec<Value> = request_ids.iter().cloned().map(Value::Text).collect();
        let mut rows = self.query(&sql, params).await?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await? {
            let mut record = record_of(&row, 1)?;
            let request: Option<String> = row.get(22)?;
            let response: Option<String> = row.get(23)?;
            record.bodies = request.map(|request| LoggedBodies { request, response: response.unwrap_or_default() });
            out.push(StoredUsage { id: row.get(0)?, record });
        }
        Ok(out)
    }

    /// `(key, value)` rows; `value` read with `read` (libsql's value trait is sealed).
    async fn pairs<T>(
        &self,
        sql: &str,
        params: Vec<Value>,
        read: fn(&crate::sql::Row) -> Result<T, crate::sql::SqlError>,
    ) -> Result<Vec<(String, T)>, crate::sql::SqlError> {
        let mut rows = self.query(sql, params).await?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await? {
            out.push((row.get(0)?, read(&row)?));
        }
        Ok(out)
    }

    async fn prune_rows(&self, before_ms: u64) -> Result<u64, crate::sql::SqlError> {
        let writer = self.db.writer().await;
        let before = Value::Integer(before_ms as i64);
        let pruned = delete_before(&writer, "usage_log", "id", &before).await?;
        // Logged bodies are the large rows: batched the same way.
        delete_before(&writer, "usage_bodies", "usage_id", &before).await?;
        Ok(pruned)
    }
}

/// Deletes the rows of `table` older than `before`, in batches each its own short write (so the
/// usage sink's flushes interleave); how many went.
async fn delete_before(
    conn: &crate::sql::Connection,
    table: &str,
    id: &str,
    before: &Value,
) -> Result<u64, crate::sql::SqlError> {
    let sql =
        format!("DELETE FROM {table} WHERE {id} IN (SELECT {id} FROM {table} WHERE ts_ms < ?1 LIMIT {PRUNE_BATCH})");
    let mut deleted = 0;
    loop {
        let batch = conn.execute(&sql, vec![before.clone()]).await?;
        deleted += batch;
        if batch < PRUNE_BATCH {
            return Ok(deleted);
        }
    }
}

impl UsageQuery for LibsqlUsageQuery {
    fn aggregate(&self, query: AggregateQuery) -> BoxFuture<'_, Result<Vec<UsageBucket>, StoreError>> {
        boxed(async move { self.db.retried(|| async { self.aggregate_rows(&query).await.map_err(failed) }).await })
    }

    fn rows(
        &self,
        filter: UsageFilter,
        limit: u64,
        offset: u64,
    ) -> BoxFuture<'_, Result<Page<StoredUsage>, StoreError>> {
        boxed(async move {
            self.db.retried(|| async { self.page_of_rows(&filter, limit, offset).await.map_err(failed) }).await
        })
    }

    fn request_ids(
        &self,
        filter: UsageFilter,
        limit: u64,
        offset: u64,
    ) -> BoxFuture<'_, Result<Page<String>, StoreError>> {
        boxed(async move {
            self.db.retried(|| async { self.page_of_requests(&filter, limit, offset).await.map_err(failed) }).await
        })
    }

    fn attempts(&self, request_ids: Vec<String>) -> BoxFuture<'_, Result<Vec<StoredUsage>, StoreError>> {
        boxed(async move { self.db.retried(|| async { self.attempts_of(&request_ids).await.map_err(failed) }).await })
    }

    fn spend_by_key(&self, since_ms: u64) -> BoxFuture<'_, Result<Vec<(String, f64)>, StoreError>> {
        boxed(async move {
            let sql = "SELECT api_key_id, SUM(cost_usd) FROM usage_log
                       WHERE api_key_id IS NOT NULL AND cost_usd IS NOT NULL AND ts_ms >= ?1 GROUP BY api_key_id";
            self.db
                .retried(|| async {
                    self.pairs(sql, vec![Value::Integer(since_ms as i64)], |row| row.get_value(1).map(real))
                        .await
                        .map_err(failed)
                })
                .await
        })
    }

    fn last_used_by_key(&self) -> BoxFuture<'_, Result<Vec<(String, u64)>, StoreError>> {
        boxed(async move {
            let sql = "SELECT api_key_id, MAX(ts_ms) FROM usage_log WHERE api_key_id IS NOT NULL GROUP BY api_key_id";
            self.db
                .retried(|| async {
                    self.pairs(sql, Vec::new(), |row| row.get_value(1).map(count)).await.map_err(failed)
                })
                .await
        })
    }

    fn prune(&self, before_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        boxed(async move { self.db.retried(|| async { self.prune_rows(before_ms).await.map_err(failed) }).await })
    }
}

#[cfg(test)]
#[path = "usage_query_tests.rs"]
mod tests;
