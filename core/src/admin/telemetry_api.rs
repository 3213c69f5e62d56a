//! Telemetry over HTTP: `GET /api/telemetry/summary` (count, error rate, p50/p95/p99 latency
//! and TTFT per provider and per model over a window) and `GET /metrics` (Prometheus text).

use http::Response;
use http::header::{CONTENT_TYPE, HeaderValue};

use crate::admin::json::{invalid, ok};
use crate::admin::query::Query;
use crate::body::Body;
use crate::gateway::call::{Answer, Call};
use crate::routing::health::CircuitState;
use crate::telemetry::{Gauge, METRICS_CONTENT_TYPE};

/// The summary window when the query names none: the last hour.
const DEFAULT_WINDOW_MS: u64 = 60 * 60 * 1000;

/// `GET /api/telemetry/summary?window_ms=...`
pub async fn summary(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let window_ms = match Query::lenient(call.query()).get("window_ms") {
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|w| *w > 0)
            .ok_or_else(|| invalid("window_ms", "must be a whole number of milliseconds, at least 1"))?,
        None => DEFAULT_WINDOW_MS,
    };
    Ok(ok(&gateway.telemetry.summary(gateway.ports.clock.now_unix_ms(), window_ms)))
}

/// `GET /metrics`: cumulative metrics plus the breakers' current state, the usage buffer and
/// the cache's sizes.
pub async fn metrics(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let report = gateway.router.health.snapshot();
    let keys: Vec<(String, bool)> =
        report.keys.iter().map(|k| (k.key.to_string(), k.state == CircuitState::Open)).collect();
    let mut gauges: Vec<Gauge<'_>> = keys.iter().map(|(key, open)| Gauge::BreakerOpen { key, open: *open }).collect();
    if let Some(backlog) = gateway.ports.usage.backlog() {
        gauges.extend([Gauge::UsageBufferRows(backlog.pending), Gauge::UsageDroppedRows(backlog.dropped)]);
    }
    let memory = gateway.cache.stats().memory;
    let semantic = gateway.semantic.stats();
    let idempotency = gateway.idempotency.stats(gateway.ports.clock.now_unix_ms());
    gauges.extend([
        Gauge::CacheEntries(memory.entries as u64),
        Gauge::CacheBytes(memory.bytes as u64),
        Gauge::SemanticEntries(semantic.entries as u64),
        Gauge::EmbeddingFailures(semantic.embedding_failures),
        Gauge::IdempotencyKeys(idempotency.active_keys as u64),
    ]);
    let mut response = Response::new(Body::Full(gateway.telemetry.render_metrics(&gauges).into()));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE));
    Ok(response)
}
