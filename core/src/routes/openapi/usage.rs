//! Documentation of usage, budgets, pricing and the usage settings.
#![allow(dead_code)]

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::common::ManagementErrors;
use crate::admin::budget_api::{BudgetInput, BudgetList, BudgetRemoved, BudgetView};
use crate::admin::pricing_api::{Overrides, PriceEntry, PriceTable};
use crate::admin::usage_settings_api::UsageSettingsInput;
use crate::admin::usage_views::{
    ConnectionUsage, History, HistoryPoint, ModelUsage, RequestLogPage, RequestLogView, UsageLogPage, UsageRowView,
};
use crate::config::BudgetPeriod;
use crate::ports::usage_query::UsageTotals;

/// Time buckets of a history (UTC).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HistoryBucket {
    Day,
    Hour,
}

/// What a history groups by.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HistoryGroup {
    Provider,
    Model,
    Key,
}

/// Usage settings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageSettingsView {
    /// Days usage rows are kept (0: forever). Default 90.
    pub retention_days: u32,
    /// Request and response bodies are logged (never for `no_log` keys). Default off.
    pub request_logging: bool,
    /// Days stored Responses API responses are kept (0: none are stored; never longer than
    /// `retentionDays` when that is set). Default 30.
    pub responses_retention_days: u32,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        usage_history,
        usage_logs,
        request_logs,
        connection_usage,
        list_budgets,
        set_budget,
        put_budget,
        get_budget,
        delete_budget,
        pricing,
        replace_pricing,
        patch_pricing,
        reset_pricing,
        delete_price,
        get_usage_settings,
        put_usage_settings,
        patch_usage_settings
    ),
    components(schemas(
        UsageRowView,
        UsageLogPage,
        RequestLogView,
        RequestLogPage,
        HistoryPoint,
        UsageTotals,
        History,
        ModelUsage,
        ConnectionUsage,
        BudgetView,
        BudgetList,
        BudgetInput,
        BudgetRemoved,
        BudgetPeriod,
        PriceEntry,
        PriceTable,
        Overrides,
        UsageSettingsInput,
        UsageSettingsView,
        HistoryBucket,
        HistoryGroup
    ))
)]
pub struct Doc;

/// Sums per time bucket and group over a range: requests (upstream attempts), errors, tokens
/// in/out/cached/reasoning, cost. Default range: the last 7 days (day buckets) or 24 hours (hour).
#[utoipa::path(get, path = "/api/usage/history", tag = "usage", params(
        ("bucket" = Option<HistoryBucket>, Query, description = "`day` (default) or `hour`"),
        ("groupBy" = Option<HistoryGroup>, Query, description = "`provider` (default), `model` or `key`"),
        ("since" = Option<String>, Query, description = "RFC 3339 or Unix ms, inclusive"),
        ("until" = Option<String>, Query, description = "RFC 3339 or Unix ms, exclusive (default now)"),
        ("provider" = Option<String>, Query), ("model" = Option<String>, Query, description = "Requested or upstream model"),
        ("keyId" = Option<String>, Query), ("connectionId" = Option<String>, Query),
        ("status" = Option<String>, Query, pattern = "^(ok|error|[0-5]?[0-9]{1,2})$", description = "An HTTP status, `ok` or `error`")
    ),
    responses((status = 200, body = History), ManagementErrors))]
fn usage_history() {}

/// Usage rows (one per upstream attempt), newest first, with filters.
#[utoipa::path(get, path = "/api/usage/logs", tag = "usage", params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Rows per page (default 50)"),
        ("offset" = Option<u32>, Query, minimum = 0, maximum = 10000000),
        ("since" = Option<String>, Query), ("until" = Option<String>, Query),
        ("provider" = Option<String>, Query), ("model" = Option<String>, Query),
        ("keyId" = Option<String>, Query), ("connectionId" = Option<String>, Query),
        ("status" = Option<String>, Query, pattern = "^(ok|error|[0-5]?[0-9]{1,2})$")
    ),
    responses((status = 200, body = UsageLogPage), ManagementErrors))]
fn usage_logs() {}

/// Requests with their attempts (status, latency, TTFT, tokens, cost), newest first; one request
/// by `requestId`. Bodies only when request logging was on and the key is not `no_log`.
#[utoipa::path(get, path = "/api/usage/request-logs", tag = "usage", params(
        ("requestId" = Option<String>, Query, description = "One request (404 when it has no rows)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500), ("offset" = Option<u32>, Query, minimum = 0, maximum = 10000000),
        ("since" = Option<String>, Query), ("until" = Option<String>, Query),
        ("provider" = Option<String>, Query), ("model" = Option<String>, Query),
        ("keyId" = Option<String>, Query), ("connectionId" = Option<String>, Query),
        ("status" = Option<String>, Query, pattern = "^(ok|error|[0-5]?[0-9]{1,2})$")
    ),
    responses((status = 200, body = RequestLogPage), ManagementErrors))]
fn request_logs() {}

/// One provider account's usage: totals and per model, over a range (default: all of it).
#[utoipa::path(get, path = "/api/usage/{connectionId}", tag = "usage", params(
        ("connectionId" = String, Path, description = "An account id: `provider:name` (declared) or `conn_<hex>` (created over the API)"),
        ("since" = Option<String>, Query), ("until" = Option<String>, Query)
    ),
    responses((status = 200, body = ConnectionUsage), ManagementErrors))]
fn connection_usage() {}

/// Every key's budget with its spend this period, what remains, and the warning and limit flags.
#[utoipa::path(get, path = "/api/usage/budget", tag = "usage", responses((status = 200, body = BudgetList), ManagementErrors))]
fn list_budgets() {}

/// Set a key's budget. At or over the limit its requests are refused with a 402 in the
/// client's format until the period ends; the request that crosses the limit is served.
#[utoipa::path(post, path = "/api/usage/budget", tag = "usage", request_body = BudgetInput, responses((status = 200, body = BudgetView), ManagementErrors))]
fn set_budget() {}

/// Same as `POST`.
#[utoipa::path(put, path = "/api/usage/budget", tag = "usage", request_body = BudgetInput, responses((status = 200, body = BudgetView), ManagementErrors))]
fn put_budget() {}

/// One key's budget (404 when the key has none).
#[utoipa::path(get, path = "/api/usage/budget/{keyId}", tag = "usage", params(("keyId" = String, Path)), responses((status = 200, body = BudgetView), ManagementErrors))]
fn get_budget() {}

/// Remove a key's budget (`deleted: false` when it had none).
#[utoipa::path(delete, path = "/api/usage/budget/{keyId}", tag = "usage", params(("keyId" = String, Path)), responses((status = 200, body = BudgetRemoved), ManagementErrors))]
fn delete_budget() {}

/// The effective price table (USD per million tokens): catalog prices per provider and model,
/// overrides applied.
#[utoipa::path(get, path = "/api/pricing", tag = "pricing", params(("provider" = Option<String>, Query, description = "Only this provider")),
    responses((status = 200, body = PriceTable), ManagementErrors))]
fn pricing() {}

/// Replace every override. Costs use them from the next request on.
#[utoipa::path(put, path = "/api/pricing", tag = "pricing", request_body = Overrides, responses((status = 200, body = Overrides), ManagementErrors))]
fn replace_pricing() {}

/// Add or change these overrides, keeping the others.
#[utoipa::path(patch, path = "/api/pricing", tag = "pricing", request_body = Overrides, responses((status = 200, body = Overrides), ManagementErrors))]
fn patch_pricing() {}

/// Remove every override: catalog prices again.
#[utoipa::path(delete, path = "/api/pricing", tag = "pricing", responses((status = 200, body = Overrides), ManagementErrors))]
fn reset_pricing() {}

/// Remove one override.
#[utoipa::path(delete, path = "/api/pricing/{provider}/{model}", tag = "pricing", params(("provider" = String, Path), ("model" = String, Path)),
    responses((status = 200, body = Overrides), ManagementErrors))]
fn delete_price() {}

/// Usage retention, request logging and stored-response retention.
#[utoipa::path(get, path = "/api/settings/usage", tag = "settings", responses((status = 200, body = UsageSettingsView), ManagementErrors))]
fn get_usage_settings() {}

/// Change usage retention, request logging or stored-response retention; fields left out keep
/// their value.
#[utoipa::path(put, path = "/api/settings/usage", tag = "settings", request_body = UsageSettingsInput, responses((status = 200, body = UsageSettingsView), ManagementErrors))]
fn put_usage_settings() {}

/// Same as `PUT`.
#[utoipa::path(patch, path = "/api/settings/usage", tag = "settings", request_body = UsageSettingsInput, responses((status = 200, body = UsageSettingsView), ManagementErrors))]
fn patch_usage_settings() {}

/// The instants of the usage queries: an RFC 3339 date-time or Unix milliseconds (attributes
/// cannot say "one of"; the document is adjusted after generation).
pub fn instant_params(doc: &mut serde_json::Value) {
    let instant = serde_json::json!({ "oneOf": [
        { "type": "string", "format": "date-time" },
        { "type": "integer", "minimum": 0, "maximum": crate::admin::query::LAST_INSTANT_MS }
    ]});
    let Some(paths) = doc.get_mut("paths").and_then(serde_json::Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/api/usage/") {
            continue;
        }
        let Some(params) = item.pointer_mut("/get/parameters").and_then(serde_json::Value::as_array_mut) else {
            continue;
        };
        for param in params.iter_mut().filter(|p| matches!(p["name"].as_str(), Some("since" | "until"))) {
            param["schema"] = instant.clone();
        }
    }
}
