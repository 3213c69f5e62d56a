//! Per-(provider, model) request statistics over a sliding window of fixed time slices, for
//! `GET /api/telemetry/summary`: each slice holds a count, an error count and latency and TTFT
//! sketches; a summary merges the slices in the window. Time comes in as unix ms arguments.
//!
//! Memory is bounded: at most `max_keys` keys (the least recently seen is evicted), each with at
//! most `slices` non-empty slices, each sketch with at most `max_bins` buckets of 16 bytes.
//! A slice's sketch only holds buckets its values touched, so typical use is far below that cap.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use super::sketch::{DEFAULT_MAX_BINS, DEFAULT_RELATIVE_ACCURACY, Sketch};

/// What statistics are kept per: one upstream provider and model.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StatsKey {
    pub provider: String,
    pub model: String,
}

impl StatsKey {
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        StatsKey { provider: provider.into(), model: model.into() }
    }
}

/// How one request went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Whole request, until its body ended.
    pub latency_ms: u64,
    /// Time to first token (streams), when known.
    pub ttft_ms: Option<u64>,
    pub error: bool,
}

/// Shape of the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowConfig {
    /// Length of one slice (at least 1 ms).
    pub slice_ms: u64,
    /// Number of slices kept (at least 1): the longest window is `slice_ms * slices`.
    pub slices: u64,
    /// Most keys tracked at once (at least 1).
    pub max_keys: usize,
    /// Relative accuracy of the percentile sketches.
    pub relative_accuracy: f64,
    /// Bucket cap of each sketch.
    pub max_bins: usize,
}

impl Default for WindowConfig {
    /// One hour in one-minute slices, 1000 keys, 1% accuracy.
    fn default() -> Self {
        WindowConfig {
            slice_ms: 60_000,
            slices: 60,
            max_keys: 1000,
            relative_accuracy: DEFAULT_RELATIVE_ACCURACY,
            max_bins: DEFAULT_MAX_BINS,
        }
    }
}

impl WindowConfig {
    /// The longest window a summary can cover.
    pub fn retention_ms(&self) -> u64 {
        self.slice_ms.saturating_mul(self.slices)
    }
}

/// p50, p95 and p99 in milliseconds; `None` without samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

impl Percentiles {
    fn of(sketch: &Sketch) -> Self {
        Percentiles { p50: sketch.quantile(0.5), p95: sketch.quantile(0.95), p99: sketch.quantile(0.99) }
    }
}

/// Statistics of one provider (all its models, `model` absent) or one provider and model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeySummary {
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub count: u64,
    pub errors: u64,
    /// `errors / count`.
    pub error_rate: f64,
    pub latency_ms: Percentiles,
    pub ttft_ms: Percentiles,
}

/// Body of `GET /api/telemetry/summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// When the summary was taken (unix ms).
    pub as_of_ms: u64,
    /// The window actually covered: the request's, rounded up to whole slices and capped.
    pub window_ms: u64,
    /// Per provider, merged over its models; sorted by provider.
    pub providers: Vec<KeySummary>,
    /// Per provider and model; sorted by provider, then model.
    pub models: Vec<KeySummary>,
}

/// What one slice (or a merge of slices) knows.
#[derive(Debug, Clone)]
struct Slice {
    count: u64,
    errors: u64,
    latency: Sketch,
    ttft: Sketch,
}

impl Slice {
    fn new(config: &WindowConfig) -> Self {
        let sketch = Sketch::new(config.relative_accuracy, config.max_bins);
        Slice { count: 0, errors: 0, latency: sketch.clone(), ttft: sketch }
    }

    fn add(&mut self, outcome: &Outcome) {
        self.count += 1;
        self.errors += u64::from(outcome.error);
        self.latency.add(outcome.latency_ms as f64);
        if let Some(ttft) = outcome.ttft_ms {
            self.ttft.add(ttft as f64);
        }
    }

    fn merge(&mut self, other: &Slice) {
        self.count += other.count;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
        self.ttft.merge(&other.ttft);
    }

    fn summary(&self, provider: &str, model: Option<&str>) -> KeySummary {
        KeySummary {
            provider: provider.to_owned(),
            model: model.map(str::to_owned),
            count: self.count,
            errors: self.errors,
            error_rate: if self.count == 0 { 0.0 } else { self.errors as f64 / self.count as f64 },
            latency_ms: Percentiles::of(&self.latency),
            ttft_ms: Percentiles::of(&self.ttft),
        }
    }
}

#[derive(Debug)]
struct KeyStats {
    last_seen_ms: u64,
    /// Non-empty slices by slice number (`unix ms / slice_ms`), ascending.
    slices: VecDeque<(u64, Slice)>,
}

impl KeyStats {
    fn drop_before(&mut self, oldest: u64) {
        while self.slices.front().is_some_and(|&(n, _)| n < oldest) {
            self.slices.pop_front();
        }
    }
}

#[derive(Debug, Default)]
struct State {
    keys: BTreeMap<StatsKey, KeyStats>,
    /// Highest slice number recorded into.
    newest_slice: u64,
}

/// Sliding-window statistics per key, shared through `&self`.
#[derive(Debug)]
pub struct Window {
    config: WindowConfig,
    state: Mutex<State>,
}

impl Default for Window {
    fn default() -> Self {
        Window::new(WindowConfig::default())
    }
}

impl Window {
    /// A window with `config`, its zero fields raised to 1.
    pub fn new(config: WindowConfig) -> Self {
        let config = WindowConfig {
            slice_ms: config.slice_ms.max(1),
            slices: config.slices.max(1),
            max_keys: config.max_keys.max(1),
            ..config
        };
        Window { config, state: Mutex::new(State::default()) }
    }

    pub fn config(&self) -> WindowConfig {
        self.config
    }

    /// Number of keys currently tracked.
    pub fn key_count(&self) -> usize {
        self.lock().keys.len()
    }

    /// Counts one request at `now_ms`. Records older than the retained slices are ignored.
    pub fn record(&self, now_ms: u64, key: &StatsKey, outcome: &Outcome) {
        let slice = now_ms / self.config.slice_ms;
        let mut state = self.lock();
        state.newest_slice = state.newest_slice.max(slice);
        let oldest = self.oldest_kept(state.newest_slice);
        if slice < oldest {
            return;
        }
        if !state.keys.contains_key(key) {
            self.make_room(&mut state, oldest);
            state.keys.insert(key.clone(), KeyStats { last_seen_ms: now_ms, slices: VecDeque::new() });
        }
        let Some(stats) = state.keys.get_mut(key) else { return };
        stats.last_seen_ms = stats.last_seen_ms.max(now_ms);
        stats.drop_before(oldest);
        match stats.slices.binary_search_by_key(&slice, |&(n, _)| n) {
            Ok(pos) => stats.slices[pos].1.add(outcome),
            Err(pos) => {
                let mut fresh = Slice::new(&self.config);
                fresh.add(outcome);
                stats.slices.insert(pos, (slice, fresh));
            }
        }
    }

    /// Per provider and model, over the slices of the last `window_ms` up to `now_ms`
    /// (rounded up to whole slices, the current one included; at least one, at most all).
    pub fn summary(&self, now_ms: u64, window_ms: u64) -> Vec<KeySummary> {
        self.summarize(now_ms, window_ms).models
    }

    /// Per provider, merged over its models (same window rules as [`Window::summary`]).
    pub fn provider_summary(&self, now_ms: u64, window_ms: u64) -> Vec<KeySummary> {
        self.summarize(now_ms, window_ms).providers
    }

    /// Both views at once, as `GET /api/telemetry/summary` returns them. Also drops the slices
    /// and keys that have aged out of the retention.
    pub fn summarize(&self, now_ms: u64, window_ms: u64) -> Summary {
        let current = now_ms / self.config.slice_ms;
        let wanted = window_ms.div_ceil(self.config.slice_ms).clamp(1, self.config.slices);
        let first = current.saturating_sub(wanted - 1);
        let mut state = self.lock();
        // Not remembered as the newest slice: a reader's clock running ahead must not make
        // later records look too old.
        let oldest = self.oldest_kept(state.newest_slice.max(current));
        state.keys.retain(|_, stats| {
            stats.drop_before(oldest);
            !stats.slices.is_empty()
        });

        let mut models = Vec::new();
        let mut providers: BTreeMap<&str, Slice> = BTreeMap::new();
        for (key, stats) in &state.keys {
            let mut total = Slice::new(&self.config);
            for (_, slice) in stats.slices.iter().filter(|&&(n, _)| (first..=current).contains(&n)) {
                total.merge(slice);
            }
            if total.count == 0 {
                continue;
            }
            models.push(total.summary(&key.provider, Some(&key.model)));
            match providers.get_mut(key.provider.as_str()) {
                Some(merged) => merged.merge(&total),
                None => {
                    providers.insert(&key.provider, total);
                }
            }
        }
        Summary {
            as_of_ms: now_ms,
            window_ms: wanted.saturating_mul(self.config.slice_ms),
            providers: providers.iter().map(|(provider, slice)| slice.summary(provider, None)).collect(),
            models,
        }
    }

    /// First slice number still retained when the newest is `newest`.
    fn oldest_kept(&self, newest: u64) -> u64 {
        newest.saturating_sub(self.config.slices - 1)
    }

    /// Frees a key's place when full: first keys with nothing retained, else the least recently seen.
    fn make_room(&self, state: &mut State, oldest: u64) {
        if state.keys.len() < self.config.max_keys {
            return;
        }
        state.keys.retain(|_, stats| stats.slices.back().is_some_and(|&(n, _)| n >= oldest));
        while state.keys.len() >= self.config.max_keys {
            let Some(stale) = state.keys.iter().min_by_key(|(_, stats)| stats.last_seen_ms).map(|(k, _)| k.clone())
            else {
                return;
            };
            state.keys.remove(&stale);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
