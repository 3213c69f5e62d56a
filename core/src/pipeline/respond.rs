//! Building responses: JSON bodies, gateway errors in the client's format, common headers.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};

use crate::body::Body;
use crate::error::GatewayError;
use crate::formats::openai_chat;
use crate::providers::WireFormat;

pub const APPLICATION_JSON: &str = "application/json";
pub const EVENT_STREAM: &str = "text/event-stream";

/// A JSON response with the given status.
pub fn json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::Full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(APPLICATION_JSON));
    response
}

/// A gateway error rendered the way the client's SDK expects.
pub fn error(format: WireFormat, err: &GatewayError) -> Response<Body> {
    // Only OpenAI-chat clients are routed so far; other formats join with their codecs.
    debug_assert_eq!(format, WireFormat::OpenaiChat);
    json(err.status(), openai_chat::error_body(err))
}

/// The error event a stream in the client's format ends with when the upstream breaks.
pub fn stream_error_event(format: WireFormat, kind: &str, message: &str) -> Bytes {
    debug_assert_eq!(format, WireFormat::OpenaiChat);
    openai_chat::stream_error_event(kind, message)
}
