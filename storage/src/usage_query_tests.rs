//! The SQL queries answer exactly what the in-memory reference (`MemoryUsageSink`, the core's
//! `usage_query::aggregate`) answers over the same rows.

use omniroute_core::ports::memory::MemoryUsageSink;
use omniroute_core::ports::usage_query::{
    self, AggregateQuery, Bucket, GroupBy, StatusFilter, UsageFilter, UsageQuery,
};
use omniroute_core::ports::{LoggedBodies, UsageRecord, UsageSink};

use super::LibsqlUsageQuery;
use crate::{Database, LibsqlUsageSink};

const HOUR: u64 = 3_600_000;
const T0: u64 = 1_800_000_000_000 - 1_800_000_000_000 % (24 * HOUR);

/// Sixty varied rows: three providers, two models, two keys and none, failures, cut streams,
/// estimates, over three days.
fn rows() -> Vec<UsageRecord> {
    (0..60u64)
        .map(|i| UsageRecord {
            request_id: format!("req{}", i / 2),
            timestamp_ms: T0 + i * 77 * 60_000 + i,
            provider: ["openai", "anthropic", "gemini"][(i % 3) as usize].into(),
            connection_id: format!("conn{}", i % 4),
            requested_model: "combo/fast".into(),
            upstream_model: ["m1", "m2"][(i % 2) as usize].into(),
            client_format: "openai-chat".into(),
            upstream_format: "openai-chat".into(),
            status: [200, 200, 429, 200, 503][(i % 5) as usize],
            stream: i % 2 == 0,
            input_tokens: (i % 5 != 2).then_some(i * 3),
            output_tokens: (i % 5 != 2).then_some(i),
            cached_tokens: (i % 7 == 0).then_some(i),
            reasoning_tokens: (i % 11 == 0).then_some(2),
            latency_ms: i,
            ttft_ms: None,
            cost_usd: (i % 5 != 2).then_some(i as f64 * 0.000_137),
            error: (i % 13 == 0).then(|| "cut".to_string()),
            api_key_id: [Some("key_a"), Some("key_b"), None][(i % 3) as usize].map(Into::into),
            combo: (i % 2 == 0).then(|| "fast".to_string()),
            estimated: i % 9 == 0,
            bodies: (i % 10 == 1).then(|| LoggedBodies { request: format!("{{\"n\":{i}}}"), response: "ok".into() }),
        })
        .collect()
}

async fn stores() -> (LibsqlUsageQuery, MemoryUsageSink, Vec<UsageRecord>) {
    let db = Database::open_memory().await.unwrap();
    let sink = LibsqlUsageSink::new(db.clone(), 1000);
    let memory = MemoryUsageSink::default();
    let rows = rows();
    for row in &rows {
        sink.record(row.clone());
        memory.record(row.clone());
    }
    sink.flush().await;
    (LibsqlUsageQuery::new(db), memory, rows)
}

fn filters() -> Vec<UsageFilter> {
    vec![
        UsageFilter::default(),
        UsageFilter { since_ms: Some(T0 + 5 * HOUR), until_ms: Some(T0 + 40 * HOUR), ..Default::default() },
        UsageFilter { provider: Some("anthropic".into()), ..Default::default() },
        UsageFilter { model: Some("m2".into()), key_id: Some("key_a".into()), ..Default::default() },
        UsageFilter { model: Some("combo/fast".into()), ..Default::default() },
        UsageFilter { connection_id: Some("conn1".into()), ..Default::default() },
        UsageFilter { status: Some(StatusFilter::Error), ..Default::default() },
        UsageFilter { status: Some(StatusFilter::Ok), ..Default::default() },
        UsageFilter { status: Some(StatusFilter::Code(429)), ..Default::default() },
    ]
}

#[tokio::test]
async fn aggregates_equal_the_reference() {
    let (sql, _, rows) = stores().await;
    for filter in filters() {
        for bucket in [None, Some(Bucket::Hour), Some(Bucket::Day)] {
            for group_by in [None, Some(GroupBy::Provider), Some(GroupBy::Model), Some(GroupBy::Key)] {
                let query = AggregateQuery { filter: filter.clone(), bucket, group_by };
                let expected = usage_query::aggregate(&query, rows.iter());
                let got = sql.aggregate(query.clone()).await.unwrap();
                assert_eq!(got.len(), expected.len(), "{query:?}");
                for (got, want) in got.iter().zip(&expected) {
                    assert_eq!((got.start_ms, &got.group), (want.start_ms, &want.group), "{query:?}");
                    let (mut g, mut w) = (got.totals, want.totals);
                    assert!((g.cost_usd - w.cost_usd).abs() < 1e-9, "{query:?}: {g:?} vs {w:?}");
                    (g.cost_usd, w.cost_usd) = (0.0, 0.0);
                    assert_eq!(g, w, "{query:?}");
                }
            }
        }
    }
}

#[tokio::test]
async fn pages_requests_spend_and_last_use_equal_the_reference() {
    let (sql, memory, _) = stores().await;
    for filter in filters() {
        for (limit, offset) in [(5, 0), (7, 3), (100, 0), (10, 1000)] {
            let got = sql.rows(filter.clone(), limit, offset).await.unwrap();
            let want = UsageQuery::rows(&memory, filter.clone(), limit, offset).await.unwrap();
            assert_eq!(got.total, want.total, "{filter:?}");
            assert_eq!(got.items, want.items, "{filter:?} {limit} {offset}");
            let got = sql.request_ids(filter.clone(), limit, offset).await.unwrap();
            let want = memory.request_ids(filter.clone(), limit, offset).await.unwrap();
            assert_eq!(got, want, "{filter:?} {limit} {offset}");
        }
    }
    let ids = vec!["req0".to_string(), "req5".to_string(), "nope".to_string()];
    let got = sql.attempts(ids.clone()).await.unwrap();
    assert_eq!(got, memory.attempts(ids).await.unwrap());
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].record.bodies, Some(LoggedBodies { request: "{\"n\":11}".into(), response: "ok".into() }));
    let sorted = |mut v: Vec<(String, f64)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (got, want) = (
        sorted(sql.spend_by_key(T0 + 10 * HOUR).await.unwrap()),
        sorted(memory.spend_by_key(T0 + 10 * HOUR).await.unwrap()),
    );
    assert_eq!(got.len(), 2);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.0, w.0);
        assert!((g.1 - w.1).abs() < 1e-9);
    }
    let mut got = sql.last_used_by_key().await.unwrap();
    let mut want = memory.last_used_by_key().await.unwrap();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn pruning_deletes_old_rows_and_their_bodies() {
    let (sql, memory, rows) = stores().await;
    let cutoff = T0 + 30 * HOUR;
    let old = rows.iter().filter(|r| r.timestamp_ms < cutoff).count() as u64;
    assert_eq!(sql.prune(cutoff).await.unwrap(), old);
    assert_eq!(memory.prune(cutoff).await.unwrap(), old);
    let left = sql.rows(UsageFilter::default(), 1000, 0).await.unwrap();
    assert_eq!(left.total, 60 - old);
    assert!(left.items.iter().all(|r| r.record.timestamp_ms >= cutoff));
    let mut bodies = sql.db.connection().query("SELECT MIN(ts_ms), COUNT(*) FROM usage_bodies", ()).await.unwrap();
    let row = bodies.next().await.unwrap().unwrap();
    assert!(row.get::<u64>(0).unwrap() >= cutoff);
    assert_eq!(
        row.get::<u64>(1).unwrap(),
        rows.iter().filter(|r| r.bodies.is_some() && r.timestamp_ms >= cutoff).count() as u64
    );
    assert_eq!(sql.prune(cutoff).await.unwrap(), 0);
}
