//! Planning: the model string a client sent → the ordered targets to try (provider, upstream
//! model, and how to attempt each: retries, delay, timeouts). Aliases, combos (with their
//! strategy), the global default and sticky sessions shape the order.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{ConfigSnapshot, ResolvedProvider};
use crate::error::GatewayError;
use crate::pipeline::GatewayOptions;
use crate::pipeline::resolve::resolve;
use crate::routing::router::Router;
use crate::routing::sessions::SessionEntry;

/// How one target is attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptPolicy {
    /// Extra tries on the same target (per account) after a retryable failure.
    pub retries: u32,
    pub retry_delay: Duration,
    /// Streams: until headers and the first chunk.
    pub first_byte_timeout: Duration,
    /// Non-streamed: until the whole answer.
    pub total_timeout: Duration,
    /// Streams: longest gap between chunks.
    pub idle_timeout: Duration,
}

impl AttemptPolicy {
    /// The gateway's global timeouts, overridden by the provider's own.
    pub fn for_provider(options: &GatewayOptions, provider: &ResolvedProvider) -> Self {
        let ms = Duration::from_millis;
        let t = &provider.timeouts;
        AttemptPolicy {
            retries: 0,
            retry_delay: Duration::ZERO,
            first_byte_timeout: t.first_byte_ms.map(ms).unwrap_or(options.first_byte_timeout),
            total_timeout: t.total_ms.map(ms).unwrap_or(options.total_timeout),
            idle_timeout: t.idle_ms.map(ms).unwrap_or(options.idle_timeout),
        }
    }
}

/// One target of a plan.
#[derive(Debug, Clone)]
pub struct PlannedTarget {
    pub provider: Arc<ResolvedProvider>,
    /// The model name the upstream expects.
    pub model: String,
    pub policy: AttemptPolicy,
}

impl PlannedTarget {
    /// `provider/model`, as shown in headers, sessions and health keys.
    pub fn label(&self) -> String {
        format!("{}/{}", self.provider.id, self.model)
    }
}

/// The targets to try for `model`, best first.
pub fn plan(
    snapshot: &ConfigSnapshot,
    router: &Router,
    options: &GatewayOptions,
    model: &str,
    session: Option<&SessionEntry>,
) -> Result<Vec<PlannedTarget>, GatewayError> {
    let _ = router;
    let target = resolve(snapshot, model)?;
    let policy = AttemptPolicy::for_provider(options, &target.provider);
    let mut targets = vec![PlannedTarget { provider: target.provider, model: target.model, policy }];
    prefer_session_target(&mut targets, session);
    Ok(targets)
}

/// A sticky session's last target goes first (its health is checked when it is attempted).
fn prefer_session_target(targets: &mut Vec<PlannedTarget>, session: Option<&SessionEntry>) {
    let Some(session) = session else { return };
    if let Some(at) = targets.iter().position(|t| t.label() == session.target)
        && at > 0
    {
        let sticky = targets.remove(at);
        targets.insert(0, sticky);
    }
}
