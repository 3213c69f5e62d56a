//! OpenAI's error shape, `{"error":{"message","type","param","code"}}`, for gateway errors and
//! for a stream that breaks after bytes reached the client.

use bytes::Bytes;
use serde_json::json;

use crate::error::GatewayError;
use crate::formats::sse::encode_event;

/// The JSON body of a gateway error, as OpenAI SDKs parse it.
pub fn error_body(error: &GatewayError) -> Bytes {
    let body = json!({
        "error": {
            "message": error.to_string(),
            "type": error.kind(),
            "param": serde_json::Value::Null,
            "code": error.code(),
        }
    });
    Bytes::from(body.to_string())
}

/// A `data:` event carrying an error; the OpenAI SDK raises it as an `APIError` mid-stream.
pub fn stream_error_event(kind: &str, message: &str) -> Bytes {
    let body = json!({ "error": { "message": message, "type": kind, "param": null, "code": null } });
    encode_event(None, &body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_openai_fields() {
        let body: serde_json::Value =
            serde_json::from_slice(&error_body(&GatewayError::UnknownProvider("nope".into()))).unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "unknown_provider");
        assert_eq!(body["error"]["message"], "nope");
        assert!(body["error"]["param"].is_null());
    }
}
