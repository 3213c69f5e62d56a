//! Usage rows kept in a vector: the in-process UsageSink and UsageQuery (tests and the Worker).
//! Queries run the reference implementations of `usage_query` over the rows.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::maybe_send::{BoxFuture, boxed};
use crate::ports::memory::lock;
use crate::ports::usage_query::{self, AggregateQuery, Page, StoredUsage, UsageBucket, UsageFilter, UsageQuery};
use crate::ports::{StoreError, UsageRecord, UsageSink};

/// Usage rows in memory; a row's id is its position plus one.
#[derive(Default)]
pub struct MemoryUsageSink {
    rows: Mutex<Vec<UsageRecord>>,
}

impl MemoryUsageSink {
    pub fn rows(&self) -> Vec<UsageRecord> {
        lock(&self.rows).clone()
    }

    /// Rows that pass `filter`, newest first, with their ids.
    fn newest_first(&self, filter: &UsageFilter) -> Vec<StoredUsage> {
        let rows = lock(&self.rows);
        let mut out: Vec<StoredUsage> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| usage_query::matches(filter, r))
            .map(|(i, r)| StoredUsage { id: i as u64 + 1, record: r.clone() })
            .collect();
        out.sort_by_key(|row| std::cmp::Reverse((row.record.timestamp_ms, row.id)));
        out
    }
}

fn page<T>(items: Vec<T>, limit: u64, offset: u64) -> Page<T> {
    let total = items.len() as u64;
    let items = items.into_iter().skip(offset as usize).take(limit as usize).collect();
    Page { items, total }
}

impl UsageSink for MemoryUsageSink {
    fn record(&self, record: UsageRecord) {
        lock(&self.rows).push(record);
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        boxed(async {})
    }
}

impl UsageQuery for MemoryUsageSink {
    fn aggregate(&self, query: AggregateQuery) -> BoxFuture<'_, Result<Vec<UsageBucket>, StoreError>> {
        let cells = usage_query::aggregate(&query, lock(&self.rows).iter());
        boxed(async move { Ok(cells) })
    }

    fn rows(
        &self,
        filter: UsageFilter,
        limit: u64,
        offset: u64,
    ) -> BoxFuture<'_, Result<Page<StoredUsage>, StoreError>> {
        let mut rows = self.newest_first(&filter);
        for row in &mut rows {
            row.record.bodies = None;
        }
        boxed(async move { Ok(page(rows, limit, offset)) })
    }

    fn request_ids(
        &self,
        filter: UsageFilter,
        limit: u64,
        offset: u64,
    ) -> BoxFuture<'_, Result<Page<String>, StoreError>> {
        let mut ids: Vec<String> = Vec::new();
        for row in self.newest_first(&filter) {
            if !ids.contains(&row.record.request_id) {
                ids.push(row.record.request_id);
            }
        }
        boxed(async move { Ok(page(ids, limit, offset)) })
    }

    fn attempts(&self, request_ids: Vec<String>) -> BoxFuture<'_, Result<Vec<StoredUsage>, StoreError>> {
        let rows: Vec<StoredUsage> = lock(&self.rows)
            .iter()
            .enumerate()
            .filter(|(_, r)| request_ids.contains(&r.request_id))
            .map(|(i, r)| StoredUsage { id: i as u64 + 1, record: r.clone() })
            .collect();
        boxed(async move { Ok(rows) })
    }

    fn spend_by_key(&self, since_ms: u64) -> BoxFuture<'_, Result<Vec<(String, f64)>, StoreError>> {
        let mut spend: HashMap<String, f64> = HashMap::new();
        for row in lock(&self.rows).iter().filter(|r| r.timestamp_ms >= since_ms) {
            if let (Some(key), Some(cost)) = (&row.api_key_id, row.cost_usd) {
                *spend.entry(key.clone()).or_default() += cost;
            }
        }
        boxed(async move { Ok(spend.into_iter().collect()) })
    }

    fn last_used_by_key(&self) -> BoxFuture<'_, Result<Vec<(String, u64)>, StoreError>> {
        let mut last: HashMap<String, u64> = HashMap::new();
        for row in lock(&self.rows).iter() {
            if let Some(key) = &row.api_key_id {
                let at = last.entry(key.clone()).or_default();
                *at = (*at).max(row.timestamp_ms);
            }
        }
        boxed(async move { Ok(last.into_iter().collect()) })
    }

    fn prune(&self, before_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        let mut rows = lock(&self.rows);
        let before = rows.len();
        rows.retain(|r| r.timestamp_ms >= before_ms);
        let pruned = (before - rows.len()) as u64;
        boxed(async move { Ok(pruned) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::block_on;

    fn row(request: &str, ts: u64, key: Option<&str>, cost: Option<f64>) -> UsageRecord {
        UsageRecord {
            request_id: request.into(),
            timestamp_ms: ts,
            status: 200,
            api_key_id: key.map(Into::into),
            cost_usd: cost,
            ..Default::default()
        }
    }

    #[test]
    fn pages_requests_spend_and_pruning() {
        let sink = MemoryUsageSink::default();
        for r in [
            row("a", 10, Some("k1"), Some(0.5)),
            row("a", 11, Some("k1"), Some(0.25)),
            row("b", 20, Some("k2"), None),
            row("c", 30, Some("k1"), Some(1.0)),
        ] {
            sink.record(r);
        }
        let page = block_on(UsageQuery::rows(&sink, UsageFilter::default(), 2, 1)).unwrap();
        assert_eq!(page.total, 4);
        assert_eq!(page.items.iter().map(|r| r.id).collect::<Vec<_>>(), [3, 2]);
        let ids = block_on(sink.request_ids(UsageFilter::default(), 10, 0)).unwrap();
        assert_eq!(ids.items, ["c", "b", "a"]);
        assert_eq!(block_on(sink.attempts(vec!["a".into()])).unwrap().len(), 2);
        let mut spend = block_on(sink.spend_by_key(11)).unwrap();
        spend.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(spend, [("k1".to_string(), 1.25)]);
        let mut last = block_on(sink.last_used_by_key()).unwrap();
        last.sort();
        assert_eq!(last, [("k1".to_string(), 30), ("k2".to_string(), 20)]);
        assert_eq!(block_on(sink.prune(20)).unwrap(), 2);
        assert_eq!(sink.rows().len(), 2);
    }
}
