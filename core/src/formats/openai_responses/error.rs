//! Errors in the Responses API's shapes: HTTP errors use OpenAI's `{"error":{"message","type",
//! "param","code"}}` body; a stream that breaks mid-way ends with the documented `error` event
//! (`{"type":"error","code","message","param","sequence_number"}`).

use bytes::Bytes;
use serde_json::{Value, json};

use crate::formats::ErrorInfo;
use crate::formats::error_info::kind_for_status;
use crate::formats::sse::encode_event;

/// The JSON body of an error, as the OpenAI SDKs parse it (same shape as chat completions).
pub fn error_body(err: &ErrorInfo) -> Bytes {
    crate::formats::openai_chat::error_body(err)
}

/// The `error` stream event for a stream that breaks after bytes reached the client. The
/// relay knows no sequence number, so it writes 0 (the SDKs do not check the numbering).
pub fn stream_error_event(err: &ErrorInfo) -> Bytes {
    let code = err.code.clone().unwrap_or_else(|| error_code(err.status, &err.kind));
    error_event(&code, &err.message, 0)
}

/// `error.message` of an OpenAI-shaped error body; also reads the `error` stream event and a
/// failed response's `error`, which some servers send as the body of a failed call.
pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    if let Some(message) = crate::formats::openai_chat::upstream_error_message(body) {
        return Some(message);
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    match value.get("type").and_then(Value::as_str) {
        Some("error") => value.get("message")?.as_str().map(str::to_owned),
        Some("response.failed") => value.pointer("/response/error/message")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// One `error` event.
pub(crate) fn error_event(code: &str, message: &str, sequence_number: u64) -> Bytes {
    let data = json!({
        "type": "error", "code": code, "message": message, "param": null, "sequence_number": sequence_number,
    });
    encode_event(Some("error"), &data.to_string())
}

/// The `code` written for a hub error: OpenAI's own code for rate limits, else the error kind.
pub(crate) fn error_code(status: u16, kind: &str) -> String {
    if status == 429 { "rate_limit_exceeded".into() } else { kind.to_owned() }
}

/// An error event's `code` (or a failed response's `error.type`/`code`) → HTTP-ish status.
pub(crate) fn status_for_code(code: &str) -> u16 {
    match code {
        "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota" => 429,
        "invalid_request_error" | "invalid_prompt" | "context_length_exceeded" | "invalid_value" => 400,
        "authentication_error" | "invalid_api_key" => 401,
        "permission_error" => 403,
        "not_found_error" | "model_not_found" => 404,
        "overloaded_error" => 529,
        "server_is_overloaded" | "slow_down" => 503,
        _ => 500,
    }
}

/// Status and kind for an upstream error `code`.
pub(crate) fn status_and_kind(code: Option<&str>, kind: Option<&str>) -> (u16, String) {
    let status = code.or(kind).map(status_for_code).unwrap_or(500);
    let kind = kind.map(str::to_owned).unwrap_or_else(|| kind_for_status(status).to_owned());
    (status, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::sse::SseParser;

    const ERROR_BODY: &str = crate::formats::test_support::fixture!("openai_responses", "error.json");

    #[test]
    fn reads_the_documented_error_body() {
        assert_eq!(
            upstream_error_message(ERROR_BODY.as_bytes()).as_deref(),
            Some(
                "Invalid 'input[0].content[1].image_url'. Expected a valid URL, but got a value with an invalid format."
            )
        );
        assert_eq!(upstream_error_message(b"{\"detail\":\"nope\"}"), None);
        assert_eq!(upstream_error_message(b"not json"), None);
    }

    #[test]
    fn error_body_round_trips() {
        let info = ErrorInfo::from_status(429, "slow down");
        let body: Value = serde_json::from_slice(&error_body(&info)).unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(upstream_error_message(&error_body(&info)).as_deref(), Some("slow down"));
    }

    #[test]
    fn stream_error_event_is_the_documented_error_event() {
        let bytes = stream_error_event(&ErrorInfo::from_status(502, "upstream went away"));
        let events = SseParser::new().push(&bytes);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.as_deref(), Some("error"));
        let data: Value = serde_json::from_str(&events[0].data).unwrap();
        assert_eq!(data["type"], "error");
        assert_eq!(data["code"], "api_error");
        assert_eq!(data["message"], "upstream went away");
        assert!(data["param"].is_null());
        assert_eq!(data["sequence_number"], 0);
        assert_eq!(upstream_error_message(events[0].data.as_bytes()).as_deref(), Some("upstream went away"));
    }

    #[test]
    fn codes_map_to_statuses() {
        assert_eq!(status_and_kind(Some("rate_limit_exceeded"), None), (429, "rate_limit_error".into()));
        assert_eq!(status_and_kind(Some("server_error"), Some("server_error")), (500, "server_error".into()));
        assert_eq!(status_and_kind(None, None), (500, "api_error".into()));
    }
}
