//! The routing state over HTTP: breakers and cooldowns (`/api/resilience`, reset, PATCH of the
//! breaker profiles), rate limits, model availability and sticky sessions. What an operator
//! looks at when a provider misbehaves.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::json::{integral_numbers, invalid, ok};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::gateway::call::{Answer, Call};
use crate::pipeline::info::configured_models;
use crate::routing::health::share::decode_row;
use crate::routing::health::{HealthKey, KeyScope};
use crate::routing::plan::{PlannedTarget, plan};
use crate::routing::shared_reset::ResetTarget;

/// `GET /api/resilience`: breaker profiles and every known breaker, cooldown and estimate.
pub async fn report(call: Call<'_>) -> Answer {
    Ok(ok(&call.gateway.router.health.snapshot()))
}

/// `PATCH /api/resilience`: a JSON merge patch of the breaker profiles (until the next config
/// change reloads them from the store).
pub async fn patch(mut call: Call<'_>) -> Answer {
    let body = call.body_bytes().await?;
    let mut patch: Value = serde_json::from_slice(&body)
        .map_err(|e| GatewayError::InvalidRequest(format!("request body is not valid JSON: {e}")))?;
    integral_numbers(&mut patch);
    if !patch.is_object() {
        return Err(invalid("body", "must be a JSON object (a merge patch of the profiles)"));
    }
    let health = &call.gateway.router.health;
    let profiles = health.profiles().patched(&patch).map_err(GatewayError::InvalidRequest)?;
    health.set_profiles(profiles);
    Ok(ok(&json!({ "profiles": profiles })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    /// `account:<id>`, `account:<id>/model:<model>`, `endpoint:<origin>` or
    /// `model:<provider>/<model>`.
    key: Option<String>,
    /// Every key of one scope. Neither: everything.
    scope: Option<KeyScope>,
}

/// `POST /api/resilience/reset`: closes breakers and clears cooldowns: one key, one scope (both
/// when both are given), or everything.
pub async fn reset(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let body = call.body_bytes().await?;
    let empty = body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null";
    let expected = "expected {\"key\": \"account:<id>\"}, {\"scope\": \"model\"} or {}";
    let request: ResetRequest = if empty {
        ResetRequest::default()
    } else if !body.trim_ascii().starts_with(b"{") {
        // serde would take a struct from an array too (`[null, null]`).
        return Err(GatewayError::InvalidRequest(
            "expected {\"key\": \"account:<id>\"}, {\"scope\": \"model\"} or {}".into(),
        ));
    } else {
        // An object only: serde would also read a struct from an array (`[null, null]`).
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| GatewayError::InvalidRequest(format!("{expected}: {e}")))?;
        if !value.is_object() {
            return Err(GatewayError::InvalidRequest(format!("{expected}: the body is not an object")));
        }
        serde_json::from_value(value).map_err(|e| GatewayError::InvalidRequest(format!("{expected}: {e}")))?
    };
    let key = match request.key.as_deref() {
        Some(key) => Some(key.parse::<HealthKey>().map_err(GatewayError::InvalidRequest)?),
        None => None,
    };
    if let Some(scope) = request.scope {
        reset_scope(gateway, scope).await?;
    }
    if key.is_some() || request.scope.is_none() {
        reset_key(gateway, key.as_ref()).await?;
    }
    let what = match (&request.key, request.scope) {
        (Some(key), _) => json!(key),
        (None, Some(scope)) => json!(scope),
        (None, None) => json!("all"),
    };
    Ok(ok(&json!({ "reset": what, "scope": request.scope })))
}

fn clear_failed(e: crate::ports::StoreError) -> GatewayError {
    GatewayError::internal("cannot reset the shared breakers and cooldowns in the store", e)
}

/// Resets one key (an account with its models), or everything with `None`, here and on every
/// instance: see [`reset_everywhere`].
async fn reset_key(gateway: &Gateway, key: Option<&HealthKey>) -> Result<(), GatewayError> {
    match key {
        None => reset_everywhere(gateway, ResetTarget::All).await,
        // Estimates only: per instance, nothing of theirs is shared.
        Some(key @ HealthKey::Model { .. }) => {
            gateway.router.health.reset(Some(key));
            Ok(())
        }
        Some(key) => reset_everywhere(gateway, ResetTarget::Key(key.clone())).await,
    }
}

/// Resets every key of one scope, here and on every instance.
async fn reset_scope(gateway: &Gateway, scope: KeyScope) -> Result<(), GatewayError> {
    reset_everywhere(gateway, ResetTarget::Scope(scope)).await
}

/// Resets `target` here, clears the shared rows of every kind (cooldowns, account-out, open
/// breakers) it covers, and writes the reset's own row, which the other instances apply once:
/// they forget what they learned of those keys themselves, or they would write it back.
async fn reset_everywhere(gateway: &Gateway, target: ResetTarget) -> Result<(), GatewayError> {
    let (row, until_ms) = gateway.router.health.reset_shared(&target);
    let store = &gateway.ports.cooldowns;
    if target == ResetTarget::All {
        store.clear(None).await.map_err(clear_failed)?;
    } else {
        for (row, _) in store.active(0).await.map_err(clear_failed)? {
            // Earlier resets' rows stay: instances that have not read them yet still apply them.
            if ResetTarget::from_row(&row).is_none() && target.covers(&decode_row(&row).0) {
                store.clear(Some(&row)).await.map_err(clear_failed)?;
            }
        }
    }
    store.put(&row, until_ms).await.map_err(clear_failed)
}

/// `GET /api/rate-limits`: accounts and models of accounts cooling down, why, and until when.
pub async fn rate_limits(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let now = gateway.router.now_ms();
    let cooldowns: Vec<Value> = gateway
        .router
        .health
        .cooldown_entries()
        .into_iter()
        .map(|c| {
            let retry_after_secs = c.until_ms.saturating_sub(now).div_ceil(1000);
            json!({ "key": c.key, "scope": c.scope, "account": c.account, "model": c.model, "kind": c.kind, "reason": c.reason, "source": c.source, "until_ms": c.until_ms, "retry_after_secs": retry_after_secs })
        })
        .collect();
    Ok(ok(&json!({ "now_ms": now, "cooldowns": cooldowns })))
}

/// Whether a planned target can be tried now, and why not.
fn target_availability(gateway: &Gateway, target: &PlannedTarget) -> Value {
    let health = &gateway.router.health;
    let endpoint = HealthKey::endpoint_of(&target.provider.base_url);
    let accounts: Vec<Value> = target
        .provider
        .connections
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "available": gateway.router.deployment_healthy(&c.id, &target.model),
                "breaker": health.state(&HealthKey::account(c.id.clone())),
                "cooldown_until_ms": health.cooldown_until(&HealthKey::account(c.id.clone())),
                "model_cooldown_until_ms": health.cooldown_until(&HealthKey::deployment(c.id.clone(), target.model.clone())),
                "model_breaker": health.state(&HealthKey::deployment(c.id.clone(), target.model.clone())),
            })
        })
        .collect();
    let available = gateway.router.target_healthy(&target.provider, &target.model);
    json!({
        "target": target.label(),
        "available": available,
        "endpoint": endpoint,
        "endpoint_breaker": health.state(&endpoint),
        "accounts": accounts,
    })
}

/// One model (or combo or alias): its plan and whether any target can serve now.
fn model_availability(gateway: &Gateway, model: &str) -> Result<Value, GatewayError> {
    let snapshot = gateway.snapshot();
    let targets = plan(&snapshot, &gateway.router, &gateway.options, model, None)?;
    let targets: Vec<Value> = targets.iter().map(|t| target_availability(gateway, t)).collect();
    let available = targets.iter().any(|t| t["available"] == true);
    Ok(json!({ "model": model, "available": available, "targets": targets }))
}

/// `GET /api/models/availability`: every configured model and combo.
pub async fn availability(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let snapshot = gateway.snapshot();
    let mut names: Vec<String> = configured_models(gateway).into_iter().map(|(id, _)| id).collect();
    names.extend(snapshot.combos().iter().map(|c| format!("combo/{}", c.name)));
    let models: Vec<Value> = names.iter().filter_map(|name| model_availability(gateway, name).ok()).collect();
    Ok(ok(&json!({ "models": models })))
}

#[derive(Deserialize)]
struct AvailabilityRequest {
    model: String,
}

/// `POST /api/models/availability {"model": ...}`: one model's plan and state.
pub async fn check_model(mut call: Call<'_>) -> Answer {
    let body = call.body_bytes().await?;
    let request: AvailabilityRequest = serde_json::from_slice(&body)
        .map_err(|e| GatewayError::InvalidRequest(format!("expected {{\"model\": \"<model>\"}}: {e}")))?;
    Ok(ok(&model_availability(call.gateway, &request.model)?))
}

/// `GET /api/sessions`: live sticky sessions, most recent first.
pub async fn sessions(call: Call<'_>) -> Answer {
    let router = &call.gateway.router;
    Ok(ok(&json!({ "sessions": router.sessions.list(router.now_ms()) })))
}
