//! Phase 7, record: one usage row per upstream attempt, handed to the batching UsageSink so the
//! request path never waits on storage. Its cost advances the key's budget; an answer without
//! usage gets an estimate, marked as such.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::gateway::RequestContext;
use crate::hub::Usage;
use crate::pipeline::dispatch::Attempt;
use crate::ports::{Clock, LoggedBodies, UsageRecord, UsageSink};
use crate::providers::WireFormat;
use crate::providers::pricing::{ModelPrice, cost_usd};
use crate::telemetry::{Outcome, RequestRecord, Telemetry};
use crate::usage::BudgetTracker;
use crate::usage::estimate::estimated_usage;

/// Request and response bodies are logged up to this many bytes each.
pub const MAX_LOGGED_BODY: usize = 64 * 1024;

/// What every attempt of one request shares.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub ctx: RequestContext,
    pub provider: String,
    pub requested_model: String,
    pub upstream_model: String,
    pub upstream_format: WireFormat,
    pub stream: bool,
    /// The upstream model's price (catalog or override).
    pub pricing: Option<ModelPrice>,
    /// The combo the request was routed through.
    pub combo: Option<String>,
    /// The client's request body (estimates when no usage comes; request logging).
    pub request_body: Bytes,
    /// Keep the bodies with the row (request logging on, key not `no_log`).
    pub log_bodies: bool,
}

/// What an attempt's answer told accounting.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub usage: Option<Usage>,
    /// Characters of answer text seen, for an estimate when no usage came.
    pub answer_chars: u64,
    pub error: Option<String>,
    /// The answer as the client got it, when bodies are logged.
    pub response_body: Option<BodyCapture>,
}

/// The head of a body (up to [`MAX_LOGGED_BODY`] bytes) and its whole length.
#[derive(Debug, Clone, Default)]
pub struct BodyCapture {
    head: BytesMut,
    total: usize,
}

impl BodyCapture {
    pub fn of(bytes: &[u8]) -> Self {
        let mut capture = BodyCapture::default();
        capture.push(bytes);
        capture
    }

    /// Takes in the next bytes, keeping what still fits.
    pub fn push(&mut self, bytes: &[u8]) {
        let room = MAX_LOGGED_BODY.saturating_sub(self.head.len());
        self.head.extend_from_slice(&bytes[..room.min(bytes.len())]);
        self.total += bytes.len();
    }

    /// As logged: text, with a note when it was cut.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.total > self.head.len() {
            text.push_str(&format!("…[{} more bytes not logged]", self.total - self.head.len()));
        }
        text
    }
}

impl Observed {
    /// An attempt that failed before any answer.
    pub fn failed(error: Option<String>) -> Self {
        Observed { error, ..Default::default() }
    }
}

/// What was recorded for an attempt: its usage (reported or estimated) and cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Accounted {
    pub usage: Option<Usage>,
    pub cost_usd: Option<f64>,
    pub estimated: bool,
}

/// A cheap handle that can outlive the request (streams record when they end).
#[derive(Clone)]
pub struct RecordHandle {
    pub(crate) usage: Arc<dyn UsageSink>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) telemetry: Arc<Telemetry>,
    pub(crate) budgets: Arc<BudgetTracker>,
}

impl RecordHandle {
    /// Records one attempt; returns its usage and cost (USD, when the model has a price).
    pub fn record(&self, base: &AttemptRecord, attempt: &Attempt, observed: Observed) -> Accounted {
        let Observed { usage, answer_chars, error, response_body } = observed;
        let latency_ms = self.clock.monotonic_us().saturating_sub(base.ctx.started_us) / 1000;
        // A failed attempt reports its own time; a served one the whole request until its body ended.
        let latency_ms = if attempt.status.is_none() { attempt.latency_ms } else { latency_ms };
        let status = attempt.status.unwrap_or(0);
        // Dispatch reads a stream's first chunk before answering: that attempt time is the TTFT.
        let served = (200..300).contains(&status);
        let ttft_ms = (base.stream && served).then_some(attempt.latency_ms);
        // An answer came but no usage with it: estimate rather than count it as free.
        let estimated = usage.is_none() && served;
        let usage = if estimated {
            Some(estimated_usage(base.ctx.client_format, &base.request_body, answer_chars))
        } else {
            usage
        };
        let now_ms = self.clock.now_unix_ms();
        let key = base.ctx.caller.key();
        let cost_usd = charge(&self.budgets, key.map(|k| k.id.as_str()), base.pricing.as_ref(), usage.as_ref(), now_ms);
        let failed = error.is_some() || status == 0 || status >= 500 || status == 408 || status == 429;
        self.telemetry.record(
            now_ms,
            &RequestRecord {
                provider: &base.provider,
                model: &base.upstream_model,
                outcome: Outcome { latency_ms, ttft_ms, error: failed },
                status,
                error_code: None,
                tokens_in: usage.map_or(0, |u| u.input_tokens),
                tokens_out: usage.map_or(0, |u| u.output_tokens),
                cost_usd: cost_usd.unwrap_or(0.0),
            },
        );
        let bodies = base.log_bodies.then(|| LoggedBodies {
            request: BodyCapture::of(&base.request_body).text(),
            response: response_body.as_ref().map(BodyCapture::text).unwrap_or_default(),
        });
        self.usage.record(UsageRecord {
            request_id: base.ctx.request_id.clone(),
            timestamp_ms: now_ms,
            provider: base.provider.clone(),
            connection_id: attempt.connection_id.clone(),
            requested_model: base.requested_model.clone(),
            upstream_model: base.upstream_model.clone(),
            client_format: base.ctx.client_format.as_str().to_owned(),
            upstream_format: base.upstream_format.as_str().to_owned(),
            status,
            stream: base.stream,
            input_tokens: usage.map(|u| u.input_tokens),
            output_tokens: usage.map(|u| u.output_tokens),
            cached_tokens: usage.and_then(|u| u.cached_input_tokens),
            reasoning_tokens: usage.and_then(|u| u.reasoning_tokens),
            latency_ms,
            ttft_ms,
            cost_usd,
            error,
            api_key_id: key.map(|k| k.id.clone()),
            combo: base.combo.clone(),
            estimated,
            bodies,
        });
        Accounted { usage, cost_usd, estimated }
    }
}

/// The cost of `usage` at `price` (USD), when both are known, added to the key's budget.
pub(crate) fn charge(
    budgets: &BudgetTracker,
    key_id: Option<&str>,
    price: Option<&ModelPrice>,
    usage: Option<&Usage>,
    now_ms: u64,
) -> Option<f64> {
    let cost = cost_usd(price?, usage?);
    if let Some(key_id) = key_id {
        budgets.add(key_id, now_ms, cost);
    }
    Some(cost)
}

impl crate::gateway::Gateway {
    pub(crate) fn record_handle(&self) -> RecordHandle {
        RecordHandle {
            usage: self.ports.usage.clone(),
            clock: self.ports.clock.clone(),
            telemetry: self.telemetry.clone(),
            budgets: self.budgets.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_bodies_are_capped_with_a_note() {
        let mut capture = BodyCapture::of(b"abc");
        assert_eq!(capture.text(), "abc");
        capture.push(&vec![b'x'; MAX_LOGGED_BODY]);
        let text = capture.text();
        assert_eq!(text.len(), MAX_LOGGED_BODY + "…[3 more bytes not logged]".len());
        assert!(text.starts_with("abcxx") && text.ends_with("…[3 more bytes not logged]"), "{}", &text[..10]);
    }
}
