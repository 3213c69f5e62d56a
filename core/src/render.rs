//! The answers the gateway writes itself, for every layer that answers (routes, the management
//! API, the pipeline): JSON bodies, gateway errors in the client's wire format, content types.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};

use crate::body::Body;
use crate::error::GatewayError;
use crate::formats::{self, ErrorInfo};
use crate::providers::WireFormat;

pub const APPLICATION_JSON: &str = "application/json";
pub const EVENT_STREAM: &str = "text/event-stream";
pub const NDJSON: &str = "application/x-ndjson";

/// A JSON response with the given status.
pub fn json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::Full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(APPLICATION_JSON));
    response
}

/// A gateway error rendered the way the client's SDK expects.
pub fn error(format: WireFormat, err: &GatewayError) -> Response<Body> {
    let mut response = error_info(format, &ErrorInfo::from_gateway(err));
    if let GatewayError::RateLimited { retry_after_secs, .. }
    | GatewayError::CircuitOpen { retry_after_secs, .. }
    | GatewayError::AccountsOut { retry_after_secs, .. } = err
    {
        response.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    if let GatewayError::MethodNotAllowed { allowed, .. } = err {
        response.headers_mut().insert(http::header::ALLOW, HeaderValue::from_static(allowed));
    }
    response
}

/// Any error (gateway or upstream) rendered in the client's format with its status.
pub fn error_info(format: WireFormat, info: &ErrorInfo) -> Response<Body> {
    let status = StatusCode::from_u16(info.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = json(status, formats::error_body(format, info));
    note_failure(&mut response, info.code.as_deref().unwrap_or(&info.kind), &info.message);
    response
}

/// Why an answer is an error, for the one log line every failed request gets (in `routes`).
/// It rides in the response's extensions, which no runtime sends.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    pub code: String,
    /// What the client was told (an internal error's cause is logged where it is rendered).
    pub reason: String,
    /// The target that answered, when an upstream's error is passed on.
    pub model: Option<String>,
}

/// Marks `response` as the failure `code`/`reason`.
pub fn note_failure(response: &mut Response<Body>, code: &str, reason: &str) {
    response.extensions_mut().insert(Failure { code: code.to_owned(), reason: reason.to_owned(), model: None });
}
