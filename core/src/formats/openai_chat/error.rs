//! OpenAI's error shape, `{"error":{"message","type","param","code"}}`, for gateway and
//! upstream errors and for a stream that breaks after bytes reached the client.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::formats::ErrorInfo;
use crate::formats::sse::encode_event;

fn error_object(err: &ErrorInfo) -> Value {
    json!({ "error": { "message": err.message, "type": err.kind, "param": err.param, "code": err.code } })
}

/// The JSON body of an error, as OpenAI SDKs parse it.
pub fn error_body(err: &ErrorInfo) -> Bytes {
    Bytes::from(error_object(err).to_string())
}

/// A `data:` event carrying an error; the OpenAI SDK raises it as an `APIError` mid-stream.
pub fn stream_error_event(err: &ErrorInfo) -> Bytes {
    encode_event(None, &error_object(err).to_string())
}

/// `error.message` of an OpenAI-shaped error body (also what most compatible providers send).
pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?;
    match error {
        Value::String(message) => Some(message.clone()),
        _ => error.get("message")?.as_str().map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GatewayError;

    #[test]
    fn error_body_has_openai_fields() {
        let info = ErrorInfo::from_gateway(&GatewayError::UnknownProvider("nope".into()));
        let body: Value = serde_json::from_slice(&error_body(&info)).unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "unknown_provider");
        assert_eq!(body["error"]["message"], "nope");
        assert!(body["error"]["param"].is_null());
        assert_eq!(upstream_error_message(&error_body(&info)).as_deref(), Some("nope"));
    }
}
