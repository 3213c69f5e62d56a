//! `/api/usage/*` reads: `history` (sums by hour or day × provider, model or key), `logs`
//! (pages of rows with filters), `request-logs` (one request's attempts, bodies when logged) and
//! `{connectionId}` (one provider account). They query the usage store; inference never does.

use std::collections::BTreeMap;

use crate::admin::json::{invalid, ok, timestamp};
use crate::admin::query::Query;
use crate::admin::usage_views::{
    ConnectionUsage, History, HistoryPoint, ModelUsage, RequestLogPage, RequestLogView, UsageLogPage, UsageRowView,
};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::ports::StoreError;
use crate::ports::usage_query::{
    AggregateQuery, Bucket, GroupBy, StatusFilter, StoredUsage, UsageBucket, UsageFilter, UsageTotals,
};
use crate::snapshot::ConfigSnapshot;

/// The filters every list takes.
const FILTERS: [&str; 7] = ["provider", "model", "keyId", "connectionId", "status", "since", "until"];
const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 500;
const MAX_OFFSET: u64 = 10_000_000;
use crate::usage::period::DAY_MS;

fn store_failed(e: StoreError) -> GatewayError {
    GatewayError::internal("cannot read usage rows", e)
}

fn known(extra: &[&'static str]) -> Vec<&'static str> {
    FILTERS.iter().chain(extra).copied().collect()
}

/// Each cell as a view, and the sums over all of them.
fn with_totals<T>(cells: Vec<UsageBucket>, view: impl Fn(UsageBucket) -> T) -> (Vec<T>, UsageTotals) {
    let mut totals = UsageTotals::default();
    let views = cells
        .into_iter()
        .map(|cell| {
            totals.merge(&cell.totals);
            view(cell)
        })
        .collect();
    (views, totals)
}

/// The row filters of a query; `since` must come before `until`.
fn filter(query: &Query) -> Result<UsageFilter, GatewayError> {
    let status = match query.get("status") {
        None => None,
        Some("ok") => Some(StatusFilter::Ok),
        Some("error") => Some(StatusFilter::Error),
        Some(code) => Some(StatusFilter::Code(
            code.parse::<u16>()
                .ok()
                .filter(|c| *c <= 599)
                .ok_or_else(|| invalid("status", "must be an HTTP status (0-599), `ok` or `error`"))?,
        )),
    };
    let filter = UsageFilter {
        since_ms: query.time("since")?,
        until_ms: query.time("until")?,
        provider: query.text("provider"),
        model: query.text("model"),
        key_id: query.text("keyId"),
        connection_id: query.text("connectionId"),
        status,
    };
    if let (Some(since), Some(until)) = (filter.since_ms, filter.until_ms)
        && since >= until
    {
        return Err(invalid("until", "must be after `since`"));
    }
    Ok(filter)
}

pub async fn history(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let query = call.query();
    let query = Query::parse(query, &known(&["bucket", "groupBy"]))?;
    let bucket = query.choice("bucket", &[("day", Bucket::Day), ("hour", Bucket::Hour)], Bucket::Day)?;
    let group_by = query.choice(
        "groupBy",
        &[("provider", GroupBy::Provider), ("model", GroupBy::Model), ("key", GroupBy::Key)],
        GroupBy::Provider,
    )?;
    let mut filter = filter(&query)?;
    // Unbounded ends default to now and a week (days) or a day (hours) before it.
    let until = filter.until_ms.unwrap_or_else(|| gateway.ports.clock.now_unix_ms() + 1);
    let span = if bucket == Bucket::Day { 7 * DAY_MS } else { DAY_MS };
    let since = filter.since_ms.unwrap_or_else(|| until.saturating_sub(span));
    if since >= until {
        return Err(invalid("since", "must be before `until`"));
    }
    (filter.since_ms, filter.until_ms) = (Some(since), Some(until));
    let cells = gateway
        .ports
        .usage_query
        .aggregate(AggregateQuery { filter, bucket: Some(bucket), group_by: Some(group_by) })
        .await
        .map_err(store_failed)?;
    let (series, totals) = with_totals(cells, |cell| {
        let period_ms = cell.start_ms.unwrap_or(since);
        HistoryPoint { period: timestamp(period_ms), period_ms, group: cell.group, totals: cell.totals }
    });
    Ok(ok(&History {
        bucket: if bucket == Bucket::Day { "day" } else { "hour" },
        group_by: match group_by {
            GroupBy::Provider => "provider",
            GroupBy::Model => "model",
            GroupBy::Key => "key",
        },
        since: timestamp(since),
        until: timestamp(until),
        series,
        totals,
    }))
}

pub async fn logs(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let query = call.query();
    let query = Query::parse(query, &known(&["limit", "offset"]))?;
    let limit = query.number("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)?;
    let offset = query.number("offset", 0, MAX_OFFSET, 0)?;
    let page = gateway.ports.usage_query.rows(filter(&query)?, limit, offset).await.map_err(store_failed)?;
    let logs = page.items.iter().map(UsageRowView::of).collect();
    Ok(ok(&UsageLogPage { logs, total: page.total, limit, offset }))
}

pub async fn request_logs(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let query = call.query();
    let query = Query::parse(query, &known(&["requestId", "limit", "offset"]))?;
    let limit = query.number("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)?;
    let offset = query.number("offset", 0, MAX_OFFSET, 0)?;
    let usage = &gateway.ports.usage_query;
    let (ids, total) = match query.text("requestId") {
        Some(id) => (vec![id], 1),
        None => {
            let page = usage.request_ids(filter(&query)?, limit, offset).await.map_err(store_failed)?;
            (page.items, page.total)
        }
    };
    let rows = usage.attempts(ids.clone()).await.map_err(store_failed)?;
    if rows.is_empty()
        && let Some(id) = query.get("requestId")
    {
        return Err(GatewayError::NotFound(format!("no usage rows for request '{id}'")));
    }
    let mut by_request: BTreeMap<String, Vec<StoredUsage>> = BTreeMap::new();
    for row in rows {
        by_request.entry(row.record.request_id.clone()).or_default().push(row);
    }
    let snapshot = gateway.snapshot();
    let requests =
        ids.iter().filter_map(|id| by_request.remove(id)).map(|attempts| request_view(&snapshot, attempts)).collect();
    Ok(ok(&RequestLogPage { requests, total, limit, offset }))
}

/// One request's attempts (oldest first) and its logged bodies, unless its key is `no_log`.
fn request_view(snapshot: &ConfigSnapshot, mut attempts: Vec<StoredUsage>) -> RequestLogView {
    attempts.sort_by_key(|a| a.id);
    let first = attempts.first().map(|a| a.record.clone()).unwrap_or_default();
    let last_status = attempts.last().map_or(0, |a| a.record.status);
    // Bodies are never stored for such keys; a key marked later hides what was kept before.
    let no_log = first.api_key_id.as_deref().and_then(|id| snapshot.access.key_by_id(id)).is_some_and(|k| k.no_log);
    let bodies = attempts.iter().rev().find_map(|a| a.record.bodies.clone()).filter(|_| !no_log);
    RequestLogView {
        request_id: first.request_id,
        timestamp: timestamp(first.timestamp_ms),
        key_id: first.api_key_id,
        requested_model: first.requested_model,
        combo: first.combo,
        status: last_status,
        attempts: attempts.iter().map(UsageRowView::of).collect(),
        request_body: bodies.as_ref().map(|b| b.request.clone()),
        response_body: bodies.map(|b| b.response),
    }
}

/// `GET /api/usage/{connectionId}`: one account's usage. The id is `provider:name` for
/// declared accounts, `conn_<hex>` for those created over the API; an unknown one is a 404.
pub async fn connection_usage(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let id = call.decoded_param("connectionId");
    let id: &str = &id;
    let query = call.query();
    let query = Query::parse(query, &["since", "until"])?;
    let mut filter = filter(&query)?;
    let until = filter.until_ms.unwrap_or_else(|| gateway.ports.clock.now_unix_ms() + 1);
    filter.until_ms = Some(until);
    filter.connection_id = Some(id.to_owned());
    let usage = &gateway.ports.usage_query;
    let newest = usage
        .rows(UsageFilter { connection_id: Some(id.to_owned()), ..Default::default() }, 1, 0)
        .await
        .map_err(store_failed)?;
    let snapshot = gateway.snapshot();
    let provider = snapshot.providers().iter().find(|p| p.connections.iter().any(|c| c.id == id));
    let newest = newest.items.first();
    if provider.is_none() && newest.is_none() {
        return Err(GatewayError::NotFound(format!("connection '{id}'")));
    }
    let since = filter.since_ms;
    let cells = usage
        .aggregate(AggregateQuery { filter, bucket: None, group_by: Some(GroupBy::Model) })
        .await
        .map_err(store_failed)?;
    let (by_model, totals) =
        with_totals(cells, |cell| ModelUsage { model: cell.group.unwrap_or_default(), totals: cell.totals });
    Ok(ok(&ConnectionUsage {
        connection_id: id.to_owned(),
        provider: provider.map(|p| p.id.clone()).or_else(|| newest.map(|r| r.record.provider.clone())),
        configured: provider.is_some(),
        since: timestamp(since.unwrap_or(0)),
        until: timestamp(until),
        totals,
        by_model,
        last_used_at: newest.map(|r| timestamp(r.record.timestamp_ms)),
    }))
}
