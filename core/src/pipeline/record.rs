//! Phase 7, record: one usage row per upstream attempt, handed to the batching UsageSink so the
//! request path never waits on storage.

use std::sync::Arc;

use crate::hub::Usage;
use crate::pipeline::RequestContext;
use crate::pipeline::dispatch::Attempt;
use crate::ports::{Clock, UsageRecord, UsageSink};
use crate::providers::CatalogModel;
use crate::providers::WireFormat;
use crate::providers::pricing::cost_usd;
use crate::telemetry::{Outcome, RequestRecord, Telemetry};

/// What every attempt of one request shares.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub ctx: RequestContext,
    pub provider: String,
    pub requested_model: String,
    pub upstream_model: String,
    pub upstream_format: WireFormat,
    pub stream: bool,
    /// The upstream model's catalog entry, for its prices.
    pub pricing: Option<CatalogModel>,
}

/// A cheap handle that can outlive the request (streams record when they end).
#[derive(Clone)]
pub struct RecordHandle {
    pub(crate) usage: Arc<dyn UsageSink>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) telemetry: Arc<Telemetry>,
}

impl RecordHandle {
    /// Records one attempt; returns its cost (USD), when the model has a price and usage came.
    pub fn record(
        &self,
        base: &AttemptRecord,
        attempt: &Attempt,
        usage: Option<Usage>,
        error: Option<String>,
    ) -> Option<f64> {
        let latency_ms = self.clock.monotonic_us().saturating_sub(base.ctx.started_us) / 1000;
        // A failed attempt reports its own time; a served one the whole request until its body ended.
        let latency_ms = if attempt.status.is_none() { attempt.latency_ms } else { latency_ms };
        let status = attempt.status.unwrap_or(0);
        // Dispatch reads a stream's first chunk before answering: that attempt time is the TTFT.
        let ttft_ms = (base.stream && (200..300).contains(&status)).then_some(attempt.latency_ms);
        let cost_usd = usage.and_then(|u| base.pricing.as_ref().and_then(|model| cost_usd(model, &u)));
        let now_ms = self.clock.now_unix_ms();
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
            api_key_id: base.ctx.caller.key().map(|k| k.id.clone()),
        });
        cost_usd
    }
}
