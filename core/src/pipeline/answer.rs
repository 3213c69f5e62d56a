//! Phase 6, answer: the upstream's answer in the client's format. Passed through as it came
//! when both sides speak the same format; decoded and re-encoded otherwise. Upstream errors keep
//! their status and message and take the client's error shape.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Response, StatusCode};

use crate::auth::redact;
use crate::body::Body;
use crate::formats::{self, ErrorInfo, StreamFraming};
use crate::gateway::Gateway;
use crate::hub::{Namespaces, Usage};
use crate::pipeline::cached;
use crate::pipeline::dispatch::{Attempt, Reply, ReplyBody};
use crate::pipeline::record::{AttemptRecord, BodyCapture, Observed};
use crate::pipeline::relay::{Relay, RelayEnd, upstream_broke};
use crate::pipeline::stream_transform::StreamTransform;
use crate::pipeline::usage_tap::usage_in_body;
use crate::providers::WireFormat;
use crate::render::{self, APPLICATION_JSON, EVENT_STREAM, NDJSON};
use crate::routing::health::{Failure, HealthKey};
use crate::routing::plan::PlannedTarget;
use crate::usage::estimate::response_chars;

/// How the answer travels back.
#[derive(Debug, Clone)]
pub struct Plan {
    pub client: WireFormat,
    pub provider: WireFormat,
    pub translate: bool,
    pub framing: StreamFraming,
    /// Longest silence between two stream chunks.
    pub idle_timeout: std::time::Duration,
    /// Store a successful complete answer in the response cache (and the semantic index).
    pub cache: Option<cached::CacheWrite>,
    /// The functions the client's request had in namespaces, flattened for the provider: a
    /// translated answer names their namespace again.
    pub namespaces: Namespaces,
}

/// Upstream headers worth passing on to the client.
fn forwarded_header(name: &HeaderName) -> bool {
    let name = name.as_str();
    name.starts_with("x-ratelimit-")
        || name.starts_with("anthropic-ratelimit-")
        || name == "retry-after"
        || name == "openai-processing-ms"
}

pub fn deliver(
    gateway: &Gateway,
    target: &PlannedTarget,
    plan: Plan,
    reply: Reply,
    base: AttemptRecord,
    last: Attempt,
) -> Response<Body> {
    let Reply { status, headers: upstream_headers, body, connection, .. } = reply;
    let content_type = upstream_headers.get(CONTENT_TYPE).cloned();
    let mut response = match body {
        ReplyBody::Full(bytes) => {
            let secret = connection.api_key.as_deref();
            let (mut response, mut observed) = full(&plan, status, content_type, bytes, secret);
            if let (Some(write), Body::Full(answer)) = (plan.cache.clone(), response.body())
                && response.status().is_success()
            {
                cached::store(gateway, plan.client, write, answer.clone());
            }
            if let (true, Body::Full(answer)) = (base.log_bodies, response.body()) {
                observed.response_body = Some(BodyCapture::of(answer));
            }
            let latency_ms = gateway.ports.clock.monotonic_us().saturating_sub(base.ctx.started_us) / 1000;
            let accounted = gateway.record_handle().record(&base, &last, observed);
            answer_headers(response.headers_mut(), latency_ms, accounted.usage, accounted.cost_usd);
            if accounted.estimated {
                response.headers_mut().insert("x-omniroute-tokens-estimated", HeaderValue::from_static("true"));
            }
            response
        }
        ReplyBody::Stream { first, rest } => {
            let base_started_us = base.ctx.started_us;
            let gw = gateway.record_handle();
            let router = gateway.router.clone();
            let (provider, auth, model) = (target.provider.id.clone(), target.provider.auth, target.model.clone());
            let account = last.connection_id.clone();
            let capture = base.log_bodies;
            let on_end = move |end: RelayEnd| {
                // A stream that broke after it started counts against its upstream too
                // (a client that went away does not).
                if end.error.as_deref().is_some_and(upstream_broke) {
                    // Model-scoped: this model on this account, and the model's estimates only.
                    let deployment = HealthKey::deployment(account.clone(), model.clone());
                    router.health.on_failure(&deployment, auth, Failure::StreamBroken);
                    router.health.observe_failure(&HealthKey::model(provider.clone(), model.clone()), auth);
                }
                let attempt = Attempt { error: end.error.clone(), ..last };
                let observed = Observed {
                    usage: end.usage,
                    answer_chars: end.answer_chars,
                    error: end.error,
                    response_body: end.captured,
                };
                gw.record(&base, &attempt, observed);
            };
            let (transform, content_type) = if plan.translate {
                let transform = StreamTransform::translate(plan.provider, plan.client, plan.framing, &plan.namespaces);
                (transform, HeaderValue::from_static(stream_content_type(plan.client, plan.framing)))
            } else {
                let fallback = HeaderValue::from_static(stream_content_type(plan.client, plan.framing));
                (StreamTransform::passthrough(plan.client), content_type.unwrap_or(fallback))
            };
            let relay = Relay::new(first, rest, gateway.ports.clock.clone(), plan.idle_timeout, transform, on_end);
            let relay = relay.closing_with(gateway.closing.watch());
            let relay = if capture { relay.capturing() } else { relay };
            let mut response = Response::new(Body::from_stream(relay));
            *response.status_mut() = status;
            // Tokens and cost are known only when the stream ends, after the headers left:
            // only the time to the first byte is said here (nothing is added to the stream).
            let latency_ms = gateway.ports.clock.monotonic_us().saturating_sub(base_started_us) / 1000;
            answer_headers(response.headers_mut(), latency_ms, None, None);
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, content_type);
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
    };
    let headers = response.headers_mut();
    for (name, value) in upstream_headers.iter().filter(|(name, _)| forwarded_header(name)) {
        headers.insert(name.clone(), value.clone());
    }
    if let Ok(value) = HeaderValue::from_str(&target.provider.id) {
        headers.insert("x-omniroute-provider", value);
    }
    if let Ok(value) = HeaderValue::from_str(&target.model) {
        headers.insert("x-omniroute-model", value);
    }
    if let Some(failure) = response.extensions_mut().get_mut::<render::Failure>() {
        failure.model = Some(target.label());
    }
    response
}

/// `X-OmniRoute-Latency-Ms`, and when known `X-OmniRoute-Tokens-In/-Out` and
/// `X-OmniRoute-Response-Cost` (USD).
fn answer_headers(headers: &mut http::HeaderMap, latency_ms: u64, usage: Option<Usage>, cost_usd: Option<f64>) {
    headers.insert("x-omniroute-latency-ms", HeaderValue::from(latency_ms));
    if let Some(usage) = usage {
        headers.insert("x-omniroute-tokens-in", HeaderValue::from(usage.input_tokens));
        headers.insert("x-omniroute-tokens-out", HeaderValue::from(usage.output_tokens));
    }
    if let Some(cost) = cost_usd.and_then(|c| HeaderValue::from_str(&format!("{c:.8}")).ok()) {
        headers.insert("x-omniroute-response-cost", cost);
    }
}

pub(crate) fn stream_content_type(client: WireFormat, framing: StreamFraming) -> &'static str {
    match (client, framing) {
        (_, StreamFraming::JsonArray) => APPLICATION_JSON,
        (WireFormat::Ollama, _) => NDJSON,
        _ => EVENT_STREAM,
    }
}

/// A complete upstream answer → the client's answer and what accounting learns from it.
fn full(
    plan: &Plan,
    status: StatusCode,
    content_type: Option<HeaderValue>,
    bytes: Bytes,
    secret: Option<&str>,
) -> (Response<Body>, Observed) {
    if !status.is_success() {
        let error = format!("upstream returned HTTP {}", status.as_u16());
        // Some upstreams echo the credential they refused: it never reaches the client.
        let bytes = match redact::scrub(&bytes, secret.as_slice()) {
            Cow::Borrowed(_) => bytes,
            Cow::Owned(scrubbed) => Bytes::from(scrubbed),
        };
        return (upstream_error(plan, status, content_type, bytes), Observed::failed(Some(error)));
    }
    if !plan.translate {
        // The OpenAI hot path reads only `usage`; the whole answer is read only when it is
        // missing (its text feeds the estimate).
        let quick = match plan.client {
            WireFormat::OpenaiChat => usage_in_body(&bytes),
            _ => None,
        };
        let observed = match quick {
            Some(usage) => Observed { usage: Some(usage), ..Default::default() },
            None => match formats::decode_response(plan.client, &bytes) {
                Ok(hub) => Observed { usage: hub.usage, answer_chars: response_chars(&hub), ..Default::default() },
                Err(_) => Observed::default(),
            },
        };
        return (passthrough(status, content_type, bytes), observed);
    }
    match formats::decode_response(plan.provider, &bytes) {
        Ok(mut hub) => {
            // The provider format's own extras mean nothing to a client of another format.
            if plan.client != plan.provider {
                hub.extra.clear();
            }
            let body = formats::encode_answer(plan.client, &hub, &plan.namespaces);
            let observed = Observed { usage: hub.usage, answer_chars: response_chars(&hub), ..Default::default() };
            (render::json(status, body), observed)
        }
        Err(err) => {
            let message = format!("the upstream's answer could not be read: {err}");
            let info = ErrorInfo::from_status(StatusCode::BAD_GATEWAY.as_u16(), message.clone());
            (render::error_info(plan.client, &info), Observed::failed(Some(message)))
        }
    }
}

/// An upstream error: as it came when the client speaks the provider's format and the body is
/// that format's JSON error; otherwise its status and message in the client's error shape.
fn upstream_error(plan: &Plan, status: StatusCode, content_type: Option<HeaderValue>, bytes: Bytes) -> Response<Body> {
    let message = formats::upstream_error_message(plan.provider, &bytes);
    if !plan.translate
        && let Some(message) = &message
    {
        let mut response = passthrough(status, content_type, bytes);
        render::note_failure(&mut response, "upstream_error", message);
        return response;
    }
    let message = message.unwrap_or_else(|| {
        let snippet: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
        format!("upstream returned HTTP {}: {}", status.as_u16(), snippet.trim())
    });
    render::error_info(plan.client, &ErrorInfo::from_status(status.as_u16(), message))
}

fn passthrough(status: StatusCode, content_type: Option<HeaderValue>, bytes: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::Full(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, content_type.unwrap_or_else(|| HeaderValue::from_static(APPLICATION_JSON)));
    response
}
