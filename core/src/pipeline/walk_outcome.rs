//! What a walk of the plan learnt when nothing answered, and what the client is told: the
//! last upstream refusal as it came, else why nothing was tried (rate limits, open breakers,
//! accounts whose key or credit the provider refused), else every attempt in one line.

use crate::error::GatewayError;
use crate::pipeline::dispatch::{Attempt, Reply};
use crate::routing::health::RejectReason;
use crate::routing::plan::PlannedTarget;

/// Why nothing answered, and what the client should be told.
#[derive(Default)]
pub(crate) struct Outcome {
    /// A retryable upstream answer kept to pass on if nothing better comes.
    pub last_reply: Option<Reply>,
    /// The earliest time a skipped (cooling, out or open) upstream recovers.
    earliest_recovery: Option<u64>,
    /// Some upstream was skipped because it is cooling down after a 429.
    cooling: bool,
    /// Some account was skipped because the provider refused its key or credit, and why.
    account_out: Option<String>,
    /// A target could not take the request (e.g. content its format cannot carry).
    pub refusal: Option<GatewayError>,
    pub timed_out: bool,
}

impl Outcome {
    /// Remembers an upstream skipped without a try: when it recovers, and why it was out
    /// (`why` names an account's refusal, e.g. `account: status 401`).
    pub fn note_skip(&mut self, until_ms: u64, reason: RejectReason, why: impl FnOnce() -> Option<String>) {
        self.earliest_recovery = Some(self.earliest_recovery.map_or(until_ms, |t| t.min(until_ms)));
        match reason {
            RejectReason::CoolingDown => self.cooling = true,
            RejectReason::AccountOut if self.account_out.is_none() => {
                self.account_out = Some(why().unwrap_or_else(|| "key or credit refused".into()));
            }
            RejectReason::AccountOut | RejectReason::BreakerOpen => {}
        }
    }

    /// The answer when nothing succeeded: the last upstream refusal as it came (honest status
    /// and body), else a gateway error saying why.
    pub fn conclude(
        mut self,
        targets: &[PlannedTarget],
        attempts: &[Attempt],
        now_ms: u64,
    ) -> Result<Reply, GatewayError> {
        if let Some(reply) = self.last_reply.take()
            && attempts.last().is_some_and(|a| a.status.is_some())
        {
            return Ok(reply);
        }
        if attempts.is_empty()
            && let Some(err) = self.nothing_tried(now_ms)
        {
            return Err(err);
        }
        let message = format!("no upstream answered ({} attempt(s): {})", attempts.len(), summary(targets, attempts));
        Err(if self.timed_out {
            GatewayError::UpstreamTimeout(message)
        } else {
            GatewayError::UpstreamUnavailable(message)
        })
    }

    /// Why no upstream was even tried: rate limits first (waiting helps), then accounts the
    /// provider refused (an operator must act), then open breakers; else the first refusal.
    fn nothing_tried(&mut self, now_ms: u64) -> Option<GatewayError> {
        let Some(until) = self.earliest_recovery else { return self.refusal.take() };
        let retry_after_secs = until.saturating_sub(now_ms).div_ceil(1000).max(1);
        Some(if self.cooling {
            GatewayError::RateLimited {
                message: format!(
                    "every upstream for this model is cooling down after rate limits; retry in {retry_after_secs} s"
                ),
                retry_after_secs,
            }
        } else if let Some(why) = &self.account_out {
            GatewayError::AccountsOut {
                message: format!(
                    "every account for this model is out: the provider refused its key or credit ({why}); it is tried again in {retry_after_secs} s, or at once after POST /api/resilience/reset"
                ),
                retry_after_secs,
            }
        } else {
            GatewayError::CircuitOpen {
                message: format!(
                    "every upstream for this model is failing (circuit open); retry in {retry_after_secs} s"
                ),
                retry_after_secs,
            }
        })
    }
}

/// Every attempt in one line: which target, via which account, what came of it.
fn summary(targets: &[PlannedTarget], attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| {
            let target = targets.get(a.target).map(PlannedTarget::label).unwrap_or_default();
            let result = a.error.clone().unwrap_or_else(|| format!("HTTP {}", a.status.unwrap_or(0)));
            format!("{target} via {}: {result}", a.connection_id)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
