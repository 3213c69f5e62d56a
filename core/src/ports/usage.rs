//! The `UsageSink` port: append one row per upstream attempt, batched, off the hot path.
//! `record` never blocks the request; `flush` is called on shutdown so nothing is lost.

use serde::{Deserialize, Serialize};

use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};

/// One upstream attempt as accounting sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    pub request_id: String,
    pub timestamp_ms: u64,
    pub provider: String,
    pub connection_id: String,
    pub requested_model: String,
    pub upstream_model: String,
    pub client_format: String,
    pub upstream_format: String,
    pub status: u16,
    pub stream: bool,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// Input tokens served from the provider's prompt cache (part of `input_tokens`).
    #[serde(default)]
    pub cached_tokens: Option<u64>,
    /// Output tokens spent on reasoning (part of `output_tokens`).
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
    pub latency_ms: u64,
    /// Streams: time until the first chunk.
    #[serde(default)]
    pub ttft_ms: Option<u64>,
    /// From the pricing table; `None` when the model has no known price or no usage came.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    pub error: Option<String>,
    /// The gateway API key the request came with, when it came with one.
    #[serde(default)]
    pub api_key_id: Option<String>,
    /// The combo the request was routed through (the one the client named), if any.
    #[serde(default)]
    pub combo: Option<String>,
    /// The upstream sent no usage: the tokens (and so the cost) are the gateway's estimate.
    #[serde(default)]
    pub estimated: bool,
    /// The client's request and the answer it got, kept only when request logging is on and
    /// the key is not `no_log` (on the row of the attempt that answered).
    #[serde(default)]
    pub bodies: Option<LoggedBodies>,
}

/// Request and response bodies of one request, as far as they were kept (each capped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedBodies {
    pub request: String,
    pub response: String,
}

/// Where usage rows go.
pub trait UsageSink: MaybeSend + MaybeSync {
    /// Buffers one row; must return at once.
    fn record(&self, record: UsageRecord);
    /// Writes everything buffered so far.
    fn flush(&self) -> BoxFuture<'_, ()>;
    /// How far behind a batching sink is (`/metrics`); `None` for a sink that keeps no buffer.
    fn backlog(&self) -> Option<UsageBacklog> {
        None
    }
}

/// Rows a batching [`UsageSink`] holds and has lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageBacklog {
    /// Buffered, not yet written.
    pub pending: u64,
    /// Refused since start because the buffer was full (the store was down too long).
    pub dropped: u64,
}
