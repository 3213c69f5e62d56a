//! Phase 7, record: one usage row per upstream attempt, handed to the batching UsageSink so the
//! request path never waits on storage.

use std::sync::Arc;

use crate::hub::Usage;
use crate::pipeline::RequestContext;
use crate::pipeline::dispatch::Attempt;
use crate::ports::{Clock, UsageRecord, UsageSink};
use crate::providers::WireFormat;

/// What every attempt of one request shares.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub ctx: RequestContext,
    pub provider: String,
    pub requested_model: String,
    pub upstream_model: String,
    pub upstream_format: WireFormat,
    pub stream: bool,
}

/// A cheap handle that can outlive the request (streams record when they end).
#[derive(Clone)]
pub struct RecordHandle {
    pub(crate) usage: Arc<dyn UsageSink>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl RecordHandle {
    pub fn record(&self, base: &AttemptRecord, attempt: &Attempt, usage: Option<Usage>, error: Option<String>) {
        let latency_ms = self.clock.monotonic_us().saturating_sub(base.ctx.started_us) / 1000;
        self.usage.record(UsageRecord {
            request_id: base.ctx.request_id.clone(),
            timestamp_ms: self.clock.now_unix_ms(),
            provider: base.provider.clone(),
            connection_id: attempt.connection_id.clone(),
            requested_model: base.requested_model.clone(),
            upstream_model: base.upstream_model.clone(),
            client_format: base.ctx.client_format.as_str().to_owned(),
            upstream_format: base.upstream_format.as_str().to_owned(),
            status: attempt.status.unwrap_or(0),
            stream: base.stream,
            input_tokens: usage.map(|u| u.input_tokens),
            output_tokens: usage.map(|u| u.output_tokens),
            // A failed attempt reports its own time; a served one the whole request until its body ended.
            latency_ms: if attempt.status.is_none() { attempt.latency_ms } else { latency_ms },
            error,
        });
    }
}
