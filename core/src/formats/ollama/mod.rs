//! Ollama's native chat API (`POST /api/chat`, NDJSON streams, `GET /api/tags`): request,
//! response and stream codecs, the `{"error": "..."}` shape, and the helpers they share
//! (finish reasons, usage counts, generated tool-call ids).

#[cfg(test)]
mod codec_tests;
pub mod error;
pub mod request;
pub mod response;
pub mod stream;
mod wire;

use serde_json::{Map, Value, json};

use crate::hub::{FinishReason, Usage};

pub use error::{error_body, stream_error_event, upstream_error_message};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
pub use stream::{StreamDecoder, StreamEncoder};

/// One entry of `GET /api/tags` for a model the gateway serves. The gateway knows only the
/// name: size, digest and details are honest placeholders (zero and empty strings), and
/// `modified_at` is the Unix epoch because core has no clock.
pub fn tags_entry(model: &str) -> Value {
    json!({
        "name": model,
        "model": model,
        "modified_at": crate::time::format_rfc3339(0),
        "size": 0,
        "digest": "",
        "details": {
            "parent_model": "",
            "format": "",
            "family": "",
            "families": [],
            "parameter_size": "",
            "quantization_level": "",
        },
    })
}

/// `done_reason` → hub finish reason. Ollama says `stop` when the model called tools, so the
/// presence of tool calls decides between `Stop` and `ToolCalls`.
pub(crate) fn finish_reason_from_wire(done_reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    match done_reason {
        None | Some("") | Some("stop") if has_tool_calls => FinishReason::ToolCalls,
        None | Some("") | Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

/// Hub finish reason → `done_reason` (tool calls end with `stop`, as Ollama itself says).
pub(crate) fn finish_reason_to_wire(reason: &FinishReason) -> &str {
    match reason {
        FinishReason::Stop | FinishReason::ToolCalls => "stop",
        FinishReason::Length => "length",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Other(other) => other,
    }
}

/// `prompt_eval_count` / `eval_count` → hub usage (None when the object carries neither;
/// Ollama omits a count that is zero, e.g. a fully cached prompt).
pub(crate) fn usage_from_wire(obj: &Map<String, Value>) -> Option<Usage> {
    let input = obj.get("prompt_eval_count").and_then(Value::as_u64);
    let output = obj.get("eval_count").and_then(Value::as_u64);
    if input.is_none() && output.is_none() {
        return None;
    }
    Some(Usage { input_tokens: input.unwrap_or(0), output_tokens: output.unwrap_or(0), ..Default::default() })
}

/// Hub usage → the counts of Ollama's final object. Cached and reasoning tokens have no place.
pub(crate) fn usage_to_wire(usage: &Usage, out: &mut Map<String, Value>) {
    out.insert("prompt_eval_count".into(), json!(usage.input_tokens));
    out.insert("eval_count".into(), json!(usage.output_tokens));
}

/// Ollama answers carry no id: the hub gets one derived from `created_at` (whole seconds, so
/// re-encoding an answer gives the same id).
pub(crate) fn message_id(created: Option<u64>) -> String {
    format!("ollama-{}", created.unwrap_or(0))
}

/// The digits of a raw `created_at` (nanoseconds included), for tool-call ids that differ
/// between answers: `call_<stamp>_<n>`.
pub(crate) fn stamp(created_at: Option<&str>) -> String {
    let digits: String = created_at.unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() { "0".into() } else { digits }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_entry_has_the_documented_fields() {
        let entry = tags_entry("openai/gpt-4o");
        assert_eq!(entry["name"], "openai/gpt-4o");
        assert_eq!(entry["model"], "openai/gpt-4o");
        assert_eq!(entry["modified_at"], "1970-01-01T00:00:00Z");
        assert_eq!(entry["size"], 0);
        for key in ["format", "family", "families", "parameter_size", "quantization_level"] {
            assert!(entry["details"].get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn finish_reasons_map_both_ways() {
        assert_eq!(finish_reason_from_wire(Some("stop"), false), FinishReason::Stop);
        assert_eq!(finish_reason_from_wire(Some("stop"), true), FinishReason::ToolCalls);
        assert_eq!(finish_reason_from_wire(None, true), FinishReason::ToolCalls);
        assert_eq!(finish_reason_from_wire(Some("length"), false), FinishReason::Length);
        assert_eq!(finish_reason_from_wire(Some("unload"), false), FinishReason::Other("unload".into()));
        assert_eq!(finish_reason_to_wire(&FinishReason::ToolCalls), "stop");
        assert_eq!(finish_reason_to_wire(&FinishReason::Length), "length");
    }
}
