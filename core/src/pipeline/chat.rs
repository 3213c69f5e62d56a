//! The chat request path, phase by phase: read → probe → resolve → dispatch → respond → record.
//! Client and provider both speak OpenAI chat here, so the body passes through with only the
//! model rewritten.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Response, StatusCode};

use crate::body::{Body, CollectError};
use crate::error::GatewayError;
use crate::pipeline::dispatch::{Attempt, Call, Reply, ReplyBody, dispatch};
use crate::pipeline::passthrough::probe;
use crate::pipeline::record::AttemptRecord;
use crate::pipeline::relay::{Relay, RelayEnd};
use crate::pipeline::resolve::{Target, resolve};
use crate::pipeline::respond::{self, APPLICATION_JSON, EVENT_STREAM};
use crate::pipeline::usage_tap::usage_in_body;
use crate::pipeline::{Gateway, RequestContext};
use crate::providers::WireFormat;

/// Upstream headers worth passing on to the client.
fn forwarded_header(name: &HeaderName) -> bool {
    let name = name.as_str();
    name.starts_with("x-ratelimit-") || name == "retry-after" || name == "openai-processing-ms"
}

pub async fn handle(gateway: &Gateway, ctx: &RequestContext, body: Body) -> Response<Body> {
    match chat(gateway, ctx, body).await {
        Ok(response) => response,
        Err(err) => {
            if err.status().is_server_error() {
                tracing::warn!(request_id = %ctx.request_id, error = %err, "chat request failed");
            }
            respond::error(ctx.client_format, &err)
        }
    }
}

async fn chat(gateway: &Gateway, ctx: &RequestContext, body: Body) -> Result<Response<Body>, GatewayError> {
    let options = &gateway.options;
    // read
    let body = body.collect(options.max_body_bytes).await.map_err(|err| match err {
        CollectError::TooLarge { limit } => GatewayError::BodyTooLarge(limit),
        CollectError::Read(e) => GatewayError::InvalidRequest(format!("request body could not be read: {e}")),
    })?;
    // probe (the passthrough reads only model and stream)
    let request = probe(&body)?;
    // resolve
    let snapshot = gateway.snapshot();
    let target = resolve(&snapshot, &request.model)?;
    let path = upstream_path(&target)?;
    let upstream_body = request.rewrite_model(&body, &target.model);
    // dispatch
    let mut attempts = Vec::new();
    let call = Call {
        provider: &target.provider,
        path,
        model: &target.model,
        body: upstream_body,
        stream: request.stream,
        first_byte_timeout: if request.stream { options.first_byte_timeout } else { options.total_timeout },
        max_response_bytes: options.max_response_bytes,
    };
    let result = dispatch(gateway.ports.http.as_ref(), &gateway.ports.clock, call, &mut attempts).await;
    let base = AttemptRecord {
        ctx: ctx.clone(),
        provider: target.provider.id.clone(),
        requested_model: request.model.clone(),
        upstream_model: target.model.clone(),
        stream: request.stream,
    };
    let settled = if result.is_ok() { attempts.len().saturating_sub(1) } else { attempts.len() };
    for failed in &attempts[..settled] {
        gateway.record_handle().record(&base, failed, None, failed.error.clone());
    }
    let reply = result?;
    let last = attempts.last().cloned().unwrap_or_else(|| Attempt {
        connection_id: reply.connection.id.clone(),
        status: Some(reply.status.as_u16()),
        error: None,
        latency_ms: 0,
    });
    // respond (+ record once the body is done)
    Ok(respond(gateway, ctx, &target, reply, base, last))
}

/// Which upstream path an OpenAI-chat client can be passed through to.
fn upstream_path(target: &Target) -> Result<&str, GatewayError> {
    let provider = &target.provider;
    match (provider.format, &provider.openai_chat_path) {
        (WireFormat::OpenaiChat, _) => Ok(&provider.chat_path),
        (_, Some(path)) => Ok(path),
        (format, None) => Err(GatewayError::Unsupported(format!(
            "provider '{}' speaks the {} format, which this gateway cannot translate OpenAI chat requests into yet",
            provider.id,
            format.as_str()
        ))),
    }
}

fn respond(
    gateway: &Gateway,
    ctx: &RequestContext,
    target: &Target,
    reply: Reply,
    base: AttemptRecord,
    last: Attempt,
) -> Response<Body> {
    let Reply { status, headers: upstream_headers, body, .. } = reply;
    let content_type = upstream_headers.get(CONTENT_TYPE).cloned();
    let mut response = match body {
        ReplyBody::Full(bytes) => {
            let usage = if status.is_success() { usage_in_body(&bytes) } else { None };
            let error = (!status.is_success()).then(|| format!("upstream returned HTTP {}", status.as_u16()));
            gateway.record_handle().record(&base, &last, usage, error);
            full_reply(status, content_type, bytes)
        }
        ReplyBody::Stream { first, rest } => {
            let gw = gateway.record_handle();
            let on_end = move |end: RelayEnd| {
                let attempt = Attempt { error: end.error.clone(), ..last };
                gw.record(&base, &attempt, end.usage, end.error);
            };
            let relay = Relay::new(
                first,
                rest,
                gateway.ports.clock.clone(),
                gateway.options.idle_timeout,
                ctx.client_format,
                on_end,
            );
            let mut response = Response::new(Body::from_stream(relay));
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, content_type.unwrap_or_else(|| HeaderValue::from_static(EVENT_STREAM)));
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
    response
}

/// A complete upstream answer. Error bodies that are not JSON are wrapped in OpenAI's error
/// shape (same status), so SDKs still get a parseable error.
fn full_reply(status: StatusCode, content_type: Option<HeaderValue>, bytes: Bytes) -> Response<Body> {
    if !status.is_success() && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
        let snippet: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
        let message = format!("upstream returned HTTP {}: {}", status.as_u16(), snippet.trim());
        let err = serde_json::json!({"error": {"message": message, "type": "upstream_error", "param": null, "code": status.as_u16()}});
        return respond::json(status, Bytes::from(err.to_string()));
    }
    let mut response = Response::new(Body::Full(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, content_type.unwrap_or_else(|| HeaderValue::from_static(APPLICATION_JSON)));
    response
}
