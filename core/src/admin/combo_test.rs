//! `POST /api/combos/{id}/test`: a real, minimal chat request to each of the combo's targets
//! (nested combos expanded, in order), through the same request path clients use (cache
//! bypassed, usage recorded), each reported with its status, latency and error. `resolvedBy`
//! is the first target that answered: what the combo would serve under `priority`.

use std::collections::HashSet;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::admin::json::{ok, timestamp};
use crate::body::Body;
use crate::config::TargetRef;
use crate::config::policy::ComboStrategy;
use crate::config::validate::MAX_COMBO_DEPTH;
use crate::error::GatewayError;
use crate::formats::StreamFraming;
use crate::gateway::{Gateway, RequestContext};
use crate::pipeline::chat;
use crate::pipeline::endpoint::ChatEndpoint;
use crate::pipeline::timeouts::within;
use crate::providers::WireFormat;
use crate::snapshot::ConfigSnapshot;

/// What each target is asked.
const PROMPT: &str = "Reply with the single word OK.";
/// Largest error text kept from an upstream answer.
const MAX_ERROR_CHARS: usize = 300;
/// The longest one target may take (a test should not hang on a stuck upstream).
const TARGET_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ComboTestReport {
    pub combo_name: String,
    pub strategy: ComboStrategy,
    /// The first target (in order) that answered, if any.
    pub resolved_by: Option<String>,
    pub results: Vec<TargetResult>,
    pub tested_at: String,
}

/// One target's try.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TargetResult {
    /// `provider/model` as the combo lists it.
    pub model: String,
    /// `ok` or `error`.
    pub status: &'static str,
    pub status_code: u16,
    pub latency_ms: u64,
    /// The provider that answered (`X-OmniRoute-Provider`).
    pub provider: Option<String>,
    /// Upstream attempts made (accounts, retries).
    pub attempts: Option<u64>,
    pub error: Option<String>,
}

/// Runs the test of combo `id`.
pub async fn test(gateway: &Gateway, ctx: &RequestContext, id: &str) -> Result<Response<Body>, GatewayError> {
    let snapshot = gateway.snapshot();
    let combo = snapshot.combo(id).ok_or_else(|| GatewayError::NotFound(format!("combo '{id}'")))?.clone();
    let mut models = Vec::new();
    expand(&snapshot, &combo.name, 0, &mut HashSet::new(), &mut models);
    let mut results = Vec::with_capacity(models.len());
    for model in models {
        results.push(try_target(gateway, ctx, model).await);
    }
    let resolved_by = results.iter().find(|r| r.status == "ok").map(|r| r.model.clone());
    Ok(ok(&ComboTestReport {
        combo_name: combo.name.clone(),
        strategy: combo.strategy,
        resolved_by,
        results,
        tested_at: timestamp(gateway.ports.clock.now_unix_ms()),
    }))
}

/// The combo's model targets in order, nested combos expanded in place, each model once.
fn expand(snapshot: &ConfigSnapshot, name: &str, depth: usize, seen: &mut HashSet<String>, out: &mut Vec<String>) {
    let Some(combo) = snapshot.combo(name) else { return };
    if depth >= MAX_COMBO_DEPTH {
        return;
    }
    for target in &combo.targets {
        match &target.kind {
            TargetRef::Model { .. } => {
                if seen.insert(target.target.clone()) {
                    out.push(target.target.clone());
                }
            }
            TargetRef::Combo(inner) => expand(snapshot, inner, depth + 1, seen, out),
        }
    }
}

async fn try_target(gateway: &Gateway, ctx: &RequestContext, model: String) -> TargetResult {
    let endpoint = ChatEndpoint {
        format: WireFormat::OpenaiChat,
        path_model: None,
        path_stream: None,
        framing: StreamFraming::Default,
        provider: None,
    };
    let mut headers = HeaderMap::new();
    headers.insert("x-omniroute-no-cache", HeaderValue::from_static("true"));
    let body = json!({ "model": model, "messages": [{ "role": "user", "content": PROMPT }], "stream": false });
    let clock = gateway.ports.clock.as_ref();
    let started_us = clock.monotonic_us();
    let answered =
        within(clock, TARGET_LIMIT, chat::handle(gateway, ctx, &endpoint, &headers, Body::from(body.to_string())))
            .await;
    let latency_ms = clock.monotonic_us().saturating_sub(started_us) / 1000;
    let Some(response) = answered else {
        return TargetResult {
            model,
            status: "error",
            status_code: 504,
            latency_ms,
            provider: None,
            attempts: None,
            error: Some(format!("no answer within {} s", TARGET_LIMIT.as_secs())),
        };
    };
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let provider = header("x-omniroute-provider");
    let attempts = header("x-omniroute-attempts").and_then(|a| a.parse().ok());
    let status_code = response.status().as_u16();
    let success = response.status().is_success();
    let answer = match response.into_body() {
        Body::Full(bytes) => serde_json::from_slice::<Value>(&bytes).ok(),
        Body::Stream(_) => None,
    };
    let error = if success {
        // A 200 without text is not an answer (a fake success would hide a broken upstream).
        let text = answer.as_ref().and_then(|a| a.pointer("/choices/0/message/content")).and_then(Value::as_str);
        text.is_none_or(str::is_empty).then(|| "the upstream answered 200 without any text".to_owned())
    } else {
        let message = answer.as_ref().and_then(|a| a.pointer("/error/message")).and_then(Value::as_str);
        Some(message.map_or_else(|| format!("HTTP {status_code}"), |m| m.chars().take(MAX_ERROR_CHARS).collect()))
    };
    TargetResult {
        model,
        status: if error.is_none() { "ok" } else { "error" },
        status_code,
        latency_ms,
        provider,
        attempts,
        error,
    }
}
