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
use crate::pipeline::dispatch::{Attempt, Call, dispatch};
use crate::pipeline::passthrough::probe;
use crate::pipeline::record::AttemptRecord;
use crate::pipeline::reply::{Plan, respond};
use crate::pipeline::resolve::resolve;
use crate::pipeline::respond as render;
use crate::pipeline::router::ChatEndpoint;
use crate::pipeline::{Gateway, RequestContext};
use crate::providers::WireFormat;

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
    let options = &gateway.options;
    let body = read_body(gateway, body).await?;
    // probe: model and stream, without parsing the rest
    let request = probe(endpoint, &body)?;
    let snapshot = gateway.snapshot();
    let target = resolve(&snapshot, &request.model)?;
    // plan: pass through when both sides speak the same format (and framing), else translate
    let provider_format = target.provider.format;
    let translate = provider_format != endpoint.format || endpoint.framing != StreamFraming::Default;
    let upstream_body = if translate {
        let mut hub = formats::decode_request(endpoint.format, &body)?;
        if provider_format != endpoint.format {
            hub.drop_extras();
        }
        hub.model.clone_from(&target.model);
        hub.stream = request.stream;
        // Usage is needed to translate it (and to account for it).
        hub.stream_usage = request.stream;
        formats::encode_request(provider_format, &hub)?
    } else {
        request.rewrite_model(&body, &target.model)
    };
    let provider = &target.provider;
    let path = match (&provider.stream_chat_path, request.stream) {
        (Some(stream_path), true) => stream_path,
        _ => &provider.chat_path,
    };
    let forwarded = forwarded_request_headers(provider_format, headers);
    // dispatch
    let mut attempts = Vec::new();
    let call = Call {
        provider,
        path,
        model: &target.model,
        body: upstream_body,
        headers: &forwarded,
        stream: request.stream,
        first_byte_timeout: if request.stream { options.first_byte_timeout } else { options.total_timeout },
        max_response_bytes: options.max_response_bytes,
    };
    let result = dispatch(gateway.ports.http.as_ref(), &gateway.ports.clock, call, &mut attempts).await;
    let base = AttemptRecord {
        ctx: ctx.clone(),
        provider: provider.id.clone(),
        requested_model: request.model.clone(),
        upstream_model: target.model.clone(),
        upstream_format: provider_format,
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
    let plan = Plan { client: endpoint.format, provider: provider_format, translate, framing: endpoint.framing };
    Ok(respond(gateway, &target, plan, reply, base, last))
}

/// Client headers a provider of the same family should see: Anthropic's version and beta
/// flags (Claude Code sends betas the upstream must get).
fn forwarded_request_headers(provider: WireFormat, headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
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
