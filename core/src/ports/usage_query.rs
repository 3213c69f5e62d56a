//! The `UsageQuery` port: reading usage rows back for the management API (aggregates, pages,
//! one request's attempts), seeding in-memory budget and last-use state, and pruning old rows.
//! Never called on the inference path.

use serde::Serialize;

use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};
use crate::ports::{StoreError, UsageRecord};

/// Which rows a query looks at; every field set narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageFilter {
    /// Inclusive, Unix ms.
    pub since_ms: Option<u64>,
    /// Exclusive, Unix ms.
    pub until_ms: Option<u64>,
    pub provider: Option<String>,
    /// Matches the requested or the upstream model.
    pub model: Option<String>,
    pub key_id: Option<String>,
    pub connection_id: Option<String>,
    pub status: Option<StatusFilter>,
}

/// Rows by their outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this HTTP status (0: no HTTP answer).
    Code(u16),
    /// Served: a 2xx with no error.
    Ok,
    /// Anything else (see [`UsageRecord::is_error`]).
    Error,
}

/// Time buckets of an aggregate (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    pub fn millis(self) -> u64 {
        match self {
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }

    /// The start of the bucket holding `ts_ms`.
    pub fn start_of(self, ts_ms: u64) -> u64 {
        ts_ms - ts_ms % self.millis()
    }
}

/// What an aggregate groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Provider,
    /// `provider/upstream_model`.
    Model,
    /// The gateway API key id (rows without a key form the group `None`).
    Key,
}

impl GroupBy {
    /// The group a row belongs to.
    pub fn group_of(self, record: &UsageRecord) -> Option<String> {
        match self {
            GroupBy::Provider => Some(record.provider.clone()),
            GroupBy::Model => Some(format!("{}/{}", record.provider, record.upstream_model)),
            GroupBy::Key => record.api_key_id.clone(),
        }
    }
}

/// An aggregate over the rows a filter selects, split by time bucket and/or group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateQuery {
    pub filter: UsageFilter,
    pub bucket: Option<Bucket>,
    pub group_by: Option<GroupBy>,
}

/// Sums over a set of rows. Tokens count only rows that reported (or estimated) them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    /// Upstream attempts.
    pub requests: u64,
    pub errors: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_usd: f64,
    /// Rows whose tokens are the gateway's estimate.
    pub estimated: u64,
}

impl UsageTotals {
    /// Adds one row. Counts saturate: a stored row with an absurd count (an upstream that
    /// reported `u64::MAX` tokens) must not overflow a report.
    pub fn add(&mut self, record: &UsageRecord) {
        self.requests = self.requests.saturating_add(1);
        self.errors = self.errors.saturating_add(u64::from(record.is_error()));
        self.tokens_in = self.tokens_in.saturating_add(record.input_tokens.unwrap_or(0));
        self.tokens_out = self.tokens_out.saturating_add(record.output_tokens.unwrap_or(0));
        self.cached_tokens = self.cached_tokens.saturating_add(record.cached_tokens.unwrap_or(0));
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(record.reasoning_tokens.unwrap_or(0));
        self.cost_usd += record.cost_usd.unwrap_or(0.0);
        self.estimated = self.estimated.saturating_add(u64::from(record.estimated));
    }

    /// Adds another set's sums.
    pub fn merge(&mut self, other: &UsageTotals) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.tokens_in = self.tokens_in.saturating_add(other.tokens_in);
        self.tokens_out = self.tokens_out.saturating_add(other.tokens_out);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.cost_usd += other.cost_usd;
        self.estimated = self.estimated.saturating_add(other.estimated);
    }
}

/// One cell of an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageBucket {
    /// Start of the time bucket (Unix ms), when bucketed.
    pub start_ms: Option<u64>,
    /// The group's value, when grouped (`None` also for rows without a key under `GroupBy::Key`).
    pub group: Option<String>,
    pub totals: UsageTotals,
}

/// A stored row with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUsage {
    pub id: u64,
    pub record: UsageRecord,
}

/// One page of a list, with how many items match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl UsageRecord {
    /// Not served: no 2xx, or an error (a cut stream, a client gone) after it started.
    pub fn is_error(&self) -> bool {
        !(200..300).contains(&self.status) || self.error.is_some()
    }
}

/// Reads over the stored usage rows.
pub trait UsageQuery: MaybeSend + MaybeSync {
    /// Sums, ordered by bucket start then group.
    fn aggregate(&self, query: AggregateQuery) -> BoxFuture<'_, Result<Vec<UsageBucket>, StoreError>>;
    /// Rows newest first, without bodies.
    fn rows(
        &self,
        filter: UsageFilter,
        limit: u64,
        offset: u64,
    ) -> BoxFuture<'_, Result<Page<StoredUsage>, StoreError>>;
    /// Distinct request ids, the most recent request first.
    fn request_ids(
        &self,
        filter: UsageFilter,
        limit: u64,
        offset: u64,
    ) -> BoxFuture<'_, Result<Page<String>, StoreError>>;
    /// Every attempt of these requests, in the order they were recorded, with bodies.
    fn attempts(&self, request_ids: Vec<String>) -> BoxFuture<'_, Result<Vec<StoredUsage>, StoreError>>;
    /// Cost per key of the rows at or after `since_ms`.
    fn spend_by_key(&self, since_ms: u64) -> BoxFuture<'_, Result<Vec<(String, f64)>, StoreError>>;
    /// The newest row's time per key.
    fn last_used_by_key(&self) -> BoxFuture<'_, Result<Vec<(String, u64)>, StoreError>>;
    /// Deletes rows (and their bodies) older than `before_ms`; returns how many rows went.
    fn prune(&self, before_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>>;
}

/// Whether `record` passes `filter` (the in-memory query; SQL stores say the same in SQL).
pub fn matches(filter: &UsageFilter, record: &UsageRecord) -> bool {
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    filter.since_ms.is_none_or(|t| record.timestamp_ms >= t)
        && filter.until_ms.is_none_or(|t| record.timestamp_ms < t)
        && eq(&filter.provider, &record.provider)
        && filter.model.as_deref().is_none_or(|m| m == record.requested_model || m == record.upstream_model)
        && filter.key_id.as_deref().is_none_or(|k| record.api_key_id.as_deref() == Some(k))
        && eq(&filter.connection_id, &record.connection_id)
        && match filter.status {
            None => true,
            Some(StatusFilter::Code(code)) => record.status == code,
            Some(StatusFilter::Ok) => !record.is_error(),
            Some(StatusFilter::Error) => record.is_error(),
        }
}

/// The aggregate of `rows` (the in-memory query, and the reference the SQL one is tested against).
pub fn aggregate<'a>(query: &AggregateQuery, rows: impl Iterator<Item = &'a UsageRecord>) -> Vec<UsageBucket> {
    let mut cells: std::collections::BTreeMap<(Option<u64>, Option<String>), UsageTotals> = Default::default();
    for record in rows.filter(|r| matches(&query.filter, r)) {
        let start = query.bucket.map(|b| b.start_of(record.timestamp_ms));
        let group = query.group_by.and_then(|g| g.group_of(record));
        cells.entry((start, group)).or_default().add(record);
    }
    cells.into_iter().map(|((start_ms, group), totals)| UsageBucket { start_ms, group, totals }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_saturate_instead_of_overflowing() {
        let mut totals = UsageTotals::default();
        totals.add(&row(0, "p", None, 200, u64::MAX, 0.0));
        totals.add(&row(0, "p", None, 200, u64::MAX, 0.0));
        let copy = totals;
        totals.merge(&copy);
        assert_eq!((totals.tokens_in, totals.requests), (u64::MAX, 4));
    }

    fn row(ts: u64, provider: &str, key: Option<&str>, status: u16, tokens: u64, cost: f64) -> UsageRecord {
        UsageRecord {
            timestamp_ms: ts,
            provider: provider.into(),
            upstream_model: "m".into(),
            status,
            input_tokens: Some(tokens),
            output_tokens: Some(1),
            cost_usd: Some(cost),
            api_key_id: key.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn aggregates_by_bucket_and_group() {
        let hour = 3_600_000;
        let rows = [
            row(0, "a", Some("k1"), 200, 10, 0.5),
            row(10, "a", Some("k1"), 500, 0, 0.0),
            row(hour + 1, "a", None, 200, 5, 0.25),
            row(hour + 2, "b", Some("k2"), 200, 7, 1.0),
        ];
        let query =
            AggregateQuery { bucket: Some(Bucket::Hour), group_by: Some(GroupBy::Provider), ..Default::default() };
        let cells = aggregate(&query, rows.iter());
        let summary: Vec<_> =
            cells.iter().map(|c| (c.start_ms, c.group.as_deref(), c.totals.requests, c.totals.errors)).collect();
        assert_eq!(summary, [(Some(0), Some("a"), 2, 1), (Some(hour), Some("a"), 1, 0), (Some(hour), Some("b"), 1, 0)]);
        assert_eq!(cells[0].totals.tokens_in, 10);
        assert!((cells[0].totals.cost_usd - 0.5).abs() < 1e-12);
        let by_key = AggregateQuery { group_by: Some(GroupBy::Key), ..Default::default() };
        let groups: Vec<_> =
            aggregate(&by_key, rows.iter()).into_iter().map(|c| (c.group, c.totals.requests)).collect();
        assert_eq!(groups, [(None, 1), (Some("k1".into()), 2), (Some("k2".into()), 1)]);
    }

    #[test]
    fn filters_narrow_by_every_field() {
        let mut cut = row(5, "a", Some("k1"), 200, 1, 0.0);
        cut.error = Some("cut".into());
        let rows = [row(0, "a", Some("k1"), 200, 1, 0.0), cut, row(9, "b", None, 429, 0, 0.0)];
        let count = |filter: UsageFilter| rows.iter().filter(|r| matches(&filter, r)).count();
        assert_eq!(count(UsageFilter { status: Some(StatusFilter::Error), ..Default::default() }), 2);
        assert_eq!(count(UsageFilter { status: Some(StatusFilter::Ok), ..Default::default() }), 1);
        assert_eq!(count(UsageFilter { status: Some(StatusFilter::Code(429)), ..Default::default() }), 1);
        assert_eq!(count(UsageFilter { since_ms: Some(5), until_ms: Some(9), ..Default::default() }), 1);
        assert_eq!(count(UsageFilter { key_id: Some("k1".into()), ..Default::default() }), 2);
        assert_eq!(count(UsageFilter { provider: Some("b".into()), model: Some("m".into()), ..Default::default() }), 1);
    }
}
