//! Google's error shape, `{"error":{"code","message","status"}}`, for gateway and upstream
//! errors and for a stream that breaks after bytes reached the client.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::formats::ErrorInfo;
use crate::formats::error_info::google_status;
use crate::formats::sse::encode_event;

/// The error object as Google's APIs write it (status name from the HTTP status).
pub(crate) fn error_object(status: u16, message: &str) -> Value {
    json!({ "error": { "code": status, "message": message, "status": google_status(status) } })
}

/// The JSON body of an error, as the Gemini SDKs parse it.
pub fn error_body(err: &ErrorInfo) -> Bytes {
    Bytes::from(error_object(err.status, &err.message).to_string())
}

/// The error as an SSE `data:` line (`?alt=sse` streams). A JSON-array stream gets the same
/// object as an array element from [`super::StreamEncoder`].
pub fn stream_error_event(err: &ErrorInfo) -> Bytes {
    encode_event(None, &error_object(err.status, &err.message).to_string())
}

/// `error.message` of a Google error body; also the `[{"error": …}]` form a JSON-array stream
/// answers with.
pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let value = match value {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        other => other,
    };
    value.get("error")?.get("message")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GatewayError;

    #[test]
    fn error_body_has_google_fields() {
        let info = ErrorInfo::from_gateway(&GatewayError::InvalidRequest("bad".into()));
        let body: Value = serde_json::from_slice(&error_body(&info)).unwrap();
        assert_eq!(body, json!({ "error": { "code": 400, "message": "bad", "status": "INVALID_ARGUMENT" } }));
        assert_eq!(upstream_error_message(&error_body(&info)).as_deref(), Some("bad"));
        let event = stream_error_event(&ErrorInfo::from_status(429, "slow down"));
        assert!(event.starts_with(b"data: {"));
        assert!(std::str::from_utf8(&event).unwrap().contains("RESOURCE_EXHAUSTED"));
    }

    #[test]
    fn other_shapes_are_not_gemini_errors() {
        assert_eq!(upstream_error_message(b"{\"message\":\"x\"}"), None);
        assert_eq!(upstream_error_message(b"not json"), None);
        assert_eq!(upstream_error_message(b"[{\"error\":{\"message\":\"m\"}}]").as_deref(), Some("m"));
    }
}
