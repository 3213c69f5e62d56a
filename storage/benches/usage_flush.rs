//! Micro-benchmark of the usage sink: one flush of a burst of rows into a libSQL file, the
//! write the gateway does between requests (`cargo bench -p omniroute-storage`).
// A benchmark that cannot set up has nothing to measure: failing loudly is right here.
#![allow(clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use omniroute_core::ports::{UsageRecord, UsageSink};
use omniroute_storage::database::Database;
use omniroute_storage::usage_sink::LibsqlUsageSink;

fn row(n: u64) -> UsageRecord {
    UsageRecord {
        request_id: format!("req-{n:016x}"),
        timestamp_ms: 1_790_000_000_000 + n,
        provider: "openai".into(),
        connection_id: "openai:default".into(),
        requested_model: "gpt-4o-mini".into(),
        upstream_model: "gpt-4o-mini".into(),
        client_format: "openai".into(),
        upstream_format: "openai".into(),
        status: 200,
        input_tokens: Some(12),
        output_tokens: Some(30),
        latency_ms: 1,
        cost_usd: Some(0.000_02),
        api_key_id: Some("key_bench".into()),
        ..Default::default()
    }
}

fn flush(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = runtime.block_on(Database::open_file(&dir.path().join("bench.db"))).expect("the bench database");
    let sink = LibsqlUsageSink::new(db, 100_000);
    let mut next = 0u64;
    for rows in [1u64, 256] {
        c.bench_function(&format!("usage flush {rows} rows"), |b| {
            b.iter_batched(
                || {
                    for _ in 0..rows {
                        sink.record(row(next));
                        next += 1;
                    }
                },
                |()| runtime.block_on(sink.flush()),
                BatchSize::PerIteration,
            )
        });
    }
}

criterion_group!(benches, flush);
criterion_main!(benches);
