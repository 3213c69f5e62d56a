//! `/api/usage/budget`: every key's budget with what it spent this period (from the in-memory
//! tracker the guard enforces with), setting one (`POST`) and removing one
//! (`DELETE /api/usage/budget/{keyId}`). Budgets live on the key record, written through commit.

use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit};
use crate::admin::json::{invalid, ok, parse, timestamp};
use crate::admin::keys::find;
use crate::config::{ApiKeyRecord, BudgetPeriod, ConfigChange, KeyBudget};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::gateway::call::{Answer, Call};
use crate::usage::budget::period_name;

/// The largest limit accepted, in USD.
const MAX_LIMIT_USD: f64 = 1_000_000_000.0;
const DEFAULT_WARN_AT: f64 = 0.8;

/// A key's budget and where it stands.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BudgetView {
    pub key_id: String,
    pub key_name: String,
    /// USD per period.
    pub limit: f64,
    /// `daily`, `weekly` or `monthly` (UTC calendar periods; weeks start on Monday).
    pub period: &'static str,
    /// The share of the limit at which `warning` turns on.
    pub warn_at: f64,
    /// USD spent in the current period.
    pub spent: f64,
    pub remaining: f64,
    pub period_start: String,
    pub resets_at: String,
    /// Spent at least `warnAt` × `limit`.
    pub warning: bool,
    /// Spent at least `limit`: the key's requests are refused until `resetsAt`.
    pub exceeded: bool,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetList {
    pub budgets: Vec<BudgetView>,
    pub total: usize,
}

/// `POST /api/usage/budget`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BudgetInput {
    pub key_id: String,
    /// USD per period, more than 0.
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1e9))]
    pub limit: f64,
    pub period: BudgetPeriod,
    /// Share of the limit that turns the warning on, 0 < warnAt ≤ 1 (default 0.8).
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1.0))]
    pub warn_at: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BudgetRemoved {
    pub deleted: bool,
    pub key_id: String,
}

fn view(gateway: &Gateway, key: &ApiKeyRecord) -> Option<BudgetView> {
    let budget = key.budget.as_ref()?;
    let status = gateway.budgets.status(&key.id, budget, gateway.ports.clock.now_unix_ms());
    Some(BudgetView {
        key_id: key.id.clone(),
        key_name: key.name.clone(),
        limit: budget.limit_usd,
        period: period_name(budget.period),
        warn_at: budget.warn_ratio,
        spent: status.spent_usd,
        remaining: status.remaining_usd(),
        period_start: timestamp(status.period_start_ms),
        resets_at: timestamp(status.resets_at_ms),
        warning: status.warning,
        exceeded: status.exceeded,
    })
}

/// `GET /api/usage/budget`: every key that has a budget.
pub async fn list(call: Call<'_>) -> Answer {
    let snapshot = call.gateway.snapshot();
    let budgets: Vec<BudgetView> = snapshot.access.keys().filter_map(|k| view(call.gateway, k)).collect();
    Ok(ok(&BudgetList { total: budgets.len(), budgets }))
}

/// `GET /api/usage/budget/{keyId}`.
pub async fn get(call: Call<'_>) -> Answer {
    let key = find(call.gateway, call.param("keyId"))?;
    view(call.gateway, &key)
        .map(|v| ok(&v))
        .ok_or_else(|| GatewayError::NotFound(format!("a budget for API key '{}'", key.id)))
}

pub async fn set(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let input: BudgetInput = parse(&call.body_bytes().await?)?;
    if !(input.limit.is_finite() && input.limit > 0.0 && input.limit <= MAX_LIMIT_USD) {
        return Err(invalid("limit", "must be a number of USD above 0 (at most 1e9)"));
    }
    let warn_ratio = input.warn_at.unwrap_or(DEFAULT_WARN_AT);
    if !(warn_ratio.is_finite() && warn_ratio > 0.0 && warn_ratio <= 1.0) {
        return Err(invalid("warnAt", "must be a share of the limit: above 0, at most 1"));
    }
    // An unknown key in the body is a field error (400), not a missing resource.
    let mut key = find(gateway, &input.key_id)
        .map_err(|_| invalid("keyId", format!("no API key has the id '{}'", input.key_id)))?;
    let before = key.budget.and_then(|b| serde_json::to_value(b).ok());
    let budget = KeyBudget { limit_usd: input.limit, period: input.period, warn_ratio };
    key.budget = Some(budget);
    let change = Change {
        action: "budget.set",
        target: key.id.clone(),
        before,
        after: serde_json::to_value(budget).ok(),
        changes: vec![ConfigChange::PutApiKey(key.clone())],
    };
    commit(gateway, ctx, change).await?;
    view(gateway, &key)
        .map(|v| ok(&v))
        .ok_or_else(|| GatewayError::Internal(format!("key '{}' has no budget right after one was set", key.id)))
}

pub async fn remove(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let id = call.param("keyId");
    let mut key = find(gateway, id)?;
    let Some(budget) = key.budget.take() else {
        return Ok(ok(&BudgetRemoved { deleted: false, key_id: key.id }));
    };
    let change = Change {
        action: "budget.delete",
        target: key.id.clone(),
        before: serde_json::to_value(budget).ok(),
        after: None,
        changes: vec![ConfigChange::PutApiKey(key.clone())],
    };
    commit(gateway, ctx, change).await?;
    Ok(ok(&BudgetRemoved { deleted: true, key_id: key.id }))
}
