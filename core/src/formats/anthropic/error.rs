//! Anthropic's error shape, `{"type":"error","error":{"type","message"},"request_id"}`, for
//! gateway and upstream errors, and the `event: error` that ends a broken stream.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::formats::ErrorInfo;
use crate::formats::sse::encode_event;

/// Anthropic's `error.type` for an error kind. Anthropic's own types pass through; OpenAI's
/// `server_error` is `api_error`; anything else is `api_error`.
pub(crate) fn wire_error_type(kind: &str) -> &str {
    match kind {
        "invalid_request_error"
        | "authentication_error"
        | "billing_error"
        | "permission_error"
        | "not_found_error"
        | "request_too_large"
        | "rate_limit_error"
        | "timeout_error"
        | "api_error"
        | "overloaded_error" => kind,
        _ => "api_error",
    }
}

/// The HTTP status Anthropic documents for an error type (used for in-stream errors, which
/// carry no status of their own).
pub(crate) fn status_for_error_type(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

fn error_object(err: &ErrorInfo) -> Value {
    json!({
        "type": "error",
        "error": { "type": wire_error_type(&err.kind), "message": err.message },
        "request_id": null,
    })
}

/// The JSON body of an error, as Anthropic SDKs parse it.
pub fn error_body(err: &ErrorInfo) -> Bytes {
    Bytes::from(error_object(err).to_string())
}

/// An `event: error` the Anthropic SDKs raise as an `APIError` mid-stream.
pub fn stream_error_event(err: &ErrorInfo) -> Bytes {
    let mut object = error_object(err);
    if let Some(map) = object.as_object_mut() {
        map.remove("request_id");
    }
    encode_event(Some("error"), &object.to_string())
}

/// `error.message` of an Anthropic-shaped error body.
pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("error")?.get("message")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GatewayError;
    use crate::formats::sse::SseParser;

    const ERROR: &str = crate::formats::test_support::fixture!("anthropic", "error.json");

    #[test]
    fn reads_the_documented_error_body() {
        assert_eq!(
            upstream_error_message(ERROR.as_bytes()).as_deref(),
            Some("The requested resource could not be found.")
        );
        assert_eq!(upstream_error_message(b"{\"error\":\"plain\"}"), None);
        assert_eq!(upstream_error_message(b"<html>"), None);
    }

    #[test]
    fn error_body_has_anthropic_fields() {
        let info = ErrorInfo::from_gateway(&GatewayError::UnknownProvider("nope".into()));
        let body: Value = serde_json::from_slice(&error_body(&info)).unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"], json!({"type": "invalid_request_error", "message": "nope"}));
        assert_eq!(upstream_error_message(&error_body(&info)).as_deref(), Some("nope"));
    }

    #[test]
    fn kinds_map_to_anthropic_types() {
        for (kind, wire) in [
            ("overloaded_error", "overloaded_error"),
            ("rate_limit_error", "rate_limit_error"),
            ("server_error", "api_error"),
            ("insufficient_quota", "api_error"),
            ("", "api_error"),
        ] {
            assert_eq!(wire_error_type(kind), wire);
        }
        assert_eq!(status_for_error_type("overloaded_error"), 529);
        assert_eq!(status_for_error_type("whatever"), 500);
    }

    #[test]
    fn stream_error_event_is_a_named_sse_event() {
        let info = ErrorInfo::from_status(529, "Overloaded");
        let events = SseParser::new().push(&stream_error_event(&info));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.as_deref(), Some("error"));
        let data: Value = serde_json::from_str(&events[0].data).unwrap();
        assert_eq!(data, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}));
    }
}
