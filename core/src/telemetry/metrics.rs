//! Cumulative request metrics and their Prometheus text exposition (format 0.0.4) for
//! `GET /metrics`: request, error (upstream and gateway), token, cost and cache counters,
//! latency and TTFT histograms, and values the caller supplies at render time (breaker state,
//! usage-buffer depth and dropped rows, cache sizes).
//!
//! Label cardinality is bounded: past `max_series` distinct (provider, model) pairs, new models
//! are counted under the model `other`; past it distinct (provider, code) pairs, under code `other`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::window::Outcome;

/// Upper bounds (ms) of the `omniroute_request_duration_seconds` buckets.
pub const DURATION_BUCKETS_MS: &[u64] =
    &[50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000];

/// Upper bounds (ms) of the `omniroute_time_to_first_token_seconds` buckets.
pub const TTFT_BUCKETS_MS: &[u64] = &[25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000];

/// Default cap on distinct (provider, model) and (provider, code) label pairs.
pub const DEFAULT_MAX_SERIES: usize = 1000;

/// The label value that absorbs models and codes past the cap.
pub const OVERFLOW_LABEL: &str = "other";

/// A value known only at render time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gauge<'a> {
    /// `omniroute_breaker_open{key}`: 1 while the breaker for `key` is open.
    BreakerOpen { key: &'a str, open: bool },
    /// `omniroute_usage_buffer_rows`: usage rows waiting to be written.
    UsageBufferRows(u64),
    /// `omniroute_usage_dropped_rows_total`: usage rows lost to a full buffer.
    UsageDroppedRows(u64),
    /// `omniroute_cache_memory_entries`: answers in the cache's memory tier.
    CacheEntries(u64),
    /// `omniroute_cache_memory_bytes`: their JSON size.
    CacheBytes(u64),
    /// `omniroute_semantic_cache_entries`: embeddings kept by the semantic cache.
    SemanticEntries(u64),
    /// `omniroute_semantic_embedding_failures_total`: embedding calls that failed or timed out.
    EmbeddingFailures(u64),
    /// `omniroute_idempotency_active_keys`: idempotency keys in flight or in their window.
    IdempotencyKeys(u64),
}

impl Gauge<'_> {
    /// Name, type, help and value of a gauge without labels.
    fn scalar(&self) -> Option<(&'static str, &'static str, &'static str, u64)> {
        Some(match *self {
            Gauge::BreakerOpen { .. } => return None,
            Gauge::UsageBufferRows(n) => {
                ("omniroute_usage_buffer_rows", "gauge", "Usage rows buffered, not yet written.", n)
            }
            Gauge::UsageDroppedRows(n) => (
                "omniroute_usage_dropped_rows_total",
                "counter",
                "Usage rows dropped because the buffer was full while the store was down.",
                n,
            ),
            Gauge::CacheEntries(n) => {
                ("omniroute_cache_memory_entries", "gauge", "Answers in the response cache's memory tier.", n)
            }
            Gauge::CacheBytes(n) => {
                ("omniroute_cache_memory_bytes", "gauge", "JSON size of the answers in the cache's memory tier.", n)
            }
            Gauge::SemanticEntries(n) => {
                ("omniroute_semantic_cache_entries", "gauge", "Request embeddings kept by the semantic cache.", n)
            }
            Gauge::EmbeddingFailures(n) => (
                "omniroute_semantic_embedding_failures_total",
                "counter",
                "Semantic cache embedding calls that failed or timed out.",
                n,
            ),
            Gauge::IdempotencyKeys(n) => {
                ("omniroute_idempotency_active_keys", "gauge", "Idempotency keys in flight or within their window.", n)
            }
        })
    }
}

/// How a cached answer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheHitKind {
    /// The same request (cache key).
    Exact,
    /// A request of the same meaning (semantic cache).
    Semantic,
}

/// Bucket counts (not cumulative; the last one is `+Inf` only), sum and count.
#[derive(Debug, Clone)]
struct Histogram {
    buckets: Vec<u64>,
    sum_ms: u64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &[u64]) -> Self {
        Histogram { buckets: vec![0; bounds.len() + 1], sum_ms: 0, count: 0 }
    }

    fn observe(&mut self, bounds: &[u64], ms: u64) {
        // `le` is inclusive: the first bound at or above the value.
        let slot = bounds.partition_point(|&bound| bound < ms);
        if let Some(n) = self.buckets.get_mut(slot) {
            *n += 1;
        }
        self.sum_ms = self.sum_ms.saturating_add(ms);
        self.count += 1;
    }
}

/// Everything counted for one (provider, model).
#[derive(Debug, Clone)]
struct Series {
    requests: BTreeMap<u16, u64>,
    tokens_in: u64,
    tokens_out: u64,
    cost_usd: f64,
    duration: Histogram,
    ttft: Histogram,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            requests: BTreeMap::new(),
            tokens_in: 0,
            tokens_out: 0,
            cost_usd: 0.0,
            duration: Histogram::new(DURATION_BUCKETS_MS),
            ttft: Histogram::new(TTFT_BUCKETS_MS),
        }
    }
}

/// Two-level label map (provider, then model or code) with a cap on pairs.
#[derive(Debug, Default)]
struct Pairs<V> {
    map: BTreeMap<String, BTreeMap<String, V>>,
    len: usize,
}

impl<V: Default> Pairs<V> {
    /// The entry for (`outer`, `inner`), or (`outer`, `other`) when a new pair would pass `cap`.
    fn entry(&mut self, outer: &str, inner: &str, cap: usize) -> Option<&mut V> {
        let known = self.map.get(outer).is_some_and(|m| m.contains_key(inner));
        let inner = if known || self.len < cap { inner } else { OVERFLOW_LABEL };
        let by_inner = slot(&mut self.map, outer)?;
        if !by_inner.contains_key(inner) {
            self.len += 1;
        }
        slot(by_inner, inner)
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &str, &V)> {
        self.map.iter().flat_map(|(o, m)| m.iter().map(move |(i, v)| (o.as_str(), i.as_str(), v)))
    }
}

/// The value at `key`, inserted as default first if missing (no allocation when present).
fn slot<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> Option<&'m mut V> {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key)
}

#[derive(Debug, Default)]
struct Inner {
    series: Pairs<Series>,
    errors: Pairs<u64>,
    /// Errors the gateway answered itself, by stable code (a closed set).
    gateway_errors: BTreeMap<&'static str, u64>,
    cache_hits: u64,
    semantic_hits: u64,
    cache_misses: u64,
}

/// Cumulative metrics, shared through `&self`.
#[derive(Debug)]
pub struct Metrics {
    max_series: usize,
    inner: Mutex<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(DEFAULT_MAX_SERIES)
    }
}

impl Metrics {
    /// Metrics keeping at most `max_series` (provider, model) and (provider, code) pairs each.
    pub fn new(max_series: usize) -> Self {
        Metrics { max_series: max_series.max(1), inner: Mutex::new(Inner::default()) }
    }

    /// Counts one finished request: `requests_total` by status (0: no HTTP response), the
    /// histograms, and when `outcome.error`, `errors_total` by `error_code` (default: the status).
    pub fn observe_request(
        &self,
        provider: &str,
        model: &str,
        status: u16,
        outcome: &Outcome,
        error_code: Option<&str>,
    ) {
        let mut inner = self.lock();
        if let Some(series) = inner.series.entry(provider, model, self.max_series) {
            *series.requests.entry(status).or_insert(0) += 1;
            series.duration.observe(DURATION_BUCKETS_MS, outcome.latency_ms);
            if let Some(ttft) = outcome.ttft_ms {
                series.ttft.observe(TTFT_BUCKETS_MS, ttft);
            }
        }
        if outcome.error {
            let status_code;
            let code = match error_code {
                Some(code) => code,
                None => {
                    status_code = status.to_string();
                    &status_code
                }
            };
            if let Some(n) = inner.errors.entry(provider, code, self.max_series) {
                *n += 1;
            }
        }
    }

    /// Adds to `tokens_total{direction="input"|"output"}`.
    pub fn observe_tokens(&self, provider: &str, model: &str, input: u64, output: u64) {
        if let Some(series) = self.lock().series.entry(provider, model, self.max_series) {
            series.tokens_in = series.tokens_in.saturating_add(input);
            series.tokens_out = series.tokens_out.saturating_add(output);
        }
    }

    /// Adds to `cost_usd_total`; negative and non-finite amounts are ignored.
    pub fn observe_cost(&self, provider: &str, model: &str, usd: f64) {
        if !usd.is_finite() || usd < 0.0 {
            return;
        }
        if let Some(series) = self.lock().series.entry(provider, model, self.max_series) {
            series.cost_usd += usd;
        }
    }

    pub fn cache_hit(&self, kind: CacheHitKind) {
        let mut inner = self.lock();
        match kind {
            CacheHitKind::Exact => inner.cache_hits += 1,
            CacheHitKind::Semantic => inner.semantic_hits += 1,
        }
    }

    /// Counts an error the gateway answered itself (`GatewayError::code`): refused by the
    /// guard, a bad request, no upstream reachable.
    pub fn gateway_error(&self, code: &'static str) {
        *self.lock().gateway_errors.entry(code).or_insert(0) += 1;
    }

    pub fn cache_miss(&self) {
        self.lock().cache_misses += 1;
    }

    /// The text exposition of everything counted so far plus `gauges`.
    pub fn render(&self, gauges: &[Gauge<'_>]) -> String {
        let inner = self.lock();
        let mut out = String::with_capacity(4096);
        let series: Vec<_> = inner.series.iter().collect();

        family(
            &mut out,
            "omniroute_requests_total",
            "counter",
            "Upstream requests by provider, model and HTTP status (0: no response).",
        );
        for &(provider, model, s) in &series {
            for (status, n) in &s.requests {
                sample(
                    &mut out,
                    "omniroute_requests_total",
                    &[("provider", provider), ("model", model), ("status", &status.to_string())],
                    *n,
                );
            }
        }
        family(&mut out, "omniroute_errors_total", "counter", "Failed upstream requests by provider and error code.");
        for (provider, code, n) in inner.errors.iter() {
            sample(&mut out, "omniroute_errors_total", &[("provider", provider), ("code", code)], *n);
        }
        family(
            &mut out,
            "omniroute_gateway_errors_total",
            "counter",
            "Errors the gateway answered itself, by code (refused, invalid, no upstream reachable).",
        );
        for (code, n) in &inner.gateway_errors {
            sample(&mut out, "omniroute_gateway_errors_total", &[("code", code)], *n);
        }
        family(
            &mut out,
            "omniroute_tokens_total",
            "counter",
            "Tokens by provider, model and direction (input, output).",
        );
        for &(provider, model, s) in &series {
            for (direction, n) in [("input", s.tokens_in), ("output", s.tokens_out)] {
                sample(
                    &mut out,
                    "omniroute_tokens_total",
                    &[("provider", provider), ("model", model), ("direction", direction)],
                    n,
                );
            }
        }
        family(&mut out, "omniroute_cost_usd_total", "counter", "Estimated upstream cost in US dollars.");
        for &(provider, model, s) in &series {
            sample(
                &mut out,
                "omniroute_cost_usd_total",
                &[("provider", provider), ("model", model)],
                Float(s.cost_usd),
            );
        }
        family(&mut out, "omniroute_cache_hits_total", "counter", "Responses served from the cache, by match type.");
        sample(&mut out, "omniroute_cache_hits_total", &[("type", "exact")], inner.cache_hits);
        sample(&mut out, "omniroute_cache_hits_total", &[("type", "semantic")], inner.semantic_hits);
        family(&mut out, "omniroute_cache_misses_total", "counter", "Cacheable requests the cache could not serve.");
        sample(&mut out, "omniroute_cache_misses_total", &[], inner.cache_misses);

        let duration = "omniroute_request_duration_seconds";
        family(&mut out, duration, "histogram", "Request latency until the response body ended.");
        for &(provider, model, s) in &series {
            histogram(
                &mut out,
                duration,
                &[("provider", provider), ("model", model)],
                DURATION_BUCKETS_MS,
                &s.duration,
            );
        }
        let ttft = "omniroute_time_to_first_token_seconds";
        family(&mut out, ttft, "histogram", "Time to the first streamed token.");
        for &(provider, model, s) in &series {
            histogram(&mut out, ttft, &[("provider", provider), ("model", model)], TTFT_BUCKETS_MS, &s.ttft);
        }

        let breakers: Vec<_> = gauges
            .iter()
            .filter_map(|g| match g {
                Gauge::BreakerOpen { key, open } => Some((*key, u64::from(*open))),
                _ => None,
            })
            .collect();
        if !breakers.is_empty() {
            family(&mut out, "omniroute_breaker_open", "gauge", "1 while the circuit breaker is open.");
            for (key, open) in breakers {
                sample(&mut out, "omniroute_breaker_open", &[("key", key)], open);
            }
        }
        // One sample per name: the last value given wins.
        let mut scalars: Vec<(&str, &str, &str, u64)> = Vec::new();
        for scalar in gauges.iter().filter_map(Gauge::scalar) {
            match scalars.iter_mut().find(|s| s.0 == scalar.0) {
                Some(seen) => *seen = scalar,
                None => scalars.push(scalar),
            }
        }
        for (name, kind, help, value) in scalars {
            family(&mut out, name, kind, help);
            sample(&mut out, name, &[], value);
        }
        out
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A sample value formatted the Prometheus way (`+Inf`, `-Inf`, `NaN`).
struct Float(f64);

impl std::fmt::Display for Float {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("+Inf"),
            v if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            v => write!(f, "{v}"),
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            escape_label(out, value);
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape `\`, `"` and newline.
fn escape_label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn histogram(out: &mut String, name: &str, labels: &[(&str, &str)], bounds: &[u64], h: &Histogram) {
    let bucket = format!("{name}_bucket");
    let mut cumulative = 0;
    for (i, n) in h.buckets.iter().enumerate() {
        cumulative += n;
        let le = bounds.get(i).map_or_else(|| "+Inf".to_owned(), |&ms| Float(ms as f64 / 1000.0).to_string());
        let mut with_le = labels.to_vec();
        with_le.push(("le", &le));
        sample(out, &bucket, &with_le, cumulative);
    }
    sample(out, &format!("{name}_sum"), labels, Float(h.sum_ms as f64 / 1000.0));
    sample(out, &format!("{name}_count"), labels, h.count);
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
