//! Ollama's error shape, `{"error": "message"}`: the body of a failed request (with its HTTP
//! status) and the line that ends a stream that breaks after it started.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::formats::ErrorInfo;
use crate::formats::ndjson::encode_line;

/// The JSON body of an error, as Ollama's clients read it (`ResponseError.error`).
pub fn error_body(err: &ErrorInfo) -> Bytes {
    Bytes::from(json!({ "error": err.message }).to_string())
}

/// An NDJSON line carrying an error; Ollama's clients raise it mid-stream.
pub fn stream_error_event(err: &ErrorInfo) -> Bytes {
    encode_line(&json!({ "error": err.message }))
}

/// The message of an Ollama error body (None if the body is not that shape).
pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    error_message(value.as_object()?)
}

/// `error` as a string, or (OpenAI-style proxies in front of Ollama) `error.message`.
pub(crate) fn error_message(value: &Map<String, Value>) -> Option<String> {
    match value.get("error")? {
        Value::String(message) => Some(message.clone()),
        error => error.get("message")?.as_str().map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GatewayError;

    const ERROR: &str = crate::formats::test_support::fixture!("ollama", "error.json");

    #[test]
    fn the_documented_error_body_gives_its_message() {
        assert_eq!(
            upstream_error_message(ERROR.as_bytes()).as_deref(),
            Some("the model failed to generate a response")
        );
        assert_eq!(upstream_error_message(b"{\"model\":\"x\"}"), None);
        assert_eq!(upstream_error_message(b"not json"), None);
    }

    #[test]
    fn error_body_and_stream_line_have_the_ollama_shape() {
        let info = ErrorInfo::from_gateway(&GatewayError::UnknownModel("model 'nope' not found".into()));
        let body: Value = serde_json::from_slice(&error_body(&info)).unwrap();
        assert_eq!(body, json!({ "error": "model 'nope' not found" }));
        let line = stream_error_event(&info);
        assert!(line.ends_with(b"\n"));
        assert_eq!(upstream_error_message(&line[..line.len() - 1]).as_deref(), Some("model 'nope' not found"));
    }
}
