//! Documentation of the routing-state, telemetry, cache and health endpoints.
#![allow(dead_code)]

use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::common::ManagementErrors;

/// A JSON merge patch of the breaker profiles; `null` resets a field to its default.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResiliencePatch {
    pub default: Option<BreakerPatch>,
    /// Keyless local providers (Ollama, LM Studio, vLLM, llama.cpp).
    pub local: Option<BreakerPatch>,
    /// An upstream origin that cannot be reached.
    pub endpoint: Option<BreakerPatch>,
    /// How long a model of an account cools down after a 429 naming no time.
    pub rate_limit_cooldown_ms: Option<u64>,
    /// How long a refused key or exhausted credit takes the account out.
    pub account_cooldown_ms: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerPatch {
    pub failure_threshold: Option<u32>,
    pub window_ms: Option<u64>,
    pub open_ms: Option<u64>,
    pub half_open_probes: Option<u32>,
}

/// One breaker/cooldown to reset; none (or an empty body) resets everything.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// One key: `account:<id>` (with its models), `account:<id>/model:<model>`,
    /// `endpoint:<origin>` or `model:<provider>/<model>`.
    #[schema(pattern = "^(account:.+|endpoint:.+|model:[^/]+/.+)$", example = "account:openai:team")]
    pub key: Option<String>,
    /// Every key of one scope (with `key` too: both are reset).
    #[schema(pattern = "^(account|model|endpoint|estimate)$", example = "model")]
    pub scope: Option<String>,
}

/// A model, alias or combo whose targets to check.
#[derive(Deserialize, ToSchema)]
pub struct AvailabilityRequest {
    pub model: String,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        health,
        sync_cloud,
        resilience,
        patch_resilience,
        reset_resilience,
        rate_limits,
        availability,
        check_availability,
        sessions,
        telemetry_summary,
        metrics,
        cache,
        clear_cache,
        cache_stats,
        clear_cache_stats
    ),
    components(schemas(ResiliencePatch, BreakerPatch, ResetRequest, AvailabilityRequest))
)]
pub struct Doc;

/// Liveness: status, version, uptime, config version, provider count. Public.
#[utoipa::path(get, path = "/api/monitoring/health", tag = "operations", responses((status = 200, body = Object)))]
fn health() {}

/// The store this instance keeps its state in (`storage`, `location`: scheme, host and port of a
/// remote database, never its token), whether other instances share it (`shared`), how often it
/// reads their changes (`pollEveryMs`: the bound on how long one takes to apply here), and how
/// that has gone: `polls`, `lastPollAtMs`, `changesTaken`, `lastChangeAtMs`, `lastError`.
#[utoipa::path(get, path = "/api/sync/cloud", tag = "operations", responses((status = 200, body = Object), ManagementErrors))]
fn sync_cloud() {}

/// Breaker profiles and every breaker, cooldown and latency estimate.
#[utoipa::path(get, path = "/api/resilience", tag = "operations", responses((status = 200, body = Object), ManagementErrors))]
fn resilience() {}

/// A JSON merge patch of the breaker profiles (until the next config change).
#[utoipa::path(patch, path = "/api/resilience", tag = "operations", request_body = ResiliencePatch, responses((status = 200, body = Object), ManagementErrors))]
fn patch_resilience() {}

/// Close breakers and clear cooldowns: one key (`account:<id>`, `model:<provider>/<model>`) or all.
#[utoipa::path(post, path = "/api/resilience/reset", tag = "operations", request_body(content = Option<ResetRequest>, description = "Empty or `{}` resets everything"),
    responses((status = 200, body = Object), ManagementErrors))]
fn reset_resilience() {}

/// Accounts cooling down after a 429, and until when.
#[utoipa::path(get, path = "/api/rate-limits", tag = "operations", responses((status = 200, body = Object), ManagementErrors))]
fn rate_limits() {}

/// Every model and combo: its targets and whether they can serve now.
#[utoipa::path(get, path = "/api/models/availability", tag = "operations", responses((status = 200, body = Object), ManagementErrors))]
fn availability() {}

/// One model's targets and whether they can serve now (an unknown model is a 400).
#[utoipa::path(post, path = "/api/models/availability", tag = "operations", request_body = AvailabilityRequest, responses((status = 200, body = Object), ManagementErrors))]
fn check_availability() {}

/// Live sticky sessions.
#[utoipa::path(get, path = "/api/sessions", tag = "operations", responses((status = 200, body = Object), ManagementErrors))]
fn sessions() {}

/// Count, error rate, latency and TTFT percentiles per provider and model over a window.
#[utoipa::path(get, path = "/api/telemetry/summary", tag = "operations", params(("window_ms" = Option<u64>, Query, minimum = 1, description = "Window length in milliseconds (default one hour)")),
    responses((status = 200, body = Object), ManagementErrors))]
fn telemetry_summary() {}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text", content_type = "text/plain", body = String), ManagementErrors))]
fn metrics() {}

/// Response cache (exact and semantic) and idempotency state.
#[utoipa::path(get, path = "/api/cache", tag = "operations", responses((status = 200, body = crate::cache::CacheStats), ManagementErrors))]
fn cache() {}

/// Forget every cached answer.
#[utoipa::path(delete, path = "/api/cache", tag = "operations", responses((status = 200, body = Object), ManagementErrors))]
fn clear_cache() {}

/// Response cache (exact and semantic) and idempotency state (same as `/api/cache`).
#[utoipa::path(get, path = "/api/cache/stats", tag = "operations", responses((status = 200, body = crate::cache::CacheStats), ManagementErrors))]
fn cache_stats() {}

/// Forget every cached answer (same as `DELETE /api/cache`).
#[utoipa::path(delete, path = "/api/cache/stats", tag = "operations", responses((status = 200, body = Object), ManagementErrors))]
fn clear_cache_stats() {}
