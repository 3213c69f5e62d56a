//! The chat request path, phase by phase: read → probe → resolve → plan → dispatch → respond →
//! record. Same format both sides: the body passes through with only the model rewritten.
//! Different formats: client codec → hub → provider codec, and back.

use bytes::Bytes;
use http::HeaderMap;
use http::Response;
use http::header::{HeaderName, HeaderValue};

use crate::body::{Body, CollectError};
use crate::error::GatewayError;
use crate::formats::{self, StreamFraming};
use crate::gateway::{Gateway, RequestContext};
use crate::hub::ChatRequest;
use crate::pipeline::cached::{self, Lookup};
use crate::pipeline::dispatch::{AccountChoice, Attempt, Prepared, dispatch};
use crate::pipeline::endpoint::ChatEndpoint;
use crate::pipeline::idempotency_gate::{self, Start};
use crate::pipeline::passthrough::{ChatProbe, edited, probe};
use crate::pipeline::progress;
use crate::pipeline::record::{AttemptRecord, Observed};
use crate::pipeline::reply::{Plan, respond};
use crate::pipeline::respond as render;
use crate::providers::{WireFormat, find_catalog_provider};
use crate::routing::key_policy;
use crate::routing::plan::{PlannedTarget, plan};
use crate::routing::sessions::Sessions;
use crate::snapshot::ConfigSnapshot;

pub async fn handle(
    gateway: &Gateway,
    ctx: &RequestContext,
    endpoint: &ChatEndpoint,
    headers: &HeaderMap,
    body: Body,
) -> Response<Body> {
    match chat(gateway, ctx, endpoint, headers, body).await {
        Ok(response) => response,
        Err(err) => {
            gateway.telemetry.metrics.gateway_error(err.code());
            if err.status().is_server_error() {
                tracing::warn!(request_id = %ctx.request_id, error = %err, "chat request failed");
            }
            render::error(ctx.client_format, &err)
        }
    }
}

/// The request body, within the size limit.
pub async fn read_body(gateway: &Gateway, body: Body) -> Result<Bytes, GatewayError> {
    body.collect(gateway.options.max_body_bytes).await.map_err(|err| match err {
        CollectError::TooLarge { limit } => GatewayError::BodyTooLarge(limit),
        CollectError::Read(e) => GatewayError::InvalidRequest(format!("request body could not be read: {e}")),
    })
}

async fn chat(
    gateway: &Gateway,
    ctx: &RequestContext,
    endpoint: &ChatEndpoint,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response<Body>, GatewayError> {
    let body = read_body(gateway, body).await?;
    // idempotency: a duplicate of a request in flight or just answered gets that answer
    // Scoped by key: one client's idempotency key never returns another client's answer.
    let scope = format!("{}:{}", endpoint.format.as_str(), ctx.caller.key().map_or("", |k| k.id.as_str()));
    let guard = match idempotency_gate::start(gateway, headers, &scope, &body).await? {
        Start::Answer(response) => return Ok(response),
        Start::Proceed(guard) => guard,
    };
    // probe: model and stream, without parsing the rest
    let request = probe(endpoint, &body)?;
    request.check_items(gateway.options.max_message_items)?;
    let snapshot = gateway.snapshot();
    let now_ms = gateway.router.now_ms();
    let session_id = session_id(headers);
    let session = session_id.as_deref().and_then(|id| gateway.router.sessions.get(id, now_ms));
    let model = match &endpoint.provider {
        Some(scope) => scoped_model(&snapshot, scope, &request.model)?,
        None => request.model.clone(),
    };
    key_policy::check_model(&ctx.caller, &model)?;
    // cache: a deterministic request already answered costs nothing
    // The client's request in hub form, decoded at most once (cache key, translation).
    let mut hub: Option<ChatRequest> = None;
    let edits = &snapshot.request_edits;
    let cache_miss =
        match cached::lookup(gateway, ctx, &snapshot, endpoint, headers, &body, &mut hub, &model, request.stream).await
        {
            Lookup::Hit(response) => return Ok(response),
            Lookup::Miss(miss) => Some(miss),
            Lookup::Skip => None,
        };
    // plan: the targets to try, best first
    let targets = plan(&snapshot, &gateway.router, &gateway.options, &model, session.as_ref())?;
    let targets = key_policy::allowed_targets(&ctx.caller, targets)?;
    // Each target is prepared when reached: passthrough when it speaks the client's format
    // (and framing), else translated through the hub (decoded once). The settings' edits
    // (system prompt, thinking budget) go into the hub, or into the passthrough body once.
    let mut passthrough: Option<(Bytes, ChatProbe)> = None;
    let mut prepare = |target: &PlannedTarget| -> Result<Prepared, GatewayError> {
        let provider = &target.provider;
        let body = if translates(endpoint, provider.format) {
            let decoded = match &hub {
                Some(decoded) => decoded,
                None => {
                    let mut decoded = formats::decode_request(endpoint.format, &body)?;
                    edits.apply_to_hub(&mut decoded);
                    hub.insert(decoded)
                }
            };
            let mut request_for_target = decoded.clone();
            if provider.format != endpoint.format {
                request_for_target.drop_extras();
            }
            request_for_target.model.clone_from(&target.model);
            request_for_target.stream = request.stream;
            // Usage is needed to translate it (and to account for it).
            request_for_target.stream_usage = request.stream;
            formats::encode_request(provider.format, &request_for_target)?
        } else if edits.is_active() {
            let (edited, probed) = match &passthrough {
                Some(done) => done,
                None => passthrough.insert(edited(endpoint, edits, &body)?),
            };
            probed.rewrite_model(edited, &target.model)
        } else {
            request.rewrite_model(&body, &target.model)
        };
        let path = match (&provider.stream_chat_path, request.stream) {
            (Some(stream_path), true) => stream_path.clone(),
            _ => provider.chat_path.clone(),
        };
        Ok(Prepared { path, body, headers: forwarded_request_headers(provider.format, headers) })
    };
    // dispatch
    let mut attempts = Vec::new();
    let retryable = &snapshot.routing().retryable_statuses;
    let pinned = headers.get("x-omniroute-connection").and_then(|v| v.to_str().ok()).map(str::trim);
    let accounts = match pinned {
        Some(id) if !id.is_empty() => AccountChoice::Pinned(id),
        _ => AccountChoice::Preferred(session.as_ref().map(|s| s.connection_id.as_str())),
    };
    let mut result =
        dispatch(gateway, retryable, &targets, &mut prepare, request.stream, accounts, &mut attempts).await;
    // Every upstream cooling down: wait for the earliest recovery when the request (header
    // `x-omniroute-max-wait-ms`) or the config (`[routing] max_wait_ms`) allows it, once.
    if let Err(GatewayError::RateLimited { retry_after_secs, .. }) = &result {
        let wait_ms = retry_after_secs.saturating_mul(1000);
        if wait_ms <= max_wait_ms(headers, snapshot.routing().max_wait_ms) {
            gateway.ports.clock.sleep(std::time::Duration::from_millis(wait_ms)).await;
            result =
                dispatch(gateway, retryable, &targets, &mut prepare, request.stream, accounts, &mut attempts).await;
        }
    }
    // Bodies are logged only when the setting asks and never for a `no_log` key.
    let log_bodies = snapshot.usage_settings().request_logging && !ctx.caller.key().is_some_and(|key| key.no_log);
    let record = |attempt: &Attempt, log_bodies: bool| {
        let target = targets.get(attempt.target);
        AttemptRecord {
            ctx: ctx.clone(),
            provider: target.map(|t| t.provider.id.clone()).unwrap_or_default(),
            requested_model: request.model.clone(),
            upstream_model: target.map(|t| t.model.clone()).unwrap_or_default(),
            upstream_format: target.map_or(endpoint.format, |t| t.provider.format),
            stream: request.stream,
            pricing: target.and_then(|t| snapshot.price(&t.provider.id, &t.model)),
            combo: target.and_then(|t| t.combo.clone()),
            request_body: body.clone(),
            log_bodies,
        }
    };
    let settled = if result.is_ok() { attempts.len().saturating_sub(1) } else { attempts.len() };
    for failed in &attempts[..settled] {
        gateway.record_handle().record(&record(failed, false), failed, Observed::failed(failed.error.clone()));
    }
    let reply = result?;
    let last = attempts.last().cloned().unwrap_or_else(|| Attempt {
        target: reply.target,
        connection_id: reply.connection.id.clone(),
        status: Some(reply.status.as_u16()),
        error: None,
        latency_ms: 0,
    });
    let Some(target) = targets.get(reply.target) else {
        return Err(GatewayError::Internal(format!(
            "the reply names target {} of a plan with {}",
            reply.target,
            targets.len()
        )));
    };
    if let Some(id) = &session_id
        && reply.status.is_success()
    {
        gateway.router.sessions.served(id, &target.label(), &reply.connection.id, now_ms);
    }
    // respond (+ record once the body is done)
    let plan = Plan {
        client: endpoint.format,
        provider: target.provider.format,
        translate: translates(endpoint, target.provider.format),
        framing: endpoint.framing,
        idle_timeout: target.policy.idle_timeout,
        cache: cache_miss.as_ref().and_then(cached::Miss::write),
    };
    let mut response = respond(gateway, target, plan, reply, record(&last, log_bodies), last);
    if let Some(event) = progress::event_for(endpoint, request.stream, headers) {
        let clock = gateway.ports.clock.clone();
        response = progress::attach(response, event, clock, gateway.options.progress_interval);
    }
    let headers = response.headers_mut();
    headers.insert("x-omniroute-attempts", HeaderValue::from(attempts.len().max(1) as u64));
    if let Some(id) = session_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        headers.insert("x-omniroute-session-id", id);
    }
    if cache_miss.is_some() {
        headers.insert("x-omniroute-cache", HeaderValue::from_static("MISS"));
    }
    Ok(match guard {
        Some(guard) => idempotency_gate::finish(gateway, guard, response),
        None => response,
    })
}

/// The model under `/v1/providers/{scope}/...`: the prefix is added when missing; another
/// provider's prefix is the client's mistake.
fn scoped_model(snapshot: &ConfigSnapshot, scope: &str, model: &str) -> Result<String, GatewayError> {
    let Some(provider) = snapshot.provider(scope) else {
        return Err(GatewayError::UnknownProvider(format!("provider '{scope}' is not configured")));
    };
    // A prefix naming a configured or a catalog provider is a provider prefix; anything else
    // is part of the model name (`meta-llama/...`).
    let named = model.split_once('/').and_then(|(prefix, _)| {
        snapshot.provider(prefix).map(|p| p.id.clone()).or_else(|| find_catalog_provider(prefix).map(|e| e.id.clone()))
    });
    match named {
        Some(named) if named == provider.id => Ok(model.to_owned()),
        Some(named) => Err(GatewayError::InvalidRequest(format!(
            "model '{model}' belongs to provider '{named}', but this route is for provider '{}'",
            provider.id
        ))),
        None => Ok(format!("{}/{model}", provider.id)),
    }
}

/// The longest a request may wait for a cooling upstream: its own `x-omniroute-max-wait-ms`,
/// else the configured default, never more than two minutes.
fn max_wait_ms(headers: &HeaderMap, configured: u64) -> u64 {
    const CAP_MS: u64 = 120_000;
    let asked = headers.get("x-omniroute-max-wait-ms").and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    asked.unwrap_or(configured).min(CAP_MS)
}

/// Whether a target in `provider` format needs translation for this client.
fn translates(endpoint: &ChatEndpoint, provider: WireFormat) -> bool {
    provider != endpoint.format || endpoint.framing != StreamFraming::Default
}

/// The client's sticky-session id: `X-Session-Id` (or `x_session_id` as a header name some
/// clients use), normalized.
fn session_id(headers: &HeaderMap) -> Option<String> {
    ["x-session-id", "x_session_id"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|value| value.to_str().ok())
        .and_then(Sessions::normalize)
}

/// Client headers a provider of the same family should see: Anthropic's version and beta
/// flags (Claude Code sends betas the upstream must get).
pub(crate) fn forwarded_request_headers(provider: WireFormat, headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    const ANTHROPIC: [HeaderName; 2] =
        [HeaderName::from_static("anthropic-version"), HeaderName::from_static("anthropic-beta")];
    if provider != WireFormat::Anthropic {
        return Vec::new();
    }
    ANTHROPIC
        .iter()
        .flat_map(|name| headers.get_all(name).iter().map(move |value| (name.clone(), value.clone())))
        .collect()
}
