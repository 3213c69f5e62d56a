//! Documentation of the settings documents and the system endpoints (first-run check,
//! shutdown, restart).
#![allow(dead_code)]

use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::common::ManagementErrors;
use crate::admin::json::ErrorBody;
use crate::admin::settings_api::{BreakerView, GeneralSettings, RoutingView};
use crate::admin::system_api::{InitStatus, LifecycleAccepted};
use crate::config::settings::{IpFilterSettings, SystemPromptSettings, ThinkingBudgetSettings, ThinkingMode};

/// A JSON merge patch of the general settings: fields given replace, objects merge, `null`
/// resets a field to its default.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SettingsPatch {
    pub require_api_key: Option<bool>,
    pub require_login: Option<bool>,
    pub allow_private_upstreams: Option<bool>,
    pub metrics_public: Option<bool>,
    pub trust_forwarded_for: Option<bool>,
    pub forwarded_for_hops: Option<u32>,
    pub cors_origins: Option<Vec<String>>,
    pub routing: Option<RoutingPatch>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoutingPatch {
    pub default_model: Option<String>,
    pub retryable_statuses: Option<Vec<u16>>,
    pub max_wait_ms: Option<u64>,
    pub breaker: Option<BreakerViewPatch>,
    pub local_breaker: Option<BreakerViewPatch>,
    pub endpoint_breaker: Option<BreakerViewPatch>,
    pub rate_limit_cooldown_ms: Option<u64>,
    pub account_cooldown_ms: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BreakerViewPatch {
    pub failure_threshold: Option<u32>,
    pub window_ms: Option<u64>,
    pub open_ms: Option<u64>,
    pub half_open_probes: Option<u32>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        get_settings,
        put_settings,
        patch_settings,
        get_ip_filter,
        put_ip_filter,
        get_system_prompt,
        put_system_prompt,
        get_thinking_budget,
        put_thinking_budget,
        init,
        shutdown,
        restart
    ),
    components(schemas(
        GeneralSettings,
        SettingsPatch,
        RoutingPatch,
        BreakerViewPatch,
        RoutingView,
        BreakerView,
        IpFilterSettings,
        SystemPromptSettings,
        ThinkingBudgetSettings,
        ThinkingMode,
        InitStatus,
        LifecycleAccepted
    ))
)]
pub struct Doc;

/// The general settings: security (keys, login, private upstreams, metrics, proxy trust, CORS
/// origins) and routing. The answer is a valid `PUT` body.
#[utoipa::path(get, path = "/api/settings", tag = "settings", responses((status = 200, body = GeneralSettings), ManagementErrors))]
fn get_settings() {}

/// Replace the general settings (absent fields take their defaults). Routing set by the config
/// file is read-only (409); a proxy-trust change that would lock the caller out by the IP
/// filter is refused (400).
#[utoipa::path(put, path = "/api/settings", tag = "settings", request_body = GeneralSettings,
    responses((status = 200, body = GeneralSettings), (status = 409, body = ErrorBody), ManagementErrors))]
fn put_settings() {}

/// A JSON merge patch of the general settings (`null` resets a field to its default).
#[utoipa::path(patch, path = "/api/settings", tag = "settings", request_body = SettingsPatch,
    responses((status = 200, body = GeneralSettings), (status = 409, body = ErrorBody), ManagementErrors))]
fn patch_settings() {}

/// The IP filter: allow and block lists of addresses and CIDR ranges (v4 and v6).
#[utoipa::path(get, path = "/api/settings/ip-filter", tag = "settings", responses((status = 200, body = IpFilterSettings), ManagementErrors))]
fn get_ip_filter() {}

/// Replace the IP filter. One that would refuse the caller's own address is refused (400
/// naming `allow` or the `block` entry).
#[utoipa::path(put, path = "/api/settings/ip-filter", tag = "settings", request_body = IpFilterSettings, responses((status = 200, body = IpFilterSettings), ManagementErrors))]
fn put_ip_filter() {}

/// The global system prompt, prepended to every chat request's own when enabled.
#[utoipa::path(get, path = "/api/settings/system-prompt", tag = "settings", responses((status = 200, body = SystemPromptSettings), ManagementErrors))]
fn get_system_prompt() {}

/// Replace the global system prompt (not empty when enabled; at most 100 000 characters).
#[utoipa::path(put, path = "/api/settings/system-prompt", tag = "settings", request_body = SystemPromptSettings, responses((status = 200, body = SystemPromptSettings), ManagementErrors))]
fn put_system_prompt() {}

/// The thinking budget policy on requests that ask for reasoning.
#[utoipa::path(get, path = "/api/settings/thinking-budget", tag = "settings", responses((status = 200, body = ThinkingBudgetSettings), ManagementErrors))]
fn get_thinking_budget() {}

/// Replace the thinking budget policy (`fixed` and `cap` need `budgetTokens` from 1 to 1 000 000).
#[utoipa::path(put, path = "/api/settings/thinking-budget", tag = "settings", request_body = ThinkingBudgetSettings, responses((status = 200, body = ThinkingBudgetSettings), ManagementErrors))]
fn put_thinking_budget() {}

/// First-run check: whether a password is set, whether login and keys are required, the
/// version, and whether shutdown/restart exist here. Public; nothing secret.
#[utoipa::path(get, path = "/api/init", tag = "system", responses((status = 200, body = InitStatus)))]
fn init() {}

/// Stop gracefully: in-flight requests finish, usage is flushed, the process exits. Native
/// server only (404 on the Worker and Lambda).
#[utoipa::path(post, path = "/api/shutdown", tag = "system", responses((status = 202, body = LifecycleAccepted), ManagementErrors))]
fn shutdown() {}

/// Stop gracefully, then start again as the same command on the same address. The `omniroute`
/// binary only (404 elsewhere, including a server embedded in another program).
#[utoipa::path(post, path = "/api/restart", tag = "system", responses((status = 202, body = LifecycleAccepted), ManagementErrors))]
fn restart() {}
