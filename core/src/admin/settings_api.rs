//! `GET/PUT/PATCH /api/settings`: the general settings, security (who may reach what, CORS)
//! and routing (default model, retryable statuses, waits, breakers). PUT takes the whole
//! document (absent fields take their defaults), PATCH merges into the current one. GET's
//! answer is a valid PUT body. The other documents have their own paths
//! (`/api/settings/ip-filter`, `system-prompt`, `thinking-budget`); the admin password never
//! shows.

use http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit, stored};
use crate::admin::json::{blame, invalid, ok, parse, parse_merged};
use crate::admin::targets::{check_target, refuse_declared};
use crate::auth::guard;
use crate::config::settings::{MAX_FORWARDED_FOR_HOPS, SecuritySettings, keys};
use crate::config::{BreakerSettings, ConfigChange, RoutingSettings};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};
use crate::pipeline::cors::normalize_origin;
use crate::snapshot::ConfigSnapshot;

const MAX_ORIGINS: usize = 100;

/// The general settings document. The security fields are spelled out rather than flattened
/// from [`SecuritySettings`]: serde cannot refuse unknown fields of a flattened struct, and a
/// typo here must be a 400, not a setting silently ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneralSettings {
    /// Inference needs a gateway API key (also forced on by `REQUIRE_API_KEY=true`).
    pub require_api_key: bool,
    /// The management API needs a login session or an admin key.
    pub require_login: bool,
    /// Provider base URLs may point at loopback/private addresses.
    pub allow_private_upstreams: bool,
    /// `GET /metrics` without credentials.
    pub metrics_public: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// How many trusted proxies append to `X-Forwarded-For` (1-10): the client address is the
    /// entry this many places from the right; what the client itself sent is never trusted.
    pub forwarded_for_hops: u32,
    /// Origins allowed by CORS on the inference endpoints: `["*"]` or a list; empty: off.
    pub cors_origins: Vec<String>,
    pub routing: RoutingView,
}

/// Routing and resilience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RoutingView {
    /// Where a bare model name no provider lists goes (`provider/model` or a combo); null refuses it.
    pub default_model: Option<String>,
    /// Upstream statuses retried or passed to the next target (400-599).
    pub retryable_statuses: Vec<u16>,
    /// How long a request may wait for a cooling account (ms); 0 fails fast.
    pub max_wait_ms: u64,
    /// Circuit breaker of keyed providers.
    pub breaker: BreakerView,
    /// Circuit breaker of keyless local providers (every scope).
    pub local_breaker: BreakerView,
    /// Circuit breaker of an upstream origin that cannot be reached.
    pub endpoint_breaker: BreakerView,
    /// How long one model of an account cools down after a 429 naming no time (ms).
    pub rate_limit_cooldown_ms: u64,
    /// How long a refused key or exhausted credit takes the whole account out (ms).
    pub account_cooldown_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct BreakerView {
    pub failure_threshold: u32,
    pub window_ms: u64,
    pub open_ms: u64,
    pub half_open_probes: u32,
}

impl Default for GeneralSettings {
    fn default() -> Self {
        GeneralSettings::of(&SecuritySettings::default(), &RoutingSettings::default())
    }
}

impl Default for RoutingView {
    fn default() -> Self {
        RoutingView::from(&RoutingSettings::default())
    }
}

impl Default for BreakerView {
    fn default() -> Self {
        BreakerSettings::default().into()
    }
}

impl From<BreakerSettings> for BreakerView {
    fn from(b: BreakerSettings) -> Self {
        BreakerView {
            failure_threshold: b.failure_threshold,
            window_ms: b.window_ms,
            open_ms: b.open_ms,
            half_open_probes: b.half_open_probes,
        }
    }
}

impl From<&RoutingSettings> for RoutingView {
    fn from(r: &RoutingSettings) -> Self {
        RoutingView {
            default_model: r.default_model.clone(),
            retryable_statuses: r.retryable_statuses.clone(),
            max_wait_ms: r.max_wait_ms,
            breaker: r.breaker.into(),
            local_breaker: r.local_breaker.into(),
            endpoint_breaker: r.endpoint_breaker.into(),
            rate_limit_cooldown_ms: r.rate_limit_cooldown_ms,
            account_cooldown_ms: r.account_cooldown_ms,
        }
    }
}

impl GeneralSettings {
    fn of(security: &SecuritySettings, routing: &RoutingSettings) -> GeneralSettings {
        GeneralSettings {
            require_api_key: security.require_api_key,
            require_login: security.require_login,
            allow_private_upstreams: security.allow_private_upstreams,
            metrics_public: security.metrics_public,
            trust_forwarded_for: security.trust_forwarded_for,
            forwarded_for_hops: security.forwarded_for_hops,
            cors_origins: security.cors_origins.clone(),
            routing: routing.into(),
        }
    }
}

impl BreakerView {
    fn settings(self, field: &str) -> Result<BreakerSettings, GatewayError> {
        if self.failure_threshold == 0 {
            return Err(invalid(&format!("{field}.failureThreshold"), "must be at least 1"));
        }
        if self.half_open_probes == 0 {
            return Err(invalid(&format!("{field}.halfOpenProbes"), "must be at least 1"));
        }
        if self.window_ms == 0 {
            return Err(invalid(&format!("{field}.windowMs"), "must be greater than 0"));
        }
        Ok(BreakerSettings {
            failure_threshold: self.failure_threshold,
            window_ms: self.window_ms,
            open_ms: self.open_ms,
            half_open_probes: self.half_open_probes,
        })
    }
}

fn current(snapshot: &ConfigSnapshot) -> GeneralSettings {
    GeneralSettings::of(&snapshot.access.security, snapshot.routing())
}

/// What is in force: `REQUIRE_API_KEY=true` in the environment requires keys whatever is
/// stored, and the answer must not claim otherwise. Only the stored value is ever written.
fn in_force(gateway: &Gateway, mut shown: GeneralSettings) -> GeneralSettings {
    shown.require_api_key |= gateway.options.require_api_key;
    shown
}

/// `GET /api/settings`: a valid `PUT` body.
pub async fn get(call: Call<'_>) -> Answer {
    Ok(ok(&in_force(call.gateway, current(&call.gateway.snapshot()))))
}

/// `PUT /api/settings`: the whole document.
pub async fn put(mut call: Call<'_>) -> Answer {
    let wanted = parse(&call.body_bytes().await?)?;
    store(call, wanted).await
}

/// `PATCH /api/settings`: merged into the current document.
pub async fn patch(mut call: Call<'_>) -> Answer {
    let body = call.body_bytes().await?;
    let wanted = parse_merged(&current(&call.gateway.snapshot()), &body)?;
    store(call, wanted).await
}

async fn store(call: Call<'_>, wanted: GeneralSettings) -> Answer {
    let (gateway, ctx, parts) = (call.gateway, call.ctx, call.parts);
    let snapshot = gateway.snapshot();
    let current = current(&snapshot);
    let (security, routing) = checked(wanted, gateway, &snapshot, ctx, parts).await?;
    let mut changes = Vec::new();
    if security != snapshot.access.security {
        let value = serde_json::to_value(&security)
            .map_err(|e| GatewayError::internal("cannot encode the security settings", e))?;
        changes.push(ConfigChange::PutSetting { key: keys::SECURITY.into(), value });
    }
    if routing != *snapshot.routing() {
        let stored = stored(gateway).await?;
        refuse_declared(stored.routing_source.as_deref().unwrap_or_default(), "routing ([routing]/[resilience])")?;
        changes.push(ConfigChange::PutRouting(routing.clone()));
    }
    let after = GeneralSettings::of(&security, &routing);
    if !changes.is_empty() {
        let change = Change {
            action: "settings.update",
            target: "settings".into(),
            before: serde_json::to_value(&current).ok(),
            after: serde_json::to_value(&after).ok(),
            changes,
        };
        commit(gateway, ctx, change).await.map_err(blame("routing"))?;
    }
    Ok(ok(&in_force(gateway, after)))
}

/// Each field checked, naming it; the result as the stored documents.
async fn checked(
    wanted: GeneralSettings,
    gateway: &Gateway,
    snapshot: &ConfigSnapshot,
    ctx: &RequestContext,
    parts: &Parts,
) -> Result<(SecuritySettings, RoutingSettings), GatewayError> {
    if wanted.cors_origins.len() > MAX_ORIGINS {
        return Err(invalid("corsOrigins", format!("at most {MAX_ORIGINS} origins")));
    }
    let mut origins = Vec::with_capacity(wanted.cors_origins.len());
    for (i, origin) in wanted.cors_origins.iter().enumerate() {
        origins.push(normalize_origin(origin).map_err(|e| invalid(&format!("corsOrigins[{i}]"), e))?);
    }
    if origins.len() > 1 && origins.iter().any(|o| o == "*") {
        return Err(invalid("corsOrigins", "`*` allows every origin: give it alone"));
    }
    if !(1..=MAX_FORWARDED_FOR_HOPS).contains(&wanted.forwarded_for_hops) {
        return Err(invalid("forwardedForHops", format!("must be from 1 to {MAX_FORWARDED_FOR_HOPS}")));
    }
    let wanted_hops = if wanted.trust_forwarded_for { wanted.forwarded_for_hops } else { 0 };
    // Whose address the IP filter sees changes with this: never lock out the caller.
    if let Some(filter) = &snapshot.access.ip_filter
        && wanted_hops != snapshot.access.security.forwarded_hops()
    {
        let addr = guard::client_addr(parts, wanted_hops);
        if !filter.admits(addr) {
            let shown = addr.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
            return Err(invalid(
                "trustForwardedFor",
                format!(
                    "with this change your address would be {shown}, which the IP filter refuses: you would lock yourself out"
                ),
            ));
        }
    }
    let r = wanted.routing;
    for (i, status) in r.retryable_statuses.iter().enumerate() {
        if !(400..=599).contains(status) {
            return Err(invalid(&format!("routing.retryableStatuses[{i}]"), "must be an HTTP error status (400-599)"));
        }
    }
    let default_model = r.default_model.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
    if let Some(model) = &default_model {
        let stored = stored(gateway).await?;
        check_target(&stored, model).map_err(|e| invalid("routing.defaultModel", e))?;
    }
    let routing = RoutingSettings {
        default_model,
        retryable_statuses: r.retryable_statuses,
        max_wait_ms: r.max_wait_ms,
        breaker: r.breaker.settings("routing.breaker")?,
        local_breaker: r.local_breaker.settings("routing.localBreaker")?,
        endpoint_breaker: r.endpoint_breaker.settings("routing.endpointBreaker")?,
        rate_limit_cooldown_ms: r.rate_limit_cooldown_ms,
        account_cooldown_ms: r.account_cooldown_ms,
    };
    if !wanted.require_login && snapshot.access.security.require_login {
        tracing::warn!(actor = %ctx.caller.actor(), "login switched off: the management API is open to every client that reaches it");
    }
    let security = SecuritySettings {
        require_api_key: wanted.require_api_key,
        require_login: wanted.require_login,
        allow_private_upstreams: wanted.allow_private_upstreams,
        metrics_public: wanted.metrics_public,
        trust_forwarded_for: wanted.trust_forwarded_for,
        forwarded_for_hops: wanted.forwarded_for_hops,
        cors_origins: origins,
    };
    Ok((security, routing))
}
