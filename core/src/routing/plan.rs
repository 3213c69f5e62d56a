//! Planning: the model string a client sent → the ordered targets to try (provider, upstream
//! model, and how to attempt each: retries, delay, timeouts). Aliases, combos (with their
//! strategy), the global default and sticky sessions shape the order.

use std::sync::Arc;
use std::time::Duration;

use crate::config::GatewayOptions;
use crate::config::validate::MAX_COMBO_DEPTH;
use crate::config::{ComboSettings, TargetRef};
use crate::error::GatewayError;
use crate::routing::health::HealthKey;
use crate::routing::resolve::resolve;
use crate::routing::router::Router;
use crate::routing::select::TargetCandidate;
use crate::routing::sessions::SessionEntry;
use crate::snapshot::{ConfigSnapshot, ResolvedCombo, ResolvedComboTarget, ResolvedProvider};

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
    /// A combo's settings for its targets: retries, delay, and timeouts that win over the
    /// provider's (`attempt_timeout_ms` caps every wait of one attempt).
    pub fn apply(&mut self, settings: &ComboSettings) {
        let ms = Duration::from_millis;
        self.retries = settings.retries;
        self.retry_delay = ms(settings.retry_delay_ms);
        if let Some(first_byte) = settings.first_byte_ms {
            self.first_byte_timeout = ms(first_byte);
        }
        if let Some(idle) = settings.idle_ms {
            self.idle_timeout = ms(idle);
        }
        if let Some(total) = settings.total_ms {
            self.total_timeout = ms(total);
        }
        if let Some(cap) = settings.attempt_timeout_ms.map(ms) {
            self.first_byte_timeout = self.first_byte_timeout.min(cap);
            self.total_timeout = self.total_timeout.min(cap);
        }
    }

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
    /// The combo the client's model named (after aliases), when the target came from one.
    pub combo: Option<String>,
}

impl PlannedTarget {
    /// `provider/model`, as shown in headers, sessions and health keys.
    pub fn label(&self) -> String {
        format!("{}/{}", self.provider.id, self.model)
    }
}

/// The targets to try for `model`, best first: an alias is followed once; a combo expands
/// into its targets in its strategy's order (nested combos in theirs); `provider/model` or a
/// bare listed model is one target; an unknown bare name goes to `[routing] default_model`.
/// `models/openai/gpt-4o` as `openai/gpt-4o`: Gemini clients name models as resources
/// (`models/…`), and some send a gateway id that way in the body too. Kept when `models` is
/// itself a configured provider.
fn without_resource_prefix<'m>(snapshot: &ConfigSnapshot, model: &'m str) -> &'m str {
    match model.strip_prefix("models/") {
        Some(rest) if rest.contains('/') && snapshot.provider("models").is_none() => rest,
        _ => model,
    }
}

pub fn plan(
    snapshot: &ConfigSnapshot,
    router: &Router,
    options: &GatewayOptions,
    model: &str,
    session: Option<&SessionEntry>,
) -> Result<Vec<PlannedTarget>, GatewayError> {
    let planner = Planner { snapshot, router, options };
    let model = without_resource_prefix(snapshot, model);
    let name = snapshot.aliases().alias_for(model).unwrap_or(model);
    let mut targets = Vec::new();
    let mut expanded = name;
    match planner.expand(name, None, 0, &mut targets) {
        Ok(()) => {}
        Err(err @ GatewayError::UnknownModel(_)) => {
            // A bare name nothing serves goes to the global default, if there is one (an
            // unknown provider prefix stays the client's mistake).
            let Some(default) = snapshot.routing().default_model.as_deref().filter(|d| *d != name) else {
                return Err(err);
            };
            planner.expand(default, None, 0, &mut targets)?;
            expanded = default;
        }
        Err(err) => return Err(err),
    }
    if targets.is_empty() {
        return Err(GatewayError::UnknownModel(format!(
            "'{model}' names a combo with no servable target (are its providers configured?)"
        )));
    }
    // Usage rows name the combo the request went through: the one the model resolved to.
    if let Some(combo) = snapshot.combo(expanded) {
        for target in &mut targets {
            target.combo = Some(combo.name.clone());
        }
    }
    prefer_session_target(&mut targets, session);
    Ok(targets)
}

struct Planner<'a> {
    snapshot: &'a ConfigSnapshot,
    router: &'a Router,
    options: &'a GatewayOptions,
}

impl Planner<'_> {
    fn expand(
        &self,
        name: &str,
        settings: Option<&ComboSettings>,
        depth: usize,
        out: &mut Vec<PlannedTarget>,
    ) -> Result<(), GatewayError> {
        if let Some(combo) = self.snapshot.combo(name) {
            return self.expand_combo(combo, depth, out);
        }
        let target = resolve(self.snapshot, name)?;
        let mut policy = AttemptPolicy::for_provider(self.options, &target.provider);
        if let Some(settings) = settings {
            policy.apply(settings);
        }
        let planned = PlannedTarget { provider: target.provider, model: target.model, policy, combo: None };
        // The same target reached twice (nested combos) is tried once, at its first place.
        if !out.iter().any(|t| t.label() == planned.label()) {
            out.push(planned);
        }
        Ok(())
    }

    fn expand_combo(
        &self,
        combo: &ResolvedCombo,
        depth: usize,
        out: &mut Vec<PlannedTarget>,
    ) -> Result<(), GatewayError> {
        if depth >= MAX_COMBO_DEPTH {
            return Err(GatewayError::InvalidRequest(format!(
                "combo '{}' nests deeper than {MAX_COMBO_DEPTH} levels",
                combo.name
            )));
        }
        let candidates: Vec<TargetCandidate> = combo.targets.iter().map(|t| self.candidate(t)).collect();
        for index in self.router.selector.order_targets(&combo.name, combo.strategy, &candidates) {
            let Some(target) = combo.targets.get(index) else { continue };
            let result = match &target.kind {
                TargetRef::Combo(name) => match self.snapshot.combo(name) {
                    Some(nested) => self.expand_combo(nested, depth + 1, out),
                    None => Err(GatewayError::UnknownModel(format!("combo '{name}' is not configured"))),
                },
                TargetRef::Model { .. } => self.expand(&target.target, Some(&combo.settings), depth, out),
            };
            // A target whose provider is not configured (yet) cannot serve: the others can.
            if let Err(err) = result {
                tracing::debug!(combo = %combo.name, target = %target.target, error = %err, "combo target skipped");
            }
        }
        Ok(())
    }

    /// What the combo's strategy knows about one of its targets.
    fn candidate(&self, target: &ResolvedComboTarget) -> TargetCandidate {
        let mut candidate = TargetCandidate {
            key: target.target.clone(),
            weight: target.weight,
            cost_per_mtok: None,
            latency_ms: None,
            error_rate: 0.0,
            requests: 0,
            healthy: true,
        };
        if let TargetRef::Model { provider, model } = &target.kind
            && let Some(provider) = self.snapshot.provider(provider)
        {
            let key = HealthKey::model(provider.id.clone(), model.clone());
            let estimate = self.router.health.estimate(&key);
            candidate.latency_ms = estimate.latency_ms;
            candidate.error_rate = estimate.error_rate;
            candidate.requests = estimate.requests;
            candidate.healthy = self.router.target_healthy(provider, model);
            candidate.cost_per_mtok = self.snapshot.price(&provider.id, model).map(|p| p.input_price + p.output_price);
        }
        candidate
    }
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

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
