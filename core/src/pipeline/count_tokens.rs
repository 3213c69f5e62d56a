//! Anthropic's `POST /v1/messages/count_tokens`: asked of the provider when it is Anthropic
//! (it counts exactly), estimated locally otherwise (no other format has a count endpoint
//! that takes the same request).

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use serde_json::json;

use crate::body::Body;
use crate::error::GatewayError;
use crate::formats::{self, StreamFraming, anthropic};
use crate::gateway::call::read_body;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};
use crate::pipeline::chat::forwarded_request_headers;
use crate::pipeline::dispatch::{AccountChoice, Prepared, ReplyBody, dispatch};
use crate::pipeline::endpoint::ChatEndpoint;
use crate::pipeline::passthrough::{edited, needs_edit, probe};
use crate::providers::WireFormat;
use crate::render;
use crate::routing::key_policy;
use crate::routing::plan::{PlannedTarget, plan};

/// `POST /v1/messages/count_tokens` (errors in Anthropic's shape, counted in telemetry).
pub async fn serve(mut call: Call<'_>) -> Answer {
    let body = call.take_body();
    match count(call.gateway, call.ctx, call.headers(), body).await {
        Ok(response) => Ok(response),
        Err(err) => {
            call.gateway.telemetry.metrics.gateway_error(err.code());
            Err(err)
        }
    }
}

async fn count(
    gateway: &Gateway,
    ctx: &RequestContext,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response<Body>, GatewayError> {
    let body = read_body(gateway, body).await?;
    let endpoint = ChatEndpoint {
        format: WireFormat::Anthropic,
        path_model: None,
        path_stream: Some(false),
        framing: StreamFraming::Default,
        provider: None,
    };
    let mut request = probe(&endpoint, &body)?;
    request.check_items(gateway.options.max_message_items)?;
    let snapshot = gateway.snapshot();
    // The global system prompt counts: it is sent with the messages. System turns inside the
    // messages move to `system`, as Anthropic wants them.
    let body = if needs_edit(&endpoint, &snapshot.request_edits, &request) {
        let (edited, probed) = edited(&endpoint, &snapshot.request_edits, &request, &body)?;
        request = probed;
        edited
    } else {
        body
    };
    key_policy::check_model(&ctx.caller, &request.model)?;
    let targets = plan(&snapshot, &gateway.router, &gateway.options, &request.model, None)?;
    let targets = key_policy::allowed_targets(&ctx.caller, targets)?;
    // Anthropic counts exactly; the first Anthropic target of the plan is asked.
    let Some(target) = targets.into_iter().find(|t| t.provider.format == WireFormat::Anthropic) else {
        let hub = formats::decode_request(WireFormat::Anthropic, &body)?;
        let tokens = anthropic::count_tokens_estimate(&hub);
        return Ok(render::json(StatusCode::OK, json!({ "input_tokens": tokens }).to_string().into()));
    };
    let forwarded = forwarded_request_headers(WireFormat::Anthropic, headers);
    let mut prepare = |target: &PlannedTarget| {
        Ok(Prepared {
            path: format!("{}/count_tokens", target.provider.chat_path),
            body: request.rewrite_model(&body, &target.model),
            headers: forwarded.clone(),
        })
    };
    let retryable = &snapshot.routing().retryable_statuses;
    let targets = [target];
    let reply =
        dispatch(gateway, retryable, &targets, &mut prepare, false, AccountChoice::Preferred(None), &mut Vec::new())
            .await?;
    let ReplyBody::Full(bytes) = reply.body else {
        return Err(GatewayError::UpstreamUnavailable("the upstream streamed a token count".into()));
    };
    let mut response = Response::new(Body::Full(bytes));
    *response.status_mut() = reply.status;
    let content_type = reply.headers.get(CONTENT_TYPE).cloned();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, content_type.unwrap_or_else(|| HeaderValue::from_static(render::APPLICATION_JSON)));
    Ok(response)
}
