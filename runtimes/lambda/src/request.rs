//! Function URL event → core request. lambda_http has already decoded the payload v2.0 event
//! (base64 bodies included) into an `http::Request`; only the body type changes here.

use bytes::Bytes;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use omniroute_core::Body;
use omniroute_core::auth::ClientAddr;

/// Converts a decoded Lambda request into the request `Gateway::handle` takes.
pub fn into_core(request: lambda_http::Request) -> http::Request<Body> {
    // The caller's address as the function URL saw it (IP filter, login throttling, audit).
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok()),
        _ => None,
    };
    let (mut parts, body) = request.into_parts();
    if let Some(ip) = source_ip {
        parts.extensions.insert(ClientAddr(ip));
    }
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
        // The enum is non-exhaustive; a future kind is better refused by the core as an empty
        // body (a clear 400) than guessed at.
        _ => {
            tracing::warn!("unknown lambda_http body kind; treating it as empty");
            Bytes::new()
        }
    };
    http::Request::from_parts(parts, Body::Full(bytes))
}
